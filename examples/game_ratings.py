"""Do redundant prompts move the AlpacaEval ranking? Mean win rate and Bradley–Terry against
Nash averaging and the equilibrium ratings of Liu et al. (ICLR 2025).

From ``../shared/data/alpaca-eval/annotations_compact.csv`` (judge
``weighted_alpaca_eval_gpt4_turbo``; every model meets the baseline ``gpt4_1106_preview`` on
the same 805 instructions) this takes a spread of models, scores each on each instruction by its
preference against the baseline, and ranks them four ways: mean win rate, Bradley–Terry (a tie
counts ½), agent-vs-task Nash averaging, and the prompt × king × rebel equilibrium ratings.

Then it pads the benchmark the way real benchmarks get padded: one source of instructions
(AlpacaEval mixes five — helpful_base, koala, oasst, selfinstruct, vicuna) is copied
``copies`` more times, the source whose model order disagrees most with the overall order. The
report shows which rankings move. Writes ``build/examples/game_ratings/index.md`` (``--refresh``:
the committed copy in ``reports/game_ratings/``).

Run::

    python examples/game_ratings.py [--refresh]      # about 2.5 minutes on two cores
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import kendalltau

import metaeval
from metaeval import ScoreMatrix
from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown
from metaeval._progress import task
from metaeval._random import same_bytes
from metaeval.errors import DataDroppedWarning
from metaeval.rankers.game_rank import scores_against_baseline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "alpaca-eval"
OUT = default_folder(ROOT, "game_ratings")
JUDGE = "weighted_alpaca_eval_gpt4_turbo"
METHODS = ("mean_win_rate", "bradley_terry", "nash_averaging", "equilibrium")


def load(data: Path = DATA, n_models: int = 20) -> tuple[metaeval.Judgments, ScoreMatrix, dict[str, str]]:
    """The pairwise table and the models × instructions score matrix for ``n_models`` models
    spread evenly over the range of mean win rates (the baseline included)."""
    with warnings.catch_warnings(), task("reading AlpacaEval's annotations"):
        warnings.simplefilter("ignore", DataDroppedWarning)
        table = metaeval.read(data / "annotations_compact.csv").filter(pl.col("judge") == JUDGE)
        # the models of the published leaderboard (the annotations also hold test entries)
        listed = pl.read_csv(data / "leaderboard_ae2_weighted_gpt4_turbo.csv").to_series(0).to_list()
        table = table.filter(pl.col("model_a").is_in(listed) & pl.col("model_b").is_in(listed))
        sm = scores_against_baseline(table).dropna(how="tasks")
    means = np.nanmean(sm.scores, axis=1)
    order = np.argsort(-means)
    pick = sorted(set(order[np.linspace(0, len(order) - 1, n_models).round().astype(int)]) | {len(sm.models) - 1})
    models = tuple(sm.models[i] for i in pick)
    sm = ScoreMatrix(models, sm.tasks, sm.scores[pick])
    table = table.filter(pl.col("model_a").is_in(models) & pl.col("model_b").is_in(models)
                         & pl.col("item").cast(pl.String).is_in(list(sm.tasks)))
    source = {}
    for line in (data / "instructions.jsonl").read_text().splitlines():
        rec = json.loads(line)
        source[str(rec["instruction_id"])] = rec["dataset"]
    return table, sm, source


def ratings(table: metaeval.Judgments, sm: ScoreMatrix, *, n_resamples: int, seed: int, label: str = ""
            ) -> dict[str, metaeval.rankers.Ranking | np.ndarray]:
    out: dict[str, metaeval.rankers.Ranking | np.ndarray] = {"mean_win_rate": sm.scores.mean(axis=1)}
    with task(f"ratings{label}", 3) as step:
        step.update(f"ratings{label}: Bradley–Terry")
        out["bradley_terry"] = metaeval.rank(table, "bradley_terry", ci="none")
        step.advance()
        step.update(f"ratings{label}: Nash averaging")
        out["nash_averaging"] = metaeval.rank(sm, "nash_averaging", n_resamples=n_resamples, rng=seed)
        step.advance()
        step.update(f"ratings{label}: equilibrium (Liu et al.)")
        out["equilibrium"] = metaeval.rank(sm, "equilibrium", n_resamples=max(2, n_resamples // 4), rng=seed)
        step.advance()
    return out


def _by_model(res: metaeval.rankers.Ranking | np.ndarray, models: tuple[str, ...]) -> np.ndarray:
    if isinstance(res, np.ndarray):
        return res
    idx = {m: i for i, m in enumerate(res.models)}
    return np.array([res.rating[idx[m]] for m in models])


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(-np.round(x, 7), method="min").astype(int)


def pad(table: metaeval.Judgments, sm: ScoreMatrix, items: list[str], copies: int
        ) -> tuple[metaeval.Judgments, ScoreMatrix]:
    """Append ``copies`` copies of ``items`` (new item ids, identical verdicts)."""
    f = table.frame
    block = f.filter(pl.col("item").cast(pl.String).is_in(items))
    extra = [block.with_columns((pl.col("item").cast(pl.String) + f"#copy{c}").alias("item")) for c in range(copies)]
    frames = [f.with_columns(pl.col("item").cast(pl.String)), *extra]
    padded = metaeval.Judgments(pl.concat(frames, how="vertical_relaxed"), kind="pairwise")
    cols = [sm.tasks.index(t) for t in items]
    new_tasks = tuple(f"{t}#copy{c}" for c in range(copies) for t in items)
    S = np.hstack([sm.scores] + [sm.scores[:, cols]] * copies)
    return padded, ScoreMatrix(sm.models, sm.tasks + new_tasks, S)


def main(data: Path = DATA, out: Path = OUT, *, n_models: int = 20, copies: int = 5, n_resamples: int = 100,
         seed: int = 0) -> pl.DataFrame:
    table, sm, source = load(data, n_models)
    models = sm.models
    overall = sm.scores.mean(axis=1)
    by_source: dict[str, list[str]] = {}
    for t in sm.tasks:
        by_source.setdefault(source.get(t, "unknown"), []).append(t)
    taus = {s: kendalltau(sm.scores[:, [sm.tasks.index(t) for t in ts]].mean(1), overall).statistic
            for s, ts in by_source.items() if len(ts) >= 10}
    block_source = min(taus, key=taus.get)
    block = by_source[block_source]

    before = ratings(table, sm, n_resamples=n_resamples, seed=seed, label=" of the benchmark")
    padded_table, padded_sm = pad(table, sm, block, copies)
    after = ratings(padded_table, padded_sm, n_resamples=n_resamples, seed=seed, label=" of the padded benchmark")

    rows: dict[str, list] = {"model": list(models)}
    moved: dict[str, tuple[float, int]] = {}
    for m in METHODS:
        b, a = _by_model(before[m], models), _by_model(after[m], models)
        rb, ra = _ranks(b), _ranks(a)
        rows[f"{m}_rank"] = rb.tolist()
        rows[f"{m}_rank_padded"] = ra.tolist()
        moved[m] = (float(np.max(np.abs(a - b))), int(np.sum(rb != ra)))
    result = pl.DataFrame(rows).sort("bradley_terry_rank")

    eq = before["equilibrium"]
    na = before["nash_averaging"]
    assert isinstance(eq, metaeval.rankers.Ranking) and isinstance(na, metaeval.rankers.Ranking)
    tt = eq.task_table
    assert tt is not None
    texts = {}
    for line in (data / "instructions.jsonl").read_text().splitlines():
        rec = json.loads(line)
        texts[str(rec["instruction_id"])] = rec["instruction"]
    top_prompts = (tt.sort("mass", descending=True).head(8)
                   .with_columns(pl.col("task").replace_strict(source, default="?").alias("source"),
                                 pl.col("task").replace_strict(texts, default="").str.replace_all(r"\s+", " ")
                                 .str.slice(0, 90).alias("instruction")))
    src_mass = (tt.with_columns(pl.col("task").replace_strict(source, default="?").alias("source"))
                .group_by("source").agg(pl.col("mass").sum().alias("equilibrium_mass"), pl.len().alias("instructions"))
                .with_columns((pl.col("instructions") / pl.col("instructions").sum()).alias("share_of_instructions"))
                .sort("source"))
    summary = pl.DataFrame({
        "method": list(METHODS),
        "largest rating change": [moved[m][0] for m in METHODS],
        "models whose rank changed": [moved[m][1] for m in METHODS],
    })
    out.mkdir(parents=True, exist_ok=True)
    text = [
        "# Do redundant prompts move the AlpacaEval ranking?\n",
        f"Judge `{JUDGE}`; {len(models)} models (spread over the leaderboard, the baseline `{models[-1]}` included) "
        f"× {len(sm.tasks)} instructions; a model's score on an instruction is its preference against the "
        "baseline (the baseline scores ½).\n",
        f"**Padding.** The `{block_source}` instructions ({len(block)} of {len(sm.tasks)}) — the source whose model "
        f"order agrees least with the overall order (Kendall τ {taus[block_source]:.2f}) — were copied {copies} more "
        f"times, {len(block) * copies} redundant prompts in all.\n",
        table_markdown(summary),
        "",
        "Mean win rate and Bradley–Terry reward the redundancy: the padded source now weighs "
        f"{(copies + 1) * len(block) / (len(sm.tasks) + copies * len(block)):.0%} of the benchmark. Nash averaging "
        "and the equilibrium ratings count identical prompts once, so every rating is unchanged (up to solver "
        "precision).\n",
        "## Ranks before and after padding\n",
        table_markdown(result),
        "",
        "## Nash averaging (agent vs task) with bootstrap intervals over instructions\n",
        f"{na.n_resamples} resamples (seed {seed}). Rating: the model's normalised score against the instructions' "
        "Nash mixture; models in the equilibrium share the top rating.\n",
        table_markdown(na.to_polars().select("model", "rating", "ci_low", "ci_high", "rank_low", "rank_high",
                                             "mass")),
        "",
        "## Equilibrium ratings (Liu et al. 2025)\n",
        f"Maximum-entropy coarse correlated equilibrium of the prompt × king × rebel game ({eq.n_resamples} bootstrap "
        "resamples). Rating: the gain of switching to the model against the equilibrium (the top is ε).\n",
        table_markdown(eq.to_polars().select("model", "rating", "ci_low", "ci_high", "rank_low", "rank_high", "mass")),
        "",
        "Which instructions the prompt player weighs (those that separate strong models):\n",
        table_markdown(top_prompts.select("task", "source", "mass", "instruction")),
        "",
        table_markdown(src_mass),
        "",
    ]
    atomic_write_text(out / "index.md", "\n".join(text) + "\n")
    return summary.join(pl.DataFrame({"method": list(METHODS)}), on="method")


if __name__ == "__main__":
    args = arguments(__doc__)
    if not (DATA / "annotations_compact.csv").exists():
        raise SystemExit(f"AlpacaEval data not found in {DATA}")
    out = output_folder(ROOT, "game_ratings", refresh=args.refresh, out=args.out)
    with same_bytes():
        print(main(out=out))
    print(f"wrote {out / 'index.md'}")
