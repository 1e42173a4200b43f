"""Battle logs too large for memory: read them lazily, reduce them to counts, rank from the counts.

:func:`scan` points at Parquet, CSV or JSON-lines battle logs (a path, a folder or a glob) and
reads nothing yet. :meth:`BattleScan.reduce` streams them file by file with polars, validates
every chunk (an error names the file and the row), and keeps only what the Bradley–Terry family
needs:

- the pair × outcome counts (``a`` won, ``b`` won, tie) over all battles and per category;
- for a cluster bootstrap (clusters: items, users, any column), ``n_resamples`` resampled
  count cubes, accumulated in the same pass with Poisson(1) weights that are a function of
  (seed, cluster id, resample index) alone (:mod:`metaeval.stats.resampling`), so a cluster
  split across files or chunks gets the same weight everywhere, and any split of the files
  gives exactly the same resamples.

Memory is O(models² × resamples), whatever the number of battles. :func:`rank_scan` fits
Bradley–Terry to the counts (the same fit as :func:`metaeval.rank` on the same battles) and
turns the resamples into intervals and rank intervals.

The analyses take a scan directly and never hold the battles: ``metaeval.rank(scan(...))``
(:func:`rank_lazy`), ``metaeval.stats.win_rates(scan(...))`` (:func:`win_rates_lazy`),
``bias.style_bias`` and ``bias.length_bias`` (:mod:`metaeval.bias._scan`). Their numbers equal
the in-memory ones on the same battles; the cluster bootstrap's equal those of
``bootstrap="poisson"`` in memory with the same integer seed. Per-category and per-period
leaderboards with intervals, and rank changes between groups, come from the same pass
(:func:`rank_groups`, :func:`rank_changes`, after ``reduce(group_resamples=True)``).

Measured costs (1M and 10M battles, 200 models, 1,000 resamples) and what 10B battles on a
32-node cluster would cost from them: ``benchmarks/scale.md``.

>>> import tempfile, polars as pl
>>> folder = tempfile.mkdtemp()
>>> pl.DataFrame({"model_a": ["x", "y", "x"] * 50, "model_b": ["y", "z", "z"] * 50,
...               "winner": ["model_a", "model_b", "tie"] * 50,
...               "question_id": [f"q{i}" for i in range(150)]}).write_parquet(f"{folder}/part-0.parquet")
>>> stats = scan(folder, cluster="question_id").reduce(n_resamples=50, seed=0)
>>> stats.n_battles, stats.models
(150, ('x', 'y', 'z'))
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import ImportFormatError, InsufficientDataError, MetaevalError, ParameterError

__all__ = ["BattleScan", "BattleStats", "covariates_scan", "rank_changes", "rank_groups", "rank_lazy", "rank_scan",
           "sandwich_cov", "scan", "win_rates_lazy"]

_WINNER = {"model_a": 0, "a": 0, "model_b": 1, "b": 1, "tie": 2, "tie (bothbad)": 2}
_SUFFIX = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(source, (list, tuple)):
        out = [Path(s) for s in source]
    else:
        p = Path(source)
        if p.is_dir():
            out = sorted(f for f in p.rglob("*") if f.suffix in _SUFFIX and f.is_file())
        elif any(ch in str(source) for ch in "*?["):
            out = sorted(Path(f) for f in _glob.glob(str(source), recursive=True))
        else:
            out = [p]
    if not out:
        raise ImportFormatError(f"no battle log files at {source}", path=str(source))
    for f in out:
        if not f.is_file():
            raise ImportFormatError(f"no such file: {f}", path=str(f))
        if f.suffix not in _SUFFIX:
            raise ImportFormatError(f"{f.name}: expected .parquet, .csv or .jsonl battle logs", path=str(f))
    return out


@dataclass(frozen=True)
class BattleStats:
    """What the Bradley–Terry family needs from the battles: counts, and resampled counts.

    ``cube[i, j, k]``: battles with ``models[i]`` shown as A and ``models[j]`` as B that ended
    ``k`` (0: A won, 1: B won, 2: tie). ``boot``: the same per resample (resamples × m × m × 3),
    or None. ``by_category`` / ``by_period``: a cube per category value / time period;
    ``boot_by_category`` / ``boot_by_period``: their resampled cubes (with
    ``reduce(group_resamples=True)``), drawn with the same cluster weights as ``boot``, so a
    resample is one draw of the whole data set and differences between groups get joint intervals.
    """

    models: tuple[str, ...]
    cube: np.ndarray
    boot: np.ndarray | None
    by_category: dict[str, np.ndarray]
    n_battles: int
    files: tuple[str, ...]
    seed: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    by_period: dict[str, np.ndarray] = field(default_factory=dict)
    boot_by_category: dict[str, np.ndarray] = field(default_factory=dict)
    boot_by_period: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class BattleScan:
    """A lazy view of battle logs (see :func:`scan`)."""

    files: tuple[Path, ...]
    model_a: str
    model_b: str
    winner: str
    cluster: str | None
    category: str | None
    dedupe: tuple[str, ...] | None
    chunk_rows: int
    time: str | None = None
    period: str = "month"

    def _lazy(self, f: Path) -> pl.LazyFrame:
        kind = _SUFFIX[f.suffix]
        if kind == "parquet":
            lf = pl.scan_parquet(f)
        elif kind == "csv":
            lf = pl.scan_csv(f, infer_schema_length=0)
        else:
            lf = pl.scan_ndjson(f, infer_schema_length=1000)
        return lf.with_row_index("__row", offset=1)

    def _columns(self, f: Path, lf: pl.LazyFrame) -> None:
        names = lf.collect_schema().names()
        need = [self.model_a, self.model_b, self.winner] + [c for c in (self.cluster, self.category, self.time) if c]
        need += list(self.dedupe or ())
        missing = [c for c in need if c not in names]
        if missing:
            raise ImportFormatError(f"{f.name} has no column `{missing[0]}`; its columns: {', '.join(names[:20])}",
                                    path=str(f), field=missing[0])

    def _validate(self, f: Path, chunk: pl.DataFrame) -> None:
        a, b, w = chunk[self.model_a], chunk[self.model_b], chunk[self.winner].cast(pl.String)
        checks = [
            (self.model_a, a.is_null() | (a.cast(pl.String).str.strip_chars() == ""), "a model name"),
            (self.model_b, b.is_null() | (b.cast(pl.String).str.strip_chars() == ""), "a model name"),
            (self.model_b, a.cast(pl.String) == b.cast(pl.String), "a model other than `model_a`"),
            (self.winner, ~w.is_in(list(_WINNER)) | w.is_null(),
             "one of " + ", ".join(repr(k) for k in _WINNER)),
        ]
        if self.cluster:
            checks.append((self.cluster, chunk[self.cluster].is_null(), "a cluster id"))
        for col, bad, what in checks:
            bad = bad.fill_null(True)
            if bad.any():
                i = int(bad.arg_max())  # type: ignore[arg-type]
                row = int(chunk["__row"][i])
                val = chunk[col][i]
                raise ImportFormatError(f"{f.name} row {row}, column `{col}`: expected {what}; got {val!r}",
                                        path=str(f), line=row, field=col)

    def rank_lazy(self, method: str = "auto", **options: Any) -> Any:
        """``metaeval.rank(scan)`` lands here: :func:`rank_lazy` (the ranking layer does not import
        this module; a lazy source ranks itself)."""
        return rank_lazy(self, method, **options)

    def win_rates_lazy(self, **options: Any) -> Any:
        """``metaeval.stats.win_rates(scan)`` lands here: :func:`win_rates_lazy`."""
        return win_rates_lazy(self, **options)

    def reduce(self, *, n_resamples: int = 0, seed: int = 0, models: Sequence[str] | None = None,
               engine: str = "local", address: str | None = None, group_resamples: bool = False,
               tasks: int | None = None) -> BattleStats:
        """Stream the files once: counts, per-category counts and ``n_resamples`` Poisson
        cluster-bootstrap count cubes (see the module docstring).

        ``group_resamples=True`` also keeps the resampled cubes of every category and time
        period (memory: groups × resamples × models² × 3 numbers), for per-category and
        per-period intervals from the same pass (:func:`rank_groups`, :func:`rank_changes`).

        ``engine="ray"`` reduces the files in Ray tasks (a local Ray, the session open in this
        process, or the cluster at ``address``), ``tasks`` groups of files (default: one per CPU
        of the cluster), and sums the parts on the driver one at a time: counts and resampled
        counts are sums of integers, so they equal the local run exactly.
        """
        from metaeval.engine import check_engine

        check_engine(engine)
        if n_resamples and not self.cluster:
            raise MetaevalError("a streamed bootstrap resamples clusters: give `cluster=` (e.g. the item column)")
        # pass 1 (cheap, streaming): the models, so every file uses the same codes
        names: set[str] = set(models or ())
        if models is None:
            for f in self.files:
                lf = self._lazy(f)
                self._columns(f, lf)
                uniq = pl.concat([lf.select(pl.col(self.model_a).cast(pl.String).alias("m")),
                                  lf.select(pl.col(self.model_b).cast(pl.String).alias("m"))]).unique()
                names.update(v for v in uniq.collect(engine="streaming")["m"].to_list() if v is not None)
        order = tuple(sorted(names))
        m = len(order)
        if m < 2:
            raise InsufficientDataError(f"the battle logs name {m} model(s); ranking needs at least 2")
        if engine == "ray" and self.dedupe:
            raise MetaevalError("deduplication across files needs one pass in one process: use engine='local' "
                                "(or deduplicate when the files are written)")
        if engine == "ray":
            from metaeval.engine import ray_session

        size = m * m * 3
        cube = np.zeros(size, dtype=np.int64)
        boot = np.zeros((size, n_resamples)).T if n_resamples else None  # resamples × cells, cells-major
        cats: dict[str, np.ndarray] = {}
        periods: dict[str, np.ndarray] = {}
        cats_boot: dict[str, np.ndarray] = {}
        periods_boot: dict[str, np.ndarray] = {}
        n = dup = 0

        def merge(p: dict[str, Any]) -> None:  # one part at a time: memory holds the sums and one part
            nonlocal cube, n, dup
            cube += p["cube"]
            n += p["n"]
            dup += p["duplicates"]
            for into, key in ((cats, "cats"), (periods, "periods"), (cats_boot, "cats_boot"),
                              (periods_boot, "periods_boot")):
                for k, v in p[key].items():
                    if k in into:
                        into[k] += v
                    else:
                        into[k] = np.array(v)  # a copy: Ray returns read-only arrays

        if engine == "ray":
            with ray_session(address) as ray:
                # one task per group of files, each returning one set of sums: as many groups as
                # the cluster has CPUs (``tasks`` to choose), so the driver receives a few partial
                # cubes, not one per file
                k = tasks or max(1, int(ray.available_resources().get("CPU", 1)))
                groups = [self.files[i::k] for i in range(min(k, len(self.files)))]
                task = ray.remote(_reduce_group)
                pending = [task.remote(self, g, order, n_resamples, seed, group_resamples) for g in groups]
                try:
                    while pending:
                        done, pending = ray.wait(pending, num_returns=1)
                        part = ray.get(done[0])
                        if boot is not None:
                            boot += part["boot"]  # integers: the order of the sums does not change them
                        merge(part)
                        del part, done
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, MetaevalError):
                        raise cause from None  # the same error as a local run: file, row, column
                    raise
        else:
            seen: set[tuple[Any, ...]] = set()
            for f in self.files:
                merge(_reduce_file(self, f, order, n_resamples, seed, seen, group_resamples, boot))
        dropped = {"duplicates": dup}
        if n == 0:
            raise InsufficientDataError("the battle logs hold no battles")
        return BattleStats(order, cube.reshape(m, m, 3).astype(float),
                           None if boot is None else boot.reshape(n_resamples, m, m, 3),
                           {k: v.reshape(m, m, 3).astype(float) for k, v in sorted(cats.items())}, n,
                           tuple(str(f) for f in self.files), seed if n_resamples else None, dropped,
                           {k: v.reshape(m, m, 3).astype(float) for k, v in sorted(periods.items())},
                           {k: v.reshape(n_resamples, m, m, 3) for k, v in sorted(cats_boot.items())},
                           {k: v.reshape(n_resamples, m, m, 3) for k, v in sorted(periods_boot.items())})


_BUCKET_ENTRIES = 20_000_000  # score entries one bucket of clusters may hold (~0.5 GB with the sparse build)


def _auto_partitions(partitions: int | None, n_battles: int, per_battle: int) -> int:
    """``partitions`` if given, else enough buckets of clusters that one holds at most
    ``_BUCKET_ENTRIES`` per-battle score entries (each bucket costs one more pass)."""
    if partitions is not None:
        return partitions
    return max(1, -(-n_battles * per_battle // _BUCKET_ENTRIES))


def _score_sums(sc: BattleScan, order: tuple[str, ...], theta: np.ndarray, bucket: int,
                partitions: int, ties: str = "half") -> tuple[np.ndarray, int]:
    """Σ_c g_c g_cᵀ over the clusters whose key falls in ``bucket`` (key mod ``partitions``), where
    g_c sums each battle's Bradley–Terry score (y − p, +1 for A's model, −1 for B's) over cluster
    c; and the number of such clusters. Memory: the bucket's clusters × their models."""
    from scipy import sparse
    from scipy.special import expit

    from metaeval.stats.resampling import stable_keys

    m = len(order)
    enum = pl.Enum(list(order))
    keys_l: list[np.ndarray] = []
    model_l: list[np.ndarray] = []
    g_l: list[np.ndarray] = []
    for f in sc.files:
        lf = sc._lazy(f)
        for chunk in _batches(lf, sc.chunk_rows):
            sc._validate(f, chunk)
            ids = chunk[sc.cluster].cast(pl.String).to_numpy().astype(str)  # type: ignore[index]
            uniq, inv = np.unique(ids, return_inverse=True)
            keys = stable_keys(uniq)[inv]
            mine = keys % np.uint64(partitions) == np.uint64(bucket)
            if ties == "drop":
                mine &= chunk[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy() != 2
            if not mine.any():
                continue
            part = chunk.filter(pl.Series(mine))
            ia = part[sc.model_a].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            ib = part[sc.model_b].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            oc = part[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy()
            y = np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, 0.5))
            r = y - expit(theta[ia] - theta[ib])
            k = keys[mine]
            keys_l += [k, k]
            model_l += [ia, ib]
            g_l += [r, -r]
    if not keys_l:
        return np.zeros((m, m)), 0
    keys_all = np.concatenate(keys_l)
    uk, row = np.unique(keys_all, return_inverse=True)
    G = sparse.coo_matrix((np.concatenate(g_l), (row, np.concatenate(model_l))), shape=(len(uk), m)).tocsr()
    return np.asarray((G.T @ G).todense()), len(uk)


