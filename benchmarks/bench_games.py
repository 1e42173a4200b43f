"""Issue 7 speed targets, in one run (2 cores).

1. Nash averaging (agent vs agent) on 200 models: target < 2 s; against OpenSpiel's
   ``nash_averaging`` (cvxpy) when ``open_spiel`` and ``cvxpy`` are installed.
2. α-Rank on 200 models: target < 2 s; against OpenSpiel's ``alpharank.compute``.
3. Equilibrium ratings (max-entropy CCE of the prompt × king × rebel game) on 50 models × 500
   prompts: target < 30 s; against DeepMind's polarix (JAX) when installed.

Run: ``python benchmarks/bench_games.py`` (optional: ``pip install open_spiel cvxpy polarix``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _timing import timed

from metaeval.rankers import games


def _openspiel(what: str):
    try:
        if what == "nash":
            from open_spiel.python.algorithms import nash_averaging

            return nash_averaging
        from open_spiel.python.egt import alpharank

        return alpharank
    except ImportError:
        return None


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 200))
    M = X - X.T
    t_ours, na = timed(lambda: games.nash_averaging(M), repeat=1)
    line = f"Nash averaging, 200 models: metaeval {t_ours:.2f} s (exploitability {na.gap:.1e}; target < 2 s)"
    os_na = _openspiel("nash")
    if os_na is not None:
        t0 = time.perf_counter()
        try:
            p = os_na._max_entropy_symmetric_nash(M)
            t_os = time.perf_counter() - t0
            line += (f"; OpenSpiel (cvxpy) {t_os:.2f} s ({t_os / t_ours:.1f}x), largest mass difference "
                     f"{np.abs(p.ravel() - na.mass).max():.1e}, its exploitability {np.max(M @ p.ravel()):.1e}")
        except Exception as exc:
            line += f"; OpenSpiel (cvxpy) failed after {time.perf_counter() - t0:.2f} s ({type(exc).__name__})"
    print(line)

    W = 1 / (1 + np.exp(-M / 3))
    t_ours, ar = timed(lambda: games.alpha_rank(W, intensity=100.0, m=50), repeat=1)
    line = f"alpha-Rank, 200 models (alpha 100, m 50): metaeval {t_ours:.2f} s (target < 2 s)"
    os_ar = _openspiel("alpharank")
    if os_ar is not None:
        t0 = time.perf_counter()
        _, _, pi, _, _ = os_ar.compute([W], m=50, alpha=100.0)
        t_os = time.perf_counter() - t0
        line += f"; OpenSpiel {t_os:.2f} s ({t_os / t_ours:.1f}x), largest difference {np.abs(pi - ar.pi).max():.1e}"
        try:
            os_ar.compute([W], m=50, alpha=100.0, use_local_selection_model=False)
            line += "; population fitness at alpha 100: both run"
        except ValueError as exc:
            line += f"; population fitness at alpha 100: OpenSpiel fails ({exc}), metaeval runs"
    print(line)

    skill, diff = rng.normal(size=50), rng.normal(size=500)
    S = 1 / (1 + np.exp(-(skill[:, None] - diff[None, :]) * rng.gamma(2, 1, 500)[None, :]))
    S = S + rng.normal(0, 0.05, S.shape)
    G = games.equilibrium_game(S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ours, eq = timed(lambda: games.equilibrium_ratings(S), repeat=1)
        t_gen, gen = timed(lambda: games.max_entropy_cce(G), repeat=1)
    line = (f"equilibrium ratings, 50 models x 500 prompts: metaeval {t_ours:.1f} s, {eq.n_iterations} L-BFGS "
            f"iterations, deviation gain {eq.gap:.1e} (target < 30 s); the generic N-player CCE solver on the "
            f"payoff tensor {t_gen:.1f} s (largest rating difference "
            f"{np.abs(gen.ratings[1] - eq.ratings[1]).max():.0e})")
    try:
        import polarix  # noqa: F401

        line += "; polarix installed: see the closing note of issue 7 for its run (JAX, CE solver)"
    except ImportError:
        line += "; polarix not installed"
    print(line)


if __name__ == "__main__":
    main()
