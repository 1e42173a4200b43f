"""Vote'n'Rank on GLUE, SuperGLUE and VALUE: who wins under which social-choice rule.

First the paper's own computation — ``compare_rules(board, preset="vote_n_rank")``: its rules with
its tie conventions, diagnostic sets (GLUE's AX, SuperGLUE's AX-b / AX-g) weighted 0, two-metric
cells split into half-weight columns, aggregate columns (Score, Mean-Rank, Meta-Ave) left out,
GLUE's top 30 rows, models with missing scores dropped — checked against the winners the
authors' notebooks report (Rofin et al., EACL 2023; GitHub PragmaticsLab/vote_and_rank,
``case studies/CS1 - Reranking Leaderboards.ipynb``). Then metaeval's full rule registry with its
own conventions, the winner's stability under resampled tasks, and the task weights that would
crown the Borda runner-up. Writes ``build/examples/vote_n_rank/index.md`` (``--refresh``: the
committed copy in ``reports/vote_n_rank/``).

Run: ``python examples/vote_n_rank.py [--refresh]``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

import metaeval
from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown
from metaeval._progress import track
from metaeval._random import same_bytes
from metaeval.rankers import compare_rules, robustness, winning_weights

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "vote-n-rank"
OUT = default_folder(ROOT, "vote_n_rank")
BOARDS = {  # file, reading options, the diagnostic sets (weight 0 in the paper; left out for the registry)
    "glue": ("leaderboard_glue.csv", {"top": 30}, ["AX"]),
    "superglue": ("leaderboard_superglue.csv", {}, ["AX-b", "AX-g"]),
    "value": ("leaderboard_value.csv", {}, []),
}
# The winners the paper's notebook prints (`elect_all()`, "Selecting the winner"); VALUE without the human
# baseline, whose scores are partly missing.
PUBLISHED = {
    "glue": {"plurality": "ERNIE, GLUE Human Baselines", "threshold": "StructBERT + CLEVER", "*": "ERNIE"},
    "superglue": {"dowdall": "SuperGLUE Human Baselines", "threshold": "T5 + UDG, Single Model (Google Brain)",
                  "condorcet": "(none)", "arithmetic_mean": "ERNIE 3.0", "geometric_mean": "ERNIE 3.0",
                  "borda": "ERNIE 3.0", "plurality": "SuperGLUE Human Baselines",
                  "baldwin": "ERNIE 3.0, SuperGLUE Human Baselines",
                  "optimality_gap": "T5 + UDG, Single Model (Google Brain)",
                  "minimax": "ERNIE 3.0, SuperGLUE Human Baselines", "copeland": "SuperGLUE Human Baselines"},
    "value": {"*": "craig.starr"},
}


def _published(board: str, rule: str) -> str:
    table = PUBLISHED[board]
    return table.get(rule, table.get("*", ""))


def _same(ours: str, paper: str) -> bool:
    split = lambda s: {x.strip() for x in s.split(", ")}  # noqa: E731
    if paper == "craig.starr":  # the paper renames VALUE's scraped model names
        return ours.startswith("craig.starr") and ", " not in ours
    return split(ours) == split(paper)


def main(data: Path = DATA, out: Path = OUT) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = {}
    text = ["# Vote'n'Rank: who wins under which rule\n",
            "Each task votes with its ranking of the models. The first table of each benchmark is the paper's own "
            "computation (`preset=\"vote_n_rank\"`: its rules, tie conventions and weights) beside the winners the "
            "authors' notebook reports; the second is metaeval's full registry with its own conventions (ties share "
            "the average rank, the Condorcet rule falls back to the Smith set, …).\n"]
    for name, (file, options, diagnostics) in track(BOARDS.items(), "Vote'n'Rank: GLUE, SuperGLUE, VALUE"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            board = metaeval.read_leaderboard(data / file, **options)  # type: ignore[arg-type]
            paper = compare_rules(board, preset="vote_n_rank")
            sm = metaeval.read_leaderboard(data / file, exclude=diagnostics, **options).dropna()  # type: ignore[arg-type]
            cmp_ = compare_rules(sm)
            rob = robustness(sm, n_resamples=200, rng=0)
        check = paper.to_polars().select("rule", "winners").with_columns(
            pl.col("rule").map_elements(lambda r, b=name: _published(b, r), return_dtype=pl.String).alias("paper"))
        check = check.with_columns(pl.struct("winners", "paper").map_elements(
            lambda row: "yes" if _same(row["winners"], row["paper"]) else "NO", return_dtype=pl.String)
            .alias("reproduced"))
        tables[name] = check
        text.append(f"## {name.upper()} — {len(sm.models)} models with complete scores, {len(sm.tasks)} task "
                    "columns\n")
        text += [f"- {n}" for n in board.notes] + [""]
        text.append(f"**The paper's rules** ({paper.verdict}):\n")
        text.append(table_markdown(check))
        left = f" (diagnostics {', '.join(diagnostics)} left out)" if diagnostics else ""
        text.append(f"\n**metaeval's registry**{left}: {cmp_.verdict}. Condorcet winner: "
                    f"{cmp_.condorcet_winner or 'none'}.\n")
        text.append(table_markdown(cmp_.to_polars().drop("exact")))
        if cmp_.skipped:
            text.append("\n" + "; ".join(f"{r} not run: {why}" for r, why in cmp_.skipped.items()) + "\n")
        share = rob.to_polars().sort("borda", descending=True).head(5)
        text.append("\nShare of 200 task-bootstrap resamples won (top 5 by Borda):\n")
        text.append(table_markdown(share))
        runner_up = next((m for m in cmp_.ranks.sort("borda")["model"] if m not in cmp_.winners["borda"]), None)
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
    args = arguments(__doc__)
    if not DATA.exists():
        raise SystemExit(f"Vote'n'Rank data not found in {DATA}")
    out = output_folder(ROOT, "vote_n_rank", refresh=args.refresh, out=args.out)
    with same_bytes():
        tables = main(out=out)
    for board, table in tables.items():
        print(board)
        print(table)
    print(f"wrote {out / 'index.md'}")
