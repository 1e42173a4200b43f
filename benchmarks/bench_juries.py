"""Speed of jury selection: every panel of up to three of 20 judges (1,350 panels) on 10,000
items, with 1,000-resample bootstrap intervals for accuracy, Cohen's κ and Krippendorff's α
(the issue's target: under 30 s on 2 cores).

The yardstick is the loop people write today: for each panel and each resample, draw the items,
take the majority vote, and call scikit-learn's ``cohen_kappa_score`` and the ``krippendorff``
package. That loop is timed on a sample of panel × resample pairs and scaled up.

Run: ``python benchmarks/bench_juries.py``.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
from _timing import timed

import metaeval
from metaeval import juries


def main() -> None:
    gen = np.random.default_rng(0)
    sim = metaeval.simulate.jury(10_000, accuracies=tuple(gen.uniform(0.6, 0.85, 20)), rng=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, res = timed(lambda: juries.evaluate_panels(sim.judgments, "gold", max_size=3, n_resamples=1000, rng=0,
                                                         progress=False), repeat=1)
    n_panels = res.table.height
    print(f"metaeval: {n_panels} panels x 10,000 items x 1,000 resamples (accuracy, kappa, alpha): {ours:.2f} s "
          "(target < 30 s)")
    try:
        import krippendorff
        from sklearn.metrics import cohen_kappa_score
    except ImportError:
        print("scikit-learn or krippendorff not installed: no comparison")
        return
    from metaeval.juries._data import verdicts

    v = verdicts(sim.judgments, "gold")
    values, ref = v.values.astype(int), v.reference.astype(int)
    panels = [p for s in (1, 2, 3) for p in itertools.combinations(range(20), s)]
    sample = [panels[i] for i in gen.choice(len(panels), 10, replace=False)]
    n_boot = 5
    t0 = time.perf_counter()
    for p in sample:
        for _ in range(n_boot):
            idx = gen.integers(0, ref.size, ref.size)
            votes = values[idx][:, list(p)]
            pooled = (votes.sum(1) * 2 > len(p)).astype(int)
            tie = votes.sum(1) * 2 == len(p)
            pooled[tie] = votes[tie, 0]
            r = ref[idx]
            np.mean(pooled == r)
            cohen_kappa_score(pooled, r)
            krippendorff.alpha(reliability_data=np.vstack([pooled, r]), level_of_measurement="nominal")
    per = (time.perf_counter() - t0) / (len(sample) * n_boot)
    loop = per * n_panels * 1000
    print(f"per-panel loop (numpy vote + scikit-learn kappa + krippendorff alpha): {per * 1e3:.2f} ms per panel and "
          f"resample -> {loop:.0f} s for the same job; ratio {loop / ours:.0f}x")


if __name__ == "__main__":
    main()
