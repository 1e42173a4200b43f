"""Rebuild the files of :mod:`metaeval.datasets` (maintainers only).

Excerpts come from the public data sets in ``../shared/data`` (see ``README.md`` beside this
file for each source and licence); simulated files from :mod:`metaeval.simulate` with fixed
seeds. Run from the repository root::

    python -m metaeval.datasets._make ../shared/data [OUT]

The output is deterministic: running it writes the shipped bytes again (``tests/test_datasets.py``
checks it; ``OUT`` writes the tables elsewhere, to compare).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval import simulate

HERE = Path(__file__).resolve().parent

LLMBAR_JUDGES = ("GPT-4", "ChatGPT", "PaLM2", "LLaMA2")
LLMBAR_ITEMS = 30
ALPACA_JUDGE = "weighted_alpaca_eval_gpt4_turbo"
ALPACA_BASELINE = "gpt4_1106_preview"
ALPACA_MODELS = ("FuseChat-Llama-3.1-8B-Instruct", "FuseChat-Llama-3.2-3B-Instruct", "FuseChat-Llama-3.2-1B-Instruct",
                 "claude-2")
ALPACA_ITEMS = 40


def _write_csv(frame: pl.DataFrame, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frame.write_csv(out / name, float_precision=None)


def llmbar(data: Path, out: Path = HERE) -> None:
    """LLMBar/Natural, plain prompt: four evaluators in both presentation orders, and the gold label."""
    raw = pl.read_csv(data / "llmbar" / "judgments.csv")
    sub = raw.filter((pl.col("subset") == "LLMBar/Natural") & (pl.col("strategy") == "Vanilla_NoRules")
                     & pl.col("evaluator").is_in(LLMBAR_JUDGES))
    keep = sorted(sub["idx"].unique().to_list())[:LLMBAR_ITEMS]
    sub = sub.filter(pl.col("idx").is_in(keep))
    side = {1: "a", 2: "b"}
    rows = []
    for r in sub.sort("idx", "evaluator").iter_rows(named=True):
        for col, first in (("winner_noswap", "a"), ("winner_swap", "b")):
            rows.append({"item": f"natural-{r['idx']}", "judge": r["evaluator"], "model_a": "output_1",
                         "model_b": "output_2", "outcome": side.get(r[col]), "shown_first": first})
    for idx, label in sub.unique("idx", keep="first").sort("idx").select("idx", "label").iter_rows():
        rows.append({"item": f"natural-{idx}", "judge": "gold", "model_a": "output_1", "model_b": "output_2",
                     "outcome": side[label], "shown_first": None})
    _write_csv(pl.DataFrame(rows), out, "llmbar_natural.csv")

    items = []
    with (data / "llmbar" / "instances.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["subset"] == "LLMBar/Natural":
                items.append(r)
    items.sort(key=lambda r: (len(r["input"]) + len(r["output_1"]) + len(r["output_2"]), r["idx"]))
    with (out / "llmbar_items.jsonl").open("w", encoding="utf-8") as fh:
        for r in sorted(items[:8], key=lambda r: r["idx"]):
            fh.write(json.dumps({"id": f"natural-{r['idx']}", "prompt": r["input"], "response_a": r["output_1"],
                                 "response_b": r["output_2"], "gold": side[r["label"]]}, ensure_ascii=False) + "\n")


def alpaca_eval(data: Path, out: Path = HERE) -> None:
    """AlpacaEval 2.0: three models against the baseline on the same instructions; the judges' leaderboard."""
    raw = pl.read_csv(data / "alpaca-eval" / "annotations_compact.csv")
    sub = raw.filter((pl.col("annotator") == ALPACA_JUDGE) & (pl.col("generator_1") == ALPACA_BASELINE)
                     & pl.col("generator_2").is_in(ALPACA_MODELS))
    common = None
    for m in ALPACA_MODELS:
        ids = set(sub.filter(pl.col("generator_2") == m)["instruction_id"].to_list())
        common = ids if common is None else common & ids
    keep = sorted(common)[:ALPACA_ITEMS]  # type: ignore[arg-type]
    sub = (sub.filter(pl.col("instruction_id").is_in(keep)).unique(["instruction_id", "generator_2"], keep="first",
                                                                   maintain_order=True)
           .sort("instruction_id", "generator_2")
           .select("instruction_id", "generator_1", "generator_2", pl.col("preference").round(4), "len_1", "len_2"))
    _write_csv(sub, out, "alpacaeval_annotations.csv")

    judges = pl.read_csv(data / "alpaca-eval" / "evaluators_leaderboard.csv").rename({"": "judge"})
    judges = (judges.filter(pl.col("Human agreement") > 1)  # one row gives a share where the rest give percent
              .select("judge", pl.col("Human agreement").round(2).alias("human_agreement"),
                      pl.col("Price [$/1000 examples]").round(3).alias("price_per_1000"),
                      pl.col("# parsed").alias("n_parsed"))
              .drop_nulls().sort("judge"))
    _write_csv(judges, out, "alpacaeval_judges.csv")


