"""Coverage of the interval of ``bias.length_controlled_win_rate(method="alpaca_eval")``, with
``metaeval.calibration.study``, on AlpacaEval-like data with a known LC win rate.

The simulation is ``lc_coverage_data`` in ``tests/test_alpaca_lc.py`` (805 instructions, four
models and the baseline's verbose and concise variants as the gamed baselines, every model with
the same length slope, so that the regularisation toward the gamed baselines biases nothing): the
true LC win rate of a model is ``100 × E_γ σ(θ + ψ γ)``. Each replicate runs the recipe twice on
the same data and the same bootstrap resamples: with the joint instruction-difficulty fit redone in
every resample (``refit_difficulty=True``, the default) and with γ held at the fit on all
instructions (``difficulty=`` the fitted γ, which the interval takes as known, as
``refit_difficulty=False`` does).

Run: ``python benchmarks/alpaca_lc_coverage.py [n_replicates] [n_resamples]`` (defaults 40, 100;
about 20 s a replicate on a 2-core machine).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_alpaca_lc import COVERAGE_MODELS, lc_coverage_data

from metaeval import bias
from metaeval.calibration import study
from metaeval.errors import EstimationWarning


def replicate(gen: np.random.Generator, *, n_resamples: int) -> list[dict]:
    j, truth, _ = lc_coverage_data(gen, n_items=805, gamed=True)
    seed = int(gen.integers(2**31))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)
        refit = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", n_resamples=n_resamples, rng=seed)
        assert refit.difficulty is not None
        difficulty = dict(zip(refit.difficulty["item"], refit.difficulty["difficulty"], strict=True))
        fixed = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", difficulty=difficulty,
                                                n_resamples=n_resamples, rng=seed)
    out = []
    for how, lc in (("γ refitted", refit), ("γ fixed", fixed)):
        for r in lc.table.iter_rows(named=True):
            if r["model"] in COVERAGE_MODELS:
                out.append({"test": f"{how}: {r['model']}", "pvalue": float("nan"), "ci_low": r["lc_ci_low"],
                            "ci_high": r["lc_ci_high"], "truth": truth[r["model"]]})
                out.append({"test": f"{how}: all", "pvalue": float("nan"), "ci_low": r["lc_ci_low"],
                            "ci_high": r["lc_ci_high"], "truth": truth[r["model"]]})
    return out


def main() -> None:
    n_rep = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    n_res = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    t0 = time.perf_counter()
    res = study(replicate, {"805 instructions": {"n_resamples": n_res}}, n_replicates=n_rep, rng=18,
                coverage_band=(0.90, 1.0), progress=True)
    print(f"{n_rep} replicates, {n_res} resamples each: {time.perf_counter() - t0:.0f} s")
    with pl.Config(tbl_rows=20, tbl_width_chars=200):
        print(res.table.sort("test"))


if __name__ == "__main__":
    main()
