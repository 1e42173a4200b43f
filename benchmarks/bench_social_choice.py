"""Social-choice speed and size, in one run (2 cores).

1. Kemeny–Young by the subset dynamic program: 15 candidates (target < 1 s) and 20
   (target < 10 s), against pref_voting's ``kemeny_young`` (brute force over orders) up to the
   size it can do in a minute; and the bounded ``kemeny`` dispatcher on 100 candidates.
2. Every rule on 100 models × 50 tasks (target < 50 ms each for the classical rules).
3. Issue 18's target — 100 models × 30 tasks: ``compare_rules`` with every default rule, the
   robustness bootstrap and the leaderboard report must finish in seconds in < 2 GB. Time and peak
   memory (tracemalloc for the rules, and each step's peak RSS — VmHWM — measured in a fresh child
   process, with the default and with one BLAS thread), the same on Vote'n'Rank's 100-model GLUE
   table when ``../shared/data`` is there, and the ratio to pref_voting (the library people use
   today) for the rules it has.

Run: ``python benchmarks/bench_social_choice.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _timing import timed

from metaeval import Profile, ScoreMatrix
from metaeval.rankers import GAME_METHODS, RULES, apply_rule, compare_rules
from metaeval.rankers.kemeny import kemeny, kemeny_dp
from metaeval.rankers.social_choice import majority_matrix

GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vote-n-rank" / "leaderboard_glue.csv"
PV_RULES = {"plurality": "plurality", "borda": "borda", "copeland": "copeland", "llull": "llull",
            "minimax": "minimax", "schulze": "beat_path", "instant_runoff": "instant_runoff", "coombs": "coombs",
            "baldwin": "baldwin", "nanson": "strict_nanson", "black": "blacks", "bucklin": "bucklin"}

# One step in a fresh interpreter, so that its peak RSS is its own: prints {"seconds": …, "rss_mb": …}.
CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import metaeval
from metaeval import ScoreMatrix
step, source = sys.argv[1], sys.argv[2]
if source == "random":
    rng = np.random.default_rng(0)
    S = rng.normal(size=100)[:, None] + rng.normal(size=(100, 30))
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(30)), S + 10)
else:
    sm = metaeval.read_leaderboard(source)
t = time.perf_counter()
if step == "compare_rules":
    from metaeval.rankers import compare_rules
    compare_rules(sm)
elif step == "robustness":
    from metaeval.rankers import robustness
    robustness(sm, n_resamples=200, rng=0)
else:
    import tempfile
    from metaeval import report
    report.build(sm, n_resamples=200, progress=False).write(tempfile.mkdtemp(), formats=["md"], figure_formats=[])
seconds = time.perf_counter() - t
# VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's peak across fork + exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "rss_mb": hwm / 1024}))
"""


def kemeny_sizes(rng: np.random.Generator) -> None:
    for n in (8, 10, 15, 20):
        orders = [[f"c{i}" for i in rng.permutation(n)] for _ in range(31)]
        P = majority_matrix(Profile.from_orders(orders))
        t_ours, _ = timed(lambda P=P: kemeny_dp(P), repeat=1)
        line = f"Kemeny-Young, {n} candidates, 31 voters: metaeval DP {t_ours:.3f} s"
        if n <= 10:
            try:
                import pref_voting.voting_methods as vm
                from pref_voting.profiles import Profile as PVProfile

                pv = PVProfile([[int(c[1:]) for c in o] for o in orders])
                vm.kemeny_young(PVProfile([[0, 1, 2]]))  # compile first
                t0 = time.perf_counter()
                vm.kemeny_young(pv)
                t_pv = time.perf_counter() - t0
                line += f", pref_voting {t_pv:.2f} s ({t_pv / t_ours:.0f}x)"
            except ImportError:
                line += ", pref_voting not installed"
        print(line + (" (target < 1 s)" if n == 15 else " (target < 10 s)" if n == 20 else ""))
    # beyond the exact sizes: decomposition + bounded search, labelled when not proved
    for label, P in (("noisy leaderboard", None), ("random majority", None)):
        m = 100
        if label == "noisy leaderboard":
            S = rng.normal(size=m)[:, None] + rng.normal(size=(m, 30))
            ranks = (-S).argsort(0).argsort(0).T
            P = (ranks[:, :, None] < ranks[:, None, :]).sum(0).astype(float)
        else:
            P = rng.integers(0, 31, (m, m)).astype(float)
            np.fill_diagonal(P, 0)
        t, res = timed(lambda P=P: kemeny(P), repeat=1)
        print(f"Kemeny-Young, {m} candidates ({label}): {t:.2f} s, {'exact' if res.exact else 'approximate'}, "
              f"components {sorted(res.components)[-3:]}, cost {res.cost:.0f} vs lower bound {res.lower_bound:.0f}; "
              "pref_voting: brute force over 100! orders (not feasible)")


