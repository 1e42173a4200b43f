"""Issue 6 speed targets, in one run (2 cores).

1. Exact Kemeny–Young by the subset dynamic program: 15 candidates (target < 1 s) and 20
   (target < 10 s), against pref_voting's ``kemeny_young`` (brute force over orders) up to the
   size it can do in a minute.
2. Every other rule on 100 models × 50 tasks (target < 50 ms each).

Run: ``python benchmarks/bench_social_choice.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _timing import timed

from metaeval import Profile, ScoreMatrix
from metaeval.rankers import GAME_METHODS, RULES, apply_rule
from metaeval.rankers.kemeny import kemeny_dp
from metaeval.rankers.social_choice import majority_matrix


def main() -> None:
    rng = np.random.default_rng(0)
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
    print(f"slowest rule other than Kemeny: {1000 * worst:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
