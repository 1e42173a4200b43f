"""AlpacaEval's length-controlled win rate: ``bias.length_controlled_win_rate(method="alpaca_eval")``
against AlpacaEval's own ``get_length_controlled_winrate`` (PyPI ``alpaca-eval``), on the weighted
GPT-4-turbo judge's verdicts in ``../shared/data/alpaca-eval``: time and agreement.

Both get the same inputs: the instruction difficulty that our joint fit estimates (written where
AlpacaEval's download of ``df_gamed.csv`` would land), no gamed baselines (their verdicts are not
in the data, so AlpacaEval runs ``length_controlled_noreg``), and AlpacaEval's matching of
difficulties by row position. AlpacaEval is called once per model, as its leaderboard does; the
time of our joint difficulty fit, which AlpacaEval ships precomputed, is reported on its own.

Second comparison, the regularised recipe (``length_controlled_v1``, λ = 0.2): the gamed rows that
``gamed="published"`` rebuilds (expected preferences of gpt4_1106_preview_verbose / _concise under
AlpacaEval's published GLM) are written as AlpacaEval's ``df_gamed.csv``, so both sides fit the same
gamed rows; this checks our regularised fits against AlpacaEval's own code on the real data.

alpaca-eval pins old scikit-learn/pandas-era code and pulls in openai, datasets and more, so it
runs in a separate interpreter: ``ALPACA_EVAL_PYTHON=/path/to/python`` (a virtual environment with
``pip install alpaca-eval``); without it only our side is timed.

Run: ``ALPACA_EVAL_PYTHON=/tmp/aevenv/bin/python python benchmarks/bench_alpaca_lc.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

import metaeval
from metaeval import bias
from metaeval.bias._alpaca_lc import published_gamed
from metaeval.errors import DataDroppedWarning, EstimationWarning

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca-eval"
JUDGE = "weighted_alpaca_eval_gpt4_turbo"
BASELINE = "gpt4_1106_preview"

THEIRS = r'''
import json, sys, time, logging
import numpy as np, pandas as pd
logging.disable(logging.WARNING)
import alpaca_eval, alpaca_eval.metrics.glm_winrate as glm
folder, glm_name = sys.argv[1], sys.argv[2]
glm.hf_hub_download = lambda **kw: f"{folder}/{kw['filename']}"  # the files AlpacaEval would download
ann = pd.read_parquet(f"{folder}/annotations.parquet")
out = {}
t0 = time.perf_counter()
for model, g in ann.groupby("generator_2", sort=True):
    g = g.sort_values("instruction_id").reset_index(drop=True)
    df = pd.DataFrame({"preference": g["preference"], "output_1": ["x" * n for n in g["len_1"]],
                       "output_2": ["x" * n for n in g["len_2"]], "generator_1": g["generator_1"],
                       "generator_2": g["generator_2"], "annotator": g["annotator"]})
    m = glm.get_length_controlled_winrate(df, glm_name=glm_name, save_weights_dir=None,
                                          is_warn_extreme_changes=False)
    out[model] = m["length_controlled_winrate"]
print(json.dumps({"seconds": time.perf_counter() - t0, "lc": out, "version": alpaca_eval.__version__}))
'''


def main() -> None:
    path = DATA / "annotations_compact.csv"
    if not path.exists():
        sys.exit(f"AlpacaEval data not found at {path}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        table = metaeval.read(path).filter(pl.col("judge") == JUDGE)
    warnings.simplefilter("ignore", EstimationWarning)
    t0 = time.perf_counter()
    full = bias.length_controlled_win_rate(table, BASELINE, method="alpaca_eval", align="position", n_resamples=0)
    t_full = time.perf_counter() - t0
    assert full.difficulty is not None
    difficulty = dict(zip(full.difficulty["item"], full.difficulty["difficulty"], strict=True))
    t0 = time.perf_counter()
    ours = bias.length_controlled_win_rate(table, BASELINE, method="alpaca_eval", align="position",
                                           difficulty=difficulty, n_resamples=0)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    bias.length_controlled_win_rate(table, BASELINE, method="alpaca_eval", align="position",
                                    difficulty=difficulty, n_resamples=200, rng=0)
    t_boot = time.perf_counter() - t0
    t0 = time.perf_counter()
    bias.length_controlled_win_rate(table, BASELINE, method="alpaca_eval", align="position", n_resamples=20, rng=0)
    t_refit = time.perf_counter() - t0 - t_full
    print(f"ours: joint difficulty + per-model fits {t_full:.1f} s; per-model fits alone {t_ours:.2f} s; "
          f"with a 200-resample bootstrap {t_boot:.1f} s, γ given ({ours.table.height} models); "
          f"refitting γ in the bootstrap (the default without `difficulty`): {t_refit / 20:.2f} s a resample")
    py = os.environ.get("ALPACA_EVAL_PYTHON")
    if not py:
        print("ALPACA_EVAL_PYTHON not set: AlpacaEval's own implementation not timed")
        return
    raw = pl.read_csv(path, schema_overrides={"preference": pl.Float64}).filter(
        (pl.col("annotator") == JUDGE) & (pl.col("generator_2") != BASELINE))
    gamma = np.array([difficulty[str(i)] for i in range(805)])
    none = pl.DataFrame({"model": "none", "index": list(range(805)), "instruction_difficulty": gamma})
    theirs = _theirs(py, raw, none, "length_controlled_noreg")
    both = ours.table.select("model", "lc_win_rate").join(
        pl.DataFrame({"model": list(theirs["lc"]), "alpaca_eval": list(theirs["lc"].values())}), on="model")
    gap = (both["lc_win_rate"] - both["alpaca_eval"]).abs()
    print(f"alpaca-eval {theirs['version']} get_length_controlled_winrate, once per model: "
          f"{theirs['seconds']:.1f} s; ratio {theirs['seconds'] / t_ours:.1f}x (ours faster when > 1)")
    print(f"agreement on {both.height} models: max |LC ours - LC AlpacaEval| = {gap.max():.3f} points, "
          f"median {gap.median():.4f}")

    # the regularised recipe on the same rebuilt gamed rows
    t0 = time.perf_counter()
    pub = bias.length_controlled_win_rate(table, BASELINE, method="alpaca_eval", align="position",
                                          difficulty=difficulty, gamed="published", n_resamples=0)
    t_pub = time.perf_counter() - t0
    parts = []
    for g in published_gamed():
        target, _ = g.targets(gamma)
        delta = g.len_base - g.len_model
        parts.append(pl.DataFrame({"model": g.name, "index": list(range(805)), "preference": target,
                                   "std_delta_len": delta / delta.std(ddof=1), "instruction_difficulty": gamma,
                                   "not_gamed_baseline": False}))
    theirs = _theirs(py, raw, pl.concat(parts), "length_controlled_v1")
    both = pub.table.select("model", "lc_win_rate").join(
        pl.DataFrame({"model": list(theirs["lc"]), "alpaca_eval": list(theirs["lc"].values())}), on="model")
    gap = (both["lc_win_rate"] - both["alpaca_eval"]).abs()
    print(f"regularised (λ = 0.2, the rebuilt gamed rows on both sides): ours {t_pub:.2f} s, alpaca-eval "
          f"{theirs['seconds']:.1f} s; ratio {theirs['seconds'] / t_pub:.1f}x")
    print(f"agreement on {both.height} models: max |LC ours - LC AlpacaEval| = {gap.max():.3f} points, "
          f"median {gap.median():.4f}")


def _theirs(py: str, raw: pl.DataFrame, df_gamed: pl.DataFrame, glm_name: str) -> dict:
    """AlpacaEval's get_length_controlled_winrate on every model, with ``df_gamed`` as its download."""
    with tempfile.TemporaryDirectory() as tmp:
        raw.write_parquet(f"{tmp}/annotations.parquet")
        df_gamed.write_csv(f"{tmp}/df_gamed.csv")
        res = subprocess.run([py, "-c", THEIRS, tmp, glm_name], capture_output=True, text=True, check=False)
    if res.returncode:
        sys.exit(f"AlpacaEval failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