def every_rule(rng: np.random.Generator) -> None:
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(50)),
                     rng.uniform(1, 100, (100, 50)))
    worst = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rule in RULES:
            if rule == "kemeny_young" or rule in GAME_METHODS:  # the game rules have their own targets
                continue
            t, _ = timed(lambda r=rule: apply_rule(r, sm))
            worst = max(worst, t)
            print(f"  {rule:16s} 100 models x 50 tasks: {1000 * t:.1f} ms")
    print(f"slowest classical rule: {1000 * worst:.1f} ms (target < 50 ms)")


def hundred_by_thirty(rng: np.random.Generator) -> None:
    S = rng.normal(size=100)[:, None] + rng.normal(size=(100, 30))
    sm = ScoreMatrix(tuple(f"m{i}" for i in range(100)), tuple(f"t{k}" for k in range(30)), S + 10)
    print("100 models x 30 tasks (issue 18: seconds, < 2 GB):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        t0 = time.perf_counter()
        cmp_ = compare_rules(sm)
        total = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    print(f"  compare_rules, {len(cmp_.winners)} rules: {total:.2f} s, peak traced memory {peak:.0f} MB; "
          f"approximate: {[r for r, e in cmp_.exact.items() if not e] or 'none'}; skipped: {list(cmp_.skipped)}")
    # BLAS threads: on a busy machine the many small products of the equilibrium solver slow down
    # several-fold with a threaded BLAS, so each step runs with the default and with one thread.
    one = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for source in ["random", *([str(GLUE)] if GLUE.exists() else [])]:
        name = "random 100 x 30" if source == "random" else "GLUE (Vote'n'Rank, 100 rows)"
        for step in ("compare_rules", "robustness", "report"):
            cells = []
            for env in (None, one):
                out = subprocess.run([sys.executable, "-c", CHILD, step, source], capture_output=True, text=True,
                                     check=True, cwd=tempfile.gettempdir(), env=env)
                m = json.loads(out.stdout.strip().splitlines()[-1])
                cells.append(f"{m['seconds']:6.2f} s, peak RSS {m['rss_mb']:4.0f} MB")
            print(f"  {name:30s} {step:14s} default BLAS threads {cells[0]} | one thread {cells[1]} (limit 2048 MB)")
    try:
        import pref_voting.voting_methods as vm
        from pref_voting.profiles import Profile as PVProfile
    except ImportError:
        print("  pref_voting not installed: no ratios")
        return
    orders = [[int(x) for x in np.argsort(-S[:, k])] for k in range(30)]
    small = PVProfile([[0, 1, 2], [1, 2, 0]])
    for fn in PV_RULES.values():
        getattr(vm, fn)(small)  # compile (numba) first
    t_pv_profile, pv = timed(lambda: PVProfile(orders), repeat=1)
    ours_profile = sm.to_profile()
    print(f"  per rule, metaeval vs pref_voting on the same 30 strict rankings (pref_voting builds its profile in "
          f"{t_pv_profile:.2f} s):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rule, fn in PV_RULES.items():
            t_ours, ours = timed(lambda r=rule: apply_rule(r, ours_profile))
            method = getattr(vm, fn)
            t_pv, theirs = timed(lambda f=method: f(pv))
            same = {f"m{c}" for c in theirs} == set(ours.winners)
            print(f"    {rule:15s} metaeval {1000 * t_ours:7.1f} ms  pref_voting {1000 * t_pv:7.1f} ms  "
                  f"ratio {t_pv / t_ours:6.1f}x  same winners: {same}")


def main() -> None:
    rng = np.random.default_rng(0)
    kemeny_sizes(rng)
    every_rule(rng)
    hundred_by_thirty(rng)


if __name__ == "__main__":
    main()