def _add_resamples(boot: np.ndarray, ids: np.ndarray, flat: np.ndarray, n_resamples: int, seed: int) -> None:
    """boot[b, cell] += Σ_battles w(cluster, b) for the battles of a chunk
    (:func:`metaeval.stats.resampling.poisson_cell_counts`)."""
    from metaeval.stats.resampling import poisson_cell_counts

    poisson_cell_counts(ids, flat, boot.shape[1], n_resamples, seed, out=boot)


def _accumulate(into: dict[str, np.ndarray], values: np.ndarray, flat: np.ndarray, size: int) -> None:
    uniq, inv = np.unique(values, return_inverse=True)
    counts = np.bincount(inv * size + flat, minlength=len(uniq) * size)
    for k, value in enumerate(uniq):
        part = counts[k * size:(k + 1) * size]
        into[str(value)] = into[str(value)] + part if str(value) in into else part.astype(np.int64)


def _period(col: pl.Series, period: str, f: Path) -> np.ndarray:
    """``YYYY-MM`` (month), ``YYYY-Www`` (ISO week) or ``YYYY-MM-DD`` (day) of a time column:
    datetimes, dates, ISO text, or numbers as Unix seconds."""
    s = col
    if s.dtype == pl.String:
        try:
            s = s.str.to_datetime(strict=False, time_zone=None)
        except pl.exceptions.ComputeError:  # no value looks like a date: polars cannot even guess a format
            first = col.drop_nulls()[0] if col.null_count() < len(col) else None
            raise ImportFormatError(f"{f.name}: column `{col.name}` value {first!r} is not a date or time",
                                    path=str(f), field=col.name) from None
    elif s.dtype.is_numeric():
        s = pl.from_epoch(s.cast(pl.Int64), time_unit="s")
    if s.dtype not in (pl.Date,) and not isinstance(s.dtype, pl.Datetime):
        raise ImportFormatError(f"{f.name}: the time column `{col.name}` must hold dates, datetimes, ISO text or "
                                f"Unix seconds; got {col.dtype}", path=str(f), field=col.name)
    if s.null_count() > col.null_count():
        i = int((s.is_null() & col.is_not_null()).arg_max())  # type: ignore[arg-type]
        raise ImportFormatError(f"{f.name}: column `{col.name}` value {col[i]!r} is not a date or time",
                                path=str(f), field=col.name)
    fmt = {"month": "%Y-%m", "day": "%Y-%m-%d", "week": "%G-W%V"}[period]
    return s.dt.strftime(fmt).fill_null("<missing>").to_numpy().astype(str)


