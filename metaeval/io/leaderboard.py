"""Leaderboard tables (models × tasks) into a :class:`~metaeval.tables.ScoreMatrix`.

How the cells are read:

- A number (``75.5``, ``75.5%``) is a score. ``93.9/91.8`` (two metrics of one task, as on
  GLUE) splits into two columns ``TASK (1)`` and ``TASK (2)``, each with weight ½, so that the
  task keeps one vote.
- An empty cell, ``-``, ``NA``, ``n/a``, ``nan``, ``null`` or ``none`` is a **missing** score
  (``nan``): it never makes a column disappear. Every missing cell is counted in a warning
  and in ``ScoreMatrix.notes``; the rules that need complete scores then leave the model out.
- Anything else (``abc``, ``3/``) cannot be read as a score.

Which columns are scores (when ``tasks`` is not given) is decided by the share of parseable
cells among the cells that are not missing: a column with **at least half** of them parseable
is a score column, and each unparseable cell in it is an :class:`~metaeval.errors.ImportFormatError`
naming the file, line, column, model and value; a column with less than half is text (model
names, teams, URLs, dates) and is left out — with a warning when some of its cells were
numbers, so a mistyped score column cannot vanish silently. Columns named like a rank
(``Rank``, ``#``) and, when other score columns remain, like an aggregate of the others
(``Score``, ``Average``, ``Mean-Rank``, ``Meta-Ave`` …) are left out too, and so are, when other score
columns remain, the bounds or standard errors of a score (``rating_q025``, ``ci_high``, ``se``) and
columns that describe a model or run (``avg_tokens``, ``n_battles``, ``date``); everything left out is
listed in ``ScoreMatrix.notes``. ``tasks=`` chooses the score columns explicitly, ``exclude=``
removes some. Counts of a run (``n_wins``, ``n_draws``, ``n_total``, ``# parsed``) are descriptions, not
scores.

Which way is better: a score is higher-is-better unless its name says it is a cost or an error
(``Price``, ``Cost``, ``$``, ``Time``, ``seconds``, ``Latency``, ``Runtime``, ``Memory``, ``Error``,
``Loss``, ``Perplexity``/``PPL``, ``Bias``, ``Variance``, ``WER``, ``CER``, ``MAE``, ``MSE``, ``RMSE``, as
whole words): those are read lower-is-better, with a warning naming them, so a vote over a table of
judges does not reward the most expensive one. ``higher_is_better=`` overrides: ``True`` or
``False`` for every column (no guessing), or a mapping for the named columns (the rest guessed).
A column best at a middle value (``Proba. prefer longer``, best at 0.5) has no direction; exclude it
or transform it first.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from metaeval._numeric import MAX_ABS_SCORE
from metaeval.errors import DataDroppedWarning, ImportFormatError, MetaevalError, MetaevalWarning, ParameterError, warn
from metaeval.io._common import PathLike
from metaeval.io.detect import detect_format
from metaeval.io.generic import _separator, read_frame, read_frame_numbered
from metaeval.tables import ScoreMatrix

__all__ = ["read_leaderboard_table"]

_MISSING = {"", "-", "–", "—", "na", "n/a", "nan", "null", "none"}
_NAME_COLUMNS = ("model", "Model", "name", "Name", "model_name", "system")
_RANK_NAMES = {"rank", "#", "position", "place"}
_AGGREGATE_NAMES = {"score", "average", "avg", "avg.", "mean", "overall", "total", "mean-rank", "mean rank",
                    "meta-ave", "meta-avg", "meta ave", "macro-avg", "macro avg", "average score", "overall score"}
#: Columns that describe a score's uncertainty (Arena-Hard's ``rating_q025`` / ``rating_q975``, ``ci_low``,
#: ``standard_error``) or the model or run (``avg_tokens``, ``date``, ``n_battles``) rather than a task.
_INTERVAL = re.compile(r"(^|[_ .-])(q0?0?25|q97\.?5|q975|q2\.5|p2\.5|p97\.5|lower|upper|ci|"
                       r"ci[_ .-]?(low|high|lower|upper|lo|hi)|se|sd|std|stderr|std[_ .-]?err(or)?|"
                       r"standard[_ .-]error)$", re.IGNORECASE)
_DESCRIPTOR = re.compile(r"^(avg[_ .-]?tokens|avg[_ .-]?output[_ .-]?tokens|avg[_ .-]?length|(avg[_ .-]?)?output[_ .-]?"
                         r"length|n|n[_ .-]?(total|battles|"
                         r"votes|samples|items)|num[_ .-]?(battles|votes)|votes|battles|date|"
                         r"(n|num|#)[_ .-]?(wins|losses|draws|ties)([_ .-]?base)?|(n|num|#)[_ .-]?parsed|"
                         r"# ?(battles|votes|samples|items|examples))$", re.IGNORECASE)
#: Scores whose name says lower is better (a cost or an error), as whole words
_LOWER_IS_BETTER = re.compile(r"(?<![a-z0-9])(price|cost|\$|time|seconds?|latency|runtime|memory|error|loss|"
                              r"perplexity|ppl|bias|variance|wer|cer|mae|mse|rmse)(?![a-z0-9])", re.IGNORECASE)
_TEXT_SHARE = 0.5  # a column is a score column when at least this share of its non-missing cells parse
_BAD = object()


def _parse_cell(text: str | None) -> list[float] | object:
    """``[]`` for a missing cell, the list of numbers (one, or two for ``a/b``; ``nan`` for a
    part marked missing, as in ``NaN/99.8``), or ``_BAD``."""
    if text is None:
        return []
    t = text.strip()
    if t.lower() in _MISSING:
        return []
    out = []
    for part in t.split("/"):
        x = part.strip().rstrip("%").strip()
        if x and x.lower() in _MISSING:
            out.append(math.nan)
            continue
        try:
            v = float(x)
        except ValueError:
            return _BAD
        if not math.isfinite(v):
            return _BAD
        out.append(v)
    return out if not all(math.isnan(v) for v in out) else []


def _clean_name(name: str) -> str:
    """Model names as people read them: HTML comments dropped, runs of whitespace (newlines in
    scraped tables) collapsed to one space."""
    return re.sub(r"\s+", " ", re.sub(r"<!--.*?-->", " ", name, flags=re.DOTALL)).strip()


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+%?(/[+-]?\d+,\d+%?)?$")


def _file_separator(path: Path) -> str:
    """The separator of a ``.csv`` file, from its header (as :func:`metaeval.io.generic.read_frame` reads it)."""
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").strip("\r\n")
    return _separator(header, "csv")


def read_leaderboard_table(
    path: PathLike,
    *,
    model: str | None = None,
    tasks: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    higher_is_better: bool | Mapping[str, bool] | None = None,
    top: int | None = None,
    split_cells: bool = True,
) -> ScoreMatrix:
    """Read a leaderboard CSV / TSV / Parquet file (one row per model, one column per task).

    Parameters
    ----------
    path
        The file.
    model
        The column with model names (default: ``model``/``name``-like, else the first column).
    tasks
        The score columns, in order (default: decided per column by the share of parseable
        cells; see the module documentation).
    exclude
        Columns that are not tasks (each must exist).
    higher_is_better
        ``None`` (default): higher is better, except for scores whose name says a cost or an error
        (read lower-is-better, with a warning; see the module documentation). ``True`` / ``False``:
        every column that way. A mapping: a flag per task name (before splitting), the rest guessed.
    top
        Keep the first ``top`` rows, in file order (e.g. the top 30 of a ranked board).
    split_cells
        Split ``a/b`` cells into two half-weighted columns.

    Returns
    -------
    ScoreMatrix
        With ``notes`` listing what was left out, split, renamed or missing.

    Examples
    --------
    >>> import metaeval, tempfile, os, warnings
    >>> path = os.path.join(tempfile.mkdtemp(), "board.csv")
    >>> _ = open(path, "w").write("Model,Score,CoLA,MRPC\\nx,80,70.1,93.9/91.8\\ny,79,,90.0/88.0\\n")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     sm = read_leaderboard_table(path)
    >>> sm.tasks, sm.n_missing
    (('CoLA', 'MRPC (1)', 'MRPC (2)'), 1)
    >>> str(caught[0].message)
    '1 score is missing for 1 model (y: CoLA); rules that need complete scores leave those models out'
    """

    p = Path(path)
    frame, fmt, numbers, trailing = _read_board(p)
    model = _model_column(frame, model, p)
    unknown = [c for c in exclude if c not in frame.columns]
    if unknown:
        raise MetaevalError(f"`exclude` names no column {unknown[0]!r} of {p} (columns: {', '.join(frame.columns)})")
    _check_one_row_per_model(frame, model, p)
    if top is not None:
        if top < 1:
            raise ParameterError(f"`top` must be at least 1; got {top}")
        frame = frame.head(top)
    notes: list[str] = [f"left out as asked (`exclude`): {', '.join(exclude)}"] if exclude else []
    if trailing:
        notes.append(f"{trailing} empty row{'s' if trailing > 1 else ''} at the end of the file left out")
    labels, dup_labels = _model_labels(frame, model, p, notes)
    candidates = _candidate_columns(frame, model, tasks, exclude, p, notes)
    where = _Where(fmt, numbers, labels)
    decimal_comma = fmt == "csv" and _file_separator(p) == ";"
    columns: list[tuple[str, list[list[float]]]] = []
    text_cols, empty_cols, comma_cols = [], [], []
    for c in candidates:
        cells = frame[c].cast(pl.String).to_list()
        if decimal_comma and any(x is not None and _DECIMAL_COMMA.match(x.strip()) for x in cells):
            # a ';'-separated file from a locale that writes 93,9 for 93.9
            cells = [x.strip().replace(",", ".") if x is not None and _DECIMAL_COMMA.match(x.strip()) else x
                     for x in cells]
            comma_cols.append(c)
        parsed = _score_column(c, cells, tasks is not None, split_cells, where, p)
        if parsed is _EMPTY:
            empty_cols.append(c)
        elif parsed is _TEXT:
            text_cols.append(c)
        else:
            columns.append((c, parsed))  # type: ignore[arg-type]
    if comma_cols:
        notes.append(f"read decimal commas (the file is separated by ';'): {', '.join(comma_cols)}")
    if text_cols:
        notes.append(f"left out as text: {', '.join(text_cols)}")
    if empty_cols:
        notes.append(f"left out as empty: {', '.join(empty_cols)}")
    if tasks is None:
        columns = _drop_non_tasks(columns, notes)
    if not columns:
        raise ImportFormatError("no numeric score columns were found" +
                                (f" (text columns: {', '.join(text_cols)})" if text_cols else ""), path=str(p))
    return _score_matrix(columns, labels, dup_labels, higher_is_better, notes)


def _read_board(p: Path) -> tuple[pl.DataFrame, str, int | list[int], int]:
    """The board's frame (every cell as text, but for Parquet; short rows read as missing cells and
    trailing empty rows left out), its format, its line numbers (as
    :func:`metaeval.io.generic.read_frame_numbered` gives them) and how many trailing empty rows
    were left out; an error for a table of judgments or an empty board."""
    fmt = {".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(p.suffix.lower(), "csv")
    detected, why = detect_format(p)
    if detected not in ("csv", "tsv", "parquet", "json", "jsonl"):
        raise ImportFormatError(f"this is a table of judgments ({detected} format: {why}), not a leaderboard with one "
                                "row per model and one column per task; read it with `metaeval.read` and rank its "
                                "models with `metaeval.rankers.rank` (`metaeval rank` / `metaeval report`)",
                                path=str(p))
    frame, _, numbers = read_frame_numbered(p, format=fmt, short_rows="missing",  # type: ignore[arg-type]
                                            index_column="model")
    if fmt != "parquet":  # every cell as text: a column's type must not depend on one bad cell
        with warnings.catch_warnings():  # the short rows were named once, above
            warnings.simplefilter("ignore", MetaevalWarning)
            frame = read_frame(p, format=fmt, string_columns=list(frame.columns),  # type: ignore[arg-type]
                               short_rows="missing", index_column="model")
    empty = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    n_rows = frame.height
    while frame.height and empty[frame.height - 1]:  # a spreadsheet's trailing empty rows (",,,")
        frame, empty = frame.head(frame.height - 1), empty.head(frame.height - 1)
    trailing = n_rows - frame.height
    if frame.height == 0:
        raise ImportFormatError("the leaderboard has no rows", path=str(p))
    return frame, fmt, numbers, trailing


def _model_column(frame: pl.DataFrame, model: str | None, p: Path) -> str:
    """The column of model names: ``model``, else the first name-like column, else the first."""
    if model is None:
        named = [c for c in _NAME_COLUMNS if c in frame.columns]
        model = named[0] if named else frame.columns[0]
    if model not in frame.columns:
        raise ImportFormatError(f"no model column {model!r} (columns: {', '.join(frame.columns)})", path=str(p),
                                field=model)
    return model


def _check_one_row_per_model(frame: pl.DataFrame, model: str, p: Path) -> None:
    """A long table of judgments read as a board repeats its model names: an error saying so."""
    whole = frame[model].cast(pl.String)
    distinct = whole.n_unique()
    if frame.height >= 20 and distinct <= frame.height / 2:
        raise ImportFormatError(
            f"column `{model}` repeats model names: {frame.height:,} rows but {distinct:,} distinct names; a "
            "leaderboard has one row per model and one column per task — this looks like a long table of "
            "judgments (read it with `metaeval.read`) or the wrong model column (pass `model=` / `--model`)",
            path=str(p), field=model)


def _model_labels(frame: pl.DataFrame, model: str, p: Path, notes: list[str]) -> tuple[list[str], list[str]]:
    """The cleaned model names, repeats numbered ``(2)``, ``(3)`` …, and the names that repeat; a
    note when names were cleaned."""
    names = frame[model].cast(pl.String)
    if names.null_count():
        row = int(names.is_null().arg_true()[0])
        raise ImportFormatError(f"model name is missing in row {row + 1}", path=str(p), field=model)
    raw = names.to_list()
    labels = [_clean_name(x) for x in raw]
    if any(not x for x in labels):
        row = next(i for i, x in enumerate(labels) if not x)
        raise ImportFormatError(f"model name is empty in row {row + 1}", path=str(p), field=model)
    changed = sum(a != b for a, b in zip(raw, labels, strict=True))
    if changed:
        notes.append(f"{changed} model name{'s' if changed > 1 else ''} cleaned of line breaks, extra spaces or HTML "
                     "comments")
    seen: dict[str, int] = {}
    dup_labels = []
    for i, name in enumerate(labels):
        if name in seen:
            seen[name] += 1
            labels[i] = f"{name} ({seen[name]})"
            dup_labels.append(name)
        else:
            seen[name] = 1
    return labels, dup_labels


def _candidate_columns(frame: pl.DataFrame, model: str, tasks: Sequence[str] | None, exclude: Sequence[str],
                       p: Path, notes: list[str]) -> list[str]:
    """The columns that may hold scores: ``tasks`` (each must exist), or every column but the
    model's, the excluded and the rank columns (a note lists those)."""
    if tasks is not None:
        missing = [t for t in tasks if t not in frame.columns]
        if missing:
            raise ImportFormatError(f"no column {missing[0]!r} (columns: {', '.join(frame.columns)})",
                                    path=str(p), field=missing[0])
        return list(tasks)
    candidates = [c for c in frame.columns
                  if c != model and c not in exclude and c.strip().lower() not in _RANK_NAMES]
    ranked_out = [c for c in frame.columns if c != model and c not in exclude and c.strip().lower() in _RANK_NAMES]
    if ranked_out:
        notes.append(f"left out as {'rank columns' if len(ranked_out) > 1 else 'a rank column'}: "
                     f"{', '.join(ranked_out)}")
    return candidates


