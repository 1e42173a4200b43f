"""Panels of judges against a reference: every panel's agreement (with bootstrap intervals over
items), cost, family diversity and how alike its members think; the cost–agreement frontier;
and the choice of a judge or jury."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval._format import table_text
from metaeval._progress import progress
from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.juries import _kernels as kern
from metaeval.juries._data import Value, Verdicts, as_categories, reference_members, verdicts
from metaeval.report.charts import cost_frontier
from metaeval.results import Result, RunInfo
from metaeval.stats.paired import mcnemar_test
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, bootstrap_pvalue, cluster_weights, percentile_interval
from metaeval.tables import Judgments, as_judgments

__all__ = ["JurySelection", "PanelTable", "evaluate_panels", "pareto_front", "select"]

Search = Literal["auto", "exhaustive", "beam"]
Weighting = Literal["accuracy", "log_odds"]
HIGHER_IS_BETTER = {"accuracy": True, "cohen_kappa": True, "krippendorff_alpha": True, "pearson": True,
                    "mae": False}
_BLOCK = 96  # panels pooled at once (bounds memory: block × units verdicts)


# ------------------------------------------------------------------------- helpers
@validate_params({"cost": ["array-like"], "score": ["array-like"]})
def pareto_front(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Mask of the points no other point beats on both cost (lower) and score (higher).

    Parameters
    ----------
    cost : numpy.ndarray
        Cost of each point (lower is better).
    score : numpy.ndarray
        Score of each point (higher is better).

    Returns
    -------
    numpy.ndarray
        Boolean mask, True for the points on the Pareto front.

    Examples
    --------
    >>> pareto_front(np.array([1.0, 2.0, 3.0, 2.5]), np.array([0.6, 0.7, 0.65, 0.8])).tolist()
    [True, True, False, True]
    """
    cost, score = np.asarray(cost, float), np.asarray(score, float)
    ok = np.isfinite(cost) & np.isfinite(score)
    order = np.lexsort((-score, cost))
    mask = np.zeros(cost.size, dtype=bool)
    best = -np.inf
    for i in order:
        if ok[i] and score[i] > best:
            mask[i] = True
            best = score[i]
    return mask


def _name(members: Sequence[str]) -> str:
    return " + ".join(members)


def check_rule(rule: str, tie: str) -> None:
    """A clear error for an unknown pooling rule or tie rule."""
    if rule not in ("majority", "weighted", "probability", "mean", "median"):
        raise ParameterError(f"`rule` must be 'majority', 'weighted', 'probability', 'mean' or 'median'; got {rule!r}")
    if tie not in ("tie", "chair", "random"):
        raise ParameterError(f"`tie` must be 'tie', 'chair' or 'random'; got {tie!r}")


def prepare(judgments: Judgments, reference: str, *, judges: Sequence[str] | None, rule: str, value: Value,
            cost: str | Mapping[str, float] | None, price: Mapping[str, float] | None, tokens: str,
            families: Mapping[str, str] | Callable[[str], str | None] | None, missing: str = "wrong") -> Verdicts:
    v = verdicts(judgments, reference, judges=judges, value=value, cost=cost, price=price, tokens=tokens,
                 families=families, missing=missing)
    if rule in ("majority", "weighted"):
        v = as_categories(v)
    elif rule in ("mean", "median") and not v.numeric:
        raise MetaevalError(f"`rule={rule!r}` needs numeric scores; this table has "
                            f"{'pairwise outcomes' if v.kind == 'pairwise' else 'labels'} — use 'majority'"
                            + (" or 'probability'" if v.kind == "pairwise" else ""))
    elif rule == "probability" and v.kind != "pairwise":
        raise MetaevalError("`rule='probability'` averages P(a preferred) and needs a pairwise table")
    return v


def by_agreement(v: Verdicts) -> list[int]:
    """Judges from the most to the least agreeing with the reference (the chair comes first)."""
    if v.numeric:
        score = -np.mean(np.abs(v.values - v.reference[:, None]), axis=0)
    else:
        score = np.mean(v.values == v.reference[:, None], axis=0)
    return sorted(range(len(v.judges)), key=lambda i: (-score[i], v.judges[i]))


def vote_weights(v: Verdicts, weighting: Weighting) -> np.ndarray:
    """Each judge's vote weight from its agreement with the reference on ``v`` (add-½ smoothing):
    its accuracy (PRE) or the log-odds weight log((q − 1) p / (1 − p)), optimal for conditionally
    independent judges (Nitzan & Paroush 1982), floored at 0."""
    agree = (v.values == v.reference[:, None]).sum(0)
    p = (agree + 0.5) / (v.n_units + 1.0)
    if weighting == "accuracy":
        return p
    if weighting == "log_odds":
        q = max(int(np.unique(np.concatenate([v.values.ravel(), v.reference])).size), 2)
        return np.maximum(np.log((q - 1) * p / (1 - p)), 0.0)
    raise ParameterError(f"`weighting` must be 'accuracy' or 'log_odds'; got {weighting!r}")


@dataclass
class _Scored:
    point: dict[str, np.ndarray]
    boot: dict[str, np.ndarray] | None
    decided_by: np.ndarray  # per panel: the member whose verdicts the panel always repeats, else -1


