"""A probe study: read the items, build every request (each probe's perturbation, both orders
of a pair), judge them with the single-process runner (:mod:`.runner`) or on Ray
(:mod:`.distributed`), and turn the answers into a verdict table (:class:`ProbeRun`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval._files import check_file, decode_utf8
from metaeval._random import as_generator
from metaeval._validate import Interval, Options, validate_params
from metaeval.errors import ImportFormatError, MetaevalError, ParameterError
from metaeval.probes.cache import Cache
from metaeval.probes.distributed import run_judge_ray
from metaeval.probes.judges import Judge, Request, render_pair, render_score
from metaeval.probes.perturb import PERTURBATIONS, Perturbation, check_item, get
from metaeval.probes.runner import REASONS, Retry, run_judge
from metaeval.tables import Judgments

__all__ = ["ProbeRun", "build", "collect", "read_items"]


# ----------------------------------------------------------------------- items
def read_items(source: str | Path | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Items from a JSON-lines file (one object per line) or an iterable of mappings.

    A bad file is one :class:`~metaeval.errors.ImportFormatError` naming the file and line: not a
    file, not UTF-8, a line that is not a JSON object, or an item without the fields it needs.

    Parameters
    ----------
    source : str, pathlib.Path or iterable of mappings
        A JSON-lines file of items (``id``, ``prompt`` and ``response_a`` / ``response_b`` or
        ``response``; see :func:`metaeval.probes.run`), or the items themselves (copied as they
        are; :func:`collect` checks them).

    Returns
    -------
    list of dict
        The items, in file order.

    Raises
    ------
    ImportFormatError
        For a bad file, naming the file and line.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "items.jsonl")
    >>> _ = open(path, "w").write('{"id": "1", "prompt": "hi", "response": "hello"}\\n{"id": "2"}\\n')
    >>> read_items(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    metaeval.errors.ImportFormatError: ...items.jsonl, line 2: item 1 has no `prompt`; every item needs `id` and ...
    """
    if isinstance(source, (str, Path)):
        path = check_file(source)
        text = decode_utf8(path.read_bytes(), path)
        items = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFormatError(f"not valid JSON ({exc.msg}, column {exc.colno})", path=str(path),
                                        line=n) from None
            except RecursionError:
                raise ImportFormatError("the line nests its values too deeply to be an item", path=str(path),
                                        line=n) from None
            try:
                check_item(obj, len(items))
            except MetaevalError as exc:
                raise ImportFormatError(str(exc), path=str(path), line=n) from None
            items.append(obj)
        if not items:
            raise ImportFormatError("the file holds no items", path=str(path))
        return items
    return [dict(x) for x in source]


# ---------------------------------------------------------------------- requests
@dataclass(frozen=True)
class _Cell:
    """One judged input: which item, probe and order, and which requests it needs."""

    item: str
    probe: str
    mode: str
    order: str  # "a" (a / original shown first), "b", or "-" for scores
    pair: tuple[str, str]  # what the two sides are (model names, or original / perturbed)
    request: int


def _texts(item: Mapping[str, Any], mode: str) -> tuple[str, str | None]:
    if mode == "pairwise":
        return str(item["response_a"]), str(item["response_b"])
    return str(item.get("response") or item.get("response_a")), None


def _options(item: Mapping[str, Any], shuffled: bool, rng: np.random.Generator) -> list[str] | None:
    opts = item.get("options")
    if not opts:
        return None
    opts = [str(o) for o in opts]
    if not shuffled:
        return opts
    order = rng.permutation(len(opts))
    if np.all(order == np.arange(len(opts))):
        order = order[::-1]
    return [opts[int(i)] for i in order]


