"""Recipe: LLMBar's judge verdicts (both presentation orders per row) as a metaeval table.

LLMBar (Zeng et al., ICLR 2024) records each judge verdict twice in one row:
``winner_noswap`` with the outputs in the given order, ``winner_swap`` with them swapped
(already mapped back to the original numbering). In metaeval's long table each verdict is
one row, so every CSV row becomes two rows that differ in ``shown_first``; the gold label
becomes rows by the judge ``gold``. Missing verdicts (174 in the public file: the judge gave no
answer that LLMBar could parse) stay in the table as abstentions (``table.abstentions``); the
judge metrics count them as LLMBar does, as wrong (``missing="wrong"``).

Run it (needs ``../shared/data/llmbar/judgments.csv``)::

    python examples/load_llmbar.py

It prints the table overview and the paper's two headline numbers for LLMBar/Natural with
the plain prompt: accuracy averaged over the two orders, and positional agreement.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import polars as pl

from metaeval import Judgments, agreement
from metaeval.errors import MissingVerdictWarning
from metaeval.io.generic import read_frame

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "llmbar" / "judgments.csv"


def load_llmbar(path: str | Path = DEFAULT) -> Judgments:
    """Read LLMBar's ``judgments.csv`` into a pairwise :class:`~metaeval.Judgments`.

    ``item`` = ``subset/idx``; ``judge`` = the evaluator (GPT-4, ChatGPT …); ``variant`` = the
    prompting strategy; ``task`` = the subset; ``model_a`` / ``model_b`` = ``output_1`` /
    ``output_2``; ``outcome`` ``a`` when output 1 won; ``shown_first`` ``a`` for the original
    order and ``b`` for the swapped one. Scores and round counts stay in ``extra``.
    """
    raw = read_frame(path, format="csv", string_columns=["score_1", "score_2"])
    base = raw.with_columns(
        (pl.col("subset") + "/" + pl.col("idx").cast(pl.String)).alias("item"),
        pl.lit("output_1").alias("model_a"),
        pl.lit("output_2").alias("model_b"),
    )
    to_outcome = {1: "a", 2: "b"}
    keep = ["item", "model_a", "model_b", "subset", "evaluator", "strategy", "n_rounds", "score_1", "score_2"]
    orders = []
    for col, first, first_col in (("winner_noswap", "a", "first_winner_noswap"),
                                  ("winner_swap", "b", "first_winner_swap")):
        orders.append(
            base.select(
                *keep,
                pl.col(col).replace_strict(to_outcome, default=None, return_dtype=pl.String).alias("outcome"),
                pl.lit(first).alias("shown_first"),
                pl.col(first_col).alias("first_round_winner"),
                pl.when(pl.col(col).is_null()).then(pl.lit("no parseable verdict in LLMBar's results"))
                .alias("missing_reason"),
            )
        )
    verdicts = pl.concat(orders).rename({"evaluator": "judge", "strategy": "variant", "subset": "task"})
    gold = base.unique(["item"], keep="first", maintain_order=True).select(
        "item", "model_a", "model_b", pl.col("subset").alias("task"), pl.lit("gold").alias("judge"),
        pl.col("label").replace_strict(to_outcome, return_dtype=pl.String).alias("outcome"),
    )
    table = pl.concat([verdicts, gold], how="diagonal_relaxed")
    missing = int(raw["winner_noswap"].null_count() + raw["winner_swap"].null_count())
    prov = {"format": "llmbar recipe", "files": Path(path).name, "rows_read": raw.height, "abstentions": missing}
    with warnings.catch_warnings():  # the abstentions are LLMBar's missing verdicts, documented above
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return Judgments(table, kind="pairwise", provenance=prov, source=str(path))


def headline(j: Judgments, subset: str = "LLMBar/Natural", strategy: str = "Vanilla_NoRules") -> pl.DataFrame:
    """Accuracy (mean over the two orders) and positional agreement per judge, as in the paper, with
    item-bootstrap intervals and the abstention rate (missing verdicts count as wrong, as LLMBar counts them)."""
    sub = j.filter(pl.col("task") == subset, (pl.col("variant") == strategy) | (pl.col("judge") == "gold"))
    res = agreement.two_order(sub, "gold", by=("judge",), missing="wrong", n_resamples=1000, rng=0)
    return res.table.select("judge", "n", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "positional_agreement",
                            "positional_agreement_ci_low", "positional_agreement_ci_high", "abstention_rate")


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        sys.exit(f"LLMBar data not found at {path}; pass the path to judgments.csv")
    table = load_llmbar(path)
    print(table.info().summary())
    print(headline(table))