def score_panels(v: Verdicts, panels: Sequence[tuple[int, ...]], *, rule: str, tie: str,
                 weights: np.ndarray | None, resample_weights: np.ndarray | None, rng: np.random.Generator,
                 show: bool | None = False) -> _Scored:
    """Point estimates (and resampled values) of every metric for every panel."""
    idx = kern.panel_index(panels)
    numeric = v.numeric
    q = v.n_categories
    tie_code = 2 if v.kind == "pairwise" else None
    ref_stats = (kern.numeric_reference_stats(v.reference, v.starts) if numeric
                 else kern.reference_stats(v.reference, v.starts, q))
    combine = kern.numeric_metrics if numeric else kern.categorical_metrics
    names = kern.NUMERIC_METRICS if numeric else kern.CATEGORICAL_METRICS
    point = {m: np.empty(len(panels)) for m in names}
    boot = None if resample_weights is None else {m: np.empty((resample_weights.shape[0], len(panels)))
                                                  for m in names}
    ones = np.ones((1, v.n_items))
    decided = np.full(len(panels), -1)
    with progress(show) as bar:
        task = bar.add_task("scoring panels", total=len(panels))
        for lo in range(0, len(panels), _BLOCK):
            block = idx[lo:lo + _BLOCK]
            pooled = kern.pool(v.values, block, rule, n_categories=q, tie=tie, tie_code=tie_code,  # type: ignore[arg-type]
                            weights=weights, prob=v.prob, rng=rng)
            stats = (kern.numeric_stats(pooled, v.reference, v.starts) if numeric
                     else kern.categorical_stats(pooled, v.reference, v.starts, q))
            if not numeric:
                dec = decided[lo:lo + len(block)]
                for m in range(block.shape[1]):
                    ok = block[:, m] >= 0
                    same = np.zeros(len(block), dtype=bool)
                    same[ok] = np.all(pooled[ok] == v.values[:, block[ok, m]].T, axis=1)
                    dec[(dec < 0) & same] = block[(dec < 0) & same, m]
            tot, ref_tot = kern.weigh(ones, stats, ref_stats)
            for m, arr in combine(tot, ref_tot).items():
                point[m][lo:lo + len(block)] = arr[0]
            if boot is not None and resample_weights is not None:
                tot, ref_tot = kern.weigh(resample_weights, stats, ref_stats)
                for m, arr in combine(tot, ref_tot).items():
                    boot[m][:, lo:lo + len(block)] = arr
            bar.advance(task, len(block))
    return _Scored(point, boot, decided)


def _exhaustive(n_judges: int, max_size: int) -> list[tuple[int, ...]]:
    return [c for s in range(1, max_size + 1) for c in itertools.combinations(range(n_judges), s)]


def _n_panels(n_judges: int, max_size: int) -> int:
    return sum(math.comb(n_judges, s) for s in range(1, max_size + 1))