def build(items: Sequence[Mapping[str, Any]], probes: Sequence[Perturbation], *, mode: str | None,
          scale: tuple[int, int], seed: int) -> tuple[list[Request], list[_Cell], dict[str, int]]:
    """Every request the probes need, and the cells that read them. Pairwise cells come in both
    orders; a perturbation that does not apply to an item is counted in ``skipped``."""
    requests: list[Request] = []
    cells: list[_Cell] = []
    skipped: dict[str, int] = {}

    def pair(it: Mapping[str, Any], probe: str, first: str, second: str, order: str, sides: tuple[str, str], *,
             labels: tuple[str, str] = ("A", "B"), names: tuple[str, str] | None = None,
             options: list[str] | None = None, rep: int = 0) -> None:
        text = render_pair(str(it["prompt"]), first, second, labels, names, options)
        requests.append(Request("pair", text, (first, second), str(it["prompt"]), labels, it.get("reference"),
                                rep=rep, group=f"{it['id']}\x1f{probe}"))
        cells.append(_Cell(str(it["id"]), probe, "pairwise", order, sides, len(requests) - 1))

    def score(it: Mapping[str, Any], probe: str, text: str, side: str, *, options: list[str] | None = None,
              rep: int = 0) -> None:
        rendered = render_score(str(it["prompt"]), text, scale, options)
        requests.append(Request("score", rendered, (text,), str(it["prompt"]), reference=it.get("reference"),
                                scale=scale, rep=rep))
        cells.append(_Cell(str(it["id"]), probe, "pointwise", "-", (side, side), len(requests) - 1))

    seen: set[str] = set()
    for n, it in enumerate(items):
        item_mode = check_item(it, n)
        if str(it["id"]) in seen:
            raise MetaevalError(f"item {n}: the id {it['id']!r} is used twice")
        seen.add(str(it["id"]))
        m = mode or item_mode
        rng = np.random.default_rng([seed, n])
        opts = _options(it, False, rng)
        a_text, b_text = _texts(it, "pairwise" if item_mode == "pairwise" else "pointwise")
        names = (str(it.get("model_a", "response_a")), str(it.get("model_b", "response_b")))
        if m == "pairwise" and b_text is not None:
            pair(it, "original", a_text, b_text, "a", names, options=opts)
            pair(it, "original", b_text, a_text, "b", names, options=opts)
        elif m == "pointwise":
            score(it, "original", a_text, "original", options=opts)
        for p in probes:
            if m not in p.modes and not (p.expect == "worse" or p.presentation == "repeat"):
                continue
            prng = np.random.default_rng([seed, n, list(PERTURBATIONS).index(p.name) if p.name in PERTURBATIONS
                                          else abs(hash(p.name)) % 10_000])
            if p.expect == "worse" and p.apply is not None:
                worse = p.apply(a_text, dict(it), prng)
                if worse is None or worse == a_text:
                    skipped[p.name] = skipped.get(p.name, 0) + 1
                    continue
                if m == "pairwise":
                    pair(it, p.name, a_text, worse, "a", ("original", "perturbed"), options=opts)
                    pair(it, p.name, worse, a_text, "b", ("original", "perturbed"), options=opts)
                else:
                    score(it, p.name, worse, "perturbed", options=opts)
                continue
            if m == "pointwise":
                if p.presentation == "repeat":
                    score(it, p.name, a_text, "original", options=opts, rep=1)
                elif p.presentation == "options":
                    if not opts:
                        skipped[p.name] = skipped.get(p.name, 0) + 1
                        continue
                    score(it, p.name, a_text, "original", options=_options(it, True, prng))
                elif p.apply is not None:
                    new = p.apply(a_text, dict(it), prng)
                    if new is None or new == a_text:
                        skipped[p.name] = skipped.get(p.name, 0) + 1
                        continue
                    score(it, p.name, new, "perturbed", options=opts)
                continue
            if b_text is None:  # a single response judged pairwise: only quality drops apply
                skipped[p.name] = skipped.get(p.name, 0) + 1
                continue
            if p.presentation == "repeat":
                pair(it, p.name, a_text, b_text, "a", names, options=opts, rep=1)
                pair(it, p.name, b_text, a_text, "b", names, options=opts, rep=1)
            elif p.presentation == "swap":
                continue  # read from the two orders of the original
            elif p.presentation == "labels":
                pair(it, p.name, a_text, b_text, "a", names, labels=("1", "2"), options=opts)
                pair(it, p.name, b_text, a_text, "b", names, labels=("1", "2"), options=opts)
            elif p.presentation == "identity":
                if "model_a" not in it or "model_b" not in it:
                    skipped[p.name] = skipped.get(p.name, 0) + 1
                    continue
                pair(it, p.name, a_text, b_text, "a", names, names=names, options=opts)
                pair(it, p.name, b_text, a_text, "b", names, names=names[::-1], options=opts)
            elif p.presentation == "options":
                if not opts:
                    skipped[p.name] = skipped.get(p.name, 0) + 1
                    continue
                shuffled = _options(it, True, prng)
                pair(it, p.name, a_text, b_text, "a", names, options=shuffled)
                pair(it, p.name, b_text, a_text, "b", names, options=shuffled)
            elif p.apply is not None:  # an invariant change to response b
                new = p.apply(b_text, dict(it), prng)
                if new is None or new == b_text:
                    skipped[p.name] = skipped.get(p.name, 0) + 1
                    continue
                pair(it, p.name, a_text, new, "a", names, options=opts)
                pair(it, p.name, new, a_text, "b", names, options=opts)
    return requests, cells, skipped