class _Where:
    """Where a row of the board is, for messages: its line in the file (``None`` for Parquet) and
    ``model 'x', row i``."""

    def __init__(self, fmt: str, numbers: int | list[int], labels: list[str]) -> None:
        self.fmt, self.numbers, self.labels = fmt, numbers, labels

    def __call__(self, row: int) -> tuple[int | None, str]:
        if self.fmt == "parquet":
            line = None
        else:
            line = row + self.numbers if isinstance(self.numbers, int) else self.numbers[row]
        return line, f"model {self.labels[row]!r}, row {row + 1}"


_EMPTY = object()  # a column with no score at all
_TEXT = object()  # a column left out as text


def _score_column(c: str, cells: list[str | None], chosen: bool, split_cells: bool, where: _Where,
                  p: Path) -> list[list[float]] | object:
    """One column's cells parsed (a list of numbers per cell; ``[]`` where missing), or ``_EMPTY`` /
    ``_TEXT`` when it is left out (``chosen``: named in ``tasks``, so never text, and empty is an
    error); an error naming the first cell that is not a score."""
    parsed = [_parse_cell(x) for x in cells]
    bad = [i for i, v in enumerate(parsed) if v is _BAD]
    present = sum(1 for v in parsed if v is _BAD or v)
    good = present - len(bad)
    if present == 0:
        if chosen:
            raise ImportFormatError("has no scores (every cell is empty or marked missing)", path=str(p), field=c)
        return _EMPTY
    if not chosen and good < _TEXT_SHARE * present:
        if good:
            first = next(i for i, v in enumerate(parsed) if v is not _BAD and v)
            warn(f"column {c!r} left out as text: only {good} of its {present} filled cells are numbers (first: "
                 f"{cells[first]!r}, {where(first)[1]}); name it in `tasks=` if it holds scores",
                 DataDroppedWarning)
        return _TEXT
    if bad:
        line, at = where(bad[0])
        more = f" ({len(bad)} such cells; the others: rows {', '.join(str(i + 1) for i in bad[1:6])}" \
               f"{' …' if len(bad) > 6 else ''})" if len(bad) > 1 else ""
        raise ImportFormatError(
            f"cannot read {cells[bad[0]]!r} as a score ({at}){more}; a score cell holds a number, 'a/b' for two "
            "metrics, or is empty / '-' / 'NA' when the score is missing", path=str(p), line=line, field=c)

    huge = [i for i, v in enumerate(parsed) if v and any(abs(x) > MAX_ABS_SCORE for x in v  # type: ignore[union-attr]
                                                          if np.isfinite(x))]
    if huge:
        line, at = where(huge[0])
        raise ImportFormatError(f"{cells[huge[0]]!r} is not a score ({at}): a score cell must lie within ±1e100 "
                                "(larger values overflow float64 when squared)", path=str(p), line=line, field=c)
    widths = {len(v) for v in parsed if v}  # type: ignore[arg-type]
    if len(widths) > 1 or (max(widths) > 1 and not split_cells):
        k0 = len(next(v for v in parsed if v))  # type: ignore[arg-type]
        # the first cell of another width, or (all cells alike) the first with several values
        odd = next(i for i, v in enumerate(parsed)
                   if v and (len(v) != k0 if len(widths) > 1 else len(v) > 1))  # type: ignore[arg-type]
        line, at = where(odd)
        what = (f"cells hold different numbers of '/'-separated values ({k0} and {len(parsed[odd])}: "  # type: ignore[arg-type]
                f"{cells[odd]!r}, {at})" if len(widths) > 1 else
                f"cells hold {k0} '/'-separated values ({cells[odd]!r}, {at}) and `split_cells` is False: pass "
                "`split_cells=True` to read them as two half-weight columns")
        raise ImportFormatError(what, path=str(p), line=line, field=c)
    return parsed


