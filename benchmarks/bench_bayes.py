"""Issue 9 speed targets, in one run (2 cores).

Hierarchical Bradley–Terry (PyMC, NUTS) for 20 models from 10,000 and from 1,000,000 battles:
the likelihood is a sum over aggregated pair cells, so both take about the same time (target:
under 60 s including compilation). Side by side: the same model written per battle (one
Bernoulli term per battle), on 10,000 and 100,000 battles.

Run: ``python benchmarks/bench_bayes.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from metaeval.tables import PairwiseCounts


def _battles(n: int, theta: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = theta.size
    i = rng.integers(0, m, n)
    j = (i + rng.integers(1, m, n)) % m
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(theta[j] - theta[i]))).astype(float)
    return i, j, y


def _counts(i: np.ndarray, j: np.ndarray, y: np.ndarray, m: int) -> PairwiseCounts:
    wins = np.zeros((m, m))
    np.add.at(wins, (i, j), y)
    np.add.at(wins, (j, i), 1 - y)
    return PairwiseCounts(tuple(f"m{k}" for k in range(m)), wins, np.zeros((m, m)))


def _per_battle(i: np.ndarray, j: np.ndarray, y: np.ndarray, m: int, seed: int) -> tuple[float, np.ndarray]:
    import pymc as pm
    import pytensor.tensor as pt

    t0 = time.perf_counter()
    with pm.Model(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sigma = pm.HalfNormal("sigma", 1.0)
        th = pm.ZeroSumNormal("theta", sigma=sigma, shape=m)
        d = th[i] - th[j]
        pm.Potential("ll", pt.sum(-y * pt.log1pexp(-d) - (1 - y) * pt.log1pexp(d)))
        idata = pm.sample(1000, tune=1000, chains=4, cores=1, random_seed=seed, progressbar=False,
                          compute_convergence_checks=False)
    return time.perf_counter() - t0, idata.posterior["theta"].values.reshape(-1, m).mean(0)


def main() -> None:
    import logging

    import pymc  # noqa: F401 - imported first: it sets its own logger level on import

    import metaeval

    logging.getLogger("pymc").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)
    m = 20
    theta = rng.normal(0, 1, m)
    means = {}
    for n in (10_000, 1_000_000):
        i, j, y = _battles(n, theta, rng)
        pc = _counts(i, j, y, m)
        t0 = time.perf_counter()
        r = metaeval.rank(pc, "bayesian_bradley_terry", tie_model="drop", draws=1000, tune=1000, chains=4, rng=1)
        el = time.perf_counter() - t0
        means[n] = r.rating
        print(f"aggregated hierarchical Bradley–Terry, 20 models, {n:>9,} battles: {el:5.1f} s "
              f"({r.run_info.params['cells']} cells; {r.notes[0]}) (target < 60 s)")
        if n <= 100_000:
            t_pb, mean_pb = _per_battle(i, j, y, m, 1)
            print(f"  per-battle Bernoulli model, same data: {t_pb:5.1f} s ({t_pb / el:.1f}x the aggregated model); "
                  f"largest posterior-mean difference {np.abs(mean_pb - r.rating).max():.3f}")
    i, j, y = _battles(100_000, theta, rng)
    t_pb, _ = _per_battle(i, j, y, m, 1)
    print(f"  per-battle Bernoulli model, 100,000 battles: {t_pb:5.1f} s")
    err = np.abs(means[1_000_000] - (theta - theta.mean())).max()
    print(f"1,000,000 battles: largest error of the posterior mean against the planted strengths {err:.3f}")


if __name__ == "__main__":
    main()