# ------------------------------------------------------------------------ output
@dataclass(frozen=True)
class ProbeRun:
    """The judged cells as a tidy frame (one row per cell: item, probe, mode, order, the judge's
    number and the verdict; ``abstained`` — why a cell has no verdict, one of :data:`REASONS`,
    null for a verdict — and ``detail``), the items each probe skipped, and the run's settings.
    A cell without a verdict has ``value``/``p_a`` nan and ``outcome`` null: it is never a tie."""

    cells: pl.DataFrame
    skipped: dict[str, int]
    judge: str
    probes: tuple[str, ...]
    seed: int | None
    n_requests: int
    n_calls: int = 0

    def abstentions(self) -> pl.DataFrame:
        """How many cells have no verdict, per probe, mode and reason, with the first detail."""
        f = self.cells.filter(pl.col("abstained").is_not_null())
        g = f.group_by("probe", "mode", "abstained", maintain_order=True).agg(
            pl.len().alias("n"), pl.col("detail").first().alias("example")).rename({"abstained": "reason"})
        probe_rank = {p: i for i, p in enumerate(("original", *self.probes))}
        return g.sort(pl.col("mode"), pl.col("probe").replace_strict(probe_rank, default=len(probe_rank),
                                                                     return_dtype=pl.Int64),
                      pl.col("reason").replace_strict({r: i for i, r in enumerate(REASONS)}, return_dtype=pl.Int64),
                      maintain_order=True)

    def judgments(self) -> Judgments:
        """The verdicts as a metaeval table: ``variant`` = probe, ``shown_first`` = order; pairs are
        (model_a, model_b) as named in the items, or (original, perturbed) for quality drops. A cell
        without a verdict is an abstention row (``missing_reason`` says why)."""
        f = self.cells.with_columns(pl.when(pl.col("abstained").is_not_null())
                                    .then(pl.col("abstained") + ": " + pl.col("detail").fill_null(""))
                                    .otherwise(None).alias("missing_reason"))
        rows = []
        pw = f.filter(pl.col("mode") == "pairwise")
        if pw.height:
            rows.append(pw.select(
                "item", pl.lit(self.judge).alias("judge"), pl.col("side_a").alias("model_a"),
                pl.col("side_b").alias("model_b"), "outcome", pl.col("p_a").fill_nan(None),
                pl.col("order").alias("shown_first"), pl.col("probe").alias("variant"), "missing_reason"))
        pt = f.filter(pl.col("mode") == "pointwise")
        if pt.height:
            if pw.height:
                raise MetaevalError("a run with pairwise and pointwise cells gives two tables; call "
                                    "`judgments_by_mode()`")
            rows.append(pt.select("item", pl.lit(self.judge).alias("judge"), pl.col("side_a").alias("model"),
                                  pl.col("value").fill_nan(None).alias("score"), pl.col("probe").alias("variant"),
                                  "missing_reason"))
        if not rows:
            raise MetaevalError("the run judged nothing")
        frame = rows[0]
        if frame["missing_reason"].null_count() == frame.height:
            frame = frame.drop("missing_reason")
        kind = "pairwise" if pw.height else "pointwise"
        return Judgments(frame, kind=kind, provenance={"format": "metaeval.probes", "judge": self.judge,
                                                       "probes": list(self.probes), "seed": self.seed})


