"""Recipe: JudgeBench's judge and reward-model verdicts (two games per pair) as a metaeval table.

JudgeBench (Tan et al., ICLR 2025) records each judge's two games in one row: ``decision_game1``
with response A shown first, ``decision_game2_swapped`` with B shown first, written in the swapped
frame (``A>B`` there means the original B won). In metaeval's long table each game is one row
(``shown_first`` a / b); the label becomes rows by the judge ``gold``; ``task`` is the category
(``knowledge``, ``reasoning``, ``math``, ``coding``) from the source's prefix, as in JudgeBench's
``run_judge.py``. A game without a verdict (13 in the public file) stays as an abstention.

JudgeBench's own score counts a pair as correct when the two games' +1 (right), −1 (wrong), 0 (tie
or no verdict) sum is positive: ``two_order(..., missing="tie")``'s ``two_game_accuracy``.

Run it (needs ``../shared/data/judgebench/judgments.csv``)::

    python examples/load_judgebench.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import polars as pl

from metaeval import Judgments, agreement
from metaeval.errors import MissingVerdictWarning

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "judgebench" / "judgments.csv"
CATEGORIES = {"mmlu-pro": "knowledge", "livebench-reasoning": "reasoning", "livebench-math": "math",
              "livecodebench": "coding"}


def category(source: pl.Expr) -> pl.Expr:
    """JudgeBench's category of a pair from its ``source`` (``mmlu-pro-law`` → knowledge)."""
    out = pl.lit(None, dtype=pl.String)
    for prefix, name in CATEGORIES.items():
        out = pl.when(source.str.starts_with(prefix)).then(pl.lit(name)).otherwise(out)
    return out


def load_judgebench(path: str | Path = DEFAULT) -> Judgments:
    """Read JudgeBench's ``judgments.csv`` into a pairwise :class:`~metaeval.Judgments`.

    ``item`` = ``pair_id``; ``judge`` = ``judge_name:judge_model``; ``model_a`` / ``model_b`` =
    ``response_A`` / ``response_B``; ``task`` = the category; ``variant`` = the model that wrote the
    responses. Missing game verdicts are abstentions (``missing_reason``).
    """
    raw = pl.read_csv(path, infer_schema_length=0)
    judge = pl.concat_str([pl.col("judge_name"), pl.col("judge_model")], separator=":")
    base = raw.select(pl.col("pair_id").alias("item"), judge.alias("judge"), pl.lit("response_A").alias("model_a"),
                      pl.lit("response_B").alias("model_b"), category(pl.col("source")).alias("task"),
                      pl.col("response_model").alias("variant"), "decision_game1", "decision_game2_swapped",
                      "label")
    games = []
    for col, first, mapping in (("decision_game1", "a", {"A>B": "a", "B>A": "b", "A=B": "tie"}),
                                ("decision_game2_swapped", "b", {"A>B": "b", "B>A": "a", "A=B": "tie"})):
        games.append(base.select(
            "item", "judge", "model_a", "model_b", "task", "variant",
            pl.col(col).replace_strict(mapping, default=None).alias("outcome"), pl.lit(first).alias("shown_first"),
            pl.when(pl.col(col).is_null()).then(pl.lit("no verdict in JudgeBench's outputs")).alias("missing_reason"),
        ))
    gold = base.unique("item", keep="first", maintain_order=True).select(
        "item", pl.lit("gold").alias("judge"), "model_a", "model_b", "task",
        pl.col("label").replace_strict({"A>B": "a", "B>A": "b"}).alias("outcome"))
    prov = {"format": "judgebench recipe", "files": Path(path).name, "rows_read": raw.height}
    with warnings.catch_warnings():  # the missing game verdicts are documented above
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return Judgments(pl.concat([*games, gold], how="diagonal_relaxed"), kind="pairwise", provenance=prov,
                         source=str(path))


def scores(table: Judgments) -> pl.DataFrame:
    """JudgeBench's score (percent) per judge and category and overall, with item-bootstrap intervals."""
    kw = {"missing": "tie", "n_resamples": 1000, "rng": 0}
    per = agreement.two_order(table, "gold", by=("judge", "variant", "task"), **kw).table
    overall = agreement.two_order(table, "gold", by=("judge", "variant"), **kw).table
    cols = ["judge", "variant", "task", "n", "two_game_accuracy", "accuracy", "positional_agreement",
            "abstention_rate"]
    out = pl.concat([per.select(cols), overall.with_columns(pl.lit("overall").alias("task")).select(cols)])
    return out.with_columns((100 * pl.col("two_game_accuracy")).round(2).alias("score")).sort("judge", "task")


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        sys.exit(f"JudgeBench data not found at {path}; pass the path to judgments.csv")
    table = load_judgebench(path)
    print(table.info().summary())
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=160):
        print(scores(table).pivot(on="task", index=["judge", "variant"], values="score"))
