"""Tour: AlpacaEval's 106k per-item preferences through metaeval.

Reads ``../shared/data/alpaca-eval/annotations_compact.csv`` (format detected from its
columns), shows what the importer kept and left out, reproduces the published win rates
and standard errors of the weighted GPT-4-turbo leaderboard from the per-item preferences,
and puts an item-clustered bootstrap interval on each model's win rate against the baseline.

Run::

    python examples/alpaca_eval_tour.py [path/to/annotations_compact.csv]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import polars as pl

import metaeval
from metaeval.errors import DataDroppedWarning
from metaeval.stats import proportion_interval

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "alpaca-eval"
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"


def main(path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataDroppedWarning)
        table = metaeval.read(path)
    print(table.info().summary())
    for w in caught:
        print("note:", w.message)

    # The leaderboard's win rate is 100 * mean(preference - 1) = 100 * mean(1 - p_a) per model.
    ours = (
        table.frame.filter(pl.col("judge") == ANNOTATOR)
        .group_by("model_b")
        .agg((100 * (1 - pl.col("p_a")).mean()).alias("win_rate"),
             (100 * (1 - pl.col("p_a")).std(ddof=1) / pl.len().sqrt()).alias("standard_error"),
             pl.len().alias("n"),
             (pl.col("outcome") == "b").sum().alias("wins"), (pl.col("outcome") == "tie").sum().alias("ties"))
    )
    board_path = path.parent / "leaderboard_ae2_weighted_gpt4_turbo.csv"
    if board_path.exists():
        board = pl.read_csv(board_path).rename({"": "model"}).select("model", pl.col("win_rate").alias("published"),
                                                                      pl.col("standard_error").alias("published_se"))
        ours = ours.join(board, left_on="model_b", right_on="model", how="left")
        both = ours.drop_nulls("published")
        gap = (both["win_rate"] - both["published"]).abs().max()
        print(f"\n{both.height} models on the published leaderboard; largest win-rate difference: {gap:.2e}")
    low, high = proportion_interval(ours["wins"] + 0.5 * ours["ties"], ours["n"])
    ours = ours.with_columns(pl.Series("discrete_ci_low", 100 * low), pl.Series("discrete_ci_high", 100 * high))
    cols = ["model_b", "win_rate", "standard_error", "discrete_ci_low", "discrete_ci_high"]
    cols += [c for c in ("published", "published_se") if c in ours.columns]
    with pl.Config(tbl_rows=15, tbl_width_chars=160, fmt_str_lengths=36):
        print(ours.sort("win_rate", descending=True).select(cols).head(15))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "annotations_compact.csv"
    if not target.exists():
        sys.exit(f"AlpacaEval data not found at {target}")
    main(target)