def _drop_non_tasks(columns: list[tuple[str, list[list[float]]]],
                    notes: list[str]) -> list[tuple[str, list[list[float]]]]:
    """Score columns that are not tasks, left out (with a note) when other columns remain: the
    bounds or standard errors of a score, descriptions of the models or runs, then aggregates."""
    if len(columns) > 1:
        bounds = [c for c, _ in columns if _INTERVAL.search(c.strip())]
        descriptors = [c for c, _ in columns if c not in bounds and _DESCRIPTOR.search(c.strip())]
        if bounds or descriptors:
            kept = [(c, v) for c, v in columns if c not in bounds and c not in descriptors]
            if kept:
                columns = kept
                if bounds:
                    notes.append(f"left out as the uncertainty of a score (interval bounds, standard errors): "
                                 f"{', '.join(bounds)}")
                if descriptors:
                    notes.append(f"left out as descriptions of the models or runs, not task scores: "
                                 f"{', '.join(descriptors)}")
    if len(columns) > 1:
        aggregates = [c for c, _ in columns if c.strip().lower() in _AGGREGATE_NAMES]
        if aggregates and len(aggregates) < len(columns):
            columns = [(c, v) for c, v in columns if c not in aggregates]
            what = "aggregates of the other columns" if len(aggregates) > 1 else "an aggregate of the other columns"
            them = "them" if len(aggregates) > 1 else "it"
            notes.append(f"left out as {what}: {', '.join(aggregates)} (name {them} in `tasks=` / `--tasks` to rank "
                         f"by {them})")
    return columns


