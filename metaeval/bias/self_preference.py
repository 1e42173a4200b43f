"""Self-preference: does a judge favour outputs of its own model family?

:func:`self_preference` fits one model to every verdict in the table — humans and all judges
share the models' strengths — in which each judge has its own *sharpness* and its own length
and position effects, and each model judge an own-family term (see its docstring). A judge
that merely separates strong from weak models more sharply than the others, or that likes long
answers, is then not taken for a self-preferring one.

:func:`intra_model_bias` is PoLL's per-model view (Verga et al. 2024): for each judge and
evaluated model, how far the judge's score of that model departs from the reference's,
relative to the judge's departure on the other models.

Families come from ``families=`` (a mapping or a function) or from the table of known
providers (:mod:`metaeval.bias.families`); names of no known family are left out with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.bias._common import (
    SMALL_ITEMS,
    BiasProbe,
    battles,
    codes,
    finish,
    fmt,
    fmt_p,
    run_info,
    significant,
    wald,
)
from metaeval.bias._glm import scaled_bradley_terry, scaled_within_ls
from metaeval.bias.families import FamilyMap, resolve_families
from metaeval.errors import (
    ApproximationWarning,
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    SmallSampleWarning,
    warn,
)
from metaeval.stats.paired import paired_mean_interval
from metaeval.tables import Judgments, as_judgments, auto_reference, preference, reference_members

__all__ = ["intra_model_bias", "self_preference"]

EFFECT = "log odds ratio for the judge's own family"
EFFECT_POINTWISE = "score shift for the judge's own family"
#: Share of a judge's grades at the ends of its range above which the pointwise probe warns.
CEILING_SHARE = 0.1


def _left_out(fm: FamilyMap, probe: str) -> None:
    problems = fm.problems()
    if problems:
        warn(f"{probe}: {problems} — left out (pass `families=` to name them)", DataDroppedWarning)


def _not_identified_reason(name: str, fam: str, pairs: pl.DataFrame, fm: FamilyMap, ref: set[str]) -> str:
    """Why ``name``'s own-family term is not identified, in words."""
    mine = pairs.filter(pl.col("judge") == name)
    compared = set(mine["model_a"].to_list()) | set(mine["model_b"].to_list())
    own_models = sorted(m for m in compared if fm.family.get(m) == fam)
    saw = pairs.filter((pl.col("judge") != name) & (pl.col("model_a").is_in(own_models)
                                                    | pl.col("model_b").is_in(own_models)))
    others = sorted(set(saw["judge"].to_list()))
    outside = [j for j in others if j in ref or fm.family.get(j) != fam]
    listed = ", ".join(own_models[:5]) + (" …" if len(own_models) > 5 else "")
    if not others:
        return (f"no other judge saw the {fam} models it compared ({listed}), so a preference for them cannot be "
                "told apart from their strength")
    if not outside:
        return (f"every other judge that saw the {fam} models it compared ({listed}) is of family {fam} too, so a "
                f"preference for them cannot be told apart from their strength")
    return (f"the verdicts of the judges outside family {fam} ({', '.join(outside)}) are not enough to fix the "
            f"strength of the {fam} models it compared ({listed}), so a preference for them cannot be told apart "
            "from their strength")


