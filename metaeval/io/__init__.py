"""Importers: every common result format into a validated :class:`~metaeval.tables.Judgments`.

:func:`read` detects the format from the suffix and the content (and records what it
detected in ``judgments.provenance``); :func:`read_leaderboard` reads model × task tables.

================  =====================================================  ===============
format            files                                                  kind
================  =====================================================  ===============
``csv`` …         generic CSV / TSV / Parquet / JSONL / JSON with a       either
                  column mapping (:func:`metaeval.io.generic.read_table`)
``alpaca_eval``   AlpacaEval ``annotations.json`` or its CSV form         pairwise
``mt_bench``      FastChat ``llm_judge`` judgment JSONL                   either
``arena``         Chatbot Arena battles JSON / JSONL, and battle logs     pairwise
                  (Parquet / CSV / TSV with model_a, model_b, winner)
``lm_eval``       lm-evaluation-harness ``samples_*.jsonl``               pointwise
``inspect``       inspect_ai ``.eval`` and ``.json`` logs                 pointwise
``helm``          HELM ``per_instance_stats.json`` / ``display_predictions.json``  pointwise
================  =====================================================  ===============
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import polars as pl

from metaeval._validate import Interval, Options, validate_params
from metaeval.errors import ImportFormatError, MetaevalError, ParameterError
from metaeval.io._common import PathLike
from metaeval.io.alpaca_eval import read_alpaca_eval
from metaeval.io.arena import read_arena
from metaeval.io.detect import FORMATS, detect_format
from metaeval.io.generic import apply_mapping, read_table
from metaeval.io.helm import read_helm
from metaeval.io.inspect_ai import read_inspect
from metaeval.io.leaderboard import read_leaderboard_table
from metaeval.io.lm_eval import read_lm_eval_results, read_lm_eval_samples
from metaeval.io.mt_bench import read_mt_bench
from metaeval.tables import COLUMNS, Judgments, Kind, ScoreMatrix, as_judgments, frame_input

__all__ = ["FORMATS", "detect_format", "merge_provenance", "read", "read_leaderboard"]



def _shallow(func: Any) -> Any:
    """Make a reader turn the RecursionError of JSON nested thousands of levels deep into one
    ImportFormatError naming the file."""
    import functools

    @functools.wraps(func)
    def wrapper(source: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(source, *args, **kwargs)
        except RecursionError:
            name = source if isinstance(source, (str, os.PathLike)) else ", ".join(str(s) for s in source)
            raise ImportFormatError("the file nests its values too deeply to be a result table (JSON nested "
                                    "thousands of levels deep)", path=str(name)) from None

    return wrapper


@_shallow
@validate_params({"format": [Options(str, FORMATS), None], "kind": [Options(str, ("pointwise", "pairwise")), None]})
def read(
    source: PathLike | Sequence[PathLike],
    format: str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[Any, Any]] | None = None,
    constants: Mapping[str, Any] | None = None,
    kind: Kind | None = None,
    model: str | None = None,
    task: str | None = None,
    **column_map: str,
) -> Judgments:
    """Read one or more result files into a validated :class:`~metaeval.tables.Judgments`.

    Parameters
    ----------
    source
        A path, or a list of paths of the same kind (their rows are stacked), or a polars or
        pandas DataFrame (read as a generic table, with the same column and value maps).
    format
        One of :data:`FORMATS`; detected from the suffix and content when omitted. The
        detected format and the reason are stored in ``provenance["format"]`` and
        ``provenance["detected"]``.
    columns, values, constants, kind
        For generic tables: canonical column → file column, value maps per column,
        constant columns, and the kind (see :func:`metaeval.io.generic.read_table`).
        Column mappings may also be given as keywords: ``read(path, item="question_id")``.
    model, task
        For per-item benchmark logs that do not name them (lm-eval samples, HELM).

    Returns
    -------
    Judgments
        The validated table (pointwise, pairwise or ranking verdicts), with the file, format and
        detection reason in ``provenance``. A row that does not fit is an
        :class:`~metaeval.errors.ImportFormatError` naming file, row and column.

    Examples
    --------
    >>> import metaeval, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("item,judge,model,score\\nq1,h,x,3\\nq1,h,y,4\\n")
    >>> j = metaeval.read(path)
    >>> j.kind, j.provenance["format"]
    ('pointwise', 'csv')
    """

    for key in column_map:
        if key not in COLUMNS:
            raise ParameterError(f"unknown option `{key}`: keywords map metaeval columns ({', '.join(COLUMNS)})")
    mapping = {**(columns or {}), **column_map}
    frame_in = _as_polars(source)
    if frame_in is not None:
        return _read_frame_table(frame_in, format, mapping, values, constants, kind)
    paths = _paths(source)
    if len(paths) > 1:
        parts = [read(p, format, columns=mapping, values=values, constants=constants, kind=kind, model=model,
                      task=task) for p in paths]
        kinds = {j.kind for j in parts}
        if len(kinds) > 1:
            raise MetaevalError("the files hold different kinds of judgments (pointwise and pairwise); read them "
                                "separately")
        frame = pl.concat([j.all_rows() for j in parts], how="diagonal_relaxed")
        prov = merge_provenance([j.provenance for j in parts], [len(j) + j.n_abstentions for j in parts])
        prov["files"] = ", ".join(str(p) for p in paths)
        return Judgments(frame, kind=kinds.pop(), provenance=prov, source=prov["files"])
    path = Path(paths[0])
    return _read_one(path, format, mapping, values, constants, kind, model, task)


def merge_provenance(parts: Sequence[Mapping[str, Any]], rows: Sequence[int] | None = None) -> dict[str, Any]:
    """One provenance for tables read from several files: rows dropped (per reason), abstentions
    and rows read are summed, formats and files joined; any other field keeps its value where the
    files agree and lists the distinct values (in file order) where they differ.

    Parameters
    ----------
    parts : sequence of mappings
        The ``provenance`` of each file's table, in file order.
    rows : sequence of int, optional
        Rows read from each file, summed into ``rows_read`` where no part records it.

    Returns
    -------
    dict
        The merged provenance.

    Examples
    --------
    >>> merge_provenance([{"format": "alpaca_eval", "dropped": {"no verdict": 2}, "rows_read": 10},
    ...                   {"format": "alpaca_eval", "dropped": {"no verdict": 1, "bad": 4}, "rows_read": 5}])
    {'format': 'alpaca_eval', 'dropped': {'no verdict': 3, 'bad': 4}, 'rows_read': 15}
    """
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for prov in parts for k in prov))
    for key in keys:
        values = [prov[key] for prov in parts if key in prov]
        if key == "dropped":
            total: dict[str, int] = {}
            for v in values:
                for reason, n in (v.items() if isinstance(v, Mapping) else []):
                    total[reason] = total.get(reason, 0) + int(n)
            out[key] = total
        elif key in ("rows_read", "abstentions") and all(isinstance(v, int) for v in values):
            out[key] = sum(values)
        elif key == "format":
            out[key] = ",".join(sorted({str(v) for v in values}))
        elif key == "files":
            out[key] = ", ".join(dict.fromkeys(str(v) for v in values))
        else:
            distinct = list({json.dumps(v, default=str, sort_keys=True): v for v in values}.values())
            out[key] = distinct[0] if len(distinct) == 1 else distinct
    if "rows_read" not in out and rows is not None:
        out["rows_read"] = sum(rows)
    return out


def _paths(source: Any) -> list[PathLike]:
    """``source`` as a non-empty list of paths, or a metaeval error saying what it got."""
    if isinstance(source, (str, os.PathLike)):
        return [source]
    what = "a path, a list of paths or a data frame"
    if isinstance(source, (bytes, Mapping)) or not isinstance(source, (Sequence, set, frozenset)):
        raise ParameterError(f"`source` must be {what}; got {type(source).__name__}")
    paths = list(source)
    if not paths:
        raise MetaevalError("`source` names no files")
    bad = [p for p in paths if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise ParameterError(f"`source` must be {what}; got a list holding {type(bad[0]).__name__}")
    return paths


def _as_polars(source: Any) -> pl.DataFrame | None:
    """A polars or pandas DataFrame (or LazyFrame) as a polars one (None for paths)."""

    return frame_input(source)


def _read_frame_table(frame: pl.DataFrame, format: str | None, mapping: Mapping[str, str], values: Any,
                      constants: Any, kind: Kind | None) -> Judgments:
    """A data frame in memory read as a generic table: the same column and value maps as a file;
    errors name the frame's row (1 = its first row)."""

    if format is not None:
        raise MetaevalError("`format` applies to files; a data frame is read as a generic table (drop `format=`)")
    frame = apply_mapping(frame, columns=mapping, values=values, constants=constants, path="<DataFrame>")
    return as_judgments(frame, kind=kind)  # the conversion every public function uses for a frame


