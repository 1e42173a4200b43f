"""Is the AlpacaEval leaderboard order real? Rank intervals from the per-item preferences.

Ranks every model judged by ``weighted_alpaca_eval_gpt4_turbo`` in
``../shared/data/alpaca-eval/annotations_compact.csv`` with Bradley–Terry (a tie counts ½;
every model meets the baseline ``gpt4_1106_preview`` on the same 805 instructions) and with
Davidson's tie model, with a bootstrap that resamples instructions (the clusters), and
compares the rank intervals with the published leaderboard order. Writes
``build/examples/alpaca_eval_ranking/index.md`` and a chart (``--refresh``: the committed copy in
``reports/alpaca_eval_ranking/``).

Run::

    python examples/alpaca_eval_ranking.py [--refresh]
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

import metaeval
from metaeval._examples import arguments, default_folder, output_folder, write_folder
from metaeval._files import check_output_folder
from metaeval._format import table_markdown
from metaeval._progress import task
from metaeval._random import same_bytes
from metaeval.errors import DataDroppedWarning

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "alpaca-eval"
OUT = default_folder(ROOT, "alpaca_eval_ranking")
JUDGE = "weighted_alpaca_eval_gpt4_turbo"


def main(data: Path = DATA, out: Path = OUT, n_resamples: int = 1000, seed: int = 0) -> pl.DataFrame:
    check_output_folder(out)  # before the computing
    with warnings.catch_warnings(), task("reading AlpacaEval's annotations"):
        warnings.simplefilter("ignore", DataDroppedWarning)
        table = metaeval.read(data / "annotations_compact.csv").filter(pl.col("judge") == JUDGE)
    board = (pl.read_csv(data / "leaderboard_ae2_weighted_gpt4_turbo.csv").rename({"": "model"})
             .select("model", "win_rate"))
    # Rank the models the published leaderboard lists, so that both orders are over the same set.
    listed = board["model"].to_list()
    table = table.filter(pl.col("model_a").is_in(listed) & pl.col("model_b").is_in(listed))
    bt = metaeval.rank(table, "bradley_terry", cluster="item", n_resamples=n_resamples, rng=seed)
    with task("Davidson ratings"):
        dav = metaeval.rank(table, "davidson", ci="none")
    ours = bt.to_polars().join(dav.to_polars().select("model", pl.col("rating").alias("davidson")), on="model")
    joined = ours.join(board, on="model", how="inner")
    # Rank among the models present here, by the published win rate.
    joined = joined.with_columns(pl.col("win_rate").rank("min", descending=True).cast(pl.Int64)
                                 .alias("published_rank"))
    joined = joined.with_columns(
        ((pl.col("published_rank") >= pl.col("rank_low")) & (pl.col("published_rank") <= pl.col("rank_high")))
        .alias("published_in_interval"))
    inside = joined["published_in_interval"].mean()
    widths = (joined["rank_high"] - joined["rank_low"])
    files: dict[str, str] = {}
    cols = ["model", "rating", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "arena_rank", "p_best",
            "published_rank", "win_rate", "davidson"]
    text = [
        "# Is the AlpacaEval order real?\n",
        f"Judge `{JUDGE}`; {len(table):,} verdicts on {len(table.items)} instructions, {len(bt.models)} models "
        f"(all compared with the baseline). Bradley–Terry with a tie as ½; 95 % intervals from {n_resamples} "
        f"bootstrap resamples of instructions (seed {seed}). Davidson's tie parameter: {dav.tie_parameter:.3g}.\n",
        f"- {joined.height} models are on the published leaderboard; the published rank lies inside our 95 % rank "
        f"interval for {inside:.0%} of them.",
        f"- Median rank-interval width: {float(widths.median()):.0f} places (largest {int(widths.max())}).",
        f"- Distinct 'arena ranks' (1 + models significantly better): {joined['arena_rank'].n_unique()} for "
        f"{joined.height} models.\n",
        table_markdown(joined.sort("rank").select(cols)),
    ]
    try:
        import vl_convert as vlc

        files["ranking.svg"] = vlc.vegalite_to_svg(bt.chart().to_dict())
        text.append("\n![ratings and rank intervals](ranking.svg)\n")
    except ImportError:
        pass
    files["index.md"] = "\n".join(text) + "\n"
    write_folder(out, files)
    return joined


if __name__ == "__main__":
    args = arguments(__doc__)
    if not (DATA / "annotations_compact.csv").exists():
        raise SystemExit(f"AlpacaEval data not found in {DATA}")
    out = output_folder(ROOT, "alpaca_eval_ranking", refresh=args.refresh, out=args.out)
    with same_bytes():
        result = main(out=out)
    with pl.Config(tbl_rows=12, tbl_width_chars=150):
        print(result.sort("rank").select("model", "rating", "rank", "rank_low", "rank_high", "published_rank"))
    print(f"wrote {out / 'index.md'}")
