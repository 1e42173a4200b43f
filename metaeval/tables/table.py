"""The judgments table: :class:`Judgments`, the doors into it (:func:`as_judgments`,
:func:`split_kinds`, :func:`frame_input`) and its overview (:class:`TableInfo`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._files import atomic_path
from metaeval._validate import Interval, Options, validate_params
from metaeval._version import __version__
from metaeval.errors import (
    InsufficientDataError,
    MetaevalError,
    MissingVerdictWarning,
    ParameterError,
    SchemaError,
    warn,
)
from metaeval.results import Result, RunInfo
from metaeval.tables.conversions import common_baseline, model_codes, preference
from metaeval.tables.intermediates import Battles, PairwiseCounts, ScoreMatrix
from metaeval.tables.schema import OUTCOMES, Kind, RowNumbers, _split_abstentions, _validate


def _as_frame(data: Any) -> pl.DataFrame:
    frame = frame_input(data)
    if frame is not None:
        return frame
    if isinstance(data, Mapping):
        try:
            return pl.DataFrame(dict(data), strict=False)
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetaevalError(f"the columns of `data` do not make a table: {first}") from None
    raise ParameterError(
        f"`data` must be a polars DataFrame, a pandas DataFrame or a mapping of columns; got {type(data).__name__}"
    )


def frame_input(data: Any) -> pl.DataFrame | None:
    """A polars DataFrame / LazyFrame or a pandas DataFrame as a polars DataFrame; None for
    anything else (a path, a metaeval table)."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        try:
            return data.collect()
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetaevalError(f"the polars LazyFrame cannot be computed: {first}") from None
    if type(data).__module__.split(".")[0] == "pandas":
        if not hasattr(data, "columns") or getattr(data, "ndim", 2) != 2:
            raise MetaevalError(f"a pandas {type(data).__name__} is not a table; pass a DataFrame")
        try:
            return pl.from_pandas(data)
        except Exception as exc:  # pyarrow / object columns polars cannot take
            raise MetaevalError(f"the pandas DataFrame cannot be converted to polars: {exc}") from None
    return None


@validate_params({"kind": [Options(str, ("pointwise", "pairwise")), None]})
def as_judgments(data: Any, *, kind: Kind | None = None) -> Any:
    """The one door by which every public function takes a table: a polars DataFrame or
    LazyFrame or a pandas DataFrame becomes a validated :class:`Judgments` (as
    ``metaeval.read(frame)`` reads it: errors name ``<DataFrame>`` and its row, counted from 1);
    anything else (a ``Judgments``, ``PairwiseCounts``, ``ScoreMatrix`` …) is returned unchanged
    for the function's own checks.

    Parameters
    ----------
    data : Any
        The table: a polars DataFrame or LazyFrame or a pandas DataFrame is read and validated;
        any other object is returned unchanged.
    kind : {"pointwise", "pairwise"} or None, default None
        The kind the table must have; None infers it from the columns.

    Returns
    -------
    Judgments or Any
        The validated table, or ``data`` itself when it is not a data frame.

    Examples
    --------
    >>> import polars as pl
    >>> j = as_judgments(pl.DataFrame({"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", "x"],
    ...                                "score": [1.0, 2.0]}))
    >>> j.kind, j.provenance["format"]
    ('pointwise', 'dataframe')
    """
    frame = frame_input(data)
    if frame is None:
        return data
    return Judgments(frame, kind=kind, source="<DataFrame>", row_noun="row", row_offset=1,
                     provenance={"format": "dataframe", "files": "<DataFrame>", "rows_read": frame.height})


