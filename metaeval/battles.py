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

Fits that need the battles themselves rather than their counts (style and length control,
the cluster-robust sandwich, clustered win-rate errors) code the logs once into a compact
binary copy in a temporary folder (:class:`_Coded`: model codes, outcome, cluster key,
features; 17 + 8 × features bytes per battle) and read it back for each Newton step and each
bucket of clusters, so a pass costs arithmetic rather than parsing.

The logs may sit in object storage (``s3://``, ``gs://``, ``az://``, ``https://``; polars'
object-store layer reads them, with ``storage_options=``). ``engine="ray"`` spreads the
reduction (:meth:`BattleScan.reduce`) and the style fit (:func:`covariates_scan`) over a Ray
cluster's workers; the results equal the local ones (exactly for counts and resamples, to
summation order for fits).

Measured costs (1M, 10M and 100M battles, 200 models, 1,000 resamples) and what 10B battles on
a 32-node cluster would cost from them: ``benchmarks/scale.md``.

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
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, constraints_of, validate_params
from metaeval.engine import check_engine, ray_session
from metaeval.errors import (
    EstimationWarning,
    ImportFormatError,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    SmallSampleWarning,
    warn,
)
from metaeval.rankers.api import POISSON_METHODS, _bootstrap_counts, _fit_counts, rank, sandwich_refusal
from metaeval.rankers.bradley_terry import (
    bt_newton_counts,
    damped_newton,
    fisher_information,
    score_meat,
    wins_ties,
)
from metaeval.rankers.covariates import BTCovariatesFit, _gradient, _information, constrained_covariance
from metaeval.rankers.ranking import Ranking, scaled_cov, summarise_draws
from metaeval.results import RunInfo
from metaeval.stats.resampling import (
    DEFAULT_N_RESAMPLES,
    percentile_interval,
    poisson_cell_counts,
    poisson_seed,
    rank_statistics,
    tied_ranks,
)
from metaeval.stats.win_rates import WinRates
from metaeval.tables import Battles, PairwiseCounts

__all__ = ["BattleScan", "BattleStats", "covariates_scan", "rank_changes", "rank_groups", "rank_lazy", "rank_scan",
           "sandwich_cov", "scan", "win_rates_lazy"]

_WINNER = {"model_a": 0, "a": 0, "model_b": 1, "b": 1, "tie": 2, "tie (bothbad)": 2}
_SUFFIX = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class RemoteFile(str):
    """A battle log in object storage (``s3://``, ``gs://``, ``az://``, ``https://`` …), named by
    its URL: read by polars' own object-store layer with the scan's ``storage_options``. It
    answers ``name`` and ``suffix`` as a local :class:`~pathlib.Path` does, so errors name it
    the same way."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        name = self.name
        return name[name.rfind("."):] if "." in name else ""

    def is_file(self) -> bool:
        return True


def _is_url(source: object) -> bool:
    text = str(source)
    return "://" in text and not text.startswith("file://")


def _remote_files(source: str, storage_options: dict[str, str] | None) -> list[RemoteFile]:
    """The Parquet files at a URL: the file itself, a glob, or a prefix ("folder": every
    .parquet below it), listed by polars' object-store layer (reading footers only)."""
    if any(ch in source for ch in "*?["):
        pattern = source
    elif source.endswith(".parquet"):
        return [RemoteFile(source)]
    elif Path(source.rstrip("/")).suffix in _SUFFIX:
        raise ImportFormatError(f"{source}: battle logs in object storage are listed and read as Parquet; give CSV "
                                "or JSON-lines files there as an explicit list of URLs", path=source)
    else:
        pattern = source.rstrip("/") + "/**/*.parquet"
    try:
        found = (pl.scan_parquet(pattern, storage_options=storage_options, include_file_paths="__file")
                 .select(pl.col("__file").unique()).collect()["__file"].to_list())
    except Exception as exc:  # polars raises its own errors for a missing bucket, refused credentials…
        raise ImportFormatError(f"could not list battle logs at {source} ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''})", path=source) from None
    return sorted(RemoteFile(f) for f in found)


def _files(source: str | Path | Sequence[str | Path],
           storage_options: dict[str, str] | None = None) -> list[Path]:
    if isinstance(source, (list, tuple)):
        out: list[Any] = [RemoteFile(str(s)) if _is_url(s) else Path(s) for s in source]
    elif _is_url(source):
        out = _remote_files(str(source), storage_options)
    else:
        p = Path(str(source).removeprefix("file://"))
        if p.is_dir():
            out = sorted(f for f in p.rglob("*") if f.suffix in _SUFFIX and f.is_file())
        elif any(ch in str(p) for ch in "*?["):
            out = sorted(Path(f) for f in _glob.glob(str(p), recursive=True))
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
    storage_options: tuple[tuple[str, str], ...] = ()

    def _lazy(self, f: Path) -> pl.LazyFrame:
        kind = _SUFFIX[f.suffix]
        so = dict(self.storage_options) if isinstance(f, RemoteFile) else None
        if kind == "parquet":
            lf = pl.scan_parquet(f, storage_options=so)
        elif kind == "csv":
            lf = pl.scan_csv(f, infer_schema_length=0, storage_options=so)
        else:
            lf = pl.scan_ndjson(f, infer_schema_length=1000, storage_options=so)
        return lf.with_row_index("__row", offset=1)

    def _columns(self, f: Path, lf: pl.LazyFrame) -> None:
        try:
            names = lf.collect_schema().names()
        except (pl.exceptions.PolarsError, OSError) as exc:  # not the format its name says, unreadable, unreachable
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ImportFormatError(f"{f.name}: could not read it as {_SUFFIX[f.suffix]} battle logs "
                                    f"({type(exc).__name__}: {first[:200]})", path=str(f)) from None
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
        check_engine(engine)
        if n_resamples and not self.cluster:
            raise MetaevalError("a streamed bootstrap resamples clusters: give `cluster=` (e.g. the item column)")
        order = tuple(sorted(models)) if models is not None else _model_names(self)
        m = len(order)
        if m < 2:
            raise InsufficientDataError(f"the battle logs name {m} model(s); ranking needs at least 2")
        if engine == "ray" and self.dedupe:
            raise MetaevalError("deduplication across files needs one pass in one process: use engine='local' "
                                "(or deduplicate when the files are written)")
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


