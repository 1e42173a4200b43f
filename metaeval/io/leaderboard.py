"""Leaderboard tables (models × tasks) into a :class:`~metaeval.tables.ScoreMatrix`.

Cells such as ``93.9/91.8`` (two metrics of one task, as on GLUE) are split into two
columns ``TASK (1)`` and ``TASK (2)``, each with weight ½, so that the task keeps one vote.
``-``, ``NA`` and empty cells are missing (``nan``). Columns that are not scores (text
columns, and columns named like a rank) are left out; ``tasks=`` chooses explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from metaeval.errors import ImportFormatError, MetaevalError
from metaeval.io._common import PathLike
from metaeval.io.generic import read_frame
from metaeval.tables import ScoreMatrix

__all__ = ["read_leaderboard_table"]

_MISSING = {"", "-", "–", "—", "na", "n/a", "nan", "null", "none"}
_NAME_COLUMNS = ("model", "Model", "name", "Name", "model_name", "system")
_RANK_NAMES = {"rank", "#", "position", "place"}


def _parse_cell(text: str | None) -> list[float] | None:
    if text is None:
        return None
    t = text.strip()
    if t.lower() in _MISSING:
        return []
    parts = t.split("/")
    try:
        return [float(x.strip().rstrip("%")) for x in parts]
    except ValueError:
        return None


def read_leaderboard_table(
    path: PathLike,
    *,
    model: str | None = None,
    tasks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    higher_is_better: bool | Mapping[str, bool] = True,
    top: int | None = None,
    split_cells: bool = True,
) -> ScoreMatrix:
    """Read a leaderboard CSV / TSV / Parquet file.

    Parameters
    ----------
    model
        The column with model names (default: ``model``/``name``-like, else the first column).
    tasks
        The score columns, in order (default: every column whose cells all parse as numbers,
        except rank-like columns and those in ``exclude``).
    higher_is_better
        One flag, or a flag per task name (before splitting).
    top
        Keep the first ``top`` rows, in file order (e.g. the top 30 of a ranked board).
    split_cells
        Split ``a/b`` cells into two half-weighted columns.
    """
    p = Path(path)
    fmt = {".tsv": "tsv", ".parquet": "parquet"}.get(p.suffix.lower(), "csv")
    frame = read_frame(p, format=fmt)  # type: ignore[arg-type]
    if frame.height == 0:
        raise ImportFormatError("the leaderboard has no rows", path=str(p))
    if model is None:
        named = [c for c in _NAME_COLUMNS if c in frame.columns]
        model = named[0] if named else frame.columns[0]
    if model not in frame.columns:
        raise ImportFormatError(f"no model column {model!r} (columns: {', '.join(frame.columns)})", path=str(p),
                                field=model)
    if top is not None:
        if top < 1:
            raise MetaevalError(f"`top` must be at least 1; got {top}")
        frame = frame.head(top)
    names = frame[model].cast(pl.String)
    if names.null_count():
        row = int(names.is_null().arg_true()[0])
        raise ImportFormatError(f"model name is missing in row {row}", path=str(p), field=model)
    labels = names.to_list()
    seen: dict[str, int] = {}
    dup_labels = []
    for i, name in enumerate(labels):
        if name in seen:
            seen[name] += 1
            labels[i] = f"{name} ({seen[name]})"
            dup_labels.append(name)
        else:
            seen[name] = 1
    if tasks is None:
        candidates = [c for c in frame.columns
                      if c != model and c not in exclude and c.strip().lower() not in _RANK_NAMES]
    else:
        missing = [t for t in tasks if t not in frame.columns]
        if missing:
            raise ImportFormatError(f"no column {missing[0]!r} (columns: {', '.join(frame.columns)})",
                                    path=str(p), field=missing[0])
        candidates = list(tasks)
    out_tasks: list[str] = []
    out_cols: list[np.ndarray] = []
    weights: list[float] = []
    hib: list[bool] = []
    for c in candidates:
        cells = frame[c].cast(pl.String).to_list()
        parsed = [_parse_cell(x) for x in cells]
        bad = [i for i, v in enumerate(parsed) if v is None]
        if bad:
            if tasks is not None:
                raise ImportFormatError(
                    f"must hold numbers; got {cells[bad[0]]!r} in {len(bad)} rows (first: row {bad[0]})",
                    path=str(p), field=c)
            continue  # a text column: not a score
        widths = {len(v) for v in parsed if v}
        if not widths:
            continue
        if len(widths) > 1 or (max(widths) > 1 and not split_cells):
            raise ImportFormatError(
                f"cells hold different numbers of '/'-separated values {sorted(widths)}", path=str(p), field=c)
        k = widths.pop()
        flag = higher_is_better.get(c, True) if isinstance(higher_is_better, Mapping) else bool(higher_is_better)
        for part in range(k):
            out_tasks.append(c if k == 1 else f"{c} ({part + 1})")
            out_cols.append(np.array([v[part] if v else np.nan for v in parsed]))
            weights.append(1.0 / k)
            hib.append(flag)
    if not out_tasks:
        raise ImportFormatError("no numeric score columns were found", path=str(p))
    sm = ScoreMatrix(tuple(labels), tuple(out_tasks), np.column_stack(out_cols), np.array(hib), np.array(weights))
    if dup_labels:
        from metaeval.errors import DataDroppedWarning, warn

        warn(f"{len(dup_labels)} model names repeat (first: {dup_labels[0]!r}); numbered them '(2)', '(3)' …",
             DataDroppedWarning)
    return sm