def _directions(names: list[str], clean: Mapping[str, str], higher_is_better: bool | Mapping[str, bool] | None
                ) -> tuple[dict[str, bool], list[str]]:
    """Each column's direction, and the columns guessed lower-is-better from their names: ``True``
    / ``False`` is every column's (no guessing); a mapping sets the columns it names (by their name in
    the file or as cleaned) and the rest are guessed; ``None`` guesses all."""
    if isinstance(higher_is_better, bool):
        return dict.fromkeys(names, higher_is_better), []
    given: dict[str, bool] = {}
    if isinstance(higher_is_better, Mapping):
        known = {**{c: c for c in names}, **{clean[c]: c for c in names}}
        unknown = [k for k in higher_is_better if k not in known]
        if unknown:
            raise ParameterError(f"`higher_is_better` names {unknown[0]!r}, which is not a score column of this "
                                 f"leaderboard; its score columns: {', '.join(clean[c] for c in names)}")
        for k, v in higher_is_better.items():
            if not isinstance(v, (bool, np.bool_)):
                raise ParameterError(f"`higher_is_better[{k!r}]` must be True or False; got {v!r}")
            given[known[k]] = bool(v)
    flags, guessed = {}, []
    for c in names:
        if c in given:
            flags[c] = given[c]
        else:
            flags[c] = not _LOWER_IS_BETTER.search(clean[c])
            if not flags[c]:
                guessed.append(clean[c])
    return flags, guessed