def split_kinds(data: Any) -> tuple[Judgments | None, Judgments | None]:
    """Split a table that mixes pointwise and pairwise rows into two validated tables.

    Parameters
    ----------
    data : Any
        A polars DataFrame, a pandas DataFrame or a mapping of columns, whose rows are pointwise
        (``model``, ``score`` …) or pairwise (``model_a``, ``model_b``, ``outcome`` …).

    Returns
    -------
    tuple of (Judgments or None, Judgments or None)
        The pointwise rows (without the pairwise columns) and the pairwise rows (without ``model``,
        ``score``, ``label``, ``length``); None for a kind without rows. A table without pairwise
        columns is returned whole as the pointwise table.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"item": ["q1", "q1"], "judge": ["j", "j"], "model": ["m", None],
    ...                    "score": [3.0, None], "model_a": [None, "m"], "model_b": [None, "n"],
    ...                    "outcome": [None, "a"]})
    >>> point, pair = split_kinds(df)
    >>> len(point), len(pair)
    (1, 1)
    """
    frame = _as_frame(data)
    pair_cols = [c for c in ("model_a", "model_b", "outcome") if c in frame.columns]
    if not pair_cols:
        return Judgments(frame), None
    is_pair = pl.any_horizontal([pl.col(c).is_not_null() for c in pair_cols])
    point = frame.filter(~is_pair).drop(pair_cols + [c for c in ("p_a", "shown_first", "len_a", "len_b")
                                                     if c in frame.columns])
    pair = frame.filter(is_pair).drop([c for c in ("model", "score", "label", "length") if c in frame.columns])
    return (Judgments(point) if point.height else None, Judgments(pair) if pair.height else None)


