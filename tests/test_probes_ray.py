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
    np.testing.assert_array_equal(dist, single)
    # a second run is all cache hits: nothing is sent
    again = run_judge_ray(CallableJudge(lambda r: 1 / 0, name="len"), reqs, cache=Cache(tmp_path / "c"),
                          batch_size=8, workers=2, show=False)
    np.testing.assert_array_equal(again, single)


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
    np.testing.assert_array_equal(out, single)


def test_a_judge_that_always_fails_stops_with_a_clear_error(local_ray, tmp_path):
    from metaeval.errors import MetaevalError

    def fn(r):
        raise ValueError("backend down")

    with pytest.raises(MetaevalError, match="failed 3 times on Ray workers; last: ValueError: backend down"):
        run_judge_ray(CallableJudge(fn, name="down"), _requests(3), cache=Cache(None), batch_size=2, workers=1,
                      max_failures=2, show=False)


DRIVER = textwrap.dedent('''
    import time
    from pathlib import Path
    from metaeval.probes import Cache, CallableJudge, Request
    from metaeval.probes.distributed import run_judge_ray

    calls = Path({calls!r})

    def fn(r):
        time.sleep(0.05)
        with calls.open("a") as fh:
            fh.write(r.prompt + "\\n")
        return _value(r)

    run_judge_ray(CallableJudge(fn, name="slow"), _requests(60), cache=Cache({cache!r}), batch_size=4,
                  workers=2, show=False, address=None)
''')


@pytest.mark.slow
def test_a_killed_driver_resumes_from_the_cache(local_ray, tmp_path):
    calls, cache_dir = tmp_path / "calls.txt", tmp_path / "cache"
    script = tmp_path / "driver.py"
    import inspect

    helpers = inspect.getsource(_requests) + "\n\n" + inspect.getsource(_value) + "\n\n"
    text = DRIVER.format(calls=str(calls), cache=str(cache_dir))
    script.write_text(text.replace("calls = Path", helpers + "calls = Path", 1))
    env = {**os.environ, "RAY_ADDRESS": ""}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True)
    cache_file = cache_dir / "verdicts.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if cache_file.exists() and len(cache_file.read_text().splitlines()) >= 24:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started
    proc.wait()
    done_before = len(Cache(cache_dir).values)
    assert 24 <= done_before < 120

    def fn(r):
        return _value(r)

    reqs = _requests(60)
    out = run_judge_ray(CallableJudge(fn, name="slow"), reqs, cache=Cache(cache_dir), batch_size=4, workers=2,
                        show=False)
    np.testing.assert_array_equal(out, np.array([_value(r) for r in reqs]))
    # nothing the cache already held was computed again by the first driver's workers after the kill
    assert len(calls.read_text().splitlines()) <= done_before + 2 * 2 * 4 + 4
