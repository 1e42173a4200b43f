"""Item response fits (issue 24): metaeval.stats.irt against girth, the Python IRT package people use.

1. Same data, both tools: a simulated 2PL with 400 models x 100 items; girth's ``twopl_mml`` (marginal
   ML, per-item optimisation) and ``metaeval.stats.irt.fit(priors=None)``: seconds, ratio, and how
   close the two sets of estimates are.
2. Open LLM Leaderboard scale: 400 models x 10,000 items, 2PL and Rasch, metaeval only (target:
   under a minute on 2 cores; girth at this size would take about 100 x its 100-item time, as it
   optimises items one by one).

Run: ``python benchmarks/bench_irt.py`` (single BLAS thread is not forced: numpy uses the cores it has).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from metaeval.stats import irt


def simulate(n_models: int, n_items: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_models)
    a, b = rng.lognormal(0, 0.3, n_items), rng.normal(size=n_items)
    y = (rng.random((n_models, n_items)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(float)
    return y, a, b


def main() -> None:
    y, a, b = simulate(400, 100)
    try:
        import girth
    except ImportError:
        girth = None
        print("girth is not installed (pip install girth): step 1 skipped")
    t0 = time.perf_counter()
    ours = irt.fit(y, priors=None)
    t_ours = time.perf_counter() - t0
    print(f"[1] 2PL, 400 models x 100 items: metaeval {t_ours:.2f} s ({ours.n_iter} EM iterations, "
          f"{ours.run_info.params['n_quad']} nodes)")
    if girth is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            g = girth.twopl_mml(y.T.astype(int))
            t_girth = time.perf_counter() - t0
        print(f"    girth.twopl_mml {t_girth:.2f} s; ratio girth / metaeval = {t_girth / t_ours:.1f}x")
        print(f"    estimates: max |a - a_girth| {np.abs(ours.a - g['Discrimination']).max():.3f}, "
              f"max |b - b_girth| {np.abs(ours.b - g['Difficulty']).max():.3f}; "
              f"corr(a) {np.corrcoef(ours.a, g['Discrimination'])[0, 1]:.4f}, "
              f"corr(b) {np.corrcoef(ours.b, g['Difficulty'])[0, 1]:.4f}")
        print(f"    recovery of the truth: corr(a) metaeval {np.corrcoef(ours.a, a)[0, 1]:.3f} / girth "
              f"{np.corrcoef(g['Discrimination'], a)[0, 1]:.3f}; corr(b) {np.corrcoef(ours.b, b)[0, 1]:.3f} / "
              f"{np.corrcoef(g['Difficulty'], b)[0, 1]:.3f}")
    y, a, b = simulate(400, 10_000, seed=1)
    for kind in ("2pl", "rasch"):
        t0 = time.perf_counter()
        m = irt.fit(y, model=kind)
        dt = time.perf_counter() - t0
        extra = f", corr(a) {np.corrcoef(m.a, a)[0, 1]:.3f}" if kind == "2pl" else f", common slope {m.a[0]:.3f}"
        print(f"[2] {kind}, 400 models x 10,000 items: {dt:.1f} s ({m.n_iter} EM iterations, "
              f"{m.run_info.params['n_quad']} nodes), corr(b) {np.corrcoef(m.b, b)[0, 1]:.3f}{extra}")


if __name__ == "__main__":
    main()