def _read_one(path: Path, format: str | None, mapping: Mapping[str, str], values: Any, constants: Any,
              kind: Kind | None, model: str | None, task: str | None) -> Judgments:
    """One file through the importer of its format (detected when ``format`` is None)."""
    detected = None
    if format is None:
        format, detected = detect_format(path)
    elif format not in FORMATS:
        raise ParameterError(f"`format` must be one of {', '.join(FORMATS)}; got {format!r}")
    generic = format in ("csv", "tsv", "parquet", "jsonl", "json")
    if not generic and (mapping or values or constants):
        raise MetaevalError(f"column mappings apply to generic tables, not to the {format} format")
    if format in ("csv", "tsv", "parquet", "jsonl", "json"):
        j = read_table(path, format=format, columns=mapping, values=values, constants=constants,  # type: ignore[arg-type]
                       kind=kind)
    elif format == "alpaca_eval":
        j = read_alpaca_eval(path)
    elif format == "mt_bench":
        j = read_mt_bench(path)
    elif format == "arena":
        j = read_arena(path)
    elif format == "lm_eval":
        j = read_lm_eval_samples(path, model=model, task=task)
    elif format == "inspect":
        j = read_inspect(path)
    else:
        j = read_helm(path, model=model, task=task)
    if detected is not None:
        j.provenance["detected"] = detected
    return j


