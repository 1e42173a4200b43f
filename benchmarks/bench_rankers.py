"""Issue 5 speed targets, measured side by side in one run.

On 1,000,000 simulated battles among 100 models (2 cores):
1. aggregation + Bradley–Terry fit (target < 0.1 s);
2. 1,000 bootstrap rounds with rank intervals (target < 3 s);
3. the same against Chatbot Arena's current method (``arena_method.py``: deduplicated battle
   rows, L-BFGS fit, multinomial bootstrap over unique rows), with ratings equal to 1e-6
   (target: at least 20x faster). Arena's bootstrap is timed on fewer rounds and compared per
   round (it would take minutes for 1,000).

Run: ``python benchmarks/bench_rankers.py``.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
from _timing import timed  # benchmarks/ is on the path when run as a script

import metaeval
from metaeval.rankers.bradley_terry import bt_newton_counts, cell_counts, code_battles, wins_ties

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("arena_method", HERE / "arena_method.py")
arena = importlib.util.module_from_spec(spec)
spec.loader.exec_module(arena)



def main() -> None:
    sim = metaeval.simulate.pairwise(n_models=100, n_items=10_000, judges=("judge-x",), pairs_per_item=100,
                                     tie_threshold=0.2, rng=0)
    j = sim.judgments
    print(f"{len(j):,} battles among {len(j.models)} models")

    def ours_fit():
        b = code_battles(j, None)
        wins, ties = wins_ties(cell_counts(b))
        return bt_newton_counts(wins + 0.5 * ties)[0]

    t_fit, theta = timed(ours_fit)
    t_rank, _ = timed(lambda: metaeval.rank(j, "bradley_terry", ci="none"))
    print(f"aggregation + BT fit: {t_fit:.3f} s (target < 0.1 s); metaeval.rank(ci='none') end to end {t_rank:.3f} s")

    t0 = time.perf_counter()
    r = metaeval.rank(j, "bradley_terry", n_resamples=1000, rng=1)
    t_boot = time.perf_counter() - t0
    print(f"1,000 bootstrap rounds with rank intervals: {t_boot:.2f} s (target < 3 s); "
          f"degenerate {r.n_degenerate}")

    # Chatbot Arena's method on the same battles.
    models = j.models
    f = j.frame
    b = code_battles(j, None)
    code = np.select([b.oc == 0, b.oc == 1], [2, 0], 1)

    def arena_fit(tol=1e-6, ftol=None):
        matchups, outcomes, weights = arena.preprocess(b.ia, b.ib, code, len(models))
        return arena.fit(matchups, outcomes, weights, len(models), tol=tol, ftol=ftol)

    t_arena_fit, arena_ratings = timed(arena_fit, repeat=1)
    precise = arena_fit(tol=1e-12, ftol=1e-15)
    ours_elo = theta * 400 / np.log(10)
    diff_default = np.max(np.abs((arena_ratings - arena_ratings.mean()) - ours_elo))
    diff_precise = np.max(np.abs((precise - precise.mean()) - ours_elo))
    print(f"Arena fit: {t_arena_fit:.3f} s vs ours {t_fit:.3f} s: {t_arena_fit / t_fit:.1f}x; rating difference "
          f"(Elo points) {diff_default:.2e} at Arena's default tol, {diff_precise:.2e} when both converge tightly")
    rounds = 10
    matchups, outcomes, weights = arena.preprocess(b.ia, b.ib, code, len(models))
    t0 = time.perf_counter()
    arena.bootstrap(matchups, outcomes, weights, len(models), rounds, np.random.default_rng(0))
    t_arena_round = (time.perf_counter() - t0) / rounds
    t_ours_round = t_boot / 1000
    print(f"bootstrap per round: Arena {t_arena_round:.3f} s, ours {t_ours_round:.4f} s: "
          f"{t_arena_round / t_ours_round:.0f}x (target >= 20x); Arena's 1,000 rounds would take "
          f"{1000 * t_arena_round:.0f} s")
    del f


if __name__ == "__main__":
    main()