def _group_resamples(into: dict[str, np.ndarray], groups: np.ndarray, ids: np.ndarray, flat: np.ndarray,
                     n_resamples: int, seed: int, size: int) -> None:
    from metaeval.stats.resampling import poisson_cell_counts

    for g in np.unique(groups):
        mask = groups == g
        if str(g) not in into:
            into[str(g)] = np.zeros((size, n_resamples)).T
        poisson_cell_counts(ids[mask], flat[mask], size, n_resamples, seed, out=into[str(g)])


def _reduce_file(sc: BattleScan, f: Path, order: tuple[str, ...], n_resamples: int, seed: int,
                 seen: set[tuple[Any, ...]] | None, group_resamples: bool = False,
                 boot: np.ndarray | None = None) -> dict[str, Any]:
    """One file's share: counts, resampled counts and per-category counts (flat arrays). The
    resampled counts are added to ``boot`` when given (one accumulator for every file)."""
    m = len(order)
    size = m * m * 3
    enum = pl.Enum(list(order))
    cube = np.zeros(size, dtype=np.int64)
    if boot is None and n_resamples:
        boot = np.zeros((size, n_resamples)).T  # resamples × cells, stored cells-major
    cats: dict[str, np.ndarray] = {}
    periods: dict[str, np.ndarray] = {}
    cats_boot: dict[str, np.ndarray] = {}
    periods_boot: dict[str, np.ndarray] = {}
    n = dup = 0
    lf = sc._lazy(f)
    sc._columns(f, lf)
    for chunk in _batches(lf, sc.chunk_rows):
        sc._validate(f, chunk)
        if sc.dedupe and seen is not None:
            keys = list(chunk.select(sc.dedupe).iter_rows())
            keep = np.ones(len(keys), dtype=bool)
            for i, k in enumerate(keys):
                if k in seen:
                    keep[i] = False
                else:
                    seen.add(k)
            dup += int((~keep).sum())
            chunk = chunk.filter(pl.Series(keep))
        if chunk.height == 0:
            continue
        try:
            ia = chunk[sc.model_a].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            ib = chunk[sc.model_b].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
        except pl.exceptions.InvalidOperationError as exc:
            raise MetaevalError(f"{f.name}: a model not in `models` ({exc})") from None
        oc = chunk[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy()
        flat = (ia * m + ib) * 3 + oc
        cube += np.bincount(flat, minlength=size)
        n += chunk.height
        ids = chunk[sc.cluster].cast(pl.String).to_numpy().astype(str) if boot is not None else None  # type: ignore[index]
        if sc.category:
            values = chunk[sc.category].cast(pl.String).fill_null("<missing>").to_numpy().astype(str)
            _accumulate(cats, values, flat, size)
            if group_resamples and ids is not None:
                _group_resamples(cats_boot, values, ids, flat, n_resamples, seed, size)
        if sc.time:
            values = _period(chunk[sc.time], sc.period, f)
            _accumulate(periods, values, flat, size)
            if group_resamples and ids is not None:
                _group_resamples(periods_boot, values, ids, flat, n_resamples, seed, size)
        if boot is not None:
            _add_resamples(boot, ids, flat, n_resamples, seed)  # type: ignore[arg-type]
    return {"cube": cube, "boot": boot, "cats": cats, "periods": periods, "n": n, "duplicates": dup,
            "cats_boot": cats_boot, "periods_boot": periods_boot}


def _reduce_group(sc: BattleScan, files: Sequence[Path], order: tuple[str, ...], n_resamples: int, seed: int,
                  group_resamples: bool) -> dict[str, Any]:
    """The summed shares of a group of files (one Ray task): one resampled-count accumulator."""
    total: dict[str, Any] | None = None
    for f in files:
        part = _reduce_file(sc, f, order, n_resamples, seed, None, group_resamples,
                            None if total is None else total["boot"])
        if total is None:
            total = part
            continue
        total["cube"] += part["cube"]
        total["n"] += part["n"]
        total["duplicates"] += part["duplicates"]
        for key in ("cats", "periods", "cats_boot", "periods_boot"):
            for k, v in part[key].items():
                if k in total[key]:
                    total[key][k] += v
                else:
                    total[key][k] = v
    if total is None:  # pragma: no cover - groups are never empty
        raise MetaevalError("an empty group of files")
    return total


def _batches(lf: pl.LazyFrame, size: int) -> Any:
    """Chunks of a lazy frame from the streaming engine (never the whole file in memory)."""
    if hasattr(lf, "collect_batches"):
        yield from lf.collect_batches(chunk_size=size, maintain_order=True)
    else:  # pragma: no cover - polars before collect_batches
        yield from lf.collect(engine="streaming").iter_slices(size)


@validate_params({
    "chunk_rows": [Interval(Integral, 1, None, closed="left")],
    "period": [Options(str, ("month", "week", "day"))],
})
def scan(source: str | Path | Sequence[str | Path], *, model_a: str = "model_a", model_b: str = "model_b",
         winner: str = "winner", cluster: str | None = None, category: str | None = None,
         dedupe: Sequence[str] | None = None, time: str | None = None, period: str = "month",
         chunk_rows: int = 1_000_000) -> BattleScan:
    """Point at battle logs without reading them (see the module docstring).

    Parameters
    ----------
    source
        A file, a folder (every .parquet/.csv/.jsonl below it), a glob, or a list of files.
    model_a, model_b, winner
        Column names; ``winner`` holds ``model_a`` / ``model_b`` / ``tie`` / ``tie (bothbad)``
        (Chatbot Arena's coding) or ``a`` / ``b`` / ``tie``.
    cluster
        The column whose values are resampled as units (e.g. ``question_id``).
    category
        A column to count separately (per-category leaderboards in the same pass).
    dedupe
        Columns whose values identify a battle; repeats after the first are dropped and counted.
    time, period
        A time column and ``"month"``, ``"week"`` or ``"day"``: counts per period in the same
        pass (ratings over time: ``rank_scan(stats, period="2024-05")``).
    """
    if chunk_rows < 1:
        raise ParameterError(f"`chunk_rows` must be ≥ 1; got {chunk_rows}")
    if period not in ("month", "week", "day"):
        raise ParameterError(f"`period` must be 'month', 'week' or 'day'; got {period!r}")
    return BattleScan(tuple(_files(source)), model_a, model_b, winner, cluster, category,
                      tuple(dedupe) if dedupe else None, chunk_rows, time, period)


@validate_params({
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
    "prior": [Interval(Real, 0, None, closed="left")],
    "ties": [Options(str, ("half", "drop"))],
})
def sandwich_cov(sc: BattleScan, stats: BattleStats, theta: np.ndarray, *, partitions: int | None = None,
                 prior: float = 0.0, ties: str = "half") -> np.ndarray:
    """The cluster-robust sandwich covariance of centred Bradley–Terry strengths (ties as half a
    win), I⁺ M I⁺ with M = G/(G−1) Σ_c g_c g_cᵀ, from a second pass over the logs. Clusters are
    split into ``partitions`` buckets by their stable key (one pass per bucket), so memory holds
    one bucket's clusters (by default as many buckets as keep one under about 20 M score entries);
    the result does not depend on ``partitions`` beyond summation order.
    Equal to :func:`metaeval.rank` with ``ci="sandwich"`` and ``cluster=`` on the same battles
    (``ties="drop"`` leaves ties out, as there)."""
    from metaeval.rankers.bradley_terry import fisher_information

    if not sc.cluster:
        raise MetaevalError("the cluster-robust sandwich needs `cluster=` in scan()")
    partitions = _auto_partitions(partitions, stats.n_battles, 2)
    m = len(stats.models)
    meat = np.zeros((m, m))
    n_clusters = 0
    for bucket in range(partitions):
        part, k = _score_sums(sc, stats.models, theta, bucket, partitions, ties)
        meat += part
        n_clusters += k
    meat *= n_clusters / max(n_clusters - 1, 1)
    n = stats.cube[..., :2].sum(axis=2) if ties == "drop" else stats.cube.sum(axis=2)
    info = fisher_information(theta, n + n.T, prior)
    info_pinv = np.linalg.pinv(info, hermitian=True)
    return info_pinv @ meat @ info_pinv


@validate_params({
    "confidence_level": [LEVEL],
    "prior": [Interval(Real, 0, None, closed="left")],
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
})
def rank_scan(stats: BattleStats, *, category: str | None = None, period: str | None = None,
              confidence_level: float = 0.95,
              prior: float = 0.0, sandwich: BattleScan | None = None, partitions: int | None = None) -> pl.DataFrame:
    """Bradley–Terry ratings (ties as half a win, as Chatbot Arena) from reduced battle logs,
    with percentile intervals and rank intervals from the streamed resamples.

    With ``sandwich=`` (the :class:`BattleScan` the stats came from), the interval is the
    cluster-robust sandwich's normal interval instead (a second pass; see :func:`sandwich_cov`).

    Returns a table: model, rating (centred log-odds), ci_low, ci_high, rank, rank_low, rank_high, battles.
    """
    from scipy.stats import rankdata

    from metaeval.rankers.bradley_terry import bt_newton_counts

    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    if category is not None and period is not None:
        raise MetaevalError("give `category` or `period`, not both")
    cube = stats.cube if category is None else stats.by_category.get(category)
    if cube is None:
        raise MetaevalError(f"no category {category!r}; categories: {', '.join(stats.by_category)}")
    if period is not None:
        cube = stats.by_period.get(period)
        if cube is None:
            raise MetaevalError(f"no period {period!r}; periods: {', '.join(stats.by_period) or 'none (give time=)'}")
        category = period  # a subset: no resampled intervals

    def fit(c: np.ndarray) -> np.ndarray:
        wins = c[..., 0] + np.swapaxes(c[..., 1], -1, -2)
        ties = c[..., 2] + np.swapaxes(c[..., 2], -1, -2)
        theta = bt_newton_counts(wins + 0.5 * ties, prior=prior)[0]
        return theta - theta.mean()

    theta = fit(cube)
    m = len(stats.models)
    alpha = 1 - confidence_level
    lo = hi = np.full(m, np.nan)
    r_lo = r_hi = np.full(m, np.nan)
    if sandwich is not None and category is None:
        from scipy.stats import norm

        cov = sandwich_cov(sandwich, stats, theta, partitions=partitions, prior=prior)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        z = norm.ppf(1 - alpha / 2)
        lo, hi = theta - z * se, theta + z * se
    elif stats.boot is not None and category is None:
        draws = np.stack([fit(c) for c in stats.boot])
        lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
        ranks = rankdata(-draws, method="min", axis=1)
        r_lo = np.quantile(ranks, alpha / 2, axis=0, method="lower")
        r_hi = np.quantile(ranks, 1 - alpha / 2, axis=0, method="higher")
    games = cube.sum(axis=(1, 2)) + cube.sum(axis=(0, 2))
    return pl.DataFrame({"model": list(stats.models), "rating": theta, "ci_low": lo, "ci_high": hi,
                         "rank": rankdata(-theta, method="min").astype(int), "rank_low": r_lo, "rank_high": r_hi,
                         "battles": games.astype(int)}).sort("rank")


def _group_fit(stats: BattleStats, by: str, group: str, ties: str, prior: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One group's Bradley–Terry fit among the models that played in it, and its resampled fits:
    (model indices, centred θ, draws, usable draws, battles per model)."""
    from metaeval.rankers.api import _bootstrap_counts, _fit_counts
    from metaeval.rankers.bradley_terry import wins_ties
    from metaeval.tables import Battles, PairwiseCounts

    cubes = stats.by_category if by == "category" else stats.by_period
    boots = stats.boot_by_category if by == "category" else stats.boot_by_period
    if group not in cubes:
        raise MetaevalError(f"no {by} {group!r}; {by}s: {', '.join(cubes) or 'none (give it to scan())'}")
    if group not in boots:
        raise MetaevalError(f"per-{by} intervals need the resamples of each {by}: "
                            "`reduce(n_resamples=…, group_resamples=True)` on a scan with `cluster=`")
    cube = cubes[group]
    games = cube.sum(axis=(1, 2)) + cube.sum(axis=(0, 2))
    idx = np.flatnonzero(games > 0)
    sub = cube[np.ix_(idx, idx)]
    names = tuple(stats.models[i] for i in idx)
    wins, tmat = wins_ties(sub)
    comps = PairwiseCounts(names, wins, tmat).components(strong=True)
    if len(comps) > 1 and prior == 0:
        raise InsufficientDataError(f"{by} {group!r}: the comparison graph is not strongly connected "
                                    f"({len(comps)} components); pass `prior` (e.g. 0.1)")
    theta = _fit_counts("bradley_terry", wins, tmat, ties, prior)[0]
    boot = boots[group][:, idx][:, :, idx]
    empty = np.zeros(0, dtype=np.int64)
    draws, ok = _bootstrap_counts(Battles(names, empty, empty, empty, None, 0), "bradley_terry", ties, prior, theta,
                                  len(boot), np.random.default_rng(0), resampled=boot, full=sub)
    return idx, theta - theta.mean(), draws - draws.mean(axis=1, keepdims=True), ok, games[idx]


@validate_params({
    "by": [Options(str, ("category", "period"))],
    "confidence_level": [LEVEL],
    "ties": [Options(str, ("half", "drop"))],
    "prior": [Interval(Real, 0, None, closed="left")],
})
def rank_groups(stats: BattleStats, *, by: str = "category", confidence_level: float = 0.95, ties: str = "half",
                prior: float = 0.0) -> pl.DataFrame:
    """A Bradley–Terry leaderboard per category (or time period), with rating intervals, rank
    intervals and P(best), all from the one streamed pass of ``reduce(n_resamples=…,
    group_resamples=True)``.

    Each group is fitted among the models that played in it; its intervals come from the
    Poisson cluster resamples restricted to its battles, which are the draws of
    ``rank(judgments_of_the_group, cluster=…, bootstrap="poisson", rng=seed)`` in memory.

    Returns a table: ``by`` (the group), model, rating (centred log-odds), ci_low, ci_high, rank,
    rank_low, rank_high, p_best, battles, n_degenerate (resamples without an estimate, left out).

    >>> import tempfile, numpy as np, polars as pl
    >>> folder, g = tempfile.mkdtemp(), np.random.default_rng(0)
    >>> a = g.integers(0, 3, 600); b = (a + g.integers(1, 3, 600)) % 3
    >>> p = 1 / (1 + np.exp(-(b - a) * 0.8))  # model x strongest
    >>> pl.DataFrame({"model_a": np.array(["x", "y", "z"])[a], "model_b": np.array(["x", "y", "z"])[b],
    ...               "winner": np.where(g.random(600) < p, "model_a", "model_b"),
    ...               "question_id": [f"q{i // 3}" for i in range(600)],
    ...               "category": np.where(np.arange(600) % 2 == 0, "code", "math")}
    ...              ).write_parquet(f"{folder}/p.parquet")
    >>> st = scan(folder, cluster="question_id", category="category").reduce(
    ...     n_resamples=100, seed=0, group_resamples=True)
    >>> rank_groups(st).select("category", "model", "rank", "rank_low", "rank_high").rows()[:3]
    [('code', 'x', 1, 1.0, 1.0), ('code', 'y', 2, 2.0, 2.0), ('code', 'z', 3, 3.0, 3.0)]
    """
    from scipy.stats import rankdata

    from metaeval.stats.resampling import rank_statistics

    groups = stats.by_category if by == "category" else stats.by_period
    if not groups:
        raise MetaevalError(f"the scan has no {by}s: give `{'category' if by == 'category' else 'time'}=` to scan()")
    tables = []
    for g in groups:
        idx, theta, draws, ok, games = _group_fit(stats, by, g, ties, prior)
        a = (1 - confidence_level) / 2
        if ok.sum() >= 2:
            lo, hi = np.quantile(draws[ok], [a, 1 - a], axis=0)
            r_lo, r_hi, pbest = rank_statistics(draws[ok], confidence_level)
        else:
            lo = hi = r_lo = r_hi = pbest = np.full(len(idx), np.nan)
        tables.append(pl.DataFrame({by: g, "model": [stats.models[i] for i in idx], "rating": theta, "ci_low": lo,
                                    "ci_high": hi, "rank": rankdata(-np.round(theta, 9), method="min").astype(int),
                                    "rank_low": r_lo, "rank_high": r_hi, "p_best": pbest,
                                    "battles": games.astype(int), "n_degenerate": int((~ok).sum())}))
    return pl.concat(tables).sort(by, "rank")


@validate_params({
    "by": [Options(str, ("category", "period"))],
    "confidence_level": [LEVEL],
    "ties": [Options(str, ("half", "drop"))],
    "prior": [Interval(Real, 0, None, closed="left")],
})
def rank_changes(stats: BattleStats, first: str, second: str, *, by: str = "category",
                 confidence_level: float = 0.95, ties: str = "half", prior: float = 0.0) -> pl.DataFrame:
    """How each model's rank changes from one category (or period) to another, with an interval.

    Both leaderboards come from the same resamples (one cluster weight per resample, whatever
    the group), so the interval of ``change = rank in second − rank in first`` (positive: the
    model falls) accounts for what the two groups share. Resamples in which either fit has no
    estimate are left out. Each group ranks the models that played in it; the table holds the
    models that played in both.

    Returns a table: model, rank_first, rank_second, change, change_low, change_high, and
    ``changed`` (the interval excludes 0).
    """
    from scipy.stats import rankdata

    from metaeval.stats.resampling import tied_ranks

    i1, t1, d1, ok1, _ = _group_fit(stats, by, first, ties, prior)
    i2, t2, d2, ok2, _ = _group_fit(stats, by, second, ties, prior)
    ok = ok1 & ok2
    if ok.sum() < 2:
        raise InsufficientDataError("fewer than two resamples with an estimate in both groups: no interval")
    r1, r2 = tied_ranks(d1[ok]), tied_ranks(d2[ok])
    rank1 = rankdata(-np.round(t1, 9), method="min")
    rank2 = rankdata(-np.round(t2, 9), method="min")
    both = np.intersect1d(i1, i2)
    p1, p2 = np.searchsorted(i1, both), np.searchsorted(i2, both)
    diff = r2[:, p2] - r1[:, p1]
    a = (1 - confidence_level) / 2
    lo = np.quantile(diff, a, axis=0, method="inverted_cdf")
    hi = np.quantile(diff, 1 - a, axis=0, method="inverted_cdf")
    change = rank2[p2] - rank1[p1]
    return pl.DataFrame({"model": [stats.models[i] for i in both], "rank_first": rank1[p1].astype(int),
                         "rank_second": rank2[p2].astype(int), "change": change.astype(int), "change_low": lo,
                         "change_high": hi, "changed": (lo > 0) | (hi < 0)}).sort("rank_first")


@validate_params({
    "ties": [Options(str, ("half", "drop"))],
    "ci": [Options(str, ("bootstrap", "sandwich", "none"))],
    "n_resamples": [Interval(Integral, 2, None, closed="left"), None],
    "confidence_level": [LEVEL],
    "prior": [Interval(Real, 0, None, closed="left")],
    "scale": [Options(str, ("logit", "elo"))],
    "anchor_value": ["finite", None],
    "bootstrap": [Options(str, ("multinomial", "poisson")), None],
    "rng": ["rng"],
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
})
def rank_lazy(sc: BattleScan, method: str = "auto", *, ties: str = "half", ci: str = "bootstrap",
              n_resamples: int | None = 1000, cluster: str | None = None, confidence_level: float = 0.95,
              prior: float = 0.0, scale: str = "logit", anchor: str | None = None, anchor_value: float | None = None,
              bootstrap: str | None = None, rng: np.random.Generator | int | None = None,
              partitions: int | None = None,
              **options: Any) -> Any:
    """:func:`metaeval.rank` on battle logs read lazily: ``metaeval.rank(scan(...), …)`` lands here.

    The battles are never held in memory. One streamed pass reduces them to count cubes; the
    ratings are the in-memory fit of those counts, so they equal ``rank`` on the same battles.
    Intervals:

    - with a cluster (``cluster=`` here or in :func:`scan`) and ``ci="bootstrap"``: the Poisson
      cluster bootstrap, accumulated in the same pass. Its resamples are identical to
      ``rank(judgments, cluster=…, bootstrap="poisson", rng=seed)`` on the same battles, so the
      intervals, rank intervals and P(best) are too (the multinomial cluster bootstrap needs every
      cluster in one place and is refused);
    - with a cluster and ``ci="sandwich"`` (Bradley–Terry): the cluster-robust sandwich from one
      more pass per bucket of clusters (``partitions`` buckets; memory: one bucket's clusters);
    - without a cluster: the in-memory intervals of the counts (a bootstrap of battles, or the
      sandwich), which only need the counts.

    Methods: those fitted from counts (``auto``, ``bradley_terry``, ``davidson``, ``rao_kupper``,
    ``rank_centrality``). Elo needs the battles in order, Plackett–Luce per-item scores, the
    game-theoretic and Bayesian rankers the battles themselves: each is refused with the reason.
    """
    from dataclasses import replace

    from metaeval._random import as_generator
    from metaeval.rankers.api import POISSON_METHODS, _bootstrap_counts, _fit_counts, rank
    from metaeval.rankers.bradley_terry import wins_ties
    from metaeval.rankers.ranking import scaled_cov, summarise_draws
    from metaeval.results import RunInfo
    from metaeval.stats.resampling import poisson_seed
    from metaeval.tables import Battles, PairwiseCounts

    if method not in POISSON_METHODS:
        raise MetaevalError(f"battle logs read lazily (`metaeval.scan`) are ranked from streamed counts by "
                            f"{', '.join(POISSON_METHODS)}; {method!r} needs the battles in memory (load them into "
                            "a Judgments table)")
    if options:
        raise MetaevalError(f"{', '.join(sorted(options))} do(es) not apply to battle logs read lazily: they belong to "
                            "the Elo, game-theoretic and Bayesian rankers, which need the battles in memory")
    cl = cluster if cluster is not None else sc.cluster
    if cl != sc.cluster:
        sc = replace(sc, cluster=cl)
    streamed = ci == "bootstrap" and cl is not None
    robust = ci == "sandwich" and cl is not None
    if bootstrap == "multinomial" and streamed:
        raise MetaevalError("the multinomial cluster bootstrap draws from all clusters at once and cannot stream; "
                            "battle logs read lazily use `bootstrap='poisson'` (the same draws as "
                            "`rank(judgments, bootstrap='poisson')` in memory)")
    if bootstrap == "poisson" and not streamed:
        raise MetaevalError("`bootstrap='poisson'` weighs clusters: it needs `ci='bootstrap'` and a cluster column "
                            "(`cluster=` here or in `scan`)")
    if rng is None:
        rng = as_generator(None)[1]
    boot_n = 1000 if n_resamples is None else n_resamples
    pseed = 0
    if streamed:
        gen, seed = as_generator(rng)
        pseed = seed if seed is not None else poisson_seed(gen)
    stats = sc.reduce(n_resamples=boot_n if streamed else 0, seed=pseed)
    wins, tmat = wins_ties(stats.cube)
    pc = PairwiseCounts(stats.models, wins, tmat)
    base = rank(pc, method, ties=ties, ci="none" if (streamed or robust) else ci,  # type: ignore[arg-type]
                n_resamples=n_resamples, confidence_level=confidence_level, prior=prior, scale=scale,  # type: ignore[arg-type]
                anchor=anchor, anchor_value=anchor_value, rng=rng)
    params = dict(base.run_info.params) | {"method": base.method, "ci": ci, "cluster": cl,
                                           "source": f"{len(sc.files)} battle log file(s), read lazily"}
    if not (streamed or robust):
        run = RunInfo("rank", params, base.run_info.seed, None, None, stats.n_battles)
        return replace(base, run_info=run)
    models = stats.models
    theta = _fit_counts(base.method, pc.wins, pc.ties, ties, prior)[0]
    if streamed:
        gen, _ = as_generator(rng)
        empty = np.zeros(0, dtype=np.int64)
        b = Battles(models, empty, empty, empty, None, 0)
        draws, ok = _bootstrap_counts(b, base.method, ties, prior, theta, boot_n, gen, resampled=stats.boot,
                                      full=stats.cube)
        params |= {"bootstrap": "poisson", "poisson_seed": pseed}
        label = f"cluster bootstrap ({cl}, Poisson weights)"
    else:
        if base.method != "bradley_terry":
            raise MetaevalError("`ci='sandwich'` is available for Bradley–Terry; use `ci='bootstrap'`")
        cov = sandwich_cov(sc, stats, theta, partitions=partitions, prior=prior, ties=ties)
        gen, _ = as_generator(rng)
        draws = gen.multivariate_normal(theta, cov, size=boot_n, method="eigh")
        ok = np.ones(boot_n, bool)
        label = "cluster-robust sandwich"
    low, high, rlow, rhigh, pbest, n_deg, scaled = summarise_draws(draws, ok, models, scale, anchor, anchor_value,
                                                                    confidence_level)
    if robust:
        from scipy.stats import norm

        se = np.sqrt(np.clip(np.diag(scaled_cov(cov, models, scale, anchor)), 0, None))
        z = norm.ppf(1 - (1 - confidence_level) / 2)
        low, high = base.rating - z * se, base.rating + z * se
    run = RunInfo("rank", params, base.run_info.seed if isinstance(rng, int) else None, None, None, stats.n_battles)
    return replace(base, ci_low=low, ci_high=high, rank_low=rlow, rank_high=rhigh, p_best=pbest, ci_method=label,
                   n_resamples=boot_n, n_degenerate=n_deg, draws=scaled, run_info=run)


def _credit_moments(sc: BattleScan, order: tuple[str, ...], tie_value: float, partitions: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Per model, over clusters: Σ S_c², Σ S_c N_c, Σ N_c² and the number of clusters with a
    battle of the model (S_c: the model's credit in cluster c, N_c: its battles there), and the
    number of clusters; one pass per bucket of cluster keys (memory: one bucket's clusters)."""
    from metaeval.stats.resampling import stable_keys

    m = len(order)
    enum = pl.Enum(list(order))
    ss, sn, nn, ncl = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
    total = 0
    for bucket in range(partitions):
        parts: list[pl.DataFrame] = []
        for f in sc.files:
            for chunk in _batches(sc._lazy(f), sc.chunk_rows):
                sc._validate(f, chunk)
                ids = chunk[sc.cluster].cast(pl.String).to_numpy().astype(str)  # type: ignore[index]
                uniq, inv = np.unique(ids, return_inverse=True)
                keys = stable_keys(uniq)[inv]
                mine = keys % np.uint64(partitions) == np.uint64(bucket)
                if not mine.any():
                    continue
                part = chunk.filter(pl.Series(mine))
                ia = part[sc.model_a].cast(pl.String).cast(enum).to_physical().cast(pl.Int64)
                ib = part[sc.model_b].cast(pl.String).cast(enum).to_physical().cast(pl.Int64)
                oc = part[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy()
                credit = np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, tie_value))
                k = pl.Series("k", keys[mine])
                parts += [pl.DataFrame({"k": k, "m": ia, "s": credit}),
                          pl.DataFrame({"k": k, "m": ib, "s": 1 - credit})]
        if not parts:
            continue
        agg = pl.concat(parts).group_by("k", "m").agg(pl.col("s").sum(), pl.len().cast(pl.Float64).alias("n"))
        mi = agg["m"].to_numpy()
        S, N = agg["s"].to_numpy(), agg["n"].to_numpy()
        ss += np.bincount(mi, S * S, minlength=m)
        sn += np.bincount(mi, S * N, minlength=m)
        nn += np.bincount(mi, N * N, minlength=m)
        ncl += np.bincount(mi, minlength=m)
        total += agg["k"].n_unique()
    return ss, sn, nn, ncl, total


@validate_params({
    "tie_value": [Interval(Real, 0, 1, closed="both")],
    "n_resamples": [Interval(Integral, 1, None, closed="left")],
    "confidence_level": [LEVEL],
    "bootstrap": [Options(str, ("multinomial", "poisson")), None],
    "rng": ["rng"],
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
})
def win_rates_lazy(sc: BattleScan, *, tie_value: float = 0.5, n_resamples: int = 1000,
                   confidence_level: float = 0.95, bootstrap: str | None = None,
                   rng: np.random.Generator | int | None = None, partitions: int | None = None) -> Any:
    """:func:`metaeval.stats.win_rates` on battle logs read lazily (``win_rates(scan(...))``).

    The items are the scan's ``cluster`` column. The estimate and the item-clustered standard
    error come from streamed sums (per model, and per cluster and model in ``partitions``
    buckets of clusters), the interval from the Poisson item bootstrap accumulated in the same
    pass as the counts: identical resamples to ``win_rates(judgments, bootstrap="poisson",
    rng=seed)`` on the same battles. The credit is the hard outcome (1, 0, ``tie_value``).
    """
    from metaeval._random import as_generator
    from metaeval.errors import EstimationWarning, SmallSampleWarning, warn
    from metaeval.results import RunInfo
    from metaeval.stats.resampling import poisson_seed
    from metaeval.stats.win_rates import WinRates

    if not sc.cluster:
        raise MetaevalError("win rates resample items: give the item column as `cluster=` in `scan()`")
    if bootstrap == "multinomial":
        raise MetaevalError("the multinomial item bootstrap draws from all items at once and cannot stream; battle "
                            "logs read lazily use `bootstrap='poisson'`")
    gen, seed = as_generator(rng)
    pseed = seed if seed is not None else poisson_seed(gen)
    stats = sc.reduce(n_resamples=n_resamples, seed=pseed)

    def credit(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = (c[..., 0] + tie_value * c[..., 2]).sum(-1) + (c[..., 1] + (1 - tie_value) * c[..., 2]).sum(-2)
        n = c.sum(axis=(-1, -2)) + c.sum(axis=(-1, -3))
        return s, n

    s_tot, n_tot = credit(stats.cube)
    est = s_tot / n_tot
    ss, sn, nn, ncl, n_items = _credit_moments(sc, stats.models, tie_value,
                                               _auto_partitions(partitions, stats.n_battles, 2))
    resid2 = np.maximum(ss - 2 * est * sn + est**2 * nn, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(resid2 * ncl / np.maximum(ncl - 1, 1)) / n_tot
    if n_items < 30:
        warn(f"only {n_items} items: a bootstrap over so few clusters under-covers", SmallSampleWarning)
    bs, bn = credit(stats.boot)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = bs / bn
    alpha = 1 - confidence_level
    low = np.nanquantile(boot, alpha / 2, axis=0)
    high = np.nanquantile(boot, 1 - alpha / 2, axis=0)
    one_item = ncl < 2
    if one_item.any():
        warn(f"{int(one_item.sum())} models were compared on fewer than 2 items: their interval is nan",
             EstimationWarning)
        low[one_item] = high[one_item] = se[one_item] = np.nan
    params = {"graded": False, "tie_value": tie_value, "n_resamples": n_resamples,
              "confidence_level": confidence_level, "bootstrap": "poisson", "poisson_seed": pseed,
              "source": f"{len(sc.files)} battle log file(s), read lazily"}
    run = RunInfo("win_rates", params, seed, None, n_items, stats.n_battles)
    return WinRates(stats.models, est, se, low, high, n_tot, confidence_level, run,
                    "win rates (item-clustered Poisson bootstrap)", False)


def _feature_roots(feature: str | pl.Expr) -> list[str]:
    return feature.meta.root_names() if isinstance(feature, pl.Expr) else [feature]


def _design_chunks(sc: BattleScan, order: tuple[str, ...], features: Sequence[str | pl.Expr]) -> Any:
    """(ia, ib, y, x, cluster ids) per streamed chunk, validated. A feature is a column name or
    a polars expression of the columns (e.g. a normalised, standardised difference)."""
    enum = pl.Enum(list(order))
    for f in sc.files:
        lf = sc._lazy(f)
        names = lf.collect_schema().names()
        missing = [c for feat in features for c in _feature_roots(feat) if c not in names]
        if missing:
            raise ImportFormatError(f"{f.name} has no feature column `{missing[0]}`", path=str(f), field=missing[0])
        for chunk in _batches(lf, sc.chunk_rows):
            sc._validate(f, chunk)
            x = np.empty((chunk.height, len(features)))
            for j, feat in enumerate(features):
                raw = chunk.select(feat.alias("__f") if isinstance(feat, pl.Expr) else pl.col(feat)).to_series()
                col = raw.cast(pl.Float64, strict=False)
                bad = col.is_null() | ~col.is_finite()
                if bad.any():
                    i = int(bad.arg_max())  # type: ignore[arg-type]
                    roots = _feature_roots(feat)
                    c = next((r for r in roots if chunk[r].cast(pl.Float64, strict=False).is_null()[i]), roots[0])
                    raise ImportFormatError(f"{f.name} row {int(chunk['__row'][i])}, column `{c}`: expected a finite "
                                            f"number; got {chunk[c][i]!r}", path=str(f), line=int(chunk["__row"][i]),
                                            field=c)
                x[:, j] = col.to_numpy()
            ia = chunk[sc.model_a].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            ib = chunk[sc.model_b].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            oc = chunk[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy()
            y = np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, 0.5))
            ids = chunk[sc.cluster].cast(pl.String).to_numpy().astype(str) if sc.cluster else None
            yield ia, ib, y, x, ids


@validate_params({
    "prior": [Interval(Real, 0, None, closed="left")],
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither")],
})
def covariates_scan(sc: BattleScan, features: Sequence[str | pl.Expr], *, models: Sequence[str] | None = None,
                    prior: float = 0.0, partitions: int | None = None, max_iter: int = 100,
                    tol: float = 1e-10) -> Any:
    """Bradley–Terry with per-battle covariates (style and length control) fitted out of core.

    logit P(a ≻ b) = θ_a − θ_b + β · x, ties as ½, with ``x`` the battle's ``features`` (column
    names, or polars expressions of the columns: e.g. the difference in answer length, in
    markdown headers…). The same damped Newton
    iterations as :func:`metaeval.rankers.covariates.bt_covariates_battles`, one streamed pass
    per iteration (gradient, information and log-likelihood are sums over battles), so the fit
    equals the in-memory one to summation order; with ``cluster=`` in :func:`scan`, the
    cluster-robust sandwich comes from one more pass per bucket of clusters.

    Returns a :class:`~metaeval.rankers.covariates.BTCovariatesFit` (``theta`` in the order of
    the sorted model names, also returned as the second element).
    """
    from scipy.special import expit, log_expit

    from metaeval.rankers.bradley_terry import damped_newton
    from metaeval.rankers.covariates import BTCovariatesFit, _gradient, _information, constrained_covariance

    if not features:
        raise MetaevalError("give at least one feature column")
    if prior < 0:
        raise ParameterError(f"`prior` must not be negative; got {prior}")
    if models is None:
        models = sc.reduce().models
    order = tuple(sorted(models))
    m, p = len(order), len(features)
    k = m + p
    gauge = np.zeros(k)
    gauge[:m] = 1.0
    pen = prior * np.eye(k) + np.outer(gauge, gauge)

    def evaluate(par: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, int]:
        ll, grad, info, n = 0.0, np.zeros(k), np.zeros((k, k)), 0
        for ia, ib, y, x, _ in _design_chunks(sc, order, features):
            eta = par[ia] - par[ib] + x @ par[m:]
            prob = expit(eta)
            ll += float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
            grad += _gradient(ia, ib, x, y - prob, m)
            info += _information(ia, ib, x, prob * (1 - prob), m)
            n += len(y)
        return ll - 0.5 * par @ pen @ par, grad - pen @ par, info + pen, n

    # one streamed pass gives the objective, gradient and information together: it is the "linear
    # predictor" the shared damped Newton carries from step to step
    first: list[Any] = [evaluate(np.zeros(k))]  # the start, read once: its pass also counts the battles
    n = first[0][3]

    def state_of(par: np.ndarray) -> Any:
        return first.pop() if first else evaluate(par)

    params, state, obj, n_iter = damped_newton(
        np.zeros(k), state_of, lambda st, par: st[0], lambda st, par: st[1], lambda st, par: st[2],
        tol=tol, scale=float(n), max_iter=max_iter, what="the streamed Bradley–Terry fit with covariates")
    info = state[2]
    info_model = info - pen + prior * np.eye(k)
    bread = constrained_covariance(info_model, m)
    robust, n_cl = None, 0
    if sc.cluster:
        from scipy import sparse

        from metaeval.stats.resampling import stable_keys

        meat = np.zeros((k, k))
        partitions = _auto_partitions(partitions, n, 2 + p)
        for bucket in range(partitions):
            keys_l, cols_l, vals_l = [], [], []
            for ia, ib, y, x, ids in _design_chunks(sc, order, features):
                uniq, inv = np.unique(ids, return_inverse=True)
                keys = stable_keys(uniq)[inv]
                mine = keys % np.uint64(partitions) == np.uint64(bucket)
                if not mine.any():
                    continue
                ia, ib, y, x, keys = ia[mine], ib[mine], y[mine], x[mine], keys[mine]
                r = y - expit(params[ia] - params[ib] + x @ params[m:])
                keys_l += [keys, keys, np.repeat(keys, p)]
                cols_l += [ia, ib, np.tile(np.arange(m, k), len(keys))]
                vals_l += [r, -r, (x * r[:, None]).ravel()]
            if not keys_l:
                continue
            uk, rows = np.unique(np.concatenate(keys_l), return_inverse=True)
            S = sparse.coo_matrix((np.concatenate(vals_l), (rows, np.concatenate(cols_l))), shape=(len(uk), k)).tocsr()
            meat += np.asarray((S.T @ S).todense())
            n_cl += len(uk)
        robust = n_cl / max(n_cl - 1, 1) * bread @ meat @ bread
    theta = params[:m] - params[:m].mean()
    return BTCovariatesFit(theta, params[m:], bread, n_iter, obj, robust, n_cl, False), order