@_shallow
@validate_params({
    "higher_is_better": [bool, Mapping, None],
    "top": [Interval(Integral, 1, None, closed="left"), None],
    "split_cells": ["boolean"],
})
def read_leaderboard(
    source: PathLike | Sequence[PathLike],
    *,
    model: str | None = None,
    tasks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    higher_is_better: bool | Mapping[str, bool] | None = None,
    top: int | None = None,
    split_cells: bool = True,
    metric: str | None = None,
    preset: str | None = None,
) -> ScoreMatrix:
    """Read a leaderboard (models × tasks) into a :class:`~metaeval.tables.ScoreMatrix`.

    A CSV / TSV / Parquet table (see :mod:`metaeval.io.leaderboard`), or one or more
    lm-evaluation-harness ``results_*.json`` files (one model each; ``metric`` picks the
    value, e.g. ``"acc,none"``).

    ``preset="vote_n_rank"`` reads the board as the Vote'n'Rank paper (Rofin et al. 2023) did,
    so that every analysis of it sees the paper's table: models with a missing score dropped,
    the diagnostic sets (GLUE AX, SuperGLUE AX-b, AX-g) left out
    (:meth:`metaeval.rankers.presets.Preset.leaderboard`); split ``a/b`` cells and left-out
    aggregates are the defaults anyway. With ``top=30`` on GLUE this is the paper's GLUE table.
    The paper's rules themselves: ``compare_rules(board, preset=...)``.

    Parameters
    ----------
    source : path or sequence of paths
        One leaderboard table (CSV, TSV or Parquet), or lm-evaluation-harness results files.
    model : str, optional
        The column with model names (default: a ``model``/``name``-like column, else the first).
    tasks : sequence of str, optional
        The score columns, in order (default: decided per column by the share of parseable
        cells; see :mod:`metaeval.io.leaderboard`).
    exclude : sequence of str, default ()
        Columns that are not tasks (each must exist).
    higher_is_better : bool or mapping of str to bool, optional
        By default every score is higher-is-better except those whose name says a cost or an
        error (``Price``, ``Time``, ``Latency``, ``Error``, ``Loss``, ``Bias``, ``Variance`` …, see
        :mod:`metaeval.io.leaderboard`), which are read lower-is-better with a warning. ``True`` or
        ``False``: one direction for every task, nothing guessed. A mapping: a flag per task name
        (before ``a/b`` cells are split); the others are guessed.
    top : int, optional
        Keep the first ``top`` rows, in file order (e.g. the top 30 of a ranked board).
    split_cells : bool, default True
        Split ``a/b`` cells (two metrics of one task, as GLUE prints them) into two columns of
        half weight each.
    metric : str, optional
        For lm-evaluation-harness results: the metric to read, e.g. ``"acc,none"``.
    preset : str, optional
        Read the board as a published analysis did (``"vote_n_rank"``, see above).

    Returns
    -------
    ScoreMatrix
        Models × tasks, with ``higher_is_better`` and the weight of each task, and ``notes``
        listing what was left out, split, renamed or missing.

    Examples
    --------
    >>> import metaeval, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "board.csv")
    >>> _ = open(path, "w").write("Rank,Model,MRPC,RTE\\n1,x,93.9/91.8,92.6\\n2,y,90.0/88.0,-\\n")
    >>> sm = metaeval.read_leaderboard(path)
    >>> sm.tasks, sm.weights.tolist()
    (('MRPC (1)', 'MRPC (2)', 'RTE'), [0.5, 0.5, 1.0])
    """
    paths = _paths(source)
    if all(str(p).lower().endswith(".json") for p in paths):
        board = read_lm_eval_results(paths, metric=metric)
    elif len(paths) > 1:
        raise MetaevalError("give one leaderboard table at a time")
    else:
        board = read_leaderboard_table(paths[0], model=model, tasks=tasks, exclude=exclude,
                                       higher_is_better=higher_is_better, top=top, split_cells=split_cells)
    if preset is None:
        return board
    # lazy: the ranking layer (scipy, the rankers) loads only for a preset
    from metaeval.rankers.presets import PRESETS

    if preset not in PRESETS:
        raise ParameterError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[preset].leaderboard(board)