class Judgments:
    """A validated table of judgments (pointwise or pairwise).

    Parameters
    ----------
    data
        A polars (or pandas) DataFrame, or a mapping of columns, in the long format described
        in :mod:`metaeval.tables` (the column table there; :data:`COLUMNS`). Columns metaeval
        does not know are kept in the ``extra`` struct.
    kind
        ``"pointwise"`` or ``"pairwise"``; inferred from the columns when omitted. A table
        that mixes both kinds raises :class:`~metaeval.errors.SchemaError` unless ``kind``
        says which rows to keep.
    provenance
        Where the table came from (set by the importers): format, files, rows dropped.
    source, row_noun, row_offset
        How error messages name the input and its rows (importers say ``line 5`` of a file;
        tables say ``row 3``, counting from 0): row *i* is ``row_offset + i``, or
        ``row_offset[i]`` when it is a sequence (the line each record of a JSON Lines file
        came from).

    Raises
    ------
    SchemaError
        Listing every problem at once: missing columns, bad values, duplicate rows.

    Notes
    -----
    A row without a verdict (no ``outcome``; no ``score`` or ``label``) is an *abstention*: a
    judge that failed to give a parseable verdict. It stays in the table (:attr:`abstentions`,
    with its ``missing_reason`` where known) and every judge metric counts it by its
    ``missing=`` policy; analyses of the verdicts themselves (rankings, win rates) use
    :attr:`frame`, which holds the rows with a verdict.

    Examples
    --------
    >>> from metaeval import Judgments
    >>> j = Judgments({"item": ["q1", "q1", "q2"], "judge": ["gpt-4"] * 3,
    ...                "model_a": ["x", "x", "y"], "model_b": ["y", "z", "z"],
    ...                "outcome": ["a", "tie", "b"]})
    >>> j.kind, len(j), j.models
    ('pairwise', 3, ('x', 'y', 'z'))
    >>> j.pairwise_counts().wins.tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    __slots__ = ("_abstentions", "_cache", "_frame", "_kind", "provenance")

    def __init__(
        self,
        data: Any,
        *,
        kind: Kind | None = None,
        provenance: Mapping[str, Any] | None = None,
        source: str | None = None,
        row_noun: str = "row",
        row_offset: RowNumbers = 0,
    ) -> None:
        frame, kind = _validate(_as_frame(data), kind, source, row_noun, row_offset)
        self._frame, self._abstentions = _split_abstentions(frame, kind)
        self._kind: Kind = kind
        self.provenance: dict[str, Any] = dict(provenance or {})
        self._cache: dict[str, Any] = {}
        if self._frame.height == 0:
            raise SchemaError([f"every one of the {frame.height} rows lacks a verdict (`outcome`, or `score` / "
                               "`label`)"], source=source)
        self._warn_abstentions()

    def _warn_abstentions(self) -> None:
        n = self._abstentions.height
        if n:
            warn(f"{n} of {n + self._frame.height} rows have no verdict: they are kept as abstentions "
                 "(`.abstentions`); judge metrics count them by their `missing=` policy, rankings and win rates "
                 "leave them out", MissingVerdictWarning, stacklevel=4)

    @classmethod
    def _trusted(cls, frame: pl.DataFrame, kind: Kind, provenance: Mapping[str, Any] | None = None,
                 abstentions: pl.DataFrame | None = None) -> Judgments:
        obj = cls.__new__(cls)
        if abstentions is None:
            obj._frame, obj._abstentions = _split_abstentions(frame, kind)
        else:
            obj._frame, obj._abstentions = frame, abstentions
        obj._kind = kind
        obj.provenance = dict(provenance or {})
        obj._cache = {}
        return obj

    # ------------------------------------------------------------------ basics
    @property
    def frame(self) -> pl.DataFrame:
        """The validated rows that carry a verdict, as a polars DataFrame (read-only by convention)."""
        return self._frame

    @property
    def abstentions(self) -> pl.DataFrame:
        """The rows without a verdict (a judge's missing or unparseable answer), same columns as
        :attr:`frame`; empty when every row has a verdict."""
        return self._abstentions

    @property
    def n_abstentions(self) -> int:
        """How many rows lack a verdict."""
        return self._abstentions.height

    def all_rows(self) -> pl.DataFrame:
        """Every row: the verdicts, then the abstentions."""
        if self._abstentions.height == 0:
            return self._frame
        return pl.concat([self._frame, self._abstentions], how="vertical_relaxed")

    @property
    def kind(self) -> Kind:
        """``"pointwise"`` or ``"pairwise"``."""
        return self._kind

    def __len__(self) -> int:
        return self._frame.height

    def _unique(self, *cols: str) -> tuple[str, ...]:
        key = "u:" + ",".join(cols)
        if key not in self._cache:
            present = [c for c in cols if c in self._frame.columns]
            if not present:
                self._cache[key] = ()
            else:
                s = pl.concat([self._frame[c].drop_nulls().unique() for c in present])
                self._cache[key] = tuple(sorted(s.unique().to_list()))
        return self._cache[key]

    @property
    def items(self) -> tuple[str, ...]:
        """Sorted distinct item ids."""
        return self._unique("item")

    @property
    def judges(self) -> tuple[str, ...]:
        """Sorted distinct judges."""
        return self._unique("judge")

    @property
    def models(self) -> tuple[str, ...]:
        """Sorted distinct models (both sides for pairwise tables)."""
        return self._unique("model") if self._kind == "pointwise" else self._unique("model_a", "model_b")

    @property
    def tasks(self) -> tuple[str, ...]:
        """Sorted distinct tasks (empty when there is no `task` column)."""
        return self._unique("task")

    @property
    def fingerprint(self) -> str:
        """A short hash of the table's content and types (stable within one polars version).

        Computed from 64-bit row hashes (summed, and summed with position weights, so that
        the row order counts), the row count and the schema.
        """
        if "fingerprint" not in self._cache:
            rows = self.all_rows()
            hashes = rows.hash_rows(seed=0).to_numpy()
            weights = np.arange(1, hashes.size + 1, dtype=np.uint64)
            with np.errstate(over="ignore"):
                total = int(hashes.sum(dtype=np.uint64))
                positional = int((hashes * weights).sum(dtype=np.uint64))
            h = hashlib.sha256(f"{rows.height}:{total}:{positional}".encode())
            h.update(",".join(f"{k}:{v}" for k, v in self._frame.schema.items()).encode())
            self._cache["fingerprint"] = h.hexdigest()[:16]
        return self._cache["fingerprint"]

    def __repr__(self) -> str:
        return (
            f"<Judgments {self._kind}: {len(self)} rows, {len(self.items)} items, "
            f"{len(self.models)} models, {len(self.judges)} judges>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self._frame.head(10)._repr_html_()

    # ------------------------------------------------------------- selection
    def filter(self, *predicates: pl.Expr | Any, **constraints: Any) -> Judgments:
        """Rows matching polars predicates and ``column=value`` constraints.

        Examples
        --------
        >>> import polars as pl
        >>> from metaeval import simulate
        >>> j = simulate.pairwise(n_models=3, n_items=5, rng=0).judgments
        >>> j.filter(judge="judge-atlas").judges
        ('judge-atlas',)
        >>> len(j.filter(pl.col("outcome") == "a")) < len(j)
        True
        """
        for c in constraints:
            if c not in self._frame.columns:
                raise MetaevalError(f"cannot filter on `{c}`: the table has no such column")
        if not (predicates or constraints):
            return self
        out = self._frame.filter(*predicates, **constraints)
        if out.height == 0:
            raise InsufficientDataError("the filter left no rows")
        missing = self._abstentions.filter(*predicates, **constraints) if self._abstentions.height else \
            self._abstentions
        return Judgments._trusted(out, self._kind, self.provenance, abstentions=missing)

    # ---------------------------------------------------------- conversions
    def battles(self, cluster: str | None = None) -> Battles:
        """The pairwise table as integer codes: model indices, outcomes and (with ``cluster``, a
        column such as ``"item"`` or ``"judge"``) cluster codes, for kernels on arrays.

        >>> import metaeval
        >>> b = metaeval.simulate.pairwise(n_models=3, n_items=5, rng=0).judgments.battles("item")
        >>> len(b.models), b.n_clusters, sorted(set(b.oc.tolist())) <= [0, 1, 2]
        (3, 5, True)
        """
        if self.kind != "pairwise":
            raise MetaevalError("battles are the rows of a pairwise table; this table is pointwise")
        f = self.frame
        models = self.models
        ia, ib = model_codes(f["model_a"], models), model_codes(f["model_b"], models)
        oc = f["outcome"].to_physical().to_numpy().astype(np.int64)
        cl, n_cl = None, 0
        if cluster is not None:
            if cluster not in f.columns:
                raise MetaevalError(f"cannot cluster on `{cluster}`: the table has no such column")
            text = f[cluster].cast(pl.String).fill_null("<missing>")
            cl = text.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
            n_cl = int(cl.max()) + 1 if len(cl) else 0
            labels = np.empty(n_cl, dtype=object)
            labels[cl] = text.to_numpy()
            return Battles(models, ia, ib, oc, cl, n_cl, labels)
        return Battles(models, ia, ib, oc, cl, n_cl)

    @validate_params({"weighted": ["boolean"]})
    def pairwise_counts(self, *, weighted: bool = False) -> PairwiseCounts:
        """Aggregate a pairwise table into labelled win and tie counts.

        Parameters
        ----------
        weighted
            Use the preference probability ``p_a`` (when present) instead of the hard
            outcome: a verdict adds ``p_a`` to a's wins and ``1 - p_a`` to b's, no ties.

        Returns
        -------
        PairwiseCounts
            ``wins[i, j]`` counts the times model ``i`` beat model ``j``; ``ties[i, j]`` the ties.
        """
        if self._kind != "pairwise":
            raise MetaevalError("`pairwise_counts` needs a pairwise table; use `to_pairwise()` on pointwise scores")
        models = self.models
        m = len(models)
        enum = pl.Enum(list(models))
        f = self._frame
        if weighted and "p_a" in f.columns:
            p = pl.col("p_a").fill_null(
                pl.when(pl.col("outcome") == "a").then(1.0).when(pl.col("outcome") == "b").then(0.0).otherwise(0.5)
            )
            agg = (
                f.group_by("model_a", "model_b", maintain_order=True)
                .agg(p.sum().alias("wa"), (1 - p).sum().alias("wb"))
                .with_columns(
                    pl.col("model_a").cast(enum).to_physical().alias("ia"),
                    pl.col("model_b").cast(enum).to_physical().alias("ib"),
                )
            )
            ia, ib = agg["ia"].to_numpy(), agg["ib"].to_numpy()
            wins = np.zeros((m, m))
            np.add.at(wins, (ia, ib), agg["wa"].to_numpy())
            np.add.at(wins, (ib, ia), agg["wb"].to_numpy())
            return PairwiseCounts(models, wins, np.zeros((m, m)))
        agg = f.group_by("model_a", "model_b", "outcome", maintain_order=True).len()
        ia = agg["model_a"].cast(enum).to_physical().to_numpy().astype(np.int64)
        ib = agg["model_b"].cast(enum).to_physical().to_numpy().astype(np.int64)
        oc = agg["outcome"].to_physical().to_numpy().astype(np.int64)
        n = agg["len"].to_numpy().astype(float)
        cube = np.zeros((m, m, 3))
        np.add.at(cube, (ia, ib, oc), n)
        wins = cube[:, :, 0] + cube[:, :, 1].T
        ties = cube[:, :, 2] + cube[:, :, 2].T
        return PairwiseCounts(models, wins, ties)

    def baseline_scores(self, baseline: str | None = None) -> Judgments:
        """A pairwise table in which every verdict involves one common ``baseline`` (AlpacaEval's design)
        as pointwise scores: each model's score on an item is its preference against the baseline there
        (``p_a`` where given, else win 1, tie ½, loss 0), keeping the judge, repeat, variant and task.

        Examples
        --------
        >>> from metaeval import Judgments
        >>> j = Judgments({"item": ["q1", "q1", "q2"], "judge": ["g"] * 3, "model_a": ["base"] * 3,
        ...                "model_b": ["x", "y", "x"], "outcome": ["b", "tie", "a"]})
        >>> j.baseline_scores().frame.select("item", "model", "score").sort("item", "model").rows()
        [('q1', 'x', 1.0), ('q1', 'y', 0.5), ('q2', 'x', 0.0)]
        """
        if self._kind != "pairwise":
            raise MetaevalError("`baseline_scores` needs a pairwise table")
        f = self._frame
        base = common_baseline(f, baseline)
        f = f.filter((pl.col("model_a") == base) | (pl.col("model_b") == base))
        base_is_a = f["model_a"] == base
        y = preference(f)
        keep = [c for c in ("item", "judge", "rep", "variant", "task") if c in f.columns]
        out = f.select(keep).with_columns(
            pl.Series("model", np.where(base_is_a.to_numpy(), f["model_b"].to_numpy(), f["model_a"].to_numpy())),
            pl.Series("score", np.where(base_is_a.to_numpy(), 1 - y, y)))
        prov = dict(self.provenance, baseline=base, scores=f"preference against {base}")
        return Judgments(out, kind="pointwise", provenance=prov)

    @validate_params({"higher_is_better": ["boolean"], "tie_tolerance": [Interval(Real, 0, None, closed="left")]})
    def to_pairwise(
        self,
        *,
        higher_is_better: bool = True,
        tie_tolerance: float = 0.0,
        by: Sequence[str] = ("item", "judge", "rep", "variant", "task"),
    ) -> Judgments:
        """Derive pairwise preferences from pointwise scores of the same item and judge.

        Two rows are paired when they agree on every column of ``by`` that the table has
        (item, judge, repeat, variant, task). Scores within ``tie_tolerance`` are a tie.

        Examples
        --------
        >>> from metaeval import Judgments
        >>> j = Judgments({"item": ["q1"] * 3, "judge": ["h"] * 3, "model": ["x", "y", "z"],
        ...                "score": [3.0, 1.0, 3.0]})
        >>> j.to_pairwise().frame.select("model_a", "model_b", "outcome").rows()
        [('x', 'y', 'a'), ('x', 'z', 'tie'), ('y', 'z', 'b')]
        """
        if self._kind != "pointwise":
            raise MetaevalError("`to_pairwise` needs a pointwise table; this one is already pairwise")
        if "score" not in self._frame.columns:
            raise MetaevalError("`to_pairwise` needs numeric `score` values; this table has only `label`")
        if tie_tolerance < 0:
            raise ParameterError(f"`tie_tolerance` must not be negative; got {tie_tolerance!r}")
        keys = [k for k in by if k in self._frame.columns]
        if "item" not in keys:
            raise ParameterError("`by` must include `item`: pairs are formed within an item")
        side_cols = ["model", "score"] + (["length"] if "length" in self._frame.columns else [])
        base = self._frame.select(keys + side_cols).filter(pl.col("score").is_not_null())
        left = base.rename({"model": "model_a", "score": "score_a", "length": "len_a"}, strict=False)
        right = base.rename({"model": "model_b", "score": "score_b", "length": "len_b"}, strict=False)
        pairs = (left.join(right, on=keys, nulls_equal=True, maintain_order="left")
                 .filter(pl.col("model_a") < pl.col("model_b")))
        if pairs.height == 0:
            raise InsufficientDataError(
                "no two models were scored on the same item by the same judge; nothing to pair"
            )
        diff = (pl.col("score_a") - pl.col("score_b")) * (1.0 if higher_is_better else -1.0)
        pairs = pairs.with_columns(
            outcome=pl.when(diff > tie_tolerance).then(pl.lit("a")).when(diff < -tie_tolerance)
            .then(pl.lit("b")).otherwise(pl.lit("tie")),
            extra=pl.struct("score_a", "score_b"),
        ).drop("score_a", "score_b").sort([*keys, "model_a", "model_b"], nulls_last=True)
        prov = dict(self.provenance, derived="to_pairwise", tie_tolerance=tie_tolerance,
                    higher_is_better=higher_is_better)
        return Judgments(pairs, kind="pairwise", provenance=prov)

    @validate_params({"agg": [Options(str, ("mean", "median", "sum"))], "higher_is_better": ["boolean"]})
    def score_matrix(self, *, by: str = "task", agg: Literal["mean", "median", "sum"] = "mean",
                     higher_is_better: bool = True) -> ScoreMatrix:
        """Models × ``by`` (task, judge, variant…) table of aggregated pointwise scores.

        Cells without any score are ``nan``. Without a ``by`` column there is a single
        column named ``"all"``.
        """
        if self._kind != "pointwise" or "score" not in self._frame.columns:
            raise MetaevalError("`score_matrix` needs a pointwise table with numeric `score`")
        f = self._frame.filter(pl.col("score").is_not_null())
        col = pl.col(by).fill_null("all") if by in f.columns else pl.lit("all")
        aggs = {"mean": pl.col("score").mean(), "median": pl.col("score").median(), "sum": pl.col("score").sum()}
        if agg not in aggs:
            raise ParameterError(f"`agg` must be one of {sorted(aggs)}; got {agg!r}")
        long = (f.with_columns(col.alias("__by")).group_by("model", "__by", maintain_order=True)
                .agg(aggs[agg].alias("v")))
        models = tuple(sorted(long["model"].unique().to_list()))
        tasks = tuple(sorted(long["__by"].unique().to_list()))
        mi = {m: i for i, m in enumerate(models)}
        ti = {t: i for i, t in enumerate(tasks)}
        scores = np.full((len(models), len(tasks)), np.nan)
        rows = np.array([mi[m] for m in long["model"].to_list()], dtype=np.int64)
        cols = np.array([ti[t] for t in long["__by"].to_list()], dtype=np.int64)
        scores[rows, cols] = long["v"].to_numpy()
        return ScoreMatrix(models, tasks, scores, np.full(len(tasks), higher_is_better))

    # ----------------------------------------------------------------- I/O
    def write_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the table to Parquet atomically (temp file, then rename); returns the path.

        The file records the table's kind, fingerprint and provenance (rows dropped at import,
        abstentions, the original format and files): reading it back restores the provenance,
        validates every row (a fingerprint can be forged) and says whether the content is the one
        written (``provenance["validation"]``).
        """
        path = Path(path)
        meta = {"metaeval.kind": self._kind, "metaeval.fingerprint": self.fingerprint,
                "metaeval.version": __version__,
                "metaeval.provenance": json.dumps(self.provenance, default=str, sort_keys=True)}
        with atomic_path(path) as tmp:
            self.all_rows().write_parquet(tmp, metadata=meta)
        return path

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Export to CSV atomically. ``extra`` is written as a JSON string column."""

        path = Path(path)
        out = self.all_rows()
        if "extra" in out.columns:
            out = out.with_columns(pl.col("extra").struct.json_encode())
        with atomic_path(path) as tmp:
            out.write_csv(tmp)
        return path

    def info(self) -> TableInfo:
        """What is in the table: items, models, judges, kinds, missing values, repeats."""
        f = self._frame
        rows: list[tuple[str, str]] = [
            ("kind", self._kind),
            ("rows", str(f.height)),
            ("items", str(len(self.items))),
            ("models", str(len(self.models))),
            ("judges", str(len(self.judges))),
            ("human judges", str(sum(j.startswith("human") for j in self.judges))),
        ]
        if "task" in f.columns:
            rows.append(("tasks", str(len(self.tasks))))
        if "variant" in f.columns:
            rows.append(("variants", str(f["variant"].n_unique())))
        rows.append(("distinct `rep` values", str(int(f["rep"].n_unique()))))
        if self._kind == "pairwise":
            oc = f["outcome"].value_counts()
            for o in OUTCOMES:
                n = oc.filter(pl.col("outcome") == o)["count"]
                rows.append((f"outcome {o}", str(int(n[0]) if len(n) else 0)))
            if "shown_first" in f.columns:
                rows.append(("with presentation order", str(int(f["shown_first"].is_not_null().sum()))))
        else:
            if "score" in f.columns:
                s = f["score"].drop_nulls()
                if len(s):
                    rows.append(("score range", f"{float(s.min()):g} .. {float(s.max()):g}"))  # type: ignore[arg-type]
                    rows.append(("distinct scores", str(s.n_unique())))
            if "label" in f.columns:
                rows.append(("distinct labels", str(f["label"].n_unique())))
        for c in f.columns:
            if c in ("extra", "missing_reason"):
                continue
            n_null = f[c].null_count()
            if n_null:
                rows.append((f"missing `{c}`", str(n_null)))
        if self.n_abstentions:
            per = self._abstentions.group_by("judge", maintain_order=True).len().sort("len", descending=True)
            rows.append(("abstentions (no verdict)", str(self.n_abstentions)))
            rows.append(("abstentions by judge", ", ".join(f"{j} {n}" for j, n in per.iter_rows())))
            if "missing_reason" in self._abstentions.columns:
                reasons = self._abstentions["missing_reason"].drop_nulls().value_counts(sort=True).head(3)
                if reasons.height:
                    rows.append(("abstention reasons", ", ".join(f"{r} ({n})" for r, n in reasons.iter_rows())))
        if "extra" in f.columns:
            extra_type: Any = f.schema["extra"]
            rows.append(("extra fields", ", ".join(fl.name for fl in extra_type.fields)))
        for k, v in self.provenance.items():
            if isinstance(v, (str, int, float)):
                rows.append((f"source {k}", str(v)))
        run = RunInfo("info", fingerprint=self.fingerprint, n_items=len(self.items), n_judgments=f.height)
        return TableInfo(tuple(rows), self.models, self.judges, run)


@dataclass(frozen=True)
class TableInfo(Result):
    """The answer of :meth:`Judgments.info`: a list of (property, value) rows."""

    rows: tuple[tuple[str, str], ...]
    models: tuple[str, ...]
    judges: tuple[str, ...]
    run_info: RunInfo
    title: str = "table overview"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"property": [r[0] for r in self.rows], "value": [r[1] for r in self.rows]})

    def summary(self) -> str:
        return super().summary() + "\nmodels: " + ", ".join(self.models) + "\njudges: " + ", ".join(self.judges)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rows": dict(self.rows), "models": list(self.models),
                "judges": list(self.judges), "run_info": self.run_info.to_dict()}
