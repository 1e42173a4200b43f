"""The single-process probe runner: look every request up in the on-disk cache, send the rest to
the judge in length-sorted batches (both orders of a pair travel together), retry and isolate
failures, and check the answers. Building the requests from items and turning the answers into
a verdict table is :mod:`metaeval.probes.study`; the Ray runner is :mod:`.distributed`."""

from __future__ import annotations

import math
import numbers
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np

from metaeval._progress import progress
from metaeval._random import as_generator
from metaeval._validate import Interval, validate_params
from metaeval.errors import DataDroppedWarning, MetaevalError, warn
from metaeval.probes.cache import Answer, Cache
from metaeval.probes.judges import Failure, Judge, JudgeSetupError, Request

__all__ = ["REASONS", "Answers", "Cache", "Retry", "answers", "check_answer", "lookup", "run_judge"]


# ----------------------------------------------------------------- answers
#: Why an answer is not a verdict (an abstention): the judge's number is NaN, ±inf, outside its
#: range, or not a number at all; or the call failed after every retry; or it was not sent
#: because the judge had failed on every request of a long run of them.
REASONS = ("nan", "infinite", "out_of_range", "not_a_number", "error", "not_sent")


def as_answer(value: Any) -> Answer:
    """What the judge returned for one request, as the cache stores it: a number as a float
    (NaN and ±inf included), anything else as the text of its ``repr`` (clipped)."""
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    if isinstance(value, np.ndarray) and value.shape == () and np.issubdtype(value.dtype, np.number) \
            and not np.issubdtype(value.dtype, np.complexfloating):
        return float(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + " … " + text[-17:]


def check_answer(request: Request, answer: Answer) -> tuple[float, str | None, str | None]:
    """``(value, reason, detail)``: the verdict, or nan with why it is an abstention."""
    if isinstance(answer, str):
        return np.nan, "not_a_number", f"expected a number, got {answer}"
    if math.isnan(answer):
        return np.nan, "nan", "the judge returned nan"
    if math.isinf(answer):
        return np.nan, "infinite", f"the judge returned {answer}"
    if request.kind == "pair":
        if not 0.0 <= answer <= 1.0:
            return np.nan, "out_of_range", f"P(first is better) must be in [0, 1]; got {answer:.6g}"
    else:
        lo, hi = request.scale
        if not lo <= answer <= hi:
            return np.nan, "out_of_range", f"a score on the scale {lo}-{hi} must be in [{lo}, {hi}]; got {answer:.6g}"
    return float(answer), None, None


@dataclass(frozen=True)
class Retry:
    """How the runner retries a request the judge failed on.

    A batch that raises is split in halves until the failing requests are alone (a request never
    takes its batch down with it); the failed requests of a batch are retried together, up to
    ``max_attempts`` times in all, after waiting ``backoff · factor^k`` seconds (at most
    ``max_backoff``) times a jitter factor in ``[1, 1 + jitter)`` drawn from the run's seeded
    generator. What still fails is an
    abstention (reason ``error``, with the exception's type and message). Once
    ``max_consecutive_failures`` requests in a row have failed, the judge is taken to be down:
    the requests left are not sent (reason ``not_sent``) and the run finishes with a warning.
    ``sleep`` is how the runner waits (tests pass a function that only records). Out-of-memory
    errors are not failures: the batch size is halved and the batch tried again.

    Examples
    --------
    >>> Retry(max_attempts=2).delays(np.random.default_rng(0))
    [0.2...]
    """

    max_attempts: int = 5
    backoff: float = 0.25
    factor: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.25
    max_consecutive_failures: int = 16
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("max_attempts", "max_consecutive_failures"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise MetaevalError(f"`{name}` must be an integer >= 1; got {v!r}")
        for name in ("backoff", "factor", "max_backoff", "jitter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise MetaevalError(f"`{name}` must be a finite number >= 0; got {v!r}")

    def delays(self, rng: np.random.Generator) -> list[float]:
        """The waits before the 2nd, 3rd … attempt."""
        return [min(self.max_backoff, self.backoff * self.factor ** k) * (1 + self.jitter * float(rng.random()))
                for k in range(self.max_attempts - 1)]


@dataclass(frozen=True)
class Answers:
    """The judge's answers to a list of requests: ``values`` (nan where there is no verdict),
    and per request the ``reason`` it is an abstention (None for a verdict; one of
    :data:`REASONS`) and a ``detail`` (the value, or the exception); ``n_calls`` counts the
    judge calls this run made (batches and retries), ``n_cached`` the answers read from the
    cache."""

    values: np.ndarray
    reason: tuple[str | None, ...]
    detail: tuple[str | None, ...]
    n_calls: int = 0
    n_cached: int = 0

    @property
    def valid(self) -> np.ndarray:
        """True where the answer is a verdict."""
        return np.array([r is None for r in self.reason], dtype=bool)

    def counts(self) -> dict[str, int]:
        """How many abstentions per reason."""
        out: dict[str, int] = {}
        for r in self.reason:
            if r is not None:
                out[r] = out.get(r, 0) + 1
        return out


def _is_oom(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def _error_text(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= 200 else text[:150] + " … " + text[-47:]


class _OutOfMemoryError(Exception):
    pass


class _Caller:
    """Calls the judge on a list of keys and sorts what comes back into answers and failures;
    a raising batch is split in halves down to single requests."""

    def __init__(self, judge: Judge, todo: Mapping[str, Request]) -> None:
        self.judge, self.todo, self.calls = judge, todo, 0

    def __call__(self, keys: Sequence[str], *, top: bool = False) -> tuple[dict[str, Answer], dict[str, Failure]]:
        self.calls += 1
        try:
            out = self.judge([self.todo[k] for k in keys])
            seq = list(out) if not isinstance(out, (str, bytes)) and hasattr(out, "__len__") else None
            if seq is None or len(seq) != len(keys):
                got = f"{len(seq)} answers" if seq is not None else f"a {type(out).__name__}"
                raise MetaevalError(f"the judge returned {got} for {len(keys)} requests")
        except JudgeSetupError:
            raise
        except Exception as exc:
            if top and len(keys) > 1 and _is_oom(exc):
                raise _OutOfMemoryError from exc
            if len(keys) == 1:
                return {}, {keys[0]: Failure.of(exc)}
            half = len(keys) // 2
            ok, bad = self(keys[:half])
            ok2, bad2 = self(keys[half:])
            return ok | ok2, bad | bad2
        ok, bad = {}, {}
        for k, v in zip(keys, seq, strict=True):
            if isinstance(v, Failure):
                bad[k] = v
            else:
                ok[k] = as_answer(v)
        return ok, bad


def _empty_cuda() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _take(free: Sequence[str], todo: Mapping[str, Request], size: int) -> list[str]:
    """The next batch: ``size`` keys, extended so that the requests of one group stay together."""
    end = min(size, len(free))
    while size > 1 and end < len(free) and todo[free[end]].group and todo[free[end]].group == todo[free[end - 1]].group:
        end += 1
    return list(free[:end])


@validate_params({
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "show": ["boolean", None],
    "rng": ["rng"],
    "poll": [Interval(Real, 0, None, closed="neither")],
})
def run_judge(judge: Judge, requests: Sequence[Request], *, cache: Cache | None = None, batch_size: int | None = None,
              show: bool | None = None, retry: Retry | None = None, rng: Any = 0, poll: float = 0.05) -> Answers:
    """The judge's answer to every request, each checked: from the cache where present, else
    computed in batches sorted by length (the cache is written after each batch).

    Every answer is checked against its request: a probability outside [0, 1], a score outside
    the request's scale, NaN, ±inf or something that is not a number is an abstention with its
    reason, never a verdict. A batch that raises is split down to the failing requests, which
    are retried with exponential backoff (:class:`Retry`); what still fails is an abstention
    (``error``, not stored in the cache, so a later run tries again) and the run goes on. On out
    of memory the batch size is halved and the batch retried. Runs sharing one cache folder
    claim batches before judging them, so each request is judged once among them; a run waits
    (``poll`` seconds between looks) for the answers another run has claimed. A warning counts
    the abstentions by reason.

    Parameters
    ----------
    judge : Judge
        The judge (``name``, ``fingerprint()`` and a batch call).
    requests : sequence of Request
        What to judge.
    cache : Cache, optional
        Where answers are read from and written to. Default: no cache.
    batch_size : int, optional
        Requests per judge call. Default: the judge's own ``batch_size``, else 16.
    show : bool, optional
        Show a progress display: ``None`` where someone watches, ``False`` never.
    retry : Retry, optional
        How failed requests are retried. Default: :class:`Retry`'s (4 attempts, exponential
        backoff).
    rng : int, numpy.random.Generator or None, default 0
        Seeds the retries' jitter.
    poll : float, default 0.05
        Seconds between looks for answers another run sharing the cache has claimed.

    Returns
    -------
    Answers
        ``values`` in request order (``nan`` where there is no verdict), the ``reason`` and
        ``detail`` of each abstention, and the calls made and answers read from the cache.

    Examples
    --------
    >>> from metaeval.probes import CallableJudge, Request
    >>> reqs = [Request("pair", "q", ("x", "y"), "q", rep=i) for i in range(3)]
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     out = run_judge(CallableJudge(lambda r: [0.7, float("nan"), 1.7][r.rep]), reqs, show=False)
    >>> out.values.tolist(), out.reason
    ([0.7, nan, nan], (None, 'nan', 'out_of_range'))
    """
    retry = retry or Retry()
    gen, _ = as_generator(rng)
    cache = cache if cache is not None else Cache(None)
    keys, first, todo, n_cached = lookup(cache, judge.fingerprint(), requests)
    # length-sorted, with the requests of one group (the two orders of a pair) side by side
    group_len: dict[str, int] = {}
    for k, r in todo.items():
        g = r.group or k
        group_len[g] = min(group_len.get(g, len(r.text)), len(r.text))
    order = sorted(todo, key=lambda k: (group_len[todo[k].group or k], todo[k].group or k, len(todo[k].text)))
    size = int(batch_size or getattr(judge, "batch_size", 16) or 16)
    caller = _Caller(judge, todo)
    failed: dict[str, tuple[str, str]] = {}  # key -> (reason, detail): failures of this run, not cached
    in_a_row, down, last_error = 0, False, ""
    name = getattr(judge, "name", "judge")
    try:
        with progress(show) as bar:
            task = bar.add_task(f"judging with {name}", total=len(order))
            queue = deque(order)  # not yet looked at, in order
            waiting: list[str] = []  # passed over because another run had claimed them
            while True:
                with cache.locked():
                    cache.refresh()
                    others = cache.claimed_by_others()
                    free, still = [], []
                    for k in waiting:
                        if k in cache:
                            bar.advance(task, 1)  # answered by another run
                        elif k in others:
                            still.append(k)
                        else:
                            free.append(k)  # its claim ended without an answer (a failure, a killed run)
                    waiting = still
                    while queue and (len(free) < size or down or (
                            todo[queue[0]].group and free and todo[queue[0]].group == todo[free[-1]].group)):
                        k = queue.popleft()  # a batch of `size`, extended to keep a group together
                        if k in cache:
                            bar.advance(task, 1)
                        elif k in others:
                            waiting.append(k)
                        else:
                            free.append(k)
                    if down:
                        for k in free:
                            failed[k] = ("not_sent", f"not sent: the judge failed on {in_a_row} requests in a row "
                                                     f"(last: {last_error})")
                        bar.advance(task, len(free))
                        free = []
                    chunk = free
                    cid = cache.claim(chunk) if chunk else None
                if not chunk:
                    if not waiting and not queue:
                        break
                    time.sleep(poll)  # the rest is claimed by other runs: wait for their answers
                    continue
                answered: dict[str, Answer] = {}
                failures: dict[str, Failure] = {}
                i = 0
                while i < len(chunk):  # in sub-batches of the current size (halved on out of memory)
                    sub = _take(chunk[i:], todo, size)
                    try:
                        ok, bad = caller(sub, top=True)
                    except _OutOfMemoryError:
                        size = max(1, size // 2)
                        _empty_cuda()
                        continue
                    answered |= ok
                    failures |= bad
                    i += len(sub)
                # retry the failed requests of the batch together, after a growing wait, until they
                # answer or their attempts are spent
                pending = [k for k in chunk if k in failures and failures[k].retry]
                for delay in retry.delays(gen):
                    if not pending or down:
                        break
                    retry.sleep(delay)
                    ok, bad = caller(pending)
                    answered |= ok
                    failures.update(bad)
                    pending = [k for k in pending if k in bad and bad[k].retry]
                for k in chunk:
                    if k in answered:
                        in_a_row = 0
                        continue
                    failed[k] = ("error", failures[k].error)
                    last_error = failures[k].error
                    in_a_row += 1
                    down = down or in_a_row >= retry.max_consecutive_failures
                with cache.locked():
                    cache.add(list(answered), list(answered.values()))
                    if cid is not None:
                        cache.release(cid)
                bar.advance(task, len(chunk))
    finally:
        cache.release_all()
    return answers(keys, first, failed, cache, caller.calls, n_cached, name, retry)


def lookup(cache: Cache, fp: str, requests: Sequence[Request]) -> tuple[list[str], dict[str, Request],
                                                                       dict[str, Request], int]:
    """The requests' cache keys, the first request of each key, those the cache does not hold yet,
    and how many it does."""
    keys = [r.key(fp) for r in requests]
    first: dict[str, Request] = {}
    for k, r in zip(keys, requests, strict=True):
        first.setdefault(k, r)
    with cache.locked():
        cache.refresh()
        todo = {k: r for k, r in first.items() if k not in cache}
    return keys, first, todo, len(first) - len(todo)


def answers(keys: Sequence[str], first: Mapping[str, Request], failed: Mapping[str, tuple[str, str]],
            cache: Cache, calls: int, n_cached: int, name: str, retry: Retry) -> Answers:
    """Every request's checked answer (from the cache, or its failure), with one warning that counts
    the abstentions."""
    values, reason, detail = [], [], []
    checked: dict[str, tuple[float, str | None, str | None]] = {}
    for k in keys:
        if k not in checked:
            checked[k] = (np.nan, *failed[k]) if k in failed else check_answer(first[k], cache[k])
        v, why, what = checked[k]
        values.append(v)
        reason.append(why)
        detail.append(what)
    out = Answers(np.array(values, dtype=float), tuple(reason), tuple(detail), calls, n_cached)
    _warn_abstentions(name, out, retry)
    return out


def _warn_abstentions(name: str, answers: Answers, retry: Retry) -> None:
    counts = answers.counts()
    if not counts:
        return
    n = len(answers.reason)
    example: dict[str, str] = {}
    for r, d in zip(answers.reason, answers.detail, strict=True):
        if r is not None and r not in example and d:
            example[r] = d
    parts = "; ".join(f"{r} {c} (first: {example.get(r, r)})" for r, c in counts.items())
    total = sum(counts.values())
    failed = counts.get("error", 0) + counts.get("not_sent", 0)
    if total == n:
        head = f"judge {name!r} gave no usable verdict: all {n} requests are abstentions"
    else:
        head = f"judge {name!r}: {total} of {n} requests are abstentions, left out of every rate"
    tail = (f"; a failed request was tried {retry.max_attempts} times with backoff; failed and unsent requests are "
            "not cached, so the next run tries them again" if failed else "")
    warn(f"{head}: {parts}{tail}", DataDroppedWarning, stacklevel=4)
