"""Probe requests on a local Ray (2 CPUs): same answers as one process, a killed worker and a
killed driver lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from metaeval.probes import Cache, CallableJudge, Request, run_judge  # noqa: E402
from metaeval.probes.distributed import plan_batches, run_judge_ray  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    from metaeval.engine import ray_session

    with ray_session(num_cpus=2) as r:
        yield r


def _requests(n: int) -> list[Request]:
    out = []
    for i in range(n):
        a, b = f"answer {i} " + "x" * (i % 7), f"other {i}"
        g = f"g{i}"
        out.append(Request("pair", f"Q{i}: {a} | {b}", (a, b), f"Q{i}", group=g))
        out.append(Request("pair", f"Q{i}: {b} | {a}", (b, a), f"Q{i}", group=g))
    return out


def _value(r: Request) -> float:
    return (len(r.responses[0]) % 5) / 4


def test_plan_keeps_pairs_together_and_covers_every_request():
    reqs = _requests(9)
    todo = {f"k{i}": r for i, r in enumerate(reqs)}
    batches = plan_batches(todo, 3)
    assert sorted(k for b in batches for k in b) == sorted(todo)
    for b in batches:
        groups = [todo[k].group for k in b]
        for g in set(groups):
            assert sum(todo[k].group == g for k in todo) == groups.count(g)  # never split


def test_ray_run_equals_single_process_row_for_row(local_ray, tmp_path):
    reqs = _requests(40)

    def fn(r):
        return _value(r)

    single = run_judge(CallableJudge(fn, name="len"), reqs, cache=Cache(None), batch_size=8, show=False)
    cache = Cache(tmp_path / "c")
    dist = run_judge_ray(CallableJudge(fn, name="len"), reqs, cache=cache, batch_size=8, workers=2, show=False)
    np.testing.assert_array_equal(dist.values, single.values)
    assert dist.reason == single.reason and dist.n_cached == 0
    # a second run is all cache hits: nothing is sent
    again = run_judge_ray(CallableJudge(fn, name="len"), reqs, cache=Cache(tmp_path / "c"), batch_size=8,
                          workers=2, show=False)
    np.testing.assert_array_equal(again.values, single.values)
    assert again.n_calls == 0 and again.n_cached == len(reqs)


def test_ray_answers_are_checked_and_failures_are_abstentions_like_one_process(local_ray, tmp_path):
    import warnings

    from metaeval.probes import Retry

    reqs = _requests(12)

    def fn(r):
        i = int(r.prompt[1:])
        if i % 4 == 0:
            return float("nan")
        if i % 4 == 1:
            return 1.7
        if i % 4 == 2:
            raise ValueError("flaky backend")
        return _value(r)

    retry = Retry(sleep=lambda s: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = run_judge(CallableJudge(fn, name="bad"), reqs, cache=Cache(None), batch_size=4, show=False,
                           retry=retry)
        dist = run_judge_ray(CallableJudge(fn, name="bad"), reqs, cache=Cache(tmp_path / "c"), batch_size=4,
                             workers=2, show=False, retry=retry)
    np.testing.assert_array_equal(dist.values, single.values)
    assert dist.reason == single.reason and set(dist.counts()) == {"nan", "out_of_range", "error"}


def test_a_killed_worker_loses_nothing(local_ray, tmp_path):
    marker = tmp_path / "died"
    reqs = _requests(30)

    def fn(r):
        if r.prompt == "Q17" and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker process dies mid-batch
        return _value(r)

    single = np.array([_value(r) for r in reqs])
    out = run_judge_ray(CallableJudge(fn, name="crashy"), reqs, cache=Cache(tmp_path / "c"), batch_size=6,
                        workers=2, show=False)
    assert marker.exists()
    np.testing.assert_array_equal(out.values, single)


def test_a_judge_setup_error_stops_the_run_with_the_same_error(local_ray, tmp_path):
    from metaeval.probes.judges import JudgeSetupError

    def fn(r):
        raise JudgeSetupError("the judge needs a reference answer")

    with pytest.raises(JudgeSetupError, match="needs a reference answer"):
        run_judge_ray(CallableJudge(fn, name="setup"), _requests(3), cache=Cache(None), batch_size=2, workers=1,
                      show=False)


JUDGE_MODULE = textwrap.dedent('''
    import time
    from pathlib import Path

    CALLS = Path(__CALLS__)


    def slow(r):
        time.sleep(0.05)
        with CALLS.open("a") as fh:
            fh.write(r.prompt + "\\n")
        return (len(r.responses[0]) % 5) / 4
''')

DRIVER = textwrap.dedent('''
    import sys
    sys.path.insert(0, {folder!r})
    import judgemod
    import ray.cloudpickle
    from judgemod import slow
    from metaeval.probes import Cache, CallableJudge, Request
    ray.cloudpickle.register_pickle_by_value(judgemod)  # Ray workers cannot import it from the test's folder
    from metaeval.probes.distributed import run_judge_ray
    run_judge_ray(CallableJudge(slow, name="slow"), _requests(60), cache=Cache({cache!r}), batch_size=4,
                  workers=2, show=False)
''')


@pytest.mark.slow
def test_a_killed_driver_resumes_from_the_cache(local_ray, tmp_path, monkeypatch):
    import inspect

    calls, cache_dir = tmp_path / "calls.txt", tmp_path / "cache"
    (tmp_path / "judgemod.py").write_text(JUDGE_MODULE.replace("__CALLS__", repr(str(calls))))
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(folder=str(tmp_path), cache=str(cache_dir)).replace(
        "run_judge_ray(", inspect.getsource(_requests) + "\n\nrun_judge_ray(", 1))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(Cache(cache_dir)) >= 24:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver (its actors die with it: Ray's fate sharing)
    proc.wait()
    time.sleep(3)  # calls the dead driver's actors had in flight finish, unrecorded by any cache
    done_before = len(Cache(cache_dir))
    assert 24 <= done_before < 120
    made_before = len(calls.read_text().splitlines())

    monkeypatch.syspath_prepend(str(tmp_path))
    import judgemod
    from judgemod import slow  # the same judge: the same cache keys

    ray.cloudpickle.register_pickle_by_value(judgemod)

    reqs = _requests(60)
    out = run_judge_ray(CallableJudge(slow, name="slow"), reqs, cache=Cache(cache_dir), batch_size=4, workers=2,
                        show=False)
    np.testing.assert_array_equal(out.values, np.array([_value(r) for r in reqs]))
    assert out.n_cached == done_before  # the resumed run read what the killed one had cached
    assert len(calls.read_text().splitlines()) - made_before == 120 - done_before  # and judged only the rest


def test_probes_run_with_engine_ray_equals_the_local_run(local_ray, tmp_path):
    from metaeval import probes

    items = [{"id": f"q{i}", "prompt": "Name a prime.", "response_a": f"{2 * i + 3} is prime, I think.",
              "response_b": "Seven is a prime number. It has no divisors but 1 and 7."} for i in range(12)]

    def first(r):
        return 0.9

    local = probes.run(items, probes.CallableJudge(first, name="first"), ["order_swap", "authority"], progress=False)
    dist = probes.run(items, probes.CallableJudge(first, name="first"), ["order_swap", "authority"], progress=False,
                      engine="ray", workers=2, cache=tmp_path / "c")
    assert local.table.equals(dist.table)


def test_a_worker_pool_serves_several_runs_with_the_same_actors(local_ray, tmp_path):
    from metaeval.errors import MetaevalError
    from metaeval.probes.distributed import WorkerPool

    reqs = _requests(12)
    judge = CallableJudge(_value, name="pooled")
    with WorkerPool(judge, workers=2) as pool:
        pids = sorted(ray.get([a.pid.remote() for a in pool.actors]))
        first = run_judge_ray(pool, reqs[:12], cache=Cache(None), batch_size=4, show=False)
        second = run_judge_ray(pool, reqs[12:], cache=Cache(None), batch_size=4, show=False)
        assert sorted(ray.get([a.pid.remote() for a in pool.actors])) == pids  # the same loaded actors
        assert pool.fingerprint() == judge.fingerprint()
    local = run_judge(judge, reqs, cache=Cache(None), batch_size=4, show=False)
    np.testing.assert_array_equal(np.concatenate([first.values, second.values]), local.values)
    with pytest.raises(MetaevalError, match="closed"):
        run_judge_ray(pool, reqs, show=False)


def test_a_cpu_worker_runs_torch_on_the_cores_it_reserved(local_ray):
    # what the module docstring promises: Ray gives a 1-CPU actor one torch thread
    pytest.importorskip("torch")

    def make():
        import torch

        return CallableJudge(lambda r: float(torch.get_num_threads()), name="threads")

    out = run_judge_ray(make, _requests(2), cache=Cache(None), workers=1, show=False)
    assert (out.values == 1).all()
