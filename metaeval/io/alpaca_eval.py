"""AlpacaEval annotations: ``annotations.json`` (list of objects) or a CSV with the same fields.

Fields: ``instruction`` (or ``instruction_id``) → ``item``; ``annotator`` → ``judge``;
``generator_1`` / ``generator_2`` → ``model_a`` / ``model_b``; ``preference`` → ``outcome``
and ``p_a``; ``output_1`` / ``output_2`` (their lengths) or ``len_1`` / ``len_2`` →
``len_a`` / ``len_b``; ``price_per_example`` → ``cost``. Everything else goes to ``extra``.

Preferences run from 1 (``generator_1`` wins) to 2 (``generator_2`` wins):
``p_a = 2 - preference``; 1.5 is a tie; other fractions (weighted annotators) are kept in
``p_a`` and the outcome follows the side with p > ½. The old annotator
``alpaca_eval_gpt4`` wrote 0 for a draw: it becomes a tie with ``p_a = 0.5``. Missing
preferences are kept as abstentions (``Judgments.abstentions``, ``missing_reason``) and counted.

Rows comparing a generator with itself (the baseline's own row) carry no information and
are left out and counted. Verdicts that repeat exactly (same instruction, annotator, generators and preference),
as happens when AlpacaEval's annotation cache is copied into two results folders, are kept
once and counted; repeats that disagree are numbered with ``rep``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, dropped, load_json, to_judgments
from metaeval.io.generic import read_frame_numbered
from metaeval.tables import Judgments

__all__ = ["from_frame", "read_alpaca_eval"]

REQUIRED = ("generator_1", "generator_2", "preference")


def read_alpaca_eval(path: PathLike) -> Judgments:
    """Read AlpacaEval annotations (``.json`` list of objects, or ``.csv``)."""
    suffix = str(path).lower()
    if suffix.endswith(".csv"):
        frame, noun, numbers = read_frame_numbered(
            path, format="csv", string_columns=["instruction", "instruction_id", "generator_1", "generator_2",
                                                "annotator"])
        return from_frame(frame, path=path, format_name="alpaca_eval (csv)", row_noun=noun, row_offset=numbers)
    else:
        data = load_json(path)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFormatError("AlpacaEval annotations must be a JSON list of objects", path=str(path))
        if not data:
            raise ImportFormatError("the annotations list is empty", path=str(path))
        frame = pl.DataFrame(data, infer_schema_length=None, strict=False)
        fmt = "alpaca_eval"
    return from_frame(frame, path=path, format_name=fmt)


def from_frame(frame: pl.DataFrame, *, path: PathLike | Sequence[PathLike] = "<frame>",
               format_name: str = "alpaca_eval", row_noun: str = "record",
               row_offset: int | Sequence[int] = 0) -> Judgments:
    """Convert a DataFrame with AlpacaEval's annotation fields into pairwise judgments.

    Errors name row *i* of ``frame`` as ``{row_noun} {i + row_offset}``, or
    ``{row_noun} {row_offset[i]}`` when ``row_offset`` numbers each row (a CSV file's lines).
    """
    number = (pl.int_range(pl.len()) + row_offset if isinstance(row_offset, int)
              else pl.Series(list(row_offset), dtype=pl.Int64))
    missing = [c for c in REQUIRED if c not in frame.columns]
    item_col = "instruction" if "instruction" in frame.columns else "instruction_id"
    if item_col not in frame.columns:
        missing.append("instruction")
    if missing:
        raise ImportFormatError(
            f"not AlpacaEval annotations: missing fields {', '.join(missing)} (got {', '.join(frame.columns)})",
            path=str(path), field=missing[0],
        )
    for col in ("generator_1", "generator_2", item_col):
        nulls = frame[col].is_null()
        if nulls.any():
            raise ImportFormatError(f"required field is missing in {int(nulls.sum())} records (first: record "
                                    f"{int(nulls.arg_true()[0])})", path=str(path), field=col)
    prov: dict[str, Any] = {"format": format_name, "files": str(path), "rows_read": frame.height}
    pref = pl.col("preference").cast(pl.Float64, strict=False)
    bad = frame.with_row_index("__row").filter(
        pl.col("preference").is_not_null()
        & (pref.is_null() | ~((pref == 0) | pref.is_between(1.0, 2.0)))
    )
    if bad.height:
        raise ImportFormatError(
            f"`preference` must be 0 (old draw) or lie in [1, 2]; got {bad['preference'][0]!r} in "
            f"{bad.height} rows (first: {row_noun} {frame.select(number.alias('n'))['n'][bad['__row'][0]]})",
            path=str(path), field="preference",
        )
    n_null = int(frame["preference"].is_null().sum())
    if n_null:  # kept as abstentions: the annotator gave no verdict
        prov["abstentions"] = n_null
    n_draw0 = int((frame["preference"].cast(pl.Float64) == 0).sum())
    if n_draw0:
        prov["draws_coded_0"] = n_draw0
    p_a = pl.when(pref == 0).then(0.5).otherwise(2.0 - pref)
    out = frame.with_columns(
        p_a.alias("p_a"),
        pl.when(p_a > 0.5).then(pl.lit("a")).when(p_a < 0.5).then(pl.lit("b")).when(p_a == 0.5).then(pl.lit("tie"))
        .alias("outcome"),
        pl.when(pl.col("preference").is_null()).then(pl.lit("annotator gave no preference"))
        .alias("missing_reason"),
    )
    rename = {item_col: "item", "generator_1": "model_a", "generator_2": "model_b"}
    if "annotator" in out.columns:
        rename["annotator"] = "judge"
    else:
        out = out.with_columns(pl.lit("alpaca_eval").alias("judge"))
    if "price_per_example" in out.columns:
        rename["price_per_example"] = "cost"
    if "len_1" in out.columns and "len_2" in out.columns:
        rename.update({"len_1": "len_a", "len_2": "len_b"})
    elif "output_1" in out.columns and "output_2" in out.columns:
        out = out.with_columns(
            pl.col("output_1").cast(pl.String).str.len_chars().cast(pl.Int64).alias("len_a"),
            pl.col("output_2").cast(pl.String).str.len_chars().cast(pl.Int64).alias("len_b"),
        )
    out = out.rename(rename).with_columns(pl.col("item").cast(pl.String),
                                          number.alias("__number"))
    self_cmp = out["model_a"] == out["model_b"]
    n_self = int(self_cmp.sum())
    if n_self and n_self == out.height:
        raise ImportFormatError(f"every annotation compares a generator with itself (generator_1 == generator_2, "
                                f"first: {out['model_a'][0]!r}); nothing is left to compare", path=str(path),
                                field="generator_2")
    if n_self:
        example = out.filter(self_cmp)["model_a"][0]
        dropped(prov, "a generator compared with itself (AlpacaEval's baseline row, 50 % by construction)",
                n_self, repr(example))
        out = out.filter(~self_cmp)
    key = ["item", "judge", "model_a", "model_b"]
    exact = out.select(pl.struct([*key, "preference"]).is_first_distinct()).to_series()
    n_exact = int((~exact).sum())
    if n_exact:
        where = ""
        if "model_dir" in out.columns:
            dirs = out.filter(~exact)["model_dir"].unique().sort().to_list()
            where = f" in results folders {', '.join(map(str, dirs[:3]))}"
        dropped(prov, f"exact repeats of a verdict{where} (kept one copy)", n_exact)
        out = out.filter(exact)
    out = out.with_columns(pl.int_range(pl.len()).over(key).cast(pl.Int64).alias("rep"))
    numbers = out["__number"].to_list()  # rows left out above keep the numbers of the others right
    return to_judgments(out.drop("__number"), kind="pairwise", path=path, provenance=prov, row_noun=row_noun,
                        row_offset=numbers)
