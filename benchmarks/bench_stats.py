"""Issue 8 speed targets, side by side in one run (2 cores).

1. A 10,000-resample paired bootstrap interval for an accuracy difference on 100,000 items,
   against ``scipy.stats.bootstrap`` (percentile) on the same data (target >= 100x), with the
   same interval to Monte Carlo error.
2. A 10,000-permutation paired (sign-flip) test, against ``scipy.stats.permutation_test``
   (target >= 50x).

Run: ``python benchmarks/bench_stats.py``.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats as st

from metaeval.stats import paired_bootstrap, sign_flip_test


def main() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    a = (rng.random(n) < 0.72).astype(float)
    b = np.where(rng.random(n) < 0.8, a, (rng.random(n) < 0.70).astype(float))
    d = a - b
    B = 10_000

    t0 = time.perf_counter()
    ours, _ = paired_bootstrap(d, n_resamples=B, rng=1)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = st.bootstrap((d,), np.mean, method="percentile", n_resamples=B, batch=200, random_state=2)
    t_scipy = time.perf_counter() - t0
    ci = ref.confidence_interval
    print(f"paired bootstrap, {n:,} items, {B:,} resamples: metaeval {t_ours:.4f} s, scipy {t_scipy:.2f} s, "
          f"ratio {t_scipy / t_ours:.0f}x (target >= 100x); intervals ({ours[0]:.5f}, {ours[1]:.5f}) vs "
          f"({ci.low:.5f}, {ci.high:.5f})")

    t0 = time.perf_counter()
    p_ours = sign_flip_test(d, n_resamples=B, rng=3)
    t_ours = time.perf_counter() - t0
    B_scipy = 1_000  # scipy's cost is linear in the resamples; timed on 1,000 and scaled
    t0 = time.perf_counter()
    p_scipy = st.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=B_scipy, batch=100,
                                  random_state=4).pvalue
    t_scipy = (time.perf_counter() - t0) * B / B_scipy
    print(f"sign-flip test, {n:,} items, {B:,} permutations: metaeval {t_ours:.4f} s, scipy {t_scipy:.1f} s "
          f"(timed on {B_scipy:,}, scaled), ratio {t_scipy / t_ours:.0f}x (target >= 50x); p {p_ours:.4g} vs "
          f"{p_scipy:.4g}")


if __name__ == "__main__":
    main()
