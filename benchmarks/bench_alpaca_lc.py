"""AlpacaEval's length-controlled win rate: ``bias.length_controlled_win_rate(method="alpaca_eval")``
against AlpacaEval's own ``get_length_controlled_winrate`` (PyPI ``alpaca-eval``), on the weighted
GPT-4-turbo judge's verdicts in ``../shared/data/alpaca-eval``: time and agreement.

Both get the same inputs: the instruction difficulty that our joint fit estimates (written where
AlpacaEval's download of ``df_gamed.csv`` would land), no gamed baselines (their verdicts are not
in the data, so AlpacaEval runs ``length_controlled_noreg``), and AlpacaEval's matching of
difficulties by row position. AlpacaEval is called once per model, as its leaderboard does; the
time of our joint difficulty fit, which AlpacaEval ships precomputed, is reported on its own.

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

import polars as pl

import metaeval
from metaeval import bias
from metaeval.errors import DataDroppedWarning, EstimationWarning

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca-eval"
JUDGE = "weighted_alpaca_eval_gpt4_turbo"
BASELINE = "gpt4_1106_preview"

THEIRS = r'''
import json, sys, time, logging
import numpy as np, pandas as pd
logging.disable(logging.WARNING)
import alpaca_eval, alpaca_eval.metrics.glm_winrate as glm
folder = sys.argv[1]
glm.hf_hub_download = lambda **kw: f"{folder}/{kw['filename']}"  # the files AlpacaEval would download
ann = pd.read_parquet(f"{folder}/annotations.parquet")
out = {}
t0 = time.perf_counter()
for model, g in ann.groupby("generator_2", sort=True):
    g = g.sort_values("instruction_id").reset_index(drop=True)
    df = pd.DataFrame({"preference": g["preference"], "output_1": ["x" * n for n in g["len_1"]],
                       "output_2": ["x" * n for n in g["len_2"]], "generator_1": g["generator_1"],
                       "generator_2": g["generator_2"], "annotator": g["annotator"]})
    m = glm.get_length_controlled_winrate(df, glm_name="length_controlled_noreg", save_weights_dir=None,
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
    print(f"ours: joint difficulty + per-model fits {t_full:.1f} s; per-model fits alone {t_ours:.2f} s; "
          f"with a 200-resample bootstrap {t_boot:.1f} s ({ours.table.height} models)")
    py = os.environ.get("ALPACA_EVAL_PYTHON")
    if not py:
        print("ALPACA_EVAL_PYTHON not set: AlpacaEval's own implementation not timed")
        return
    raw = pl.read_csv(path, schema_overrides={"preference": pl.Float64}).filter(
        (pl.col("annotator") == JUDGE) & (pl.col("generator_2") != BASELINE))
    with tempfile.TemporaryDirectory() as tmp:
        raw.write_parquet(f"{tmp}/annotations.parquet")
        pl.DataFrame({"model": "none", "index": list(range(805)),
                      "instruction_difficulty": [difficulty[str(i)] for i in range(805)]}).write_csv(
            f"{tmp}/df_gamed.csv")
        res = subprocess.run([py, "-c", THEIRS, tmp], capture_output=True, text=True, check=False)
    if res.returncode:
        sys.exit(f"AlpacaEval failed:\n{res.stderr[-3000:]}")
    theirs = json.loads(res.stdout.strip().splitlines()[-1])
    both = ours.table.select("model", "lc_win_rate").join(
        pl.DataFrame({"model": list(theirs["lc"]), "alpaca_eval": list(theirs["lc"].values())}), on="model")
    gap = (both["lc_win_rate"] - both["alpaca_eval"]).abs()
    print(f"alpaca-eval {theirs['version']} get_length_controlled_winrate, once per model: "
          f"{theirs['seconds']:.1f} s; ratio {theirs['seconds'] / t_ours:.1f}x (ours faster when > 1)")
    print(f"agreement on {both.height} models: max |LC ours - LC AlpacaEval| = {gap.max():.3f} points, "
          f"median {gap.median():.4f}")


if __name__ == "__main__":
    main()