def glue(data: Path, out: Path = HERE) -> None:
    """Vote'n'Rank's GLUE leaderboard: the first 30 rows (the paper keeps the top 30), every score column."""
    board = pl.read_csv(data / "vote-n-rank" / "leaderboard_glue.csv", infer_schema=False).head(30)
    _write_csv(board.drop("URL"), out, "glue_top30.csv")


def simulated(out: Path = HERE) -> None:
    # human raters' votes in a CSV with its own column names and verdict codes
    sim = simulate.pairwise(n_models=4, n_items=20, judges=(), n_humans=3, pairs_per_item=2, tie_threshold=0.4,
                            rng=11)
    code = {"a": "A>B", "b": "B>A", "tie": "A=B"}
    f = sim.judgments.frame
    votes = pl.DataFrame({"qid": f["item"], "rater": f["judge"].str.replace("human:", "rater-"),
                          "left": f["model_a"], "right": f["model_b"],
                          "verdict": [code[o] for o in f["outcome"].cast(pl.String)]})
    _write_csv(votes, out, "votes.csv")

    # 1-10 grades of four models' outputs by two model judges and three humans
    sim = simulate.pointwise(n_models=4, n_items=12, judges=("judge-atlas", "judge-borealis"), n_humans=3, rng=12)
    f = sim.judgments.frame
    _write_csv(f.select("item", "judge", "model", pl.col("score").cast(pl.Int64)), out, "grades.csv")

    # a judge study with a known truth: three model judges and a human, every pair in both orders,
    # output lengths, a price per verdict; planted position, length and self-preference biases
    # (the human's verdicts in one order only, as a reference usually is)
    sim = simulate.pairwise(n_models=4, n_items=15, judges=("judge-atlas", "judge-borealis", "judge-cirrus"),
                            n_humans=1, both_orders=True, position_bias=1.0, length_bias=0.6, self_preference=1.5,
                            tie_threshold=0.2, rng=13)
    price = {"judge-atlas": 1.0, "judge-borealis": 0.25, "judge-cirrus": 0.05, "human:1": 2.0}
    f = sim.judgments.frame.filter((pl.col("judge") != "human:1") | (pl.col("shown_first") == "a"))
    study = f.select("item", "judge", "model_a", "model_b", pl.col("outcome").cast(pl.String),
                     pl.when(pl.col("judge") != "human:1").then(pl.col("shown_first").cast(pl.String))
                     .alias("shown_first"), "len_a", "len_b",
                     pl.col("judge").replace_strict(price, return_dtype=pl.Float64).alias("cost"))
    study.write_parquet(out / "judge_study.parquet", compression="zstd", statistics=False)

    # per-item correctness of three models on 90 questions of three tasks (a shared item difficulty)
    gen = np.random.default_rng(14)
    n = 90
    difficulty = gen.normal(0, 1, n)
    ability = {"model-x": 1.2, "model-y": 0.9, "model-z": 0.4}
    rows: list[dict[str, Any]] = []
    for i in range(n):
        for m, a in ability.items():
            p = 1 / (1 + np.exp(-(a - difficulty[i])))
            rows.append({"item": f"q{i + 1}", "task": ("arithmetic", "knowledge", "reasoning")[i % 3], "model": m,
                         "judge": "exact_match",
                         "score": int(gen.random() < p)})
    _write_csv(pl.DataFrame(rows), out, "per_item.csv")

    # answers of five models and one judge to 50 four-option questions, and the judge's grades of the models
    gen = np.random.default_rng(15)
    n = 50
    gold = gen.integers(0, 4, n)
    names = ["atlas-1", "borealis-1", "cirrus-1", "draco-1", "eridanus-1", "judge-atlas"]
    accuracy = dict(zip(names, (0.8, 0.7, 0.65, 0.6, 0.5, 0.75), strict=True))
    habit = gen.integers(0, 4, n)  # the wrong option the "atlas" family tends to pick
    rows = []
    for m in names:
        for i in range(n):
            if gen.random() < accuracy[m]:
                ans = gold[i]
            elif "atlas" in m and gen.random() < 0.8:
                ans = habit[i] if habit[i] != gold[i] else (gold[i] + 1) % 4
            else:
                ans = gen.choice([o for o in range(4) if o != gold[i]])
            rows.append({"item": f"q{i + 1}", "model": m, "answer": "ABCD"[ans], "gold": "ABCD"[gold[i]]})
    answers = pl.DataFrame(rows)
    _write_csv(answers, out, "answers.csv")
    right = answers.with_columns((pl.col("answer") == pl.col("gold")).cast(pl.Float64).alias("ok"))
    acc = dict(right.group_by("model", maintain_order=True).agg(pl.col("ok").mean()).iter_rows())
    rows = []
    for m in names[:-1]:
        for k in range(4):
            bonus = 0.15 if "atlas" in m else 0.0
            rows.append({"item": f"essay-{k + 1}", "judge": "judge-atlas", "model": m,
                         "score": round(float(1 + 9 * acc[m] + 10 * bonus + gen.normal(0, 0.4)), 1)})
    _write_csv(pl.DataFrame(rows), out, "judge_scores.csv")

    # an arena-style battle log (Chatbot Arena's columns), for metaeval.scan: one judge, three random
    # pairs per question, two categories, output lengths; planted strengths and a length bias
    sim = simulate.pairwise(n_models=5, n_items=300, judges=("arena",), pairs_per_item=3, length_bias=0.5,
                            tie_threshold=0.3, rng=16)
    f = sim.judgments.frame
    winner = {"a": "model_a", "b": "model_b", "tie": "tie"}
    log = f.select("model_a", "model_b", pl.col("outcome").cast(pl.String).replace_strict(winner).alias("winner"),
                   pl.col("item").alias("question_id"),
                   pl.when(pl.col("item").str.extract(r"(\d+)$").cast(pl.Int64) % 3 == 0).then(pl.lit("coding"))
                   .otherwise(pl.lit("writing")).alias("category"), "len_a", "len_b")
    log.write_parquet(out / "arena_battles.parquet", compression="zstd", statistics=False)


def main(data: Path, out: Path = HERE) -> None:
    """Write every table into ``out`` (default: beside this file, i.e. the shipped copies)."""
    llmbar(data, out)
    alpaca_eval(data, out)
    glue(data, out)
    simulated(out)
    for p in sorted(out.iterdir()):
        if p.suffix in (".csv", ".jsonl", ".parquet"):
            print(f"{p.name:32s} {p.stat().st_size:7,d} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else HERE)
