"""Probe requests across Ray actors: one judge per GPU (or N CPU workers), one cache, resumable.

The driver looks every request up in the cache, cuts the rest into the same length-sorted,
pair-keeping batches as the single-process runner, and hands them to a pool of Ray actors, each
holding its own copy of the judge. Answers stream back to the driver, which alone writes the
cache (after each batch, synced), so:

- a worker or actor that dies loses only its batch in flight: the actor is restarted (or
  replaced) and the batch sent again, up to ``max_failures`` times;
- a driver that dies loses only the batches in flight: the next run reads the cache and sends
  only what is missing;
- the answers are the judge's answers to each request, whichever actor computed them, so the
  verdict table equals a single-process run row for row.

Loading the judge is paid once per actor and call; a :class:`WorkerPool` keeps loaded actors
across calls (pass it as the judge). On the command line: ``metaeval probe ITEMS --judge
gen:MODEL_DIR --engine ray --workers 4 [--address auto]`` — each actor builds the judge from
the spec and its options (:class:`~metaeval.probes.specs.JudgeSpec`). Ray sets each actor's
``OMP_NUM_THREADS`` to its ``cpus_per_worker`` (checked with Ray 2: torch then runs 1 or 2
threads in a 1- or 2-CPU actor), so N torch judges do not oversubscribe the node's cores.

What 1M probe requests cost on 8 GPUs, on paper: a 7–8B judge under vLLM on one H100 serves
roughly 2,000–4,000 short judge prompts (≈600 tokens in, one verdict token out) per minute with
the log-probability path, so 1M requests take about 4–8 GPU-hours: 30–60 minutes on 8 GPUs,
and the driver's cache writes (one fsync per batch of 64) are not the bottleneck. A generating
judge that writes ~300 tokens of reasoning costs 10–20× more.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from metaeval._progress import progress
from metaeval.engine import _ray, ray_session
from metaeval.errors import MetaevalError, ParameterError
from metaeval.probes.judges import JudgeSetupError, Request
from metaeval.probes.runner import Cache, Retry, answers, lookup, run_judge
from metaeval.probes.specs import load_judge

__all__ = ["WorkerPool", "plan_batches", "run_judge_ray"]


def plan_batches(todo: dict[str, Request], size: int) -> list[list[str]]:
    """Cut the keys of the requests still to run into batches: sorted by length, with the
    requests of one group (the two orders of a pair) side by side and never split."""
    group_len: dict[str, int] = {}
    for k, r in todo.items():
        g = r.group or k
        group_len[g] = min(group_len.get(g, len(r.text)), len(r.text))
    order = sorted(todo, key=lambda k: (group_len[todo[k].group or k], todo[k].group or k, len(todo[k].text)))
    batches: list[list[str]] = []
    i = 0
    while i < len(order):
        end = i + size
        while size > 1 and end < len(order) and todo[order[end]].group \
                and todo[order[end]].group == todo[order[end - 1]].group:
            end += 1
        batches.append(order[i:end])
        i = end
    return batches


class _Worker:
    """A Ray actor holding one judge; it runs a batch through the single-process runner (the same
    per-request checks, failure isolation and retries) against a cache of its own in memory."""

    def __init__(self, judge: Any, retry: Any) -> None:
        self.judge = _materialise(judge)
        self.retry = retry

    def fingerprint(self) -> str:
        return str(self.judge.fingerprint())

    def pid(self) -> int:
        return os.getpid()

    def call(self, requests: list[Request]) -> tuple[list[Any], tuple[Any, ...], tuple[Any, ...], int]:
        import warnings

        mem = Cache(None)
        with warnings.catch_warnings():  # the driver warns once, for the whole run
            warnings.simplefilter("ignore")
            out = run_judge(self.judge, requests, cache=mem, batch_size=len(requests), show=False, retry=self.retry)
        fp = self.judge.fingerprint()
        raw = [mem[k] if (k := r.key(fp)) in mem else None for r in requests]
        return raw, out.reason, out.detail, out.n_calls


def _materialise(judge: Any) -> Any:
    if isinstance(judge, str):
        return load_judge(judge)
    if hasattr(judge, "fingerprint"):
        return judge
    if callable(judge):
        made = judge()
        if not hasattr(made, "fingerprint"):
            raise MetaevalError("a judge factory must return a judge (an object with fingerprint() and a batch call)")
        return made
    raise ParameterError(f"`judge` must be a judge, a judge spec string or a factory; got {type(judge).__name__}")


class WorkerPool:
    """Ray actors that hold a loaded judge across runs (in the Ray session open in this process).

    :func:`run_judge_ray` starts its actors and stops them at the end of the call; a pool started
    once serves many calls (several probe runs, or template studies, on the same loaded model),
    so model loading is paid once. Pass the pool as ``judge``. The constructor returns when every
    actor has loaded its judge. Use it as a context manager, or call :meth:`close`.

    >>> import ray                                                       # doctest: +SKIP
    >>> from metaeval.engine import ray_session                          # doctest: +SKIP
    >>> with ray_session(num_cpus=2), WorkerPool("gen:./judge", workers=2) as pool:  # doctest: +SKIP
    ...     first = run_judge_ray(pool, requests)
    ...     again = run_judge_ray(pool, other_requests)
    """

    def __init__(self, judge: Any | str | Callable[[], Any], *, workers: int | None = None,
                 cpus_per_worker: float = 1, gpus_per_worker: float = 0, retry: Any = None) -> None:
        ray = _ray()
        if not ray.is_initialized():
            raise MetaevalError("a WorkerPool needs an open Ray session: use metaeval.engine.ray_session() or "
                                "ray.init() first")
        res = ray.cluster_resources()
        if workers is None:
            workers = int(res.get("GPU", 0) // gpus_per_worker) if gpus_per_worker else \
                int(res.get("CPU", 1) // max(cpus_per_worker, 1e-9))
        self.judge, self.retry = judge, retry or Retry()
        self.name = getattr(judge, "name", None) or (judge if isinstance(judge, str) else "judge")
        self.batch_size = getattr(judge, "batch_size", None)
        self.actor_cls = ray.remote(_Worker).options(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker,
                                                     max_restarts=0, max_task_retries=0)
        self.actors = [self.actor_cls.remote(judge, self.retry) for _ in range(max(1, int(workers)))]
        try:
            prints = ray.get([a.fingerprint.remote() for a in self.actors])  # every actor has loaded its judge
        except Exception as exc:
            self.close()
            cause = getattr(exc, "cause", None)
            if isinstance(cause, MetaevalError):
                raise cause from None
            raise
        self._fingerprint = str(prints[0])

    def fingerprint(self) -> str:
        """The judge's identity, as its actors report it."""
        return self._fingerprint

    def replace(self, slot: int) -> Any:
        """A new actor in ``slot`` (its predecessor died)."""
        with contextlib.suppress(Exception):
            _ray().kill(self.actors[slot], no_restart=True)
        self.actors[slot] = self.actor_cls.remote(self.judge, self.retry)
        return self.actors[slot]

    def close(self) -> None:
        """Stop the actors."""
        ray = _ray()
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_judge_ray(judge: Any | str | Callable[[], Any], requests: Sequence[Request], *, cache: Any = None,
                  batch_size: int | None = None, workers: int | None = None, cpus_per_worker: float = 1,
                  gpus_per_worker: float = 0, address: str | None = None, max_failures: int = 3,
                  retry: Any = None, show: bool | None = None) -> Any:
    """The judge's answer to every request, computed on Ray actors (see the module docstring).

    Returns the same :class:`~metaeval.probes.runner.Answers` as
    :func:`~metaeval.probes.run_judge`: values, and per request the reason it is an abstention.

    Parameters
    ----------
    judge
        A judge object (shipped to each actor), a spec string for
        :func:`~metaeval.probes.load_judge` (``"hf:PATH"``…) or a zero-argument factory, so
        that each actor loads its own model on its own GPU.
    cache
        A :class:`~metaeval.probes.Cache`; only the driver writes it.
    workers
        Actors in the pool (default: the cluster's GPUs when ``gpus_per_worker`` > 0, else its
        CPUs divided by ``cpus_per_worker``).
    address
        An existing Ray cluster; default: the session open in this process, else a local Ray.
    max_failures
        How often one batch may be lost to a dead worker before the run stops with an error.
    retry
        The per-request retry policy each worker applies (:class:`~metaeval.probes.Retry`).
    """
    cache = cache if cache is not None else Cache(None)
    with ray_session(address) as ray:
        from ray.exceptions import RayActorError, RayTaskError

        given = judge if isinstance(judge, WorkerPool) else None
        if given is not None and not given.actors:
            raise MetaevalError("this WorkerPool is closed")
        workers_pool = given or WorkerPool(judge, workers=workers, cpus_per_worker=cpus_per_worker,
                                           gpus_per_worker=gpus_per_worker, retry=retry)
        retry = workers_pool.retry
        pool = workers_pool.actors
        workers = len(pool)
        replaced = 0
        fp = workers_pool.fingerprint()
        judge = workers_pool.judge if given is None else given
        keys, first, todo, n_cached = lookup(cache, fp, requests)
        size = int(batch_size or getattr(judge, "batch_size", 16) or 16)
        queue = deque((i, b) for i, b in enumerate(plan_batches(todo, size)))
        losses: dict[int, int] = {}
        pending: dict[Any, tuple[int, list[str], int, Any]] = {}
        failed: dict[str, tuple[str, str]] = {}
        calls = 0
        load = [0] * workers
        name = getattr(judge, "name", None) or (judge if isinstance(judge, str) else "judge")
        with progress(show) as bar:
            task = bar.add_task(f"judging with {name} on {workers} Ray workers", total=len(todo))
            while queue or pending:
                while queue:
                    slot = min(range(workers), key=load.__getitem__)
                    if load[slot] >= 2:
                        break
                    idx, batch = queue.popleft()
                    ref = pool[slot].call.remote([todo[k] for k in batch])
                    pending[ref] = (idx, batch, slot, pool[slot])
                    load[slot] += 1
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                idx, batch, slot, actor = pending.pop(ref)
                load[slot] -= 1
                try:
                    raw, reason, detail, n = ray.get(ref)
                except RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, (JudgeSetupError, MetaevalError)):
                        raise cause from None  # the same error a single-process run gives
                    raise
                except RayActorError as exc:
                    # the worker died (killed, out of memory, a crash in native code): replace it, resend
                    losses[idx] = losses.get(idx, 0) + 1
                    if losses[idx] > max_failures:
                        raise MetaevalError(f"a batch of {len(batch)} requests was lost {losses[idx]} times to dying "
                                            f"Ray workers; last: {str(exc)[:300]}") from None
                    if pool[slot] is actor:
                        replaced += 1
                        if replaced > workers * max_failures:
                            raise MetaevalError(f"Ray workers died {replaced} times; giving up (last: "
                                                f"{str(exc)[:300]})") from None
                        workers_pool.replace(slot)
                    queue.appendleft((idx, batch))
                    continue
                calls += n
                done = [(k, a) for k, a in zip(batch, raw, strict=True) if a is not None]
                for k, a, why, what in zip(batch, raw, reason, detail, strict=True):
                    if a is None:
                        failed[k] = (str(why), str(what))
                with cache.locked():
                    cache.add([k for k, _ in done], [a for _, a in done])
                bar.advance(task, len(batch))
        if given is None:
            workers_pool.close()
    return answers(keys, first, failed, cache, calls, n_cached, str(name), retry)
