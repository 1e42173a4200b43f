"""Can I trust this judge? Agreement on real judge data, with intervals.

1. LLMBar (Zeng et al. 2024): every evaluator against the gold label with both presentation
   orders — accuracy averaged over the orders, positional agreement, two-game accuracy —
   on LLMBar/Natural with the plain prompt (the paper reports GPT-4 93.5 % / 97.0 % and
   ChatGPT 79.0 % / 68.0 %).
2. AlpacaEval: annotators that judged the same (instruction, baseline, model) pairs, agreement
   of their verdicts (percent agreement and Cohen's κ on a / b / tie).

Writes ``build/examples/judge_agreement/index.md`` (``--refresh``: the committed copy in
``reports/judge_agreement/``). Run: ``python examples/judge_agreement.py [--refresh]``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import polars as pl

import metaeval
from metaeval import agreement
from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown
from metaeval._progress import task
from metaeval._random import same_bytes

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
OUT = default_folder(ROOT, "judge_agreement")


def llmbar_table(data: Path = DATA) -> pl.DataFrame:
    spec = importlib.util.spec_from_file_location("load_llmbar", ROOT / "examples" / "load_llmbar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    table = module.load_llmbar(data / "llmbar" / "judgments.csv").filter(pl.col("task") == "LLMBar/Natural")
    table = table.filter((pl.col("variant") == "Vanilla_NoRules") | (pl.col("judge") == "gold"))
    return agreement.two_order(table, "gold", by=("judge",), n_resamples=1000, rng=0).to_polars()


def alpaca_matrix(data: Path = DATA) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = metaeval.read(data / "alpaca-eval" / "annotations_compact.csv")
        shared = j.frame.group_by("model_b").agg(pl.col("judge").n_unique().alias("k")).filter(pl.col("k") >= 2)
        sub = j.filter(pl.col("model_b").is_in(shared["model_b"].to_list()))
        pa = agreement.matrix(sub, "percent_agreement", n_resamples=500, rng=0).to_polars()
        ck = agreement.matrix(sub, "cohen_kappa").to_polars()
    out = pa.join(ck, on=["judge_a", "judge_b"], suffix="_kappa").filter(pl.col("n_units") > 0)
    return out.rename({"estimate": "percent_agreement", "ci_low": "pa_ci_low", "ci_high": "pa_ci_high",
                       "estimate_kappa": "cohen_kappa", "ci_low_kappa": "kappa_ci_low",
                       "ci_high_kappa": "kappa_ci_high"}).drop("n_units_kappa")


def main(data: Path = DATA, out: Path = OUT) -> tuple[pl.DataFrame, pl.DataFrame]:
    with task("judge agreement", 2) as step:
        step.update("LLMBar: judges against the gold label")
        llmbar = llmbar_table(data)
        step.advance()
        step.update("AlpacaEval: annotators on shared pairs")
        alpaca = alpaca_matrix(data)
        step.advance()
    text = [
        "# Can I trust this judge?\n",
        "## LLMBar/Natural, plain prompt: judges against the gold label in both orders\n",
        "95 % intervals from 1,000 bootstrap resamples of the 100 items. The paper reports GPT-4 93.5 % accuracy / "
        "97.0 % positional agreement and ChatGPT 79.0 % / 68.0 %.\n",
        table_markdown(llmbar.select("judge", "n", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
                                     "positional_agreement", "positional_agreement_ci_low",
                                     "positional_agreement_ci_high", "two_game_accuracy")),
        "\n## AlpacaEval: annotators that judged the same pairs\n",
        "Verdicts a / b / tie on shared (instruction, baseline, model) pairs; percent agreement with a 95 % "
        "instruction-bootstrap interval, Cohen's kappa with its analytic interval.\n",
        table_markdown(alpaca),
    ]
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "index.md", "\n".join(text) + "\n")
    return llmbar, alpaca


if __name__ == "__main__":
    args = arguments(__doc__)
    if not (DATA / "llmbar" / "judgments.csv").exists():
        raise SystemExit(f"real data not found under {DATA}")
    out = output_folder(ROOT, "judge_agreement", refresh=args.refresh, out=args.out)
    with same_bytes():
        a, b = main(out=out)
    print(a)
    print(b)
    print(f"wrote {out / 'index.md'}")