@validate_params({"prior": [Interval(Real, 0, None, closed="left")], "confidence_level": [LEVEL]})
def self_preference(
    judgments: Judgments,
    *,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    reference: str | None = None,
    prior: float = 0.01,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """Self- and family-preference of every model judge, beyond sharpness, length and position.

    The model, fitted to every verdict ``v`` of judge ``j`` on outputs of models ``a`` and ``b``
    (preference ``y`` = 1 / 0 / ½, or ``p_a``)::

        logit E[y] = κ_j (θ_a − θ_b) + γ_j Δlen + π_j pos + δ_j (own_a − own_b)

    * ``θ`` — one strength per model, shared by every judge and human;
    * ``κ_j`` — the judge's *sharpness*: how strongly its verdicts follow the strength
      differences (a judge with less verdict noise, or one that exaggerates quality differences,
      has a larger κ; reported as ``sharpness`` relative to the reference, else to the judges'
      geometric mean);
    * ``γ_j`` — the judge's length effect (``Δlen``: difference in log length, per sd of log
      length) where the table has lengths, and ``π_j`` its position effect (``pos`` = +1 when a
      was shown first, −1 when b was) where it has ``shown_first`` in both orders;
    * ``δ_j`` — the **estimate**: ``own_x`` is 1 when model x is of the judge's family. ``e^δ``
      (``odds_ratio``) multiplies the odds that the judge prefers an output of its own family
      over another family's, compared with what the models' strengths (seen through the judge's
      own sharpness), the lengths and the positions predict. 1 (δ = 0) is no self-preference.

    Pointwise scores are modelled as scores, not turned into pairs: ``score = α_ij + κ_j θ_m +
    γ_j len + δ_j own_m + ε`` with an intercept per item and judge (the item's difficulty and
    the judge's leniency), by least squares; δ_j is then the number of points the judge adds to
    outputs of its own family beyond what their quality (through its sharpness) and their
    length predict. On a bounded scale a judge that piles its grades at the top or bottom
    compresses the best or worst models in a way no linear sharpness term absorbs; when more
    than 10 % of a judge's grades sit at the ends of its range the probe warns that its test is
    approximate (``ApproximationWarning``).

    The interval and the test are t-based (items − 1 degrees of freedom) on the
    leave-one-item-out jackknife standard error, which allows for repeated verdicts on one item,
    ties (fractional responses), item-level quality effects and few items. δ_j is identified
    only when other judges — humans, or judges of other families — saw the same models; where
    the design cannot separate it from the family's strength (e.g. every judge is of the family
    whose model is the common baseline) the row is ``nan`` with the reason. The probe's
    false-positive rate and coverage on simulated nulls (sharper and noisier judges, length and
    position effects, ties, clustered items, 6–60 items) are in :mod:`metaeval.bias.study`.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts (or pointwise scores) by several judges.
    families : mapping or callable, optional
        Name → family (a mapping or a function) for models and judges. By default each name is
        matched on its tokens against the known providers of :mod:`metaeval.bias.families`
        (``alpaca_eval_gpt4`` → openai, ``bedrock_claude`` → anthropic); names of no known
        family (and their verdicts) are left out with a warning that lists them — never guessed.
    reference : str, optional
        The judges whose sharpness is 1 (``"human"`` …; found automatically). They never get an
        own-family term.
    prior : float, default 0.01
        Ridge precision on every parameter (keeps separated fits finite).
    confidence_level : float, default 0.95
        Of the intervals; p-values test δ = 0.

    Returns
    -------
    BiasProbe
        Per judge: ``estimate`` = δ (log odds ratio; pointwise: points) with interval and
        p-value, ``odds_ratio`` with ``or_ci_low`` / ``or_ci_high`` (pairwise), ``family``,
        ``n`` (its verdicts with exactly one output of its family; pointwise: its scores of its
        family on items where it also scored others), ``sharpness`` and ``controls`` (the terms
        fitted beside it). Judges whose δ cannot be estimated get ``nan`` with a warning saying
        why; with fewer than 12 items a ``SmallSampleWarning`` says the interval is approximate.

    Notes
    -----
    δ is a log odds ratio (pairwise; points of score, pointwise): exp(δ) is how much more likely the
    judge is to prefer its own family's output than its quality predicts. No convention grades it;
    Chen, Cohen & Chen (2010) equate odds ratios of about 1.68, 3.47 and 6.71 with Cohen's small,
    medium and large effects, a rough guide at best. For a pointwise δ, compare it with the spread
    of the models' scores: a δ as large as the gap between two neighbouring models reorders them.
    Panickssery et al. (2024) found self-preference that grows with a model's ability to recognise
    its own outputs; a family term also absorbs any shared style the reference happens to reward,
    which is why the reference judges are fitted alongside.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=150, judges=("judge-atlas", "judge-cirrus"),
    ...                                  n_humans=1, self_preference=1.0, judge_noise=0.0, rng=4)
    >>> res = bias.self_preference(sim.judgments)
    >>> res.table.select("judge", "family").rows()
    [('judge-atlas', 'atlas'), ('judge-cirrus', 'cirrus')]
    >>> [bool(lo < 1.0 < hi) for lo, hi in zip(res.table["ci_low"], res.table["ci_high"])]
    [True, True]
    """
    judgments = as_judgments(judgments)
    if not isinstance(judgments, Judgments):
        raise MetaevalError(f"the self-preference probe needs a metaeval `Judgments` table; got "
                            f"{type(judgments).__name__}")
    pointwise = judgments.kind == "pointwise"
    if pointwise and ("score" not in judgments.frame.columns or judgments.frame["score"].null_count()
                      == judgments.frame.height):
        raise MetaevalError("the self-preference probe on a pointwise table needs numeric `score` values")
    frame = judgments.frame
    all_judges = list(judgments.judges)
    reference = reference if reference is not None else auto_reference(all_judges)
    ref = set(reference_members(all_judges, reference)) if reference is not None else set()
    fm = resolve_families([*judgments.models, *[j for j in all_judges if j not in ref]], families)
    _left_out(fm, "self-preference")
    known_models = [m for m in judgments.models if m in fm.family]
    keep_judges = [j for j in all_judges if j in ref or j in fm.family or (j not in fm.unknown
                                                                              and j not in fm.ambiguous)]
    if pointwise:
        frame = frame.filter(pl.col("model").is_in(known_models) & pl.col("judge").is_in(keep_judges)
                             & pl.col("score").is_not_null())
    else:
        frame = frame.filter(pl.col("model_a").is_in(known_models) & pl.col("model_b").is_in(known_models)
                             & pl.col("judge").is_in(keep_judges))
    if frame.height == 0:
        raise InsufficientDataError("no verdict on models of known family is left; pass `families=` (name → family) "
                                    "for the models and judges of this table")
    judges = [j for j in all_judges if j in set(frame["judge"].unique().to_list())]
    jcode = frame["judge"].replace_strict({j: i for i, j in enumerate(judges)}, return_dtype=pl.Int64).to_numpy()
    design = _pointwise_design(frame, jcode, judges) if pointwise else _pairwise_design(frame, jcode, judges)
    cols, controls = design.controls, design.control_names
    n_controls = len(cols)
    probed: list[tuple[str, str, int]] = []
    skipped: list[tuple[str, str | None, str]] = []
    for j, name in enumerate(judges):
        jf = fm.family.get(name)
        if jf is None or name in ref:
            continue
        x = design.own(j, np.array([fm.family[m] for m in design.models], dtype=object) == jf)
        if not np.any(x != 0):
            if any(fm.family[m] == jf for m in design.models):
                skipped.append((name, jf, f"none of {name}'s verdicts sets its own family ({jf}) against another"))
            continue
        cols.append(x)
        probed.append((name, jf, design.n_own(j, x)))
    if not probed:
        for name, _jf, why in skipped:
            warn(f"self-preference of {name} cannot be estimated: {why}", EstimationWarning)
        raise InsufficientDataError("no judge's self-preference can be estimated: it needs model judges of known "
                                    "family whose family has models in the table (pass `families=` to name them)")
    gauge = np.array([j in ref for j in judges]) if ref & set(judges) else None
    x_all = np.column_stack(cols)
    fit = design.fit(x_all, gauge, prior)
    while probed:
        # Every own-family term with a share in a direction the data leave free goes at once (keeping
        # one of them would silently make its judge the unbiased reference of the others); refit.
        bad = fit.unidentified(np.arange(n_controls, x_all.shape[1]))
        if not bad.any():
            break
        for k in np.flatnonzero(bad):
            name, jf, _ = probed[k]
            skipped.append((name, jf, _not_identified_reason(name, jf, design.pairs, fm, ref)))
        probed = [p for p, b in zip(probed, bad, strict=True) if not b]
        x_all = x_all[:, np.r_[np.ones(n_controls, bool), ~bad]]
        if probed:
            fit = design.fit(x_all, gauge, prior)
    if not probed:
        raise InsufficientDataError("no judge's self-preference can be estimated: " +
                                    "; ".join(f"{name}: {why}" for name, _, why in skipped))
    for name, _jf, why in skipped:
        warn(f"self-preference of {name} cannot be estimated: {why}", EstimationWarning)
    if fit.separated:
        warn("self-preference: some fitted verdict probabilities reached 0 or 1 (a model or a judge's own family "
             f"wins or loses every comparison); the estimates rest on the prior (precision {prior:g})",
             EstimationWarning)
    n_items = fit.n_clusters
    if n_items < SMALL_ITEMS:
        warn(f"self-preference: only {n_items} items; the t interval on the jackknife standard error is "
             f"approximate with fewer than {SMALL_ITEMS}", SmallSampleWarning)
    lam = fit.log_scale
    base = lam[gauge].mean() if gauge is not None else lam.mean()
    sharp = dict(zip(judges, np.exp(lam - base).tolist(), strict=True))
    effect = EFFECT_POINTWISE if pointwise else EFFECT
    for name, share in getattr(design, "at_ends", {}).items():
        if share > CEILING_SHARE and any(name == p[0] for p in probed):
            warn(f"self-preference: {share:.0%} of {name}'s grades sit at the ends of its scale (a ceiling or floor); "
                 "the linear model cannot tell compression there from favouritism, so its test is approximate",
                 ApproximationWarning)
    rows: list[dict[str, Any]] = []
    se_all = fit.beta_se
    nan = float("nan")
    for k, (name, jf, n_own) in enumerate(probed):
        est, se = float(fit.beta[n_controls + k]), float(se_all[n_controls + k])
        low, high, p = wald(est, se, confidence_level, df=max(n_items - 1, 1))
        also = ", ".join(controls[name])
        if pointwise:
            size = f"{'+' if est >= 0 else ''}{fmt(est)} points [{fmt(low)}, {fmt(high)}], {fmt_p(p)}"
        else:
            size = f"odds ×{fmt(math.exp(est))} [{fmt(math.exp(low))}, {fmt(math.exp(high))}], {fmt_p(p)}"
        if significant(p, confidence_level):
            verb = "favours" if est > 0 else "disfavours"
            finding = f"{name}: {verb} its own family ({jf}) beyond the models' quality and its {also} — {size}"
        else:
            finding = f"{name}: no detectable preference for its own family ({jf}; {size})"
        rows.append({"judge": name, "effect": effect, "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p,
                     "n": n_own, "finding": finding, "family": jf,
                     "odds_ratio": nan if pointwise else math.exp(est),
                     "or_ci_low": math.exp(low) if math.isfinite(low) and not pointwise else nan,
                     "or_ci_high": math.exp(high) if math.isfinite(high) and not pointwise else nan,
                     "sharpness": sharp[name], "controls": also})
    for name, jf, why in skipped:
        rows.append({"judge": name, "effect": effect, "estimate": nan, "ci_low": nan, "ci_high": nan, "pvalue": nan,
                     "n": 0, "finding": f"{name}: not estimable — {why}", "family": jf, "odds_ratio": nan,
                     "or_ci_low": nan, "or_ci_high": nan, "sharpness": sharp.get(name, nan),
                     "controls": ", ".join(controls.get(name, []))})
    run = run_info("self_preference", {"prior": prior, "families": fm.source, "reference": reference}, None,
                   judgments)
    what = "scores (an intercept per item and judge)" if pointwise else "verdicts"
    notes = [f"one quality per model from every judge's {what}; per judge a sharpness and its "
             f"{'length' if pointwise else 'length / position'} effect where the table has them; t intervals "
             f"({n_items - 1} df) on leave-one-item-out jackknife standard errors",
             f"families: {fm.source}" + (f"; left out: {fm.problems()}" if fm.problems() else "")]
    if reference is not None and gauge is not None:
        notes.append(f"sharpness relative to the reference ({reference})")
    return finish("self-preference", effect, 0.0, rows, ["judge"], confidence_level, run, notes=notes)


class _Design:
    """What the self-preference fit needs from a pairwise or a pointwise table."""

    def __init__(self, models: list[str], controls: list[np.ndarray], control_names: dict[str, list[str]],
                 pairs: pl.DataFrame) -> None:
        self.models, self.controls, self.control_names, self.pairs = models, controls, control_names, pairs

    def own(self, j: int, is_own_model: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def n_own(self, j: int, x: np.ndarray) -> int:
        return int(np.sum(x != 0))

    def fit(self, x: np.ndarray, gauge: np.ndarray | None, prior: float) -> Any:  # pragma: no cover
        raise NotImplementedError


def _log_length(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    v = values.cast(pl.Float64).to_numpy()
    ok = np.isfinite(v) & (v >= 0)
    return np.log(np.maximum(np.where(ok, v, 1.0), 1.0)), ok


class _PairwiseDesign(_Design):
    def __init__(self, frame: pl.DataFrame, jcode: np.ndarray, judges: list[str]) -> None:
        self.ia, self.ib, models = battles(frame)
        self.y, self.jcode, self.n_judges = preference(frame), jcode, len(judges)
        self.item = codes(frame["item"])
        cols: list[np.ndarray] = []
        names: dict[str, list[str]] = {j: ["sharpness"] for j in judges}
        if "len_a" in frame.columns and "len_b" in frame.columns:
            (lla, ok_a), (llb, ok_b) = _log_length(frame["len_a"]), _log_length(frame["len_b"])
            ok = ok_a & ok_b
            sd = float(np.std(np.concatenate([lla[ok], llb[ok]]))) if ok.any() else 0.0
            if sd > 0:
                dlen = np.where(ok, (lla - llb) / sd, 0.0)
                for j, name in enumerate(judges):
                    mine = jcode == j
                    if ok[mine].all() and np.std(dlen[mine]) > 0:
                        cols.append(np.where(mine, dlen, 0.0))
                        names[name].append("length")
        if "shown_first" in frame.columns:
            sf = frame["shown_first"].cast(pl.String).to_numpy()
            pos = np.where(sf == "a", 1.0, np.where(sf == "b", -1.0, 0.0))
            for j, name in enumerate(judges):
                mine = jcode == j
                if np.all(pos[mine] != 0) and np.any(pos[mine] > 0) and np.any(pos[mine] < 0):
                    cols.append(np.where(mine, pos, 0.0))
                    names[name].append("position")
        super().__init__(models, cols, names, frame.select("judge", "model_a", "model_b"))

    def own(self, j: int, is_own_model: np.ndarray) -> np.ndarray:
        return np.where(self.jcode == j, is_own_model[self.ia].astype(float) - is_own_model[self.ib], 0.0)

    def fit(self, x: np.ndarray, gauge: np.ndarray | None, prior: float) -> Any:
        return scaled_bradley_terry(self.ia, self.ib, self.y, self.jcode, x, len(self.models), self.n_judges,
                                    scale_gauge=gauge, prior=prior, cluster=self.item)


class _PointwiseDesign(_Design):
    """Scores: least squares with an intercept per item and judge (:func:`scaled_within_ls`)."""

    def __init__(self, frame: pl.DataFrame, jcode: np.ndarray, judges: list[str]) -> None:
        models = sorted(frame["model"].unique().to_list())
        self.model = frame["model"].replace_strict({m: i for i, m in enumerate(models)},
                                                   return_dtype=pl.Int64).to_numpy()
        self.y = frame["score"].cast(pl.Float64).to_numpy()
        self.jcode, self.n_judges = jcode, len(judges)
        self.item = codes(frame["item"])
        self.group = self.item * len(judges) + jcode
        cols: list[np.ndarray] = []
        names: dict[str, list[str]] = {j: ["sharpness"] for j in judges}
        if "length" in frame.columns:
            ll, ok = _log_length(frame["length"])
            sd = float(np.std(ll[ok])) if ok.any() else 0.0
            if sd > 0:
                z = np.where(ok, (ll - ll[ok].mean()) / sd, 0.0)
                for j, name in enumerate(judges):
                    mine = jcode == j
                    if ok[mine].all() and np.std(z[mine]) > 0:
                        cols.append(np.where(mine, z, 0.0))
                        names[name].append("length")
        # The share of each judge's scores at the ends of its range (a ceiling or a floor).
        self.at_ends: dict[str, float] = {}
        for j, name in enumerate(judges):
            sj = self.y[jcode == j]
            if len(sj) and len(np.unique(sj)) <= 20:
                self.at_ends[name] = float(np.mean((sj == sj.min()) | (sj == sj.max())))
        pairs = frame.select("item", "judge", "model").join(
            frame.select("item", "judge", pl.col("model").alias("model_b")), on=["item", "judge"],
            maintain_order="left")
        pairs = pairs.filter(pl.col("model") < pl.col("model_b")).rename({"model": "model_a"})
        super().__init__(models, cols, names, pairs.select("judge", "model_a", "model_b"))

    def own(self, j: int, is_own_model: np.ndarray) -> np.ndarray:
        x = np.where(self.jcode == j, is_own_model[self.model].astype(float), 0.0)
        # Only items on which the judge scored outputs of its family and of another carry information.
        size = int(self.group.max()) + 1
        has_own = np.bincount(self.group, weights=x, minlength=size)
        n_g = np.bincount(self.group, minlength=size)
        mixed = (has_own > 0) & (has_own < n_g)
        return np.where(mixed[self.group], x, 0.0)

    def fit(self, x: np.ndarray, gauge: np.ndarray | None, prior: float) -> Any:
        return scaled_within_ls(self.y, self.group, self.jcode, self.model, x, len(self.models), self.n_judges,
                                scale_gauge=gauge, cluster=self.item)


def _pairwise_design(frame: pl.DataFrame, jcode: np.ndarray, judges: list[str]) -> _Design:
    return _PairwiseDesign(frame, jcode, judges)


def _pointwise_design(frame: pl.DataFrame, jcode: np.ndarray, judges: list[str]) -> _Design:
    return _PointwiseDesign(frame, jcode, judges)


@validate_params({"confidence_level": [LEVEL]})
def intra_model_bias(
    judgments: Judgments,
    reference: str = "human",
    *,
    families: Mapping[str, str] | Callable[[str], str | None] | None = None,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """PoLL's intra-model bias: per judge and model, the judge's score minus the reference's, relative to other models.

    Pointwise tables compare scores (for 0/1 correctness scores: the judge's accuracy change);
    pairwise tables compare the model's share of wins (ties ½) on the same battles. For each item
    the model's difference is compared with the mean difference of the other models on that item,
    and the item contrasts are averaged (a paired t interval over items). The estimand is a
    departure, not favouritism: a judge sharper than the reference departs upwards on the best
    model and downwards on the worst without favouring either, a length-biased one on the
    verbose models — so :func:`audit` reports these rows but does not flag them, and
    :func:`self_preference` is the test of favouritism. ``own_family`` marks
    the judge's own family (null where the judge's or the model's family is unknown; families
    as in :func:`self_preference`).

    Parameters
    ----------
    judgments : Judgments
        Pointwise scores or pairwise verdicts of the model judges and of the reference.
    reference : str, default "human"
        The reference judge, or a prefix whose judges are averaged (scores) or vote (verdicts).
    families : mapping or callable, optional
        Name → family for judges and models. Default: the known providers of
        :mod:`metaeval.bias.families`.
    confidence_level : float, default 0.95
        Coverage of the t intervals; p-values test a departure of 0.

    Returns
    -------
    BiasProbe
        One row per judge × model: ``estimate`` (the departure, in score points or share of wins)
        with ``ci_low`` / ``ci_high``, ``pvalue``, ``n`` (items), ``finding`` and ``own_family``.

    Notes
    -----
    Verga et al. (2024, "Replacing Judges with Juries", PoLL) report this table as the change in a
    model's accuracy under each judge. A departure is an effect in the judge's own units: read it
    against the spread of the models' scores (a departure as large as the gap between two adjacent
    models can reorder them), and only the own-family rows speak to self-preference.
    :func:`metaeval.juries.intra_model_bias` reports this score shift, as computed here, beside each
    judge's accuracy gap on each model.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pointwise(n_models=4, n_items=80, judges=("judge-atlas",), n_humans=2,
    ...                                   self_preference=1.5, rng=0)
    >>> res = bias.intra_model_bias(sim.judgments)
    >>> top = res.table.sort("estimate", descending=True).row(0, named=True)
    >>> top["model"], top["own_family"]
    ('atlas-1', True)
    """
    judgments = as_judgments(judgments)
    f = judgments.frame
    members = reference_members(judgments.judges, reference)
    fm = resolve_families([*judgments.models, *[j for j in judgments.judges if j not in members]], families)
    fam = fm.family.get
    if judgments.kind == "pointwise":
        if "score" not in f.columns:
            raise MetaevalError("intra-model bias on a pointwise table needs numeric `score`")
        long = f.select("item", "judge", "model", pl.col("score").cast(pl.Float64).alias("v")).drop_nulls("v")
        unit = ["item", "model"]
    else:
        ya = preference(f)
        base = f.select("item", "judge", "model_a", "model_b").with_columns(pl.Series("ya", ya))
        long = pl.concat([
            base.select("item", "judge", pl.col("model_a").alias("model"), pl.col("model_b").alias("opp"),
                        pl.col("ya").alias("v")),
            base.select("item", "judge", pl.col("model_b").alias("model"), pl.col("model_a").alias("opp"),
                        (1 - pl.col("ya")).alias("v")),
        ])
        long = long.with_columns((pl.col("item") + "\u241f" + pl.col("opp")).alias("item")).drop("opp")
        unit = ["item", "model"]
    ref = (long.filter(pl.col("judge").is_in(members)).group_by(unit, maintain_order=True)
           .agg(pl.col("v").mean().alias("ref")))
    rows: list[dict[str, Any]] = []
    few: list[int] = []
    for name in [j for j in judgments.judges if j not in members]:
        d = (long.filter(pl.col("judge") == name).group_by(unit, maintain_order=True).agg(pl.col("v").mean())
             .join(ref, on=unit, maintain_order="left").with_columns((pl.col("v") - pl.col("ref")).alias("d")))
        if d.height == 0:
            continue
        if judgments.kind == "pairwise":
            d = d.with_columns(pl.col("item").str.split("\u241f").list.first())
            d = d.group_by(unit, maintain_order=True).agg(pl.col("d").mean())
        per_item = d.group_by("item", maintain_order=True).agg(pl.col("d").sum().alias("s"), pl.len().alias("k"))
        d = d.join(per_item, on="item", maintain_order="left").filter(pl.col("k") > 1)
        d = d.with_columns((pl.col("d") - (pl.col("s") - pl.col("d")) / (pl.col("k") - 1)).alias("c"))
        jf = fam(name)
        for (model,), g in d.group_by(["model"], maintain_order=True):
            c = g["c"].to_numpy()
            n = len(c)
            if n < 2:
                warn(f"{name} on {model}: only {n} item with other models beside it; no interval", EstimationWarning)
                est, low, high, p = float(c.mean()) if n else float("nan"), float("nan"), float("nan"), float("nan")
            else:
                est, _, (low, high), p, _ = paired_mean_interval(c, confidence_level=confidence_level)
                if n < SMALL_ITEMS:
                    few.append(n)
            mf = fam(str(model))
            own = None if jf is None or mf is None else mf == jf
            if significant(p, confidence_level):
                finding = (f"{name} scores {model} {'higher' if est > 0 else 'lower'} than {reference} does, by "
                           f"{fmt(abs(est))} more than the other models ({fmt_p(p)})"
                           + (" — its own family" if own else ""))
            else:
                finding = f"{name} on {model}: no departure from {reference} beyond the other models ({fmt_p(p)})"
            rows.append({"judge": name, "model": str(model), "effect": "score shift vs reference, relative to the "
                         "other models", "estimate": est, "ci_low": low, "ci_high": high, "pvalue": p, "n": n,
                         "finding": finding, "own_family": own})
    if few:
        warn(f"intra-model: only {min(few)}–{max(few)} items per judge and model; the paired t intervals are "
             f"approximate with fewer than {SMALL_ITEMS}", SmallSampleWarning)
    if not rows:
        raise InsufficientDataError(f"no judge scored the same outputs as {reference!r}")
    run = run_info("intra_model_bias", {"reference": reference}, None, judgments)
    return finish("intra-model", "score shift vs reference, relative to the other models", 0.0, rows,
                  ["judge", "model"], confidence_level, run)