@validate_params({
    "mode": [Options(str, ("pairwise", "pointwise")), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "rng": ["rng"],
    "progress": ["boolean", None],
    "engine": [Options(str, ("local", "ray"))],
    "workers": [Interval(Integral, 1, None, closed="left"), None],
})
def collect(items: Sequence[Mapping[str, Any]], judge: Judge, probes: Sequence[str | Perturbation] | None = None, *,
            mode: str | None = None, scale: tuple[int, int] = (1, 5), cache: str | Path | None = None,
            batch_size: int | None = None, rng: Any = 0, progress: bool | None = None,
            retry: Retry | None = None, engine: str = "local", workers: int | None = None,
            address: str | None = None) -> ProbeRun:
    """Judge the originals and every perturbed input; return the cells (see :func:`run`).

    Parameters
    ----------
    items : sequence of mappings
        The items, as :func:`read_items` returns them.
    judge : Judge
        The judge.
    probes : sequence of str or Perturbation, optional
        Probe names (default: all); the plain repeat (the noise floor) is always added.
    mode : {"pairwise", "pointwise"}, optional
        How every item is judged. Default: from each item.
    scale : tuple of (int, int), default (1, 5)
        The range a pointwise judge scores in; an answer outside it is an abstention.
    cache : str or pathlib.Path, optional
        A folder (or ``.jsonl`` file) that stores the verdicts as they come.
    batch_size : int, optional
        Requests per judge call.
    rng : int, numpy.random.Generator or None, default 0
        Seeds the perturbations and the retries' jitter.
    progress : bool, optional
        Show a progress display: ``None`` where someone watches, ``False`` never.
    retry : Retry, optional
        How failed requests are retried.
    engine : {"local", "ray"}, default "local"
        ``"ray"`` shards the requests over ``workers`` Ray actors (at ``address``).
    workers : int, optional
        Ray actors.
    address : str, optional
        The Ray cluster to join.

    Returns
    -------
    ProbeRun
        One row per judged cell (item, probe, mode, order, the judge's number and verdict,
        and why a cell has none), the items each probe skipped, and the run's settings.

    Examples
    --------
    >>> from metaeval import probes
    >>> items = [{"id": str(i), "prompt": "Name a prime.", "response_a": f"{2 * i + 3} is prime.",
    ...           "response_b": "Seven is a prime number."} for i in range(5)]
    >>> cells = collect(items, probes.CallableJudge(lambda r: 0.9, name="first-slot"), ["order_swap"],
    ...                 progress=False)
    >>> cells.probes, cells.cells.height
    (('repeat', 'order_swap'), 20)
    """
    gen, seed = as_generator(rng)
    seed = seed if seed is not None else int(gen.integers(2**31))
    names = list(probes) if probes is not None else list(PERTURBATIONS)
    plist = [get(p) for p in names]
    if "repeat" not in [p.name for p in plist]:
        plist.insert(0, PERTURBATIONS["repeat"])
    if mode not in (None, "pairwise", "pointwise"):
        raise ParameterError(f"`mode` must be 'pairwise', 'pointwise' or None (from the items); got {mode!r}")
    if not items:
        raise MetaevalError("no items to probe")
    requests, cells, skipped = build(items, plist, mode=mode, scale=scale, seed=seed)
    if engine == "ray":
        answers = run_judge_ray(judge, requests, cache=Cache(cache), batch_size=batch_size, workers=workers,
                                address=address, retry=retry, show=progress)
    else:
        answers = run_judge(judge, requests, cache=Cache(cache), batch_size=batch_size, show=progress, retry=retry,
                            rng=seed)
    v = np.array([answers.values[c.request] for c in cells], dtype=float)
    why = [answers.reason[c.request] for c in cells]
    detail = [answers.detail[c.request] for c in cells]
    order = [c.order for c in cells]
    # P(the response on side a wins): the judge answers for the response shown first
    p_a = np.where(np.array(order) == "b", 1 - v, v)
    is_pair = np.array([c.mode == "pairwise" for c in cells])
    valid = np.isfinite(v)  # an abstention (nan) is never a verdict, and never a tie
    outcome = np.where(~is_pair | ~valid, None, np.where(p_a > 0.5, "a", np.where(p_a < 0.5, "b", "tie")))
    frame = pl.DataFrame({
        "item": [c.item for c in cells], "probe": [c.probe for c in cells], "mode": [c.mode for c in cells],
        "order": order, "side_a": [c.pair[0] for c in cells], "side_b": [c.pair[1] for c in cells],
        "value": v, "p_a": np.where(is_pair, p_a, np.nan), "outcome": outcome.tolist(),
        "abstained": why, "detail": detail,
    }, schema_overrides={"outcome": pl.String, "abstained": pl.String, "detail": pl.String}, strict=False)
    return ProbeRun(frame, skipped, judge.name, tuple(p.name for p in plist), seed, len(requests), answers.n_calls)
