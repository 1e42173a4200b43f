"""Vote'n'Rank on GLUE, SuperGLUE and VALUE: who wins under which social-choice rule.

Follows the paper's preprocessing (Rofin et al., EACL 2023): a two-metric cell ``a/b`` becomes
two half-weight columns, diagnostic sets (GLUE's AX, SuperGLUE's AX-b / AX-g) and aggregate
columns (Score, Mean-Rank, Meta-Ave) are not tasks, GLUE keeps its top 30 rows, and models
with missing scores are dropped. Writes ``reports/vote_n_rank/index.md``.

Run: ``python examples/vote_n_rank.py``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import polars as pl

import metaeval
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown
from metaeval.rankers import compare_rules, robustness, winning_weights

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "vote-n-rank"
OUT = ROOT / "reports" / "vote_n_rank"
BOARDS = {
    "glue": ("leaderboard_glue.csv", {"top": 30, "exclude": ["Score", "AX"]}),
    "superglue": ("leaderboard_superglue.csv", {"exclude": ["Score", "AX-b", "AX-g"]}),
    "value": ("leaderboard_value.csv", {"exclude": ["Mean-Rank", "Meta-Ave"]}),
}


def main(data: Path = DATA, out: Path = OUT) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = {}
    text = ["# Vote'n'Rank: who wins under which rule\n",
            "Each task votes with its ranking of the models (split two-metric tasks vote with half weight each). "
            "Paper's GLUE result to reproduce: ERNIE under Borda, Copeland, Minimax, Baldwin, Dowdall, Condorcet and "
            "the means; Threshold picks StructBERT + CLEVER.\n"]
    for name, (file, options) in BOARDS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sm = metaeval.read_leaderboard(data / file, **options).dropna()  # type: ignore[arg-type]
            cmp_ = compare_rules(sm)
            rob = robustness(sm, n_resamples=200, rng=0)
        winners = cmp_.to_polars()
        tables[name] = winners
        runner_up = next((m for m in cmp_.ranks.sort("borda")["model"] if m not in cmp_.winners["borda"]), None)
        text.append(f"## {name.upper()} — {len(sm.models)} models, {len(sm.tasks)} task columns\n")
        text.append(f"{cmp_.verdict}. Condorcet winner: {cmp_.condorcet_winner or 'none'}.\n")
        text.append(table_markdown(winners))
        share = rob.to_polars().sort("borda", descending=True).head(5)
        text.append("\nShare of 200 task-bootstrap resamples won (top 5 by Borda):\n")
        text.append(table_markdown(share))
        if runner_up is not None:
            ww = winning_weights(sm, runner_up, criterion="borda")
            verdict = (f"{runner_up} becomes the Borda winner with the task weights below (margin {ww.margin:.3g})"
                       if ww.feasible else f"no task weighting makes {runner_up} the Borda winner")
            text.append(f"\nWhen would the Borda runner-up win? {verdict}.\n")
            if ww.feasible:
                text.append(table_markdown(ww.to_polars().filter(pl.col("weight") > 1e-9)))
        text.append("")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "index.md", "\n".join(text) + "\n")
    return tables


if __name__ == "__main__":
    if not DATA.exists():
        sys.exit(f"Vote'n'Rank data not found in {DATA}")
    for board, table in main().items():
        print(board)
        print(table)
    print(f"wrote {OUT / 'index.md'}")
