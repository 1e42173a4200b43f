"""Evaluate on a budget: how few items estimate a model's benchmark score, and do the intervals cover?

The tinyBenchmarks recipe (Polo et al. 2024) on the per-item tables we have, with a
leave-models-out split: fit a 2PL item response model on the training models
(:func:`metaeval.stats.irt.fit`), pick ``n`` anchor items (:func:`metaeval.stats.tiny.select_anchors`:
IRT k-means as in the paper, and random), then estimate each held-out model's full-benchmark
score from its answers to the anchors alone (:func:`metaeval.stats.tiny.estimate_performance`:
anchor-weighted, p-IRT and gp-IRT) and compare with its real score on all items.

Benchmarks:

- AlpacaEval 2.0: 58 models x 805 instructions, the weighted GPT-4 Turbo judge's probability that
  the model beats the baseline (``../shared/data/alpaca-eval/annotations_compact.csv``); 5-fold
  split over models.
- AlpacaEval 1.0: 52 models x 805 instructions, the GPT-4 judge's verdicts against
  text-davinci-003 (a draw counts ½; 63 missing verdicts are "not given"); 5-fold split.
- Simulated: 400 models x 4,000 items from a 2PL (300 to fit, 100 to estimate).

For each benchmark, number of anchors (10, 25, 50, 100, 200), anchor method and estimator: the
mean absolute error of the estimated score and the share of held-out models whose 95 % interval
contains their real score. Writes ``build/examples/efficient_benchmarks/index.md`` and the
figure ``error_curve.png`` (``--refresh``: the committed copy in ``reports/efficient_benchmarks/``).

Run::

    python examples/efficient_benchmarks.py [--refresh]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown
from metaeval._random import same_bytes
from metaeval.stats import irt, tiny

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "alpaca-eval"
OUT = default_folder(ROOT, "efficient_benchmarks")
N_ANCHORS = (10, 25, 50, 100, 200)
METHODS = ("irt", "random")


def alpaca_table(data: Path, annotator: str) -> np.ndarray:
    """Models x instructions scores in [0, 1] (``nan``: no verdict) for one AlpacaEval judge."""
    t = (pl.read_csv(data / "annotations_compact.csv")
         .filter(pl.col("annotator") == annotator)
         .select(pl.col("generator_2").alias("model"), pl.col("instruction_id").cast(pl.String).alias("item"),
                 # preference 1..2 (2 = the model wins); 0 is a draw in the 1.0 judge: half a win
                 pl.when(pl.col("preference") == 0).then(0.5).otherwise(pl.col("preference") - 1).alias("score"))
         .unique(["model", "item"], keep="first", maintain_order=True))
    y, _, _ = irt.response_matrix(t)
    return y


def simulated(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=400)
    a, b = rng.lognormal(0, 0.4, 4000), rng.normal(0, 1.2, 4000)
    return (rng.random((400, 4000)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(float)


def evaluate(name: str, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], seed: int,
             n_boot: int) -> list[dict]:
    rows = []
    for f, (train, test) in enumerate(folds):
        model = irt.fit(y[train])
        truth = np.nanmean(y[test], axis=1)
        lam = None
        for method in METHODS:
            for n in N_ANCHORS:
                if n >= y.shape[1] // 2:
                    continue
                anchors = tiny.select_anchors(model, n, method=method, rng=seed + f)
                if lam is None:  # b and v do not depend on the anchors: validate once per fold
                    lam = tiny.gp_lambda(model, y[train], anchors, rng=seed + f)
                anchors = lam.for_anchors(anchors)
                est = tiny.estimate_performance(model, anchors, y[np.ix_(test, anchors.index)], n_boot=n_boot,
                                                rng=seed + f)
                for e in tiny.ESTIMATORS:
                    t = est.table.filter(pl.col("estimator") == e)
                    lo, hi, value = (t[c].to_numpy() for c in ("ci_low", "ci_high", "estimate"))
                    for k in range(len(test)):
                        rows.append({"benchmark": name, "fold": f, "anchors": method, "n": n, "estimator": e,
                                     "error": abs(value[k] - truth[k]), "covered": bool(lo[k] <= truth[k] <= hi[k]),
                                     "width": hi[k] - lo[k], "lam": anchors.lam})
    return rows


def kfold(n_models: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    perm = np.random.default_rng(seed).permutation(n_models)
    parts = np.array_split(perm, k)
    return [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(parts[i])) for i in range(k)]


def chart(summary: pl.DataFrame):
    import altair as alt

    df = summary.to_pandas()
    base = alt.Chart().encode(
        x=alt.X("n:Q", scale=alt.Scale(type="log", domain=[8, 250]), title="anchor items",
                axis=alt.Axis(values=list(N_ANCHORS))),
        color=alt.Color("estimator:N", title="estimator"),
        strokeDash=alt.StrokeDash("anchors:N", title="anchors",
                                  legend=alt.Legend(symbolType="stroke", symbolStrokeColor="black")),
    )
    err = base.mark_line(point=True).encode(y=alt.Y("mae:Q", title="mean absolute error"))
    cov = base.mark_line(point=True).encode(
        y=alt.Y("coverage:Q", title="95 % interval coverage", scale=alt.Scale(domain=[0.6, 1])))
    rule = alt.Chart().mark_rule(color="grey", strokeDash=[2, 2]).encode(y=alt.datum(0.95))
    top = alt.layer(err, data=df).properties(width=220, height=170).facet(
        column=alt.Column("benchmark:N", title=None))
    bottom = alt.layer(cov, rule, data=df).properties(width=220, height=170).facet(
        column=alt.Column("benchmark:N", title=None))
    return alt.vconcat(top, bottom)


def main(data: Path = DATA, out: Path = OUT, seed: int = 0, n_boot: int = 500) -> pl.DataFrame:
    rows: list[dict] = []
    sizes = {}
    if (data / "annotations_compact.csv").exists():
        for name, judge in (("AlpacaEval 2.0", "weighted_alpaca_eval_gpt4_turbo"),
                            ("AlpacaEval 1.0", "alpaca_eval_gpt4")):
            y = alpaca_table(data, judge)
            sizes[name] = y.shape
            rows += evaluate(name, y, kfold(y.shape[0], 5, seed), seed, n_boot)
    y = simulated(seed)
    sizes["simulated 2PL"] = y.shape
    rows += evaluate("simulated 2PL", y, [(np.arange(300), np.arange(300, 400))], seed, n_boot)
    per = pl.DataFrame(rows)
    summary = (per.group_by("benchmark", "anchors", "n", "estimator", maintain_order=True)
               .agg(pl.len().alias("models"), pl.col("error").mean().alias("mae"),
                    pl.col("covered").mean().alias("coverage"), pl.col("width").median().alias("median_width"),
                    pl.col("lam").mean().alias("lam"))
               .sort("benchmark", "anchors", "n", "estimator"))
    out.mkdir(parents=True, exist_ok=True)
    wide = (summary.with_columns(pl.format("{} ({})", pl.col("mae").round(3), pl.col("coverage").round(2)).alias("v"))
            .pivot(on="estimator", index=["benchmark", "anchors", "n"], values="v"))
    text = [
        "# Evaluate on a budget: the tinyBenchmarks estimators on held-out models\n",
        "Each benchmark's item response model (2PL, marginal MAP by EM) is fitted on the training models only; the "
        "held-out models answer just the anchors. Error = |estimated score − score on all items|; coverage = share "
        "of held-out models whose 95 % parametric-bootstrap interval contains that score. gp-IRT's λ follows the "
        "paper's code (validation on a fifth of the training models).\n",
        "Benchmarks (models x items): " + "; ".join(f"{k}: {v[0]} x {v[1]}" for k, v in sizes.items()) + ".\n",
        "Cells: mean absolute error (coverage).\n",
        table_markdown(wide),
        "\nFull table (median interval width, mean λ):\n",
        table_markdown(summary.with_columns(pl.col("mae", "coverage", "median_width", "lam").round(3))),
    ]
    try:
        import vl_convert as vlc

        spec = chart(summary).to_dict()
        (out / "error_curve.png").write_bytes(vlc.vegalite_to_png(spec, scale=2))
        atomic_write_text(out / "error_curve.svg", vlc.vegalite_to_svg(spec))
        text.append("\n![error and coverage against the number of anchor items](error_curve.png)\n")
    except ImportError:
        text.append("\n(altair / vl-convert not installed: no figure)\n")
    text.append(f"\nSeed {seed}; {n_boot} bootstrap draws per model.\n")
    atomic_write_text(out / "index.md", "\n".join(text) + "\n")
    return summary


if __name__ == "__main__":
    args = arguments(__doc__)
    out = output_folder(ROOT, "efficient_benchmarks", refresh=args.refresh, out=args.out)
    with same_bytes():
        result = main(out=out)
    with pl.Config(tbl_rows=100, tbl_width_chars=160):
        print(result)
    print(f"wrote {out / 'index.md'}")