def _score_matrix(columns: list[tuple[str, list[list[float]]]], labels: list[str], dup_labels: list[str],
                  higher_is_better: bool | Mapping[str, bool] | None, notes: list[str]) -> ScoreMatrix:
    """The score columns as a :class:`ScoreMatrix` (``a/b`` cells split into half-weight columns),
    with a note and a warning for missing scores and for repeated model names."""
    out_tasks: list[str] = []
    out_cols: list[np.ndarray] = []
    weights: list[float] = []
    hib: list[bool] = []
    split: list[str] = []
    missing_cells: dict[str, list[str]] = {}
    # task names as people read them (headers scraped from a web table wrap: "Arena Elo\n[Feb 2, 2024]"),
    # unless cleaning would make two of them one
    clean = {c: _clean_name(c) or c for c, _ in columns}
    if len(set(clean.values())) < len(clean):
        clean = {c: c for c in clean}
    cleaned = [c for c in clean if clean[c] != c]
    if cleaned:
        notes.append(f"{len(cleaned)} task name{'s' if len(cleaned) > 1 else ''} cleaned of line breaks or extra "
                     "spaces")
    flags, guessed = _directions([c for c, _ in columns], clean, higher_is_better)
    if guessed:
        text = (f"read as lower-is-better, as their names say a cost or an error: {', '.join(guessed)}; if one is "
                f"not, say so with higher_is_better={{{guessed[0]!r}: True}} (command line: --higher-is-better "
                f"{guessed[0]!r})")
        notes.append(text)
        warn(text, MetaevalWarning)
    for c, parsed in columns:
        k = max(len(v) for v in parsed)
        if k > 1:
            split.append(c)
        flag = flags[c]
        for part in range(k):
            name = clean[c] if k == 1 else f"{clean[c]} ({part + 1})"
            col = np.array([v[part] if v else np.nan for v in parsed])
            for i in np.flatnonzero(np.isnan(col)):
                missing_cells.setdefault(labels[i], []).append(name)
            out_tasks.append(name)
            out_cols.append(col)
            weights.append(1.0 / k)
            hib.append(flag)
    if split:
        notes.append(f"split 'a/b' cells into two half-weight columns: {', '.join(split)}")
    if missing_cells:
        n = sum(len(v) for v in missing_cells.values())
        k = len(missing_cells)
        listed = "; ".join(f"{m}: {', '.join(t[:6])}{' …' if len(t) > 6 else ''}"
                           for m, t in list(missing_cells.items())[:4])
        text = (f"{n} score{'s are' if n > 1 else ' is'} missing for {k} model{'s' if k > 1 else ''} ({listed}"
                f"{' …' if k > 4 else ''}); rules that need complete scores leave those models out")
        notes.append(text)
        warn(text, DataDroppedWarning)
    if dup_labels:
        text = f"{len(dup_labels)} model names repeat (first: {dup_labels[0]!r}); numbered them '(2)', '(3)' …"
        notes.append(text)
        warn(text, DataDroppedWarning)
    return ScoreMatrix(tuple(labels), tuple(out_tasks), np.column_stack(out_cols), np.array(hib), np.array(weights),
                       tuple(notes))