def _model_names(sc: BattleScan) -> tuple[str, ...]:
    """The sorted names of every model in the logs: a cheap streamed pass over the two model
    columns, so that every file and chunk codes the models the same way."""
    names: set[str] = set()
    for f in sc.files:
        lf = sc._lazy(f)
        sc._columns(f, lf)
        uniq = pl.concat([lf.select(pl.col(sc.model_a).cast(pl.String).alias("m")),
                          lf.select(pl.col(sc.model_b).cast(pl.String).alias("m"))]).unique()
        names.update(v for v in uniq.collect(engine="streaming")["m"].to_list() if v is not None)
    return tuple(sorted(names))


_BUCKET_BATTLES = 4_000_000  # battles one bucket of clusters may hold in a sandwich pass (~0.6 GB)


def _auto_partitions(partitions: int | None, n_battles: int, per_battle: int = 1) -> int:
    """``partitions`` if given, else enough buckets of clusters that one holds at most
    ``_BUCKET_BATTLES`` battles (each bucket costs one more pass over the coded battles)."""
    if partitions is not None:
        return partitions
    return max(1, -(-n_battles // _BUCKET_BATTLES))


class _Coded:
    """The battles of a scan validated and coded once, then spilled to a temporary folder.

    One streamed pass over the logs parses, validates, deduplicates (with ``dedupe``) and codes
    every chunk: model codes (int32, in the order ``order``), outcome (int8), the cluster's key
    (uint64, see :func:`_design_chunks`) and the ``features`` (float64). Each array is appended
    to its own file. Later passes (a Newton step, a bucket of the sandwich) read the arrays back
    chunk by chunk, from the operating system's page cache when it holds them, so a pass costs
    the arithmetic, not the parsing and hashing of strings. The chunks are read back exactly as
    they were written, so every sum runs in the same order as a pass over the logs would.
    Memory: one chunk; disk: 17 + 8 × features bytes per battle, removed by :meth:`close` (or
    at the end of the ``with`` block).
    """

    def __init__(self, sc: BattleScan, order: tuple[str, ...], features: Sequence[str | pl.Expr] = (),
                 *, keys: bool = False, folder: str | Path | None = None) -> None:
        import tempfile

        self.p = len(features)
        self._tmp = tempfile.TemporaryDirectory(prefix="metaeval-coded-", dir=folder)
        root = Path(self._tmp.name)
        self._paths = {name: root / f"{name}.bin" for name in ("ia", "ib", "oc", "x", "keys")}
        self.sizes: list[int] = []
        handles = {name: open(path, "wb") for name, path in self._paths.items()}  # noqa: SIM115 - closed below
        try:
            for ia, ib, oc, x, ids in _design_chunks(sc, order, features):
                handles["ia"].write(ia.astype(np.int32).tobytes())
                handles["ib"].write(ib.astype(np.int32).tobytes())
                handles["oc"].write(oc.astype(np.int8).tobytes())
                handles["x"].write(np.ascontiguousarray(x, dtype=np.float64).tobytes())
                if keys and ids is not None:
                    handles["keys"].write(ids.astype(np.uint64).tobytes())
                self.sizes.append(len(ia))
        except BaseException:
            for h in handles.values():
                h.close()
            self._tmp.cleanup()
            raise
        for h in handles.values():
            h.close()
        self.n = int(sum(self.sizes))
        self.has_keys = keys and sc.cluster is not None

    def chunks(self, *, keys: bool = False) -> Any:
        """(ia, ib, oc, x, keys) per chunk, as written; ``keys`` is None unless asked for."""
        if keys and not self.has_keys:  # pragma: no cover - callers check the scan's cluster
            raise MetaevalError("the coded battles hold no cluster keys")
        start = 0
        for size in self.sizes:
            ia = np.fromfile(self._paths["ia"], np.int32, size, offset=4 * start).astype(np.int64)
            ib = np.fromfile(self._paths["ib"], np.int32, size, offset=4 * start).astype(np.int64)
            oc = np.fromfile(self._paths["oc"], np.int8, size, offset=start).astype(np.int64)
            x = np.fromfile(self._paths["x"], np.float64, size * self.p, offset=8 * self.p * start)
            x = x.reshape(size, self.p)
            k = np.fromfile(self._paths["keys"], np.uint64, size, offset=8 * start) if keys else None
            start += size
            yield ia, ib, oc, x, k

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> _Coded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _outcome_y(oc: np.ndarray) -> np.ndarray:
    """A's score per battle: 1 won, 0 lost, ½ tie (outcome codes 0, 1, 2)."""
    return np.where(oc == 0, 1.0, np.where(oc == 1, 0.0, 0.5))


def _bucket_scores(coded: _Coded, params: np.ndarray, m: int, partitions: int, bucket: int,
                   ties: str = "half") -> tuple[np.ndarray, Any, np.ndarray] | None:
    """The summed scores of the clusters whose key falls in ``bucket`` (key mod ``partitions``):
    their keys (sorted), the model scores as a sparse clusters × models matrix U (y − p for A's
    model, p − y for B's) and the covariate scores (y − p)·x as a dense clusters × features
    matrix V; None when the bucket is empty. One read of the coded battles."""
    from scipy import sparse
    from scipy.special import expit

    p = coded.p
    key_l, ia_l, ib_l, r_l, xr_l = [], [], [], [], []
    for ia, ib, oc, x, keys in coded.chunks(keys=True):
        mine = keys % np.uint64(partitions) == np.uint64(bucket) if partitions > 1 else np.ones(len(ia), bool)
        if ties == "drop":
            mine &= oc != 2
        if not mine.any():
            continue
        ia, ib, oc, x = ia[mine], ib[mine], oc[mine], x[mine]
        r = _outcome_y(oc) - expit(params[ia] - params[ib] + x @ params[m:])
        key_l.append(keys[mine])
        ia_l.append(ia)
        ib_l.append(ib)
        r_l.append(r)
        xr_l.append(x * r[:, None])
    if not key_l:
        return None
    uk, row = np.unique(np.concatenate(key_l), return_inverse=True)
    del key_l
    nc = len(uk)
    r = np.concatenate(r_l)
    U = sparse.csr_matrix((np.concatenate([r, -r]), (np.concatenate([row, row]), np.concatenate(ia_l + ib_l))),
                          shape=(nc, m))
    xr = np.concatenate(xr_l) if p else np.zeros((len(r), 0))
    V = np.column_stack([np.bincount(row, weights=xr[:, j], minlength=nc) for j in range(p)]) if p \
        else np.zeros((nc, 0))
    return uk, U, V


def _meat_of(parts: Sequence[tuple[np.ndarray, Any, np.ndarray] | None], m: int, p: int) -> tuple[np.ndarray, int]:
    """Σ_c g_c g_cᵀ and the number of clusters from one bucket's cluster scores, given by one or
    several parts of the battles (several: a cluster's scores in different parts are summed
    first). The sparse model block U and the dense covariate block V stay apart, so memory
    holds two nonzeros per battle and p numbers per cluster
    (:func:`metaeval.rankers.bradley_terry.score_meat`: blocks UᵀU, UᵀV and VᵀV)."""
    from scipy import sparse

    given = [q for q in parts if q is not None]
    if not given:
        return np.zeros((m + p, m + p)), 0
    if len(given) == 1:
        uk, U, V = given[0]
    else:
        uk, row = np.unique(np.concatenate([q[0] for q in given]), return_inverse=True)
        merge = sparse.csr_matrix((np.ones(len(row)), (row, np.arange(len(row)))), shape=(len(uk), len(row)))
        U = merge @ sparse.vstack([q[1] for q in given]).tocsr()
        V = merge @ np.vstack([q[2] for q in given])
    return score_meat(U, V), len(uk)


def _cluster_meat(coded: _Coded, params: np.ndarray, m: int, partitions: int,
                  ties: str = "half") -> tuple[np.ndarray, int]:
    """Σ_c g_c g_cᵀ over clusters, g_c the cluster's summed score of the Bradley–Terry model with
    covariates (y − p times [e_a − e_b, x]), and the number of clusters: one read of the coded
    battles per bucket of cluster keys (key mod ``partitions``), so memory holds one bucket's
    battles (:func:`_bucket_scores`, :func:`_meat_of`)."""
    k = m + coded.p
    meat = np.zeros((k, k))
    n_clusters = 0
    for bucket in range(partitions):
        part, nc = _meat_of([_bucket_scores(coded, params, m, partitions, bucket, ties)], m, coded.p)
        meat += part
        n_clusters += nc
    return meat, n_clusters


def _design_sums(coded: _Coded, par: np.ndarray, m: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and information of Bradley–Terry with covariates at ``par`` (ties
    as ½), summed over the coded battles: one read."""
    from scipy.special import expit, log_expit

    k = m + coded.p
    ll, grad, info = 0.0, np.zeros(k), np.zeros((k, k))
    for ia, ib, oc, x, _ in coded.chunks():
        y = _outcome_y(oc)
        eta = par[ia] - par[ib] + x @ par[m:]
        prob = expit(eta)
        ll += float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
        grad += _gradient(ia, ib, x, y - prob, m)
        info += _information(ia, ib, x, prob * (1 - prob), m)
    return ll, grad, info


class _CodedPart:
    """A Ray actor's share of the battles (a group of files), coded once on its node
    (:class:`_Coded`); the driver asks it for sums at each Newton step and for its cluster scores
    per bucket."""

    def __init__(self, sc: BattleScan, order: tuple[str, ...], features: Sequence[str | pl.Expr], keys: bool,
                 folder: str | None) -> None:
        self.error: MetaevalError | None = None
        try:
            self.coded: _Coded | None = _Coded(sc, order, features, keys=keys, folder=folder)
        except MetaevalError as exc:  # raised again from n(): a Ray task error carries it to the driver
            self.error, self.coded = exc, None

    def n(self) -> int:
        if self.error is not None:
            raise self.error
        assert self.coded is not None
        return self.coded.n

    def sums(self, par: np.ndarray, m: int) -> tuple[float, np.ndarray, np.ndarray]:
        assert self.coded is not None
        return _design_sums(self.coded, par, m)

    def scores(self, params: np.ndarray, m: int, partitions: int, bucket: int) -> Any:
        assert self.coded is not None
        return _bucket_scores(self.coded, params, m, partitions, bucket)

    def close(self) -> None:
        if self.coded is not None:
            self.coded.close()


def _ray_get(ray: Any, refs: Any) -> Any:
    """``ray.get``, raising a metaeval error from a task as itself (file, row, column)."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, MetaevalError):
            raise cause from None
        raise


def _add_resamples(boot: np.ndarray, ids: np.ndarray, flat: np.ndarray, n_resamples: int, seed: int,
                   threads: int | None = None) -> None:
    """boot[b, cell] += Σ_battles w(cluster, b) for the battles of a chunk
    (:func:`metaeval.stats.resampling.poisson_cell_counts`; ``threads``: its threads, one by
    default and in a Ray task, which holds one CPU)."""
    poisson_cell_counts(ids, flat, boot.shape[1], n_resamples, seed, out=boot, threads=threads)


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
    for g in np.unique(groups):
        mask = groups == g
        if str(g) not in into:
            into[str(g)] = np.zeros((size, n_resamples)).T
        poisson_cell_counts(ids[mask], flat[mask], size, n_resamples, seed, out=into[str(g)])


def _dedupe(sc: BattleScan, chunk: pl.DataFrame, seen: set[tuple[Any, ...]]) -> tuple[pl.DataFrame, int]:
    """The chunk without the battles whose ``dedupe`` key was seen before (in this chunk or an
    earlier one), and how many were dropped; ``seen`` is updated."""
    keys = list(chunk.select(sc.dedupe).iter_rows())
    keep = np.ones(len(keys), dtype=bool)
    for i, k in enumerate(keys):
        if k in seen:
            keep[i] = False
        else:
            seen.add(k)
    return chunk.filter(pl.Series(keep)), int((~keep).sum())


def _reduce_file(sc: BattleScan, f: Path, order: tuple[str, ...], n_resamples: int, seed: int,
                 seen: set[tuple[Any, ...]] | None, group_resamples: bool = False,
                 boot: np.ndarray | None = None, threads: int | None = None) -> dict[str, Any]:
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
            chunk, dropped = _dedupe(sc, chunk, seen)
            dup += dropped
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
        ids = chunk[sc.cluster].cast(pl.String).to_numpy().astype(str) if boot is not None else None
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
            _add_resamples(boot, ids, flat, n_resamples, seed, threads)  # type: ignore[arg-type]
    return {"cube": cube, "boot": boot, "cats": cats, "periods": periods, "n": n, "duplicates": dup,
            "cats_boot": cats_boot, "periods_boot": periods_boot}


def _reduce_group(sc: BattleScan, files: Sequence[Path], order: tuple[str, ...], n_resamples: int, seed: int,
                  group_resamples: bool) -> dict[str, Any]:
    """The summed shares of a group of files (one Ray task): one resampled-count accumulator."""
    total: dict[str, Any] | None = None
    for f in files:
        part = _reduce_file(sc, f, order, n_resamples, seed, None, group_resamples,
                            None if total is None else total["boot"], threads=1)
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
    boot = total["boot"]
    if boot is not None and boot.size and float(boot.max()) < 2**24:
        # whole numbers below 2^24 are exact in float32: half the bytes through the object store
        total["boot"] = boot.astype(np.float32)
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
         chunk_rows: int = 1_000_000, storage_options: dict[str, str] | None = None) -> BattleScan:
    """Point at battle logs without reading them (see the module docstring).

    Parameters
    ----------
    source
        A file, a folder (every .parquet/.csv/.jsonl below it), a glob, or a list of files.
        In object storage (``s3://``, ``gs://``, ``az://``, ``https://`` URLs, read by polars'
        own object-store layer): a Parquet file, a glob, a prefix (every .parquet below it), or
        a list of URLs (CSV and JSON-lines files too).
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
    chunk_rows
        Rows per streamed chunk (memory: one chunk).
    storage_options
        For object storage: polars' ``storage_options`` (credentials, ``aws_endpoint_url``,
        ``aws_region`` …), kept with the scan and passed to every read, in this process and in
        Ray's workers (``engine="ray"``).

    Returns
    -------
    BattleScan
        The files, their columns and options; nothing is read until a pass (:meth:`BattleScan.reduce`,
        :func:`metaeval.rank`, :func:`metaeval.stats.win_rates`, :func:`covariates_scan`) streams them.
        A file that cannot be read, or a bad row, is an error naming the file, row and column then.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> stats = sc.reduce(n_resamples=200, seed=0)     # one streamed pass
    >>> stats.n_battles, stats.models
    (900, ('atlas-1', 'borealis-1', 'cirrus-1', 'draco-1', 'electra-1'))
    """
    if chunk_rows < 1:
        raise ParameterError(f"`chunk_rows` must be ≥ 1; got {chunk_rows}")
    if period not in ("month", "week", "day"):
        raise ParameterError(f"`period` must be 'month', 'week' or 'day'; got {period!r}")
    return BattleScan(tuple(_files(source, storage_options)), model_a, model_b, winner, cluster, category,
                      tuple(dedupe) if dedupe else None, chunk_rows, time, period,
                      tuple(sorted((str(k), str(v)) for k, v in (storage_options or {}).items())))


@validate_params({
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
    "prior": [Interval(Real, 0, None, closed="left")],
    "ties": [Options(str, ("half", "drop"))],
})
def sandwich_cov(sc: BattleScan, stats: BattleStats, theta: np.ndarray, *, partitions: int | None = None,
                 prior: float = 0.0, ties: str = "half") -> np.ndarray:
    """The cluster-robust sandwich covariance of centred Bradley–Terry strengths (ties as half a
    win), I⁺ M I⁺ with M = G/(G−1) Σ_c g_c g_cᵀ, from a second pass over the logs, which codes the
    battles once (:class:`_Coded`). Clusters are then split into ``partitions`` buckets by their
    stable key (one read of the coded battles per bucket), so memory holds one bucket's battles
    (by default as many buckets as keep one under 4 M battles);
    the result does not depend on ``partitions`` beyond summation order.
    Equal to :func:`metaeval.rank` with ``ci="sandwich"`` and ``cluster=`` on the same battles
    (``ties="drop"`` leaves ties out, as there).

    Parameters
    ----------
    sc : BattleScan
        The scan the ``stats`` came from; it must have ``cluster=``.
    stats : BattleStats
        The reduced battle counts of ``sc`` (:meth:`BattleScan.reduce`): the models and the counts.
    theta : numpy.ndarray
        The centred Bradley–Terry strengths, one per model in the order of ``stats.models``.
    partitions : int or None, default None
        Buckets of clusters; None: as many as keep one under 4 M battles.
    prior : float, default 0.0
        The ridge prior on the strengths, as in the fit (added to the Fisher information).
    ties : str, default "half"
        ``"half"``: a tie is half a win; ``"drop"``: ties are left out.

    Returns
    -------
    numpy.ndarray
        The ``(m, m)`` covariance of the strengths, in the order of ``stats.models``.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> stats = sc.reduce()
    >>> rating = dict(rank_scan(stats).select("model", "rating").rows())
    >>> theta = np.array([rating[m] for m in stats.models])
    >>> cov = sandwich_cov(sc, stats, theta)
    >>> np.sqrt(np.diag(cov)).round(3).tolist()
    [0.103, 0.085, 0.085, 0.089, 0.091]
    """
    if not sc.cluster:
        raise MetaevalError("the cluster-robust sandwich needs `cluster=` in scan()")
    partitions = _auto_partitions(partitions, stats.n_battles)
    m = len(stats.models)
    with _Coded(sc, stats.models, keys=True) as coded:
        meat, n_clusters = _cluster_meat(coded, theta, m, partitions, ties)
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

    Parameters
    ----------
    stats : BattleStats
        The reduced battle counts (:meth:`BattleScan.reduce`); with resamples, for percentile intervals.
    category : str or None, default None
        Fit only this category's battles (no intervals).
    period : str or None, default None
        Fit only this time period's battles (no intervals); not with ``category``.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    prior : float, default 0.0
        The ridge prior on the strengths of the Bradley–Terry fit.
    sandwich : BattleScan or None, default None
        The scan the stats came from: the interval is then the cluster-robust sandwich's normal
        interval (without rank intervals).
    partitions : int or None, default None
        Buckets of clusters for the sandwich (see :func:`sandwich_cov`).

    Returns
    -------
    polars.DataFrame
        One row per model, sorted by rank, with the columns above; intervals are ``nan`` where not computed.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> stats = sc.reduce(n_resamples=200, seed=0)
    >>> board = rank_scan(stats)
    >>> board.select("model", "rank", "rank_low", "rank_high").rows()[:2]
    [('electra-1', 1, 1, 1), ('cirrus-1', 2, 2, 3)]
    >>> rank_scan(stats, category="coding")["model"].to_list()[0]
    'electra-1'
    """
    from scipy.stats import rankdata

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
        lo, hi = percentile_interval(draws, confidence_level, nan_policy="propagate")
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
    # the resamples are the Poisson cluster weights reduce() summed (stats.resampling.poisson_cell_counts);
    # nothing is drawn here, so the generator _bootstrap_counts takes is never used
    draws, ok = _bootstrap_counts(Battles(names, empty, empty, empty, None, 0), "bradley_terry", ties, prior, theta,
                                  len(boot), as_generator(0)[0], resampled=boot, full=sub)
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

    Parameters
    ----------
    stats : BattleStats
        The reduced battle counts, from ``reduce(n_resamples=…, group_resamples=True)``.
    by : str, default "category"
        ``"category"``: one leaderboard per category; any other value: per time period.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    ties : str, default "half"
        How ties count in the Bradley–Terry fit, as ``ties=`` of :func:`metaeval.rank`.
    prior : float, default 0.0
        The ridge prior on the strengths.

    Returns
    -------
    polars.DataFrame
        One row per group and model, sorted by group and rank, with the columns above.

    Examples
    --------
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

    groups = stats.by_category if by == "category" else stats.by_period
    if not groups:
        raise MetaevalError(f"the scan has no {by}s: give `{'category' if by == 'category' else 'time'}=` to scan()")
    tables = []
    for g in groups:
        idx, theta, draws, ok, games = _group_fit(stats, by, g, ties, prior)
        if ok.sum() >= 2:
            lo, hi = percentile_interval(draws[ok], confidence_level, nan_policy="propagate")
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

    Parameters
    ----------
    stats : BattleStats
        The reduced battle counts, from ``reduce(n_resamples=…, group_resamples=True)``.
    first : str
        The group (category or period) ranks are compared from.
    second : str
        The group ranks are compared to.
    by : str, default "category"
        ``"category"``: the groups are categories; any other value: time periods.
    confidence_level : float, default 0.95
        Coverage of the interval of each change, in (0, 1).
    ties : str, default "half"
        How ties count in the Bradley–Terry fit, as ``ties=`` of :func:`metaeval.rank`.
    prior : float, default 0.0
        The ridge prior on the strengths.

    Returns
    -------
    polars.DataFrame
        One row per model that played in both groups, sorted by ``rank_first``, with the columns above.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> stats = sc.reduce(n_resamples=200, seed=0, group_resamples=True)
    >>> moves = rank_changes(stats, "coding", "writing")
    >>> moves.select("model", "change", "change_low", "change_high").rows()[1]
    ('cirrus-1', 0, -1.0, 1.0)
    """
    from scipy.stats import rankdata

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


#: The parameters :func:`rank_lazy` shares with :func:`metaeval.rank`: their constraints are
#: declared once, by ``rank``, and taken from there.
_RANK_PARAMS = ("ties", "ci", "n_resamples", "confidence_level", "prior", "scale", "anchor_value", "bootstrap", "rng")


@validate_params({**{name: c for name, c in constraints_of(rank).items() if name in _RANK_PARAMS},
                  "partitions": [Interval(Integral, 1, None, closed="left"), None]})
def rank_lazy(sc: BattleScan, method: str = "auto", *, ties: Literal["half", "drop"] = "half",
              ci: Literal["bootstrap", "sandwich", "none"] = "bootstrap",
              n_resamples: int | None = DEFAULT_N_RESAMPLES, cluster: str | None = None,
              confidence_level: float = 0.95, prior: float = 0.0, scale: Literal["logit", "elo"] = "logit",
              anchor: str | None = None, anchor_value: float | None = None,
              bootstrap: Literal["multinomial", "poisson"] | None = None,
              rng: np.random.Generator | int | None = None, partitions: int | None = None,
              **options: Any) -> Ranking:
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

    Parameters
    ----------
    sc : BattleScan
        The battle logs, read lazily (:func:`scan`).
    method : str, default "auto"
        One of ``auto``, ``bradley_terry``, ``davidson``, ``rao_kupper``, ``rank_centrality``.
    ties : str, default "half"
        How ties count, as in :func:`metaeval.rank`.
    ci : str, default "bootstrap"
        The interval: ``"bootstrap"`` or ``"sandwich"`` (see above), as in :func:`metaeval.rank`.
    n_resamples : int or None, default 1000
        Bootstrap resamples (:data:`~metaeval.stats.resampling.DEFAULT_N_RESAMPLES`; None: the same).
    cluster : str or None, default None
        The cluster column; None: the scan's ``cluster``.
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    prior : float, default 0.0
        The ridge prior on the strengths, as in :func:`metaeval.rank`.
    scale : str, default "logit"
        The scale of the ratings, as in :func:`metaeval.rank`.
    anchor : str or None, default None
        The model whose rating is fixed, as in :func:`metaeval.rank`.
    anchor_value : float or None, default None
        The anchor's rating, as in :func:`metaeval.rank`.
    bootstrap : str or None, default None
        The bootstrap, as in :func:`metaeval.rank`; with a cluster, only ``"poisson"`` streams
        (``"multinomial"`` is refused).
    rng : numpy.random.Generator, int or None, default None
        The seed or generator of the resamples.
    partitions : int or None, default None
        Buckets of clusters for the sandwich (see :func:`sandwich_cov`).
    **options : Any
        Refused: they belong to rankers that need the battles in memory.

    Returns
    -------
    Ranking
        As :func:`metaeval.rank` returns it.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> import metaeval
    >>> ranking = metaeval.rank(sc, n_resamples=200, rng=0)      # lands here
    >>> ranking.to_polars().select("model", "rank", "rank_low", "rank_high").rows()[:2]
    [('electra-1', 1, 1.0, 1.0), ('cirrus-1', 2, 2.0, 3.0)]
    """
    from dataclasses import replace

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
    boot_n = DEFAULT_N_RESAMPLES if n_resamples is None else n_resamples
    pseed = 0
    if streamed:
        gen, seed = as_generator(rng)
        pseed = seed if seed is not None else poisson_seed(gen)
    stats = sc.reduce(n_resamples=boot_n if streamed else 0, seed=pseed)
    wins, tmat = wins_ties(stats.cube)
    pc = PairwiseCounts(stats.models, wins, tmat)
    base = rank(pc, method, ties=ties, ci="none" if (streamed or robust) else ci, n_resamples=n_resamples,
                confidence_level=confidence_level, prior=prior, scale=scale, anchor=anchor,
                anchor_value=anchor_value, rng=rng)
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
            raise sandwich_refusal(base.method)
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
    number of clusters; one pass codes the battles (:class:`_Coded`), then one read of the coded
    battles per bucket of cluster keys (memory: one bucket's clusters)."""
    m = len(order)
    ss, sn, nn, ncl = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
    total = 0
    with _Coded(sc, order, keys=True) as coded:
        for bucket in range(partitions):
            parts: list[pl.DataFrame] = []
            for ia, ib, oc, _, keys in coded.chunks(keys=True):
                mine = keys % np.uint64(partitions) == np.uint64(bucket)
                if not mine.any():
                    continue
                credit = np.where(oc[mine] == 0, 1.0, np.where(oc[mine] == 1, 0.0, tie_value))
                k = pl.Series("k", keys[mine])
                parts += [pl.DataFrame({"k": k, "m": ia[mine], "s": credit}),
                          pl.DataFrame({"k": k, "m": ib[mine], "s": 1 - credit})]
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

    Parameters
    ----------
    sc : BattleScan
        The battle logs, read lazily (:func:`scan`), with ``cluster=`` (the item column).
    tie_value : float, default 0.5
        Credit for a tie.
    n_resamples : int, default 1000
        Poisson bootstrap resamples of items.
    confidence_level : float, default 0.95
        Coverage of the interval, in (0, 1).
    bootstrap : str or None, default None
        The bootstrap; only ``"poisson"`` streams (``"multinomial"`` is refused).
    rng : numpy.random.Generator, int or None, default None
        The seed or generator of the resamples.
    partitions : int or None, default None
        Buckets of clusters for the clustered standard error; None: chosen from the number of battles.

    Returns
    -------
    WinRates
        As :func:`metaeval.stats.win_rates` returns it.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> import metaeval
    >>> wr = metaeval.stats.win_rates(sc, n_resamples=200, rng=0)   # lands here
    >>> model, rate = wr.to_polars().select("model", "win_rate").rows()[0]
    >>> model, round(rate, 3)
    ('electra-1', 0.724)
    """
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
    low, high = percentile_interval(boot, confidence_level)
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
                    "win rates (item-clustered Poisson bootstrap)", False, draws=boot)


def _feature_roots(feature: str | pl.Expr) -> list[str]:
    return feature.meta.root_names() if isinstance(feature, pl.Expr) else [feature]


def _design_chunks(sc: BattleScan, order: tuple[str, ...], features: Sequence[str | pl.Expr]) -> Any:
    """(ia, ib, outcome code, x, cluster keys) per streamed chunk, validated. The keys are polars'
    64-bit hash of the cluster id with a fixed seed: the same within a run, in every process of
    the same polars version, which is all that grouping battles by cluster needs (the bootstrap's
    weights, which must be the same on every machine and version, use
    :func:`~metaeval.stats.resampling.stable_keys` instead). A feature is a column name or
    a polars expression of the columns (e.g. a normalised, standardised difference)."""
    enum = pl.Enum(list(order))
    seen: set[tuple[Any, ...]] = set()  # with ``dedupe``: the keys met so far, as in reduce()
    for f in sc.files:
        lf = sc._lazy(f)
        sc._columns(f, lf)
        names = lf.collect_schema().names()
        missing = [c for feat in features for c in _feature_roots(feat) if c not in names]
        if missing:
            raise ImportFormatError(f"{f.name} has no feature column `{missing[0]}`", path=str(f), field=missing[0])
        for chunk in _batches(lf, sc.chunk_rows):
            sc._validate(f, chunk)
            if sc.dedupe:
                chunk, _ = _dedupe(sc, chunk, seen)
            x = np.empty((chunk.height, len(features)))
            for j, feat in enumerate(features):
                raw = chunk.select(feat.alias("__f") if isinstance(feat, pl.Expr) else pl.col(feat)).to_series()
                col = raw.cast(pl.Float64, strict=False)
                bad = col.is_null() | ~col.is_finite()
                if bad.any():
                    i = int(bad.arg_max())
                    roots = _feature_roots(feat)
                    c = next((r for r in roots if chunk[r].cast(pl.Float64, strict=False).is_null()[i]), roots[0])
                    raise ImportFormatError(f"{f.name} row {int(chunk['__row'][i])}, column `{c}`: expected a finite "
                                            f"number; got {chunk[c][i]!r}", path=str(f), line=int(chunk["__row"][i]),
                                            field=c)
                x[:, j] = col.to_numpy()
            ia = chunk[sc.model_a].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            ib = chunk[sc.model_b].cast(pl.String).cast(enum).to_physical().to_numpy().astype(np.int64)
            oc = chunk[sc.winner].cast(pl.String).replace_strict(_WINNER, return_dtype=pl.Int64).to_numpy()
            keys = chunk[sc.cluster].cast(pl.String).hash(seed=0).to_numpy() if sc.cluster else None
            yield ia, ib, oc, x, keys


@validate_params({
    "prior": [Interval(Real, 0, None, closed="left")],
    "partitions": [Interval(Integral, 1, None, closed="left"), None],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither")],
})
def covariates_scan(sc: BattleScan, features: Sequence[str | pl.Expr], *, models: Sequence[str] | None = None,
                    prior: float = 0.0, partitions: int | None = None, max_iter: int = 100,
                    tol: float = 1e-10, spill: str | Path | None = None, engine: str = "local",
                    address: str | None = None, tasks: int | None = None) -> Any:
    """Bradley–Terry with per-battle covariates (style and length control) fitted out of core.

    logit P(a ≻ b) = θ_a − θ_b + β · x, ties as ½, with ``x`` the battle's ``features`` (column
    names, or polars expressions of the columns: e.g. the difference in answer length, in
    markdown headers…). The same damped Newton iterations as
    :func:`metaeval.rankers.covariates.bt_covariates_battles`; gradient, information and
    log-likelihood are sums over battles, so the fit equals the in-memory one to summation order.

    One streamed pass reads, validates and codes the logs into a compact binary copy in a
    temporary folder (``spill``: where; 17 + 8 × features bytes per battle, removed at the end);
    every Newton step and, with ``cluster=`` in :func:`scan`, every bucket of the cluster-robust
    sandwich (``partitions``; by default one per 4 M battles) is a read of that copy, which costs
    the arithmetic, not the parsing. Memory: one chunk, or one bucket's battles for the sandwich.

    ``engine="ray"`` splits the files into ``tasks`` groups (default: one per CPU of the cluster),
    each coded once by a Ray actor on its node; every Newton step sums the actors' partial sums
    on the driver, and every bucket of the sandwich merges their clusters' scores by key (a
    cluster may span files). The result equals the local run to summation order (relative
    differences of about 1e-12 in θ and β, 1e-10 in the sandwich). Deduplication needs one
    process and is refused on Ray, as in :meth:`BattleScan.reduce`.

    Returns a :class:`~metaeval.rankers.covariates.BTCovariatesFit` (``theta`` in the order of
    the sorted model names, also returned as the second element).

    Parameters
    ----------
    sc : BattleScan
        The battle logs, read lazily (:func:`scan`); with ``cluster=``, the cluster-robust sandwich.
    features : sequence of str or polars.Expr
        The covariates: column names or polars expressions of the columns (at least one).
    models : sequence of str or None, default None
        The models (sorted here); None: the names found in the logs.
    prior : float, default 0.0
        A ridge penalty on the strengths and coefficients; must not be negative.
    partitions : int or None, default None
        Buckets of clusters for the sandwich; None: one per 4 M battles.
    max_iter : int, default 100
        The most Newton steps.
    tol : float, default 1e-10
        The convergence tolerance of the Newton iterations.
    spill : str, Path or None, default None
        The folder of the temporary coded copy; None: the system's temporary folder.
    engine : str, default "local"
        ``"local"`` or ``"ray"``.
    address : str or None, default None
        The Ray cluster's address (with ``engine="ray"``).
    tasks : int or None, default None
        File groups on Ray; None: one per CPU of the cluster.

    Returns
    -------
    tuple of (BTCovariatesFit, tuple of str)
        The fit and the sorted model names, the order of its ``theta``.

    Examples
    --------
    >>> from metaeval import datasets
    >>> sc = scan(datasets.path("arena_battles.parquet"), cluster="question_id", category="category")
    >>> import polars as pl
    >>> log_length_ratio = pl.col("len_a").log() - pl.col("len_b").log()
    >>> fit, models = covariates_scan(sc, [log_length_ratio])
    >>> round(float(fit.beta[0]), 2), round(float(fit.beta_se[0]), 2)   # log-odds per unit of log length ratio
    (1.39, 0.21)
    """
    import contextlib
    from dataclasses import replace

    check_engine(engine)
    if not features:
        raise MetaevalError("give at least one feature column")
    if prior < 0:
        raise ParameterError(f"`prior` must not be negative; got {prior}")
    if engine == "ray" and sc.dedupe:
        raise MetaevalError("deduplication across files needs one pass in one process: use engine='local' "
                            "(or deduplicate when the files are written)")
    order = tuple(sorted(models)) if models is not None else _model_names(sc)
    m, p = len(order), len(features)
    k = m + p
    gauge = np.zeros(k)
    gauge[:m] = 1.0
    pen = prior * np.eye(k) + np.outer(gauge, gauge)
    keys = sc.cluster is not None
    folder = None if spill is None else str(spill)
    with contextlib.ExitStack() as stack:
        if engine == "ray":
            ray = stack.enter_context(ray_session(address))
            n_tasks = tasks or max(1, int(ray.available_resources().get("CPU", 1)))
            groups = [sc.files[i::n_tasks] for i in range(min(n_tasks, len(sc.files)))]
            actor = ray.remote(_CodedPart)
            parts = [actor.remote(replace(sc, files=tuple(g)), order, list(features), keys, folder) for g in groups]
            stack.callback(lambda: ray.get([a.close.remote() for a in parts]))
            n = int(sum(_ray_get(ray, [a.n.remote() for a in parts])))

            def sums(par: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
                got = _ray_get(ray, [a.sums.remote(par, m) for a in parts])  # in the actors' order
                return (sum(g[0] for g in got), sum(g[1] for g in got), sum(g[2] for g in got))

            def scores(params: np.ndarray, buckets: int, bucket: int) -> list[Any]:
                return list(_ray_get(ray, [a.scores.remote(params, m, buckets, bucket) for a in parts]))
        else:
            coded = stack.enter_context(_Coded(sc, order, features, keys=keys, folder=folder))
            n = coded.n

            def sums(par: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
                return _design_sums(coded, par, m)

            def scores(params: np.ndarray, buckets: int, bucket: int) -> list[Any]:
                return [_bucket_scores(coded, params, m, buckets, bucket)]
        if n == 0:
            raise InsufficientDataError("the battle logs hold no battles")

        def evaluate(par: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            ll, grad, info = sums(par)
            return ll - 0.5 * par @ pen @ par, grad - pen @ par, info + pen

        # one read of the coded battles gives the objective, gradient and information together:
        # the "linear predictor" the shared damped Newton carries from step to step
        params, state, obj, n_iter = damped_newton(
            np.zeros(k), evaluate, lambda st, par: st[0], lambda st, par: st[1], lambda st, par: st[2],
            tol=tol, scale=float(n), max_iter=max_iter, what="the streamed Bradley–Terry fit with covariates")
        info = state[2]
        info_model = info - pen + prior * np.eye(k)
        bread = constrained_covariance(info_model, m)
        robust, n_cl = None, 0
        if sc.cluster:
            buckets = _auto_partitions(partitions, n)
            meat = np.zeros((k, k))
            for bucket in range(buckets):
                part, nc = _meat_of(scores(params, buckets, bucket), m, p)
                meat += part
                n_cl += nc
            robust = n_cl / max(n_cl - 1, 1) * bread @ meat @ bread
    theta = params[:m] - params[:m].mean()
    return BTCovariatesFit(theta, params[m:], bread, n_iter, obj, robust, n_cl, False), order