def _beam(v: Verdicts, max_size: int, beam: int, metric: str, *, rule: str, tie: str, weights: np.ndarray | None,
          rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Greedy beam search: keep the ``beam`` best panels of each size and grow them by one judge."""
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    singles = [(j,) for j in range(len(v.judges))]
    kept = list(singles)
    frontier = singles
    for _ in range(2, max_size + 1):
        grown = sorted({tuple(sorted((*p, j))) for p in frontier for j in range(len(v.judges)) if j not in p})
        if not grown:
            break
        s = score_panels(v, grown, rule=rule, tie=tie, weights=weights, resample_weights=None, rng=rng)
        val = np.nan_to_num(sign * s.point[metric], nan=-np.inf)
        top = np.argsort(-val, kind="stable")[:beam]
        frontier = [grown[i] for i in top]
        kept += frontier
    return kept


def similarity_matrix(v: Verdicts) -> np.ndarray:
    """How alike the judges think: CAPA (chance-adjusted probabilistic agreement, Goel et al.
    2025) of their verdicts against the reference for categories; for scores, the correlation
    of their errors (score − reference)."""
    x = v.values
    if v.numeric:
        err = x - v.reference[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.corrcoef(err, rowvar=False)
    q = max(int(np.unique(np.concatenate([x.ravel(), v.reference])).size), 2)
    k = x.shape[1]
    out = np.eye(k)
    values = kern.capa_pairs(x, v.reference, v.starts, q, np.ones((1, v.n_items)))[0]
    for (a, b), val in zip(itertools.combinations(range(k), 2), values, strict=True):
        out[a, b] = out[b, a] = val
    return out


# -------------------------------------------------------------------------- results
METRIC_NAMES = {"accuracy": "accuracy", "cohen_kappa": "Cohen's κ", "krippendorff_alpha": "Krippendorff's α",
                "pearson": "Pearson r", "mae": "mean absolute error"}


def _chart(panels: PanelTable, title: str, picks: Mapping[str, str] | None = None) -> Any:
    """Agreement against cost for every panel (see :func:`metaeval.report.charts.cost_frontier`)."""
    m = panels.metric
    level = panels.run_info.params.get("confidence_level", 0.95)
    if panels.cost_source.startswith("verdicts"):
        x_title = "cost: verdicts per unit (the panel's size; the table has no cost column)"
    else:
        x_title = f"cost per unit: {panels.cost_source}, summed over the members"
    better = "higher" if HIGHER_IS_BETTER[m] else "lower"
    subtitle = [f"{level:.0%} bootstrap intervals over items ({better} is better); the frontier: panels that no "
                "cheaper panel beats"]
    tips = [c for c in ("size", "n_families", "similarity", "decided_by") if c in panels.table.columns]
    return cost_frontier(panels.table, label="panel", cost="cost", score=m, low=f"{m}_ci_low", high=f"{m}_ci_high",
                         on_frontier="on_frontier", x_title=x_title,
                         y_title=f"{METRIC_NAMES.get(m, m)} against {panels.reference}", title=title,
                         subtitle=subtitle, picks=picks, higher_is_better=HIGHER_IS_BETTER[m], tooltip=tips)


@dataclass(frozen=True)
class PanelTable(Result):
    """Every panel scored against the reference: one row per panel with each metric and its
    interval, cost, family diversity, member similarity, and whether it is on the cost–agreement
    frontier."""

    table: pl.DataFrame
    metric: str
    reference: str
    similarity: pl.DataFrame
    notes: tuple[str, ...]
    run_info: RunInfo
    title: str = "panels of judges against the reference"
    cost_source: str = "cost"

    def chart(self) -> Any:
        """Agreement against cost for every panel, with intervals; the frontier panels labelled."""
        return _chart(self, f"Panels of judges: {METRIC_NAMES.get(self.metric, self.metric)} against cost")

    def compact(self) -> pl.DataFrame:
        """The table without the member lists and with the other metrics' intervals left out."""
        m = self.metric
        others = [c for c in (*kern.CATEGORICAL_METRICS, *kern.NUMERIC_METRICS) if c in self.table.columns and c != m]
        keep = ["panel", "size", m, f"{m}_ci_low", f"{m}_ci_high", *dict.fromkeys(others), "cost", "n_families",
                "similarity", "alike", "decided_by", "on_frontier"]
        return self.table.select([c for c in keep if c in self.table.columns])

    def summary(self) -> str:
        text = table_text(self.compact(), title=self.title)
        return text + ("\n" + "\n".join(f"note: {n}" for n in self.notes) if self.notes else "")


@dataclass(frozen=True)
class JurySelection(Result):
    """The recommended judge or panel, the cheapest one not significantly worse, the
    cost–agreement frontier, and the paired test of the best panel against the best single judge.

    ``test`` holds ``panel``, ``single``, ``difference``, ``ci_low``, ``ci_high``, ``pvalue``,
    ``method``, ``significant`` and ``holdout`` (whether the test used items the choice did not).
    """

    recommended: str
    members: tuple[str, ...]
    frugal: str
    metric: str
    budget: float | None
    frontier: pl.DataFrame
    panels: PanelTable
    test: dict[str, Any]
    notes: tuple[str, ...]
    run_info: RunInfo
    title: str = "judge and jury selection"

    def to_polars(self) -> pl.DataFrame:
        return self.frontier

    def chart(self) -> Any:
        """Agreement against cost for every panel, with intervals; the frontier panels labelled and
        the recommended and frugal picks marked."""
        if self.frugal == self.recommended:
            picks = {self.recommended: "recommended (also the cheapest not significantly worse)"}
        else:
            picks = {self.recommended: "recommended", self.frugal: "cheapest not significantly worse"}
        return _chart(self.panels, f"Judge or jury: {METRIC_NAMES.get(self.metric, self.metric)} against cost"
                      + (f" (budget {self.budget:g})" if self.budget is not None else ""), picks)

    def headline(self) -> str:
        row = self.panels.table.filter(pl.col("panel") == self.recommended).row(0, named=True)
        m = self.metric
        t = self.test
        lines = [f"recommended: {self.recommended} — {m} {row[m]:.3f} [{row[m + '_ci_low']:.3f}, "
                 f"{row[m + '_ci_high']:.3f}], cost {row['cost']:.4g}"
                 + (f" (budget {self.budget:.4g})" if self.budget is not None else "")]
        if self.frugal != self.recommended:
            fr = self.panels.table.filter(pl.col("panel") == self.frugal).row(0, named=True)
            lines.append(f"cheapest not significantly worse: {self.frugal} — {m} {fr[m]:.3f}, cost {fr['cost']:.4g}")
        if t:
            verdict = "better" if t["significant"] and t["difference"] > 0 else (
                "worse" if t["significant"] else "not significantly different")
            lines.append(f"best panel {t['panel']} vs best single judge {t['single']}: difference "
                         f"{t['difference']:+.3f} [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}], p = {t['pvalue']:.3g} "
                         f"({t['method']}{', held-out items' if t['holdout'] else ''}) — {verdict}")
        return "\n".join(lines)

    def summary(self) -> str:
        body = super().summary()
        notes = "\n".join(f"note: {n}" for n in self.notes)
        return f"{self.headline()}\n\n{body}" + (f"\n{notes}" if notes else "")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"recommended": self.recommended, "members": list(self.members), "frugal": self.frugal,
                    "metric": self.metric, "budget": self.budget, "test": self.test, "notes": list(self.notes)})
        return out


