"""The three workflows on real data, each writing a full report (HTML, Markdown, LaTeX, figures,
data) with `metaeval.report`:

1. audit-judge — LLMBar (Zeng et al. 2024): six evaluators with the chain-of-thought prompt
   against the gold label: agreement, bias audit (position bias from both presentation orders),
   juries. → ``reports/workflows/audit_judge/``
2. audit-leaderboard — the GLUE leaderboard of Vote'n'Rank, read as the paper did
   (``read_leaderboard(..., top=30, preset="vote_n_rank")``: the top 30 rows, the diagnostic set
   AX left out, two-metric cells split into half-weight columns, the Score column left out as an
   aggregate): winner under every aggregation rule, Condorcet winner, robustness to resampled
   tasks and clones, critical-difference diagram. → ``reports/workflows/audit_leaderboard/``
3. report — AlpacaEval 2.0 annotations of ``weighted_alpaca_eval_gpt4_turbo`` for 20 models:
   win rates, Bradley–Terry ratings with rank intervals, the rank under several methods.
   → ``reports/workflows/alpaca_eval/``

Each writes under ``build/examples/workflows/`` (``--refresh``: the committed copies in
``reports/workflows/``). The same reports come from the command line: ``metaeval audit-judge``,
``metaeval audit-leaderboard --top 30 --preset vote_n_rank`` and ``metaeval report``. Run:
``python examples/workflows.py [--refresh]``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import polars as pl

import metaeval
from metaeval import Judgments, report
from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_folder, check_output_folder
from metaeval._progress import task
from metaeval._random import same_bytes

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
OUT = default_folder(ROOT, "workflows")


def llmbar(data: Path = DATA) -> Judgments:
    spec = importlib.util.spec_from_file_location("load_llmbar", ROOT / "examples" / "load_llmbar.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    table = module.load_llmbar(data / "llmbar" / "judgments.csv")
    return table.filter((pl.col("variant") == "CoT") | (pl.col("judge") == "gold"))


def glue(data: Path = DATA) -> metaeval.ScoreMatrix:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the paper's table: Score (the average) left out as an aggregate, AX (GLUE's diagnostic set, weight 0 in
        # the paper) left out, models with a missing score dropped
        return metaeval.read_leaderboard(data / "vote-n-rank" / "leaderboard_glue.csv", top=30, preset="vote_n_rank")


def alpaca(data: Path = DATA, n_models: int = 20) -> Judgments:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = metaeval.read(data / "alpaca-eval" / "annotations_compact.csv")
    t = table.filter(pl.col("judge") == "weighted_alpaca_eval_gpt4_turbo")
    models = sorted(set(t.frame["model_b"].unique().to_list()) - set(t.frame["model_a"].unique().to_list()))
    keep = models[:: max(1, len(models) // n_models)][:n_models]
    return t.filter(pl.col("model_b").is_in(keep))


def main(data: Path = DATA, out: Path = OUT, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    runs = (
        ("audit_judge", llmbar, "judge", "Should I trust these judges? LLMBar, chain-of-thought prompt"),
        ("audit_leaderboard", glue, "leaderboard", "Is the GLUE ranking real? (Vote'n'Rank, top 30)"),
        ("alpaca_eval", alpaca, "all", "AlpacaEval 2.0: 20 models against the baseline"),
    )
    check_output_folder(out)  # before the computing
    reports = {}
    with task("workflows", len(runs)) as step:
        for folder, load, focus, title in runs:
            step.update(f"workflow: {folder}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep = report.build(load(data), focus=focus, title=title, n_resamples=n_resamples, rng=seed)
                rep.provenance.pop("created", None)  # same seed, same bytes: no creation time in a committed report
            reports[folder] = rep
            step.advance()
    with atomic_folder(out) as tmp:  # the three reports as one set, swapped in whole
        for folder, rep in reports.items():
            rep.write(tmp / folder, figure_formats=("svg",))
    return reports


if __name__ == "__main__":
    args = arguments(__doc__)
    if not (DATA / "llmbar" / "judgments.csv").exists():
        raise SystemExit(f"real data not found under {DATA}")
    out = output_folder(ROOT, "workflows", refresh=args.refresh, out=args.out)
    with same_bytes():
        reports = main(out=out)
    for name, rep in reports.items():
        print(f"{name}: " + ", ".join(s.title for s in rep.sections))
    print(f"wrote {out}")
