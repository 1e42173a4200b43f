"""Issue 3 speed targets, side by side in one run (2 cores).

1. Krippendorff's α, 50 raters × 100,000 items, nominal and interval, against the
   ``krippendorff`` package (target: at least as fast).
2. Interval α on continuous scores with 10,000 distinct values: time and peak memory
   (target: < 1 s and < 1 GB; the package allocates a units × values × values array — 10 GiB
   already for 300 units and 2,000 values — so it is compared on a 60-unit slice).
3. Fleiss' κ on 100,000 items × 50 raters, against statsmodels' ``aggregate_raters`` +
   ``fleiss_kappa`` (target >= 10x).
4. A 1,000-resample item-bootstrap interval for κ on 100,000 items (target < 5 s).

Run: ``python benchmarks/bench_agreement.py``.
"""

from __future__ import annotations

import time
import tracemalloc

import krippendorff
import numpy as np
import polars as pl
from _timing import timed  # benchmarks/ is on the path when run as a script
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from metaeval import Judgments, agreement
from metaeval.agreement.kernels import agreement_coefficient
from metaeval.agreement.krippendorff import krippendorff_alpha_array


def main() -> None:
    rng = np.random.default_rng(0)
    n_items, n_raters = 100_000, 50
    truth = rng.integers(1, 6, (n_items, 1))
    cat = np.where(rng.random((n_items, n_raters)) < 0.7, truth, rng.integers(1, 6, (n_items, n_raters))).astype(float)
    cat[rng.random(cat.shape) < 0.05] = np.nan
    for level in ("nominal", "interval"):
        t_ours, a = timed(lambda lv=level: krippendorff_alpha_array(cat, lv))
        t_pkg, b = timed(lambda lv=level: krippendorff.alpha(reliability_data=cat.T, level_of_measurement=lv,
                                                           value_domain=[1, 2, 3, 4, 5]), repeat=1)
        print(f"Krippendorff {level}, {n_raters} raters x {n_items:,} items: metaeval {t_ours:.3f} s, krippendorff "
              f"{t_pkg:.3f} s, ratio {t_pkg / t_ours:.1f}x (target >= 1); alpha {a:.6f} vs {b:.6f}")

    cont = np.round(rng.normal(0, 1, (n_items, 1)) + rng.normal(0, 0.5, (n_items, 10)), 3)
    distinct = np.unique(cont).size
    tracemalloc.start()
    t0 = time.perf_counter()
    a = krippendorff_alpha_array(cont, "interval")
    t_ours = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    small = cont[:60]  # the package allocates units x values x values floats: keep it in memory
    t_pkg, b = timed(lambda: krippendorff.alpha(reliability_data=small.T, level_of_measurement="interval"), repeat=1)
    t_small, a_small = timed(lambda: krippendorff_alpha_array(small, "interval"))
    n_small = np.unique(small).size
    print(f"interval alpha, {distinct:,} distinct values, 10 raters x {n_items:,} items: {t_ours:.3f} s, peak "
          f"{peak:.0f} MiB (targets < 1 s, < 1 GB); on a 60-item slice ({n_small} distinct values) "
          f"krippendorff {t_pkg:.2f} s vs metaeval {t_small:.4f} s ({t_pkg / t_small:.0f}x), "
          f"alpha {b:.6f} vs {a_small:.6f}")

    complete = np.where(rng.random((n_items, n_raters)) < 0.7, truth,
                        rng.integers(1, 6, (n_items, n_raters))).astype(float)

    def statsmodels_way():
        table, _ = aggregate_raters(complete.astype(int))
        return sm_fleiss(table)

    t_sm, k_sm = timed(statsmodels_way, repeat=1)
    t_ours, k = timed(lambda: agreement_coefficient(complete, "fleiss"))
    print(f"Fleiss kappa, {n_items:,} items x {n_raters} raters: metaeval {t_ours:.3f} s (with its standard error), "
          f"statsmodels {t_sm:.3f} s, ratio {t_sm / t_ours:.1f}x (target >= 10x); {k.value:.6f} vs {k_sm:.6f}")

    frame = pl.DataFrame({"item": np.repeat([f"q{i}" for i in range(n_items)], 3),
                          "judge": np.tile(["a", "b", "c"], n_items), "model": "m",
                          "score": complete[:, :3].ravel()})
    j = Judgments(frame)
    t0 = time.perf_counter()
    res = agreement.fleiss_kappa(j, n_resamples=1000, rng=0)
    t_boot = time.perf_counter() - t0
    print(f"Fleiss kappa with a 1,000-resample item bootstrap on {n_items:,} items (3 judges): {t_boot:.2f} s "
          f"(target < 5 s) [{res.ci.low:.4f}, {res.ci.high:.4f}]")


if __name__ == "__main__":
    main()