# ------------------------------------------------------------------------ public API
def _interval(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along the resamples (axis 0), ignoring resamples where the metric is nan
    (a panel nan on every resample stays nan)."""
    return percentile_interval(boot, level)


def _evaluate(v: Verdicts, *, max_size: int, metric: str, rule: str, tie: str, search: Search, max_panels: int,
              beam: int, weights: np.ndarray | None, alike: float, n_resamples: int, confidence_level: float,
              gen: np.random.Generator, show: bool | None) -> tuple[pl.DataFrame, list[tuple[int, ...]], _Scored,
                                                                     np.ndarray, pl.DataFrame, list[str]]:
    notes: list[str] = []
    n_j = len(v.judges)
    size = min(max_size, n_j)
    total = _n_panels(n_j, size)
    if search == "exhaustive" or (search == "auto" and total <= max_panels):
        panels = _exhaustive(n_j, size)
    elif search in ("auto", "beam"):
        panels = _beam(v, size, beam, metric, rule=rule, tie=tie, weights=weights, rng=gen)
        notes.append(f"{total} panels of up to {size} judges are too many to score all: a beam search kept the "
                     f"{beam} best of each size ({len(panels)} panels scored)")
    else:
        raise ParameterError(f"`search` must be 'auto', 'exhaustive' or 'beam'; got {search!r}")
    W = cluster_weights(v.n_items, n_resamples, gen) if n_resamples > 0 else None
    scored = score_panels(v, panels, rule=rule, tie=tie, weights=weights, resample_weights=W, rng=gen, show=show)
    sim = similarity_matrix(v)
    rows: dict[str, list[Any]] = {"panel": [], "members": [], "size": []}
    for p in panels:
        members = [v.judges[i] for i in p]
        rows["panel"].append(_name(members))
        rows["members"].append(members)
        rows["size"].append(len(p))
    cols: dict[str, Any] = dict(rows)
    for m, est in scored.point.items():
        if scored.boot is None:
            lo = hi = np.full(len(panels), np.nan)
        else:
            lo, hi = _interval(scored.boot[m], confidence_level)
        cols[m], cols[f"{m}_ci_low"], cols[f"{m}_ci_high"] = est, lo, hi
    cost = np.array([float(np.sum(v.unit_cost[list(p)])) for p in panels])
    fams = [len({v.families[i] for i in p}) for p in panels]
    pair_sim = []
    for p in panels:
        vals = [sim[a, b] for a, b in itertools.combinations(p, 2)]
        finite = [x for x in vals if np.isfinite(x)]
        pair_sim.append(max(finite) if finite else np.nan)
    decided_by = [v.judges[d] if d >= 0 and len(p) > 1 else None
                  for d, p in zip(scored.decided_by, panels, strict=True)]
    cols.update({"decided_by": pl.Series(decided_by, dtype=pl.String), "cost": cost, "n_families": fams,
                 "diversity": np.array(fams) / np.array(rows["size"]),
                 "similarity": np.array(pair_sim, dtype=float)})
    table = pl.DataFrame(cols, strict=False).with_columns(
        (pl.col("similarity").fill_nan(None) >= alike).fill_null(False).alias("alike"))
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    table = table.with_columns(pl.Series("on_frontier", pareto_front(cost, sign * scored.point[metric])))
    if np.isnan(scored.point[metric]).any():
        warn(f"{int(np.isnan(scored.point[metric]).sum())} panels have no {metric} (constant verdicts)",
             EstimationWarning)
    sim_rows = [{"judge_a": v.judges[a], "judge_b": v.judges[b], "similarity": float(sim[a, b])}
                for a, b in itertools.combinations(range(n_j), 2)]
    sim_frame = pl.DataFrame(sim_rows, schema={"judge_a": pl.String, "judge_b": pl.String, "similarity": pl.Float64})
    n_alike = int(table.filter(pl.col("size") > 1)["alike"].sum())
    if n_alike:
        notes.append(f"{n_alike} panels have members that think alike (similarity ≥ {alike}): their votes are not "
                     "independent, so pooling them gains less than it seems")
    return table, panels, scored, cost, sim_frame, notes


def _common_args(metric: str | None, v: Verdicts) -> str:
    allowed = kern.NUMERIC_METRICS if v.numeric else kern.CATEGORICAL_METRICS
    if metric is None:
        return allowed[0]
    if metric not in allowed:
        raise ParameterError(f"`metric` must be one of {', '.join(allowed)} for "
                            f"{'scores' if v.numeric else 'categorical verdicts'}; got {metric!r}")
    return metric


def _split(v: Verdicts, share: float, gen: np.random.Generator, what: str) -> tuple[Verdicts, Verdicts]:
    if not 0 < share < 1:
        raise MetaevalError(f"`{what}` must lie in (0, 1); got {share}")
    n_first = round(share * v.n_items)
    if n_first < 2 or v.n_items - n_first < 2:
        raise InsufficientDataError(f"{v.n_items} items are too few to set {share:.0%} aside for `{what}`")
    first = np.zeros(v.n_items, dtype=bool)
    first[gen.permutation(v.n_items)[:n_first]] = True
    return v.subset_items(first), v.subset_items(~first)


def common_pool(judgments: Judgments, reference: str) -> tuple[list[str], list[str]]:
    """The judges other than the reference that panels are formed from, and the judges left out.

    Panels are scored on the units every member rated. When the judges share at least two items,
    all of them are kept (units some judge lacks are left out later, counted). When they share
    none (judges of different item sets, as in a benchmark run on two response sets), the pool is
    the judges that rated mostly the same items as the judge with the most items."""
    members = set(reference_members(judgments.judges, reference))
    pool = [x for x in judgments.judges if x not in members]
    f = judgments.all_rows().filter(pl.col("judge").is_in(pool))
    items = {k: frozenset(v) for k, v in f.group_by("judge").agg(pl.col("item").unique()).iter_rows()}
    sets = [items.get(x, frozenset()) for x in pool]
    if not sets or len(frozenset.intersection(*sets)) >= 2:
        return pool, []
    anchor = items.get(max(pool, key=lambda x: len(items.get(x, ()))), frozenset())
    chosen = [x for x in pool if len(items.get(x, frozenset()) & anchor) >= 0.5 * max(len(items.get(x, ())), 1)]
    return chosen, [x for x in pool if x not in chosen]


def _setup(judgments: Judgments, reference: str, *, judges: Sequence[str] | None, rule: str, value: Value,
           cost: str | Mapping[str, float] | None, price: Mapping[str, float] | None, tokens: str,
           families: Mapping[str, str] | Callable[[str], str | None] | None, metric: str | None,
           weighting: Weighting, qualification: float, holdout: float | None, gen: np.random.Generator,
           missing: str = "wrong") -> tuple[Verdicts, Verdicts | None, np.ndarray | None, str, list[str]]:
    """The verdicts to score, the held-out ones (``holdout``), the vote weights learned on a
    qualification share (``rule="weighted"``), the metric and the notes; without ``judges`` the
    pool is put in chair order (most agreeing with the reference first, learned on the scored part)."""
    notes: list[str] = []
    chosen = judges
    if judges is None:
        chosen, left = common_pool(judgments, reference)
        if left:
            notes.append(f"panels are formed from the {len(chosen)} judges that rated the same items; "
                         f"{', '.join(left)} judged other items and {'is' if len(left) == 1 else 'are'} left out")
    v = prepare(judgments, reference, judges=chosen, rule=rule, value=value, cost=cost, price=price, tokens=tokens,
                families=families, missing=missing)
    metric = _common_args(metric, v)
    n_abst = int(judgments.abstentions.filter(pl.col("judge").is_in(v.judges)).height)
    if n_abst:
        how = {"wrong": "count as a verdict of their own that is never right (and votes as such)",
               "tie": "count as ties", "drop": "are left out with their units"}[missing]
        notes.append(f"{n_abst} abstentions (rows without a verdict) by the pool's judges {how}: missing={missing!r}")
    weights = None
    if rule == "weighted":
        qual, v = _split(v, qualification, gen, "qualification")
        weights = vote_weights(qual, weighting)
        named = ", ".join(f"{j} {w:.2f}" for j, w in zip(qual.judges, weights, strict=True))
        notes.append(f"vote weights ({weighting}) come from {qual.n_items} qualification items, left out of the "
                     f"scores: {named}")
    test_v = None
    if holdout is not None:
        test_v, v = _split(v, holdout, gen, "holdout")
    if judges is None:
        order = by_agreement(v)
        v = v.reorder(order)
        test_v = None if test_v is None else test_v.reorder(order)
        weights = None if weights is None else weights[order]
    return v, test_v, weights, metric, notes


@validate_params({
    "max_size": [Interval(Integral, 1, None, closed="left")],
    "rule": [Options(str, ("majority", "weighted", "probability", "mean", "median"))],
    "tie": [Options(str, ("tie", "chair", "random"))],
    "weighting": [Options(str, ("accuracy", "log_odds"))],
    "qualification": [Interval(Real, 0, 1, closed="neither")],
    "search": [Options(str, ("auto", "exhaustive", "beam"))],
    "max_panels": [Interval(Integral, 1, None, closed="left")],
    "beam": [Interval(Integral, 1, None, closed="left")],
    "value": [Options(str, ("auto", "score", "label"))],
    "alike": [Interval(Real, -1, 1, closed="both")],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "progress": ["boolean", None],
})
def evaluate_panels(
    judgments: Judgments,
    reference: str = "human",
    *,
    judges: Sequence[str] | None = None,
    max_size: int = 3,
    metric: str | None = None,
    rule: kern.Rule = "majority",
    tie: kern.Tie = "chair",
    weighting: Weighting = "accuracy",
    qualification: float = 0.3,
    search: Search = "auto",
    max_panels: int = 5000,
    beam: int = 20,
    value: Value = "auto",
    cost: str | Mapping[str, float] | None = "cost",
    price: Mapping[str, float] | None = None,
    tokens: str = "tokens",
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    alike: float = 0.6,
    missing: str = "wrong",
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
    progress: bool | None = None,
) -> PanelTable:
    """Score every panel of up to ``max_size`` judges against the reference.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts, pointwise labels or pointwise scores by several judges and a reference.
    reference : str, default "human"
        A judge (``"gold"``) or a prefix whose judges (``human:1``, ``human:2``…) are pooled into
        a consensus (majority label / verdict, mean score).
    judges : sequence of str, optional
        The pool to build panels from, in chair order: with ``tie="chair"`` the first-listed
        member of a panel breaks its ties. Default: every judge but the reference, ordered by
        agreement with the reference (the best judge chairs; with ``select(holdout=…)`` the
        order is learned on the items the choice is made on).
    max_size : int, default 3
        Largest panel. Every panel is scored when there are at most ``max_panels``; beyond, a
        beam search keeps the ``beam`` best panels of each size and grows them.
    metric : str, optional
        What "best" means for the beam search and the frontier: ``accuracy`` (default),
        ``cohen_kappa`` or ``krippendorff_alpha`` for categories; ``krippendorff_alpha``
        (interval, default), ``pearson`` or ``mae`` for scores. All are reported.
    rule : {"majority", "weighted", "probability", "mean", "median"}, default "majority"
        How a panel pools its members' verdicts: ``majority`` vote, agreement-``weighted`` vote
        (weights from each judge's agreement with the reference on a ``qualification`` share of
        the items, which are then left out of the scoring, as in PRE), ``probability``
        averaging (pairwise: mean P(a preferred), ``p_a`` where given), or the ``mean`` /
        ``median`` of scores. Integer scores with few levels can also be put to a vote.
    tie : {"chair", "random", "tie"}, default "chair"
        A split vote: ``chair`` (the first-listed member among the tied choices decides),
        ``random`` (seeded) or ``tie`` (pairwise: the panel says tie).
    weighting : {"accuracy", "log_odds"}, default "accuracy"
        For ``rule="weighted"``: ``accuracy`` (PRE) or ``log_odds`` (optimal for conditionally
        independent judges).
    qualification : float, default 0.3
        For ``rule="weighted"``: the share of items on which the vote weights are learned (then left
        out of the scoring).
    search : {"auto", "exhaustive", "beam"}, default "auto"
        Score every panel, or grow the ``beam`` best of each size; ``"auto"`` scores every panel
        when there are at most ``max_panels``.
    max_panels : int, default 5000
        Largest number of panels scored exhaustively under ``search="auto"``.
    beam : int, default 20
        Panels kept per size in the beam search.
    value : {"auto", "score", "label"}, default "auto"
        Which verdict to pool (as in :func:`metaeval.agreement.rating_matrix`).
    cost, price, tokens : str or mapping, optional
        A panel's cost is the sum of its members' mean cost per verdict: from the ``cost``
        column (default), a mapping judge → price per verdict, or ``tokens`` × ``price`` per
        token. Without any, a panel's cost is its size.
    families : mapping or callable, optional
        Judge → family (default: the name's leading letters); diversity = distinct families /
        size.
    alike : float, default 0.6
        Panels whose most similar pair of members reaches this similarity (CAPA, the
        chance-adjusted agreement of their verdicts) are flagged ``alike``.
    missing : {"wrong", "tie", "drop"}, default "wrong"
        What a judge's abstention (a row without a verdict) counts as: ``"wrong"`` (default, as
        published judge studies count it: a verdict of its own that is never right and takes part
        in a vote as such), ``"tie"`` (pairwise) or ``"drop"`` (its unit is left out, like a unit a
        judge did not rate). The same policy as :func:`metaeval.agreement.against`, so a
        one-judge panel scores as the judge does there. Numeric scores take ``"drop"``.
    n_resamples : int, default 1000
        Resamples of the percentile bootstrap over items (units of one item move together).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap (and random tie-breaks).
    progress : bool, optional
        Show a progress bar; False never. Default: shown where someone watches (a terminal).

    Returns
    -------
    PanelTable
        ``table``: one row per panel (its members, each metric with ``_ci_low`` / ``_ci_high``,
        cost, family diversity, member similarity, ``alike`` and whether it is on the frontier);
        ``metric``, ``reference``, ``similarity`` (judge × judge CAPA) and ``notes``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import juries
    >>> sim = metaeval.simulate.jury(n_items=400, accuracies=(0.8, 0.75, 0.75, 0.6), rng=0)
    >>> res = juries.evaluate_panels(sim.judgments, "gold", n_resamples=200, rng=0)
    >>> res.table.height  # 4 singles, 6 pairs, 4 triples
    14
    >>> res.table.sort("accuracy", descending=True)["size"][0]
    3
    """
    judgments = as_judgments(judgments)
    gen, seed = as_generator(rng)
    v, _, weights, metric, notes = _setup(judgments, reference, judges=judges, rule=rule, value=value, cost=cost,
                                          price=price, tokens=tokens, families=families, metric=metric,
                                          weighting=weighting, qualification=qualification, holdout=None, gen=gen,
                                          missing=missing)
    table, _, _, _, sim, more = _evaluate(v, max_size=max_size, metric=metric, rule=rule, tie=tie, search=search,
                                          max_panels=max_panels, beam=beam, weights=weights, alike=alike,
                                          n_resamples=n_resamples, confidence_level=confidence_level, gen=gen,
                                          show=progress)
    sign = HIGHER_IS_BETTER[metric]
    table = table.sort([metric, "cost"], descending=[sign, False], nulls_last=True)
    notes += more
    notes.append(f"cost: {v.cost_source}; {v.n_units} units on {v.n_items} items against {v.reference_name}")
    run = RunInfo("juries.evaluate_panels", {"reference": v.reference_name, "max_size": max_size, "metric": metric,
                                             "rule": rule, "tie": tie, "search": search, "n_resamples": n_resamples,
                                             "confidence_level": confidence_level, "missing": missing},
                  seed, judgments.fingerprint, v.n_items, len(judgments))
    return PanelTable(table, metric, v.reference_name, sim, tuple(notes), run, cost_source=v.cost_source)


def _paired_test(v: Verdicts, a: tuple[int, ...], b: tuple[int, ...], metric: str, *, rule: str, tie: str,
                 weights: np.ndarray | None, n_resamples: int, level: float, gen: np.random.Generator,
                 holdout: bool) -> dict[str, Any]:
    W = cluster_weights(v.n_items, max(n_resamples, 200), gen)
    s = score_panels(v, [a, b], rule=rule, tie=tie, weights=weights, resample_weights=W, rng=gen)
    boot = s.boot or {}
    diff = boot[metric][:, 0] - boot[metric][:, 1]
    est = float(s.point[metric][0] - s.point[metric][1])
    lo, hi = _interval(diff[:, None], level)
    single_unit = bool(np.all(np.diff(np.r_[v.starts, v.n_units]) == 1))
    if metric == "accuracy" and single_unit and not v.numeric:
        q = v.n_categories
        pooled = kern.pool(v.values, kern.panel_index([a, b]), rule, n_categories=q, tie=tie,  # type: ignore[arg-type]
                        tie_code=2 if v.kind == "pairwise" else None, weights=weights, prob=v.prob, rng=gen)
        right = pooled == v.reference[None]
        n10 = int(np.sum(right[0] & ~right[1]))
        n01 = int(np.sum(~right[0] & right[1]))
        p = mcnemar_test(n10, n01)
        method = f"exact McNemar ({n10} vs {n01} discordant items)"
    else:
        p = bootstrap_pvalue(diff)
        method = "paired bootstrap over items"
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    return {"panel": _name([v.judges[i] for i in a]), "single": _name([v.judges[i] for i in b]),
            "difference": est, "ci_low": float(lo[0]), "ci_high": float(hi[0]), "pvalue": float(p),
            "method": method, "significant": bool(np.isfinite(p) and p < 1 - level),
            "better": bool(np.isfinite(p) and p < 1 - level and sign * est > 0), "holdout": holdout,
            "n_items": v.n_items}


@validate_params({
    "budget": [Interval(Real, 0, None, closed="left"), None],
    "max_size": [Interval(Integral, 1, None, closed="left")],
    "rule": [Options(str, ("majority", "weighted", "probability", "mean", "median"))],
    "tie": [Options(str, ("tie", "chair", "random"))],
    "weighting": [Options(str, ("accuracy", "log_odds"))],
    "qualification": [Interval(Real, 0, 1, closed="neither")],
    "holdout": [Interval(Real, 0, 1, closed="neither"), None],
    "search": [Options(str, ("auto", "exhaustive", "beam"))],
    "max_panels": [Interval(Integral, 1, None, closed="left")],
    "beam": [Interval(Integral, 1, None, closed="left")],
    "value": [Options(str, ("auto", "score", "label"))],
    "alike": [Interval(Real, -1, 1, closed="both")],
    "missing": [Options(str, ("drop", "wrong", "tie"))],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "progress": ["boolean", None],
})
def select(
    judgments: Judgments,
    reference: str = "human",
    *,
    budget: float | None = None,
    max_size: int = 3,
    metric: str | None = None,
    judges: Sequence[str] | None = None,
    rule: kern.Rule = "majority",
    tie: kern.Tie = "chair",
    weighting: Weighting = "accuracy",
    qualification: float = 0.3,
    holdout: float | None = None,
    search: Search = "auto",
    max_panels: int = 5000,
    beam: int = 20,
    value: Value = "auto",
    cost: str | Mapping[str, float] | None = "cost",
    price: Mapping[str, float] | None = None,
    tokens: str = "tokens",
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    alike: float = 0.6,
    missing: str = "wrong",
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
    progress: bool | None = None,
) -> JurySelection:
    """Pick the judge or jury to use within a budget, and test it against the best single judge.

    The result holds the best panel within ``budget``, the cheapest panel not significantly worse
    than it, the cost–agreement frontier, and whether the best panel beats the best single judge (a
    paired test over items).

    ``budget`` caps a panel's cost per unit (the sum of its members' mean cost per verdict, in
    the units of the ``cost`` column). ``holdout`` sets a share of the items aside: the choice
    is made on the rest and the test runs on the held-out items only, so it is not flattered by
    the choice (the winner's curse). Without it the test reuses the items the choice was made on
    and says so in ``notes``.

    The accuracy test is an exact McNemar test when every item is one unit, else a paired
    bootstrap over items; κ and α always use the paired bootstrap.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts, pointwise labels or pointwise scores by several judges and a reference.
    reference : str, default "human"
        A judge (``"gold"``) or a prefix whose judges are pooled into a consensus.
    budget : float, optional
        The largest cost per unit a panel may have. Default: no cap.
    max_size : int, default 3
        Largest panel.
    metric : str, optional
        What "best" means: ``accuracy`` (default for categories), ``cohen_kappa`` or
        ``krippendorff_alpha``; for scores ``krippendorff_alpha`` (default), ``pearson`` or ``mae``.
    judges : sequence of str, optional
        The pool, in chair order. Default: every judge but the reference, best first.
    rule : {"majority", "weighted", "probability", "mean", "median"}, default "majority"
        How a panel pools its members' verdicts (see :func:`evaluate_panels`).
    tie : {"chair", "random", "tie"}, default "chair"
        How a split vote is broken.
    weighting : {"accuracy", "log_odds"}, default "accuracy"
        The vote weights of ``rule="weighted"``.
    qualification : float, default 0.3
        Share of items on which ``rule="weighted"`` learns its weights (left out of the scoring).
    holdout : float, optional
        Share of items held out for the test. Default: none (the test reuses the items).
    search : {"auto", "exhaustive", "beam"}, default "auto"
        Score every panel, or grow the ``beam`` best of each size; ``"auto"`` scores every panel when
        there are at most ``max_panels``.
    max_panels : int, default 5000
        Largest number of panels scored exhaustively under ``search="auto"``.
    beam : int, default 20
        Panels kept per size in the beam search.
    value : {"auto", "score", "label"}, default "auto"
        Which verdict to pool (as in :func:`metaeval.agreement.rating_matrix`).
    cost, price, tokens : str or mapping, optional
        A panel's cost is the sum of its members' mean cost per verdict: from the ``cost`` column
        (default ``"cost"``) or a mapping judge → cost, a mapping ``price`` judge → price per
        verdict, or the ``tokens`` column (default ``"tokens"``) × ``price`` per token. Without any,
        a panel's cost is its size.
    families : mapping or callable, optional
        Judge → family for the panels' diversity. Default: the name's leading letters.
    alike : float, default 0.6
        Panels whose most similar pair of members reaches this CAPA are flagged ``alike``.
    missing : {"wrong", "tie", "drop"}, default "wrong"
        What a judge's abstention counts as (as in :func:`metaeval.agreement.against`).
    n_resamples : int, default 1000
        Bootstrap resamples over items (intervals and the paired bootstrap test).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals; the level of the test is 1 − ``confidence_level``.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap, the holdout and qualification splits and random tie-breaks.
    progress : bool, optional
        Show a progress bar; False never. Default: shown where someone watches (a terminal).

    Returns
    -------
    JurySelection
        ``recommended`` (name) and ``members`` of the best panel, ``frugal`` (the cheapest panel not
        significantly worse), ``frontier``, ``panels`` (every panel scored, a :class:`PanelTable`),
        ``test`` (``panel``, ``single``, ``difference`` with ``ci_low`` / ``ci_high``, ``pvalue``,
        ``method``, ``significant``, ``holdout``) and ``notes``.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import juries
    >>> sim = metaeval.simulate.jury(n_items=2000, accuracies=(0.85, 0.75, 0.75, 0.6), rng=1)
    >>> sel = juries.select(sim.judgments, "gold", n_resamples=200, rng=0)
    >>> sorted(sel.members)
    ['judge-1', 'judge-2', 'judge-3']
    >>> sel.test["single"], sel.test["better"]
    ('judge-1', True)
    """
    judgments = as_judgments(judgments)
    gen, seed = as_generator(rng)
    v, test_v, weights, metric, notes = _setup(judgments, reference, judges=judges, rule=rule, value=value, cost=cost,
                                               price=price, tokens=tokens, families=families, metric=metric,
                                               weighting=weighting, qualification=qualification, holdout=holdout,
                                               gen=gen, missing=missing)
    table, panels, scored, cost_arr, sim, more = _evaluate(
        v, max_size=max_size, metric=metric, rule=rule, tie=tie, search=search, max_panels=max_panels, beam=beam,
        weights=weights, alike=alike, n_resamples=n_resamples, confidence_level=confidence_level, gen=gen,
        show=progress)
    notes += more
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    est = sign * scored.point[metric]
    within = np.ones(len(panels), dtype=bool) if budget is None else (cost_arr <= budget + 1e-12)
    if budget is not None and not within.any():
        raise InsufficientDataError(f"no judge costs at most the `budget` {budget:g}; the cheapest costs "
                                    f"{np.nanmin(cost_arr):.4g}")
    score = np.where(within & np.isfinite(est), est, -np.inf)
    if not np.isfinite(score).any():
        raise InsufficientDataError(f"no panel within the budget has a finite {metric}")
    sizes = np.array([len(p) for p in panels])
    order = np.lexsort((sizes, cost_arr, -score))
    best = int(order[0])
    # the cheapest panel whose paired difference to the best is not significant
    not_worse = np.zeros(len(panels), dtype=bool)
    diff_lo = np.full(len(panels), np.nan)
    diff_hi = np.full(len(panels), np.nan)
    if scored.boot is not None:
        b = sign * scored.boot[metric]
        d = b - b[:, [best]]
        lo, hi = _interval(d, confidence_level)
        diff_lo, diff_hi = sign * lo, sign * hi
        not_worse = within & (hi >= 0)
    not_worse[best] = True
    cand = np.flatnonzero(not_worse)
    frugal = int(cand[np.lexsort((sizes[cand], -score[cand], cost_arr[cand]))[0]])
    name_of = [_name([v.judges[i] for i in p]) for p in panels]
    table_ext = pl.DataFrame({"panel": name_of, "diff_vs_best_ci_low": diff_lo, "diff_vs_best_ci_high": diff_hi,
                              "within_budget": within})
    table = table.join(table_ext, on="panel", how="left", maintain_order="left").sort(
        [metric, "cost"], descending=[sign > 0, False], nulls_last=True)
    # best panel (2+ judges) vs best single judge
    test: dict[str, Any] = {}
    singles = np.flatnonzero((sizes == 1) & np.isfinite(score))
    echo = scored.decided_by >= 0
    multi = np.flatnonzero((sizes > 1) & np.isfinite(score) & ~echo)
    if np.any((sizes > 1) & echo):
        k = int(np.sum((sizes > 1) & echo))
        notes.append(f"{k} {'panel always repeats' if k == 1 else 'panels always repeat'} one member's verdict "
                     "(`decided_by`; with tie='chair' every pair does): left out of the panel-vs-judge test")
    if singles.size and multi.size:
        s_best = int(singles[np.argmax(score[singles])])
        m_best = int(multi[np.argmax(score[multi])])
        tv = test_v if test_v is not None else v
        test = _paired_test(tv, panels[m_best], panels[s_best], metric, rule=rule, tie=tie, weights=weights,
                            n_resamples=n_resamples, level=confidence_level, gen=gen, holdout=test_v is not None)
        if test_v is None:
            notes.append("the test reuses the items on which the best panel and judge were chosen, which flatters "
                         "the winner; pass `holdout=` (e.g. 0.3) for a test on items the choice did not see")
    elif not multi.size:
        notes.append("no panel of two or more judges (that does not just repeat a member)"
                     + (" within the budget" if budget is not None else "")
                     + ": nothing to test against the best judge")
    front_mask = pareto_front(np.where(within, cost_arr, np.nan), est)
    table = table.with_columns(pl.Series("on_frontier", [bool(front_mask[name_of.index(p)])
                                                         for p in table["panel"].to_list()]))
    front_cols = ["panel", "size", "cost", metric, f"{metric}_ci_low", f"{metric}_ci_high", "n_families",
                  "similarity", "alike"]
    frontier = table.filter(pl.col("on_frontier")).sort("cost").select(front_cols)
    notes.append(f"cost: {v.cost_source}; {v.n_units} units on {v.n_items} items against {v.reference_name}")
    params = {"reference": v.reference_name, "budget": budget, "max_size": max_size, "metric": metric, "rule": rule,
              "tie": tie, "holdout": holdout, "n_resamples": n_resamples, "confidence_level": confidence_level,
              "missing": missing}
    run = RunInfo("juries.select", params, seed, judgments.fingerprint, v.n_items, len(judgments))
    panel_table = PanelTable(table, metric, v.reference_name, sim, tuple(notes), run, cost_source=v.cost_source)
    return JurySelection(name_of[best], tuple(v.judges[i] for i in panels[best]), name_of[frugal], metric, budget,
                         frontier, panel_table, test, tuple(notes), run)
