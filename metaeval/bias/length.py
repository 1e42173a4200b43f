"""Length (verbosity) bias and the length-controlled numbers.

* :func:`length_bias` — per judge, the slope of the preference on the length difference
  (Bradley–Terry with a length term: log-odds per standard deviation of log length, so the
  models' strengths are controlled for), and the raw share of verdicts that went to the
  longer output among pairs whose lengths differ by more than ``min_diff``.
* :func:`length_controlled_win_rate` — the length-controlled win rate (Dubois et al. 2024) on
  any table of verdicts against one baseline: per model a logistic model of the preference with
  an intercept, ``tanh(Δlength / sd)`` and an item term, and the win rate it predicts at zero
  length difference. ``method="mle"`` (default): maximum likelihood with a delta-method
  standard error; ``method="alpaca_eval"``: AlpacaEval's own recipe (cross-validated L1 fits,
  regularised toward the gamed baselines) that reproduces its leaderboard.
* :func:`wildbench_tie_rule` — WildBench's rule: a slight win becomes a tie when the winner
  is more than ``k`` characters longer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats as st
from scipy.special import expit

from metaeval._format import table_text
from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, Options, validate_params
from metaeval.battles import BattleScan
from metaeval.bias._alpaca_lc import alpaca_eval_lc, published_gamed
from metaeval.bias._common import (
    LENGTH_EFFECT,
    BiasProbe,
    codes,
    finish,
    fit_bt,
    group_keys,
    group_label,
    length_finding,
    require_columns,
    require_pairwise,
    run_info,
    wald,
    wilson,
)
from metaeval.bias._glm import batched_logistic, two_way_logistic
from metaeval.bias._scan import length_bias_lazy
from metaeval.errors import (
    DataDroppedWarning,
    EstimationWarning,
    InsufficientDataError,
    MetaevalError,
    ParameterError,
    warn,
)
from metaeval.report.charts import dumbbell
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES
from metaeval.tables import Judgments, as_judgments, canonical, column_or_extra, common_baseline, preference

__all__ = ["LengthControlled", "length_bias", "length_controlled_win_rate", "wildbench_tie_rule"]

EFFECT = LENGTH_EFFECT


def _pairwise_with_lengths(judgments: Judgments, probe: str) -> Judgments:
    if judgments.kind == "pointwise":
        require_columns(judgments, ["score", "length"], probe, "scores and output lengths")
        return judgments.to_pairwise()
    require_pairwise(judgments, probe)
    require_columns(judgments, ["len_a", "len_b"], probe, "output lengths of both sides")
    return judgments


def _drop_missing_lengths(frame: pl.DataFrame, probe: str) -> pl.DataFrame:
    bad = frame.select((pl.col("len_a").is_null() | pl.col("len_b").is_null()).sum()).item()
    if bad:
        warn(f"the {probe} probe left out {bad} verdicts without `len_a` or `len_b`", DataDroppedWarning)
        frame = frame.drop_nulls(["len_a", "len_b"])
    neg = frame.select(((pl.col("len_a") < 0) | (pl.col("len_b") < 0)).sum()).item()
    if neg:
        raise MetaevalError(f"columns `len_a` / `len_b` must be lengths (≥ 0); got negative values in {neg} rows")
    return frame


@validate_params({
    "min_diff": [Interval(Real, 0, 1, closed="left")],
    "prior": [Interval(Real, 0, None, closed="left")],
    "confidence_level": [LEVEL],
})
def length_bias(
    judgments: Judgments,
    *,
    by: Sequence[str] | str | None = None,
    min_diff: float = 0.1,
    prior: float = 0.01,
    confidence_level: float = 0.95,
) -> BiasProbe:
    """Length bias of each judge.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts with ``len_a`` and ``len_b`` (characters), or pointwise scores with
        ``length`` (turned into pairs per item and judge), or battle logs read lazily
        (:func:`metaeval.scan` with the item column as ``cluster``; one group, the slope's
        interval from the cluster-robust sandwich: see :mod:`metaeval.bias._scan`).
    by : str or sequence of str, optional
        Grouping columns (default: judge, and the variant when it varies).
    min_diff : float, default 0.1
        For ``p_longer``: pairs whose lengths differ by more than this fraction of the longer one.
    prior : float, default 0.01
        Ridge precision of the Bradley–Terry fit (keeps separated fits finite).
    confidence_level : float, default 0.95
        Coverage of the intervals; p-values test no effect.

    Returns
    -------
    BiasProbe
        ``estimate``: the change in log-odds of being preferred per standard deviation of log
        length (``log(len_a / len_b) / sd``, sd of the log lengths of all outputs; positive =
        longer preferred), controlling for the models' strength and, where ``shown_first`` is
        given, the position. Extra columns: ``p_longer`` (ties count ½) with its Wilson
        interval, ``n_longer_pairs``, ``sd_log_length``.

    Notes
    -----
    The estimate is the change in log odds per standard deviation of log length: exp(estimate) is
    the odds ratio of being preferred for an output one sd longer (in relative terms) than its
    opponent, at equal model strength. With the Chen, Cohen & Chen (2010) conversion, odds ratios
    near 1.68, 3.47 and 6.71 correspond to Cohen's small, medium and large effects; these are
    conventions, and a length effect also reflects any real link between length and quality in the
    data. Where a reference judge exists, compare its length effect with the judge's: only the
    excess is the judge's bias. ``p_longer`` (the share of clearly unequal pairs won by the longer
    output; ½ means no length preference) is the plain-language summary.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=5, n_items=200, judges=("judge-x",), length_bias=0.8,
    ...                                  judge_noise=0.0, rng=2)
    >>> res = bias.length_bias(sim.judgments)
    >>> bool(res.table["ci_low"][0] < 0.8 < res.table["ci_high"][0])
    True
    """

    if isinstance(judgments, BattleScan):  # battle logs out of core (metaeval.scan): streamed fits

        return length_bias_lazy(judgments, by=by, min_diff=min_diff, prior=prior, confidence_level=confidence_level)
    judgments = as_judgments(judgments)
    pw = _pairwise_with_lengths(judgments, "length")
    keys = group_keys(pw, by)
    frame = _drop_missing_lengths(canonical(pw.frame), "length")
    la = np.log(np.maximum(frame["len_a"].cast(pl.Float64).to_numpy(), 1.0))
    lb = np.log(np.maximum(frame["len_b"].cast(pl.Float64).to_numpy(), 1.0))
    sd = float(np.std(np.concatenate([la, lb])))
    if not sd > 0:
        raise InsufficientDataError("every output has the same length; a length effect cannot be estimated")
    frame = frame.with_columns(pl.Series("__x", (la - lb) / sd), pl.Series("__y", preference(frame)))
    rows: list[dict[str, Any]] = []
    for key, g in frame.group_by(keys, maintain_order=True):
        vals = key if isinstance(key, tuple) else (key,)
        label = group_label(keys, vals)
        y = g["__y"].to_numpy()
        cols = [g["__x"].to_numpy()]
        if "shown_first" in g.columns and g["shown_first"].null_count() == 0 and g["shown_first"].n_unique() > 1:
            cols.append(np.where(g["shown_first"].cast(pl.String).to_numpy() == "a", 1.0, -1.0))
        x = np.column_stack(cols)
        if np.std(x[:, 0]) == 0:
            est = se = float("nan")
            df: float | None = None
            warn(f"{label}: no length differences; the slope cannot be estimated", EstimationWarning)
        else:
            fit = fit_bt(g, x, prior, label)
            est, se, df = float(fit.beta[0]), float(fit.beta_se[0]), fit.df
        low, high, p = wald(est, se, confidence_level, df=df)
        len_a, len_b = g["len_a"].cast(pl.Float64).to_numpy(), g["len_b"].cast(pl.Float64).to_numpy()
        differ = np.abs(len_a - len_b) > min_diff * np.maximum(np.maximum(len_a, len_b), 1)
        longer_pref = np.where(len_a > len_b, y, 1 - y)[differ]
        k = int(differ.sum())
        p_long = float(longer_pref.mean()) if k else float("nan")
        lo_l, hi_l = wilson(float(longer_pref.sum()), k, confidence_level)
        finding = length_finding(label, est, p, p_long, k, min_diff, confidence_level)
        rows.append({**dict(zip(keys, vals, strict=True)), "effect": EFFECT, "estimate": est, "ci_low": low,
                     "ci_high": high, "pvalue": p, "n": g.height, "finding": finding, "p_longer": p_long,
                     "p_longer_ci_low": lo_l, "p_longer_ci_high": hi_l, "n_longer_pairs": k, "sd_log_length": sd})
    run = run_info("length_bias", {"by": keys, "min_diff": min_diff, "prior": prior}, None, judgments)
    return finish("length", EFFECT, 0.0, rows, keys, confidence_level, run)


# ------------------------------------------------------------------ length-controlled
@dataclass(frozen=True)
class LengthControlled(Result):
    """Raw and length-controlled win rates against a baseline (percent), per judge and model.

    Columns: ``win_rate`` and ``standard_error`` (AlpacaEval's: 100 × mean preference and
    100 × sd / √n), ``lc_win_rate`` with ``lc_standard_error`` and the interval ``lc_ci_low`` /
    ``lc_ci_high``, the length coefficient ``length_coef`` (log-odds per unit of
    ``tanh(Δlength / sd)``, positive = longer preferred), ``avg_length`` and ``n``.

    ``method="mle"``: ``lc_standard_error`` is the delta-method standard error (sandwich
    covariance) and the interval is Wald; ``length_coef`` has a Wald interval too.
    ``method="alpaca_eval"``: ``lc_standard_error`` is AlpacaEval's column (the standard error
    of the mean of the per-instruction predictions, which leaves out the uncertainty of the
    fitted coefficients, so it is no standard error of the LC win rate); the interval is a
    percentile bootstrap over instructions that refits the instruction difficulty and every
    model's fit in each resample (how: ``run_info.params["interval"]``; its coverage and what it
    leaves out: :func:`length_controlled_win_rate`); further columns ``difficulty_coef``, ``intercept``
    and ``C`` (the penalty chosen by cross-validation), and ``difficulty`` holds the
    instruction difficulty used (judge, item, difficulty).
    """

    table: pl.DataFrame
    baseline: str
    item_term: str
    confidence_level: float
    run_info: RunInfo
    method: str = "mle"
    difficulty: pl.DataFrame | None = None

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"length-controlled win rates against {self.baseline}"

    def summary(self) -> str:
        if self.method == "alpaca_eval":
            params = self.run_info.params
            note = ("AlpacaEval's recipe: instruction difficulty from a joint L1 fit over all models, one "
                    "cross-validated L1 fit per model"
                    + (f", regularised toward {', '.join(params.get('gamed_baselines', []))} "
                       f"(λ = {params.get('regularize_applied')})" if params.get("regularize_applied") else
                       ", not regularised (no gamed baselines)")
                    + (" — their rows rebuilt from AlpacaEval's published GLM (expected, not observed, "
                       "preferences: an approximation)" if params.get("gamed") == "published"
                       and params.get("regularize_applied") else "")
                    + f"; lc_standard_error is AlpacaEval's (item spread of the predictions); interval: "
                      f"{params.get('interval', 'bootstrap over instructions')}")
        elif self.item_term == "estimate":
            note = "item term: instruction difficulty estimated from every model's verdicts (two-way logistic model)"
        else:
            note = "item term: none"
        return table_text(self.table, title=self.title) + "\n" + note

    def chart(self) -> Any:
        """Raw against length-controlled win rate per model (a dumbbell plot), each with its
        interval: the raw win rate ± z × ``standard_error``, the length-controlled one from
        ``lc_ci_low`` to ``lc_ci_high``; one panel per judge when there are several."""
        from scipy import stats as st

        z = float(st.norm.ppf(0.5 + self.confidence_level / 2))
        level = f"{self.confidence_level:.0%}"
        rows = self.table.select("judge", "model", "win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high",
                                 (pl.col("win_rate") - z * pl.col("standard_error")).clip(0, 100).alias("raw_low"),
                                 (pl.col("win_rate") + z * pl.col("standard_error")).clip(0, 100).alias("raw_high"))
        lc_how = ("percentile bootstrap over instructions" if self.method == "alpaca_eval"
                  else "delta method, Wald")
        subtitle = [f"{level} intervals: raw ± {z:.2f} × its standard error; length-controlled: {lc_how}",
                    "length-controlled: the win rate predicted had both outputs been equally long "
                    f"({'AlpacaEval recipe' if self.method == 'alpaca_eval' else 'maximum likelihood'})"]
        return dumbbell(rows, label="model", start="win_rate", end="lc_win_rate", start_name="raw win rate",
                        end_name="length-controlled win rate", start_low="raw_low", start_high="raw_high",
                        end_low="lc_ci_low", end_high="lc_ci_high", x_title=f"win rate against {self.baseline} (%)",
                        title=f"Raw and length-controlled win rates against {self.baseline}", subtitle=subtitle,
                        facet="judge" if self.table["judge"].n_unique() > 1 else None)


@validate_params({
    "method": [Options(str, ("mle", "alpaca_eval"))],
    "item_term": [Options(str, ("estimate", "none"))],
    "prior": [Interval(Real, 0, None, closed="left")],
    "regularize": [Interval(Real, 0, None, closed="left")],
    "align": [Options(str, ("item", "position"))],
    "refit_difficulty": ["boolean"],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def length_controlled_win_rate(
    judgments: Judgments,
    baseline: str | None = None,
    *,
    method: Literal["mle", "alpaca_eval"] = "mle",
    item_term: Literal["estimate", "none"] = "estimate",
    prior: float = 1e-3,
    regularize: float = 0.2,
    gamed: Sequence[str] | Judgments | Literal["published"] | None = None,
    difficulty: Mapping[str, float] | None = None,
    align: Literal["item", "position"] = "item",
    refit_difficulty: bool = True,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> LengthControlled:
    """The length-controlled (LC) win rate of every model against ``baseline``, per judge.

    For model m the preference ``y`` of its output over the baseline's (``p_a`` where given,
    else 1 / 0 / ½) follows ``logit E[y] = θ_m + φ_m tanh(Δ / sd_m) + ψ_m γ_i`` with
    Δ = length(model) − length(baseline), sd_m the standard deviation of Δ over m's items and
    γ_i a difficulty of instruction i. The LC win rate is ``100 × mean_i σ(θ_m + ψ_m γ_i)``:
    the win rate predicted had the two outputs been equally long (Dubois et al. 2024).

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts with ``len_a`` / ``len_b``; rows without the baseline are left out.
    baseline : str, optional
        The model every other model was compared with (default: the one in every row).
    method : {"mle", "alpaca_eval"}, default "mle"
        ``"mle"`` (default): γ_i estimated from every model's verdicts by an additive (two-way)
        logistic model (``item_term="estimate"``) or left out (``"none"``); each model's GLM fitted
        by maximum likelihood (ridge ``prior`` only against separation); a delta-method standard
        error on the sandwich covariance and a Wald interval. It is the default because every
        step is a plain likelihood fit whose uncertainty the interval carries.
        ``"alpaca_eval"``: AlpacaEval's own recipe, to reproduce its leaderboard — γ from one
        joint L1-penalised fit over all models, each model's fit L1-penalised with the penalty
        chosen by 5-fold cross-validation and regularised toward the gamed baselines (see
        ``regularize``); its ``lc_standard_error`` (the spread of the per-instruction
        predictions) and a percentile bootstrap interval over instructions (``n_resamples``; see
        ``refit_difficulty``). The penalty and the cross-validation shrink the coefficients, and
        the regularisation pulls every model's length slope toward the gamed baselines': where
        the models' true slopes differ, the estimate carries a bias of several points that no
        interval over instructions shows (simulated, 805 instructions, slopes spread ±0.2 and
        ±0.6 around the gamed ones': LC − truth of −7 to −10 points for the model whose slope
        is furthest from theirs, up to 4 points for the three others, in 4 replicates). Source:
        ``tatsu-lab/alpaca_eval``, ``src/alpaca_eval/metrics/glm_winrate.py`` and
        ``notebooks/instruction_difficulty.ipynb``; written here without scikit-learn (see
        ``metaeval.bias._alpaca_lc``).
    item_term : {"estimate", "none"}, default "estimate"
        ``"mle"`` only: estimate the instruction difficulty γ_i, or leave it out.
    prior : float, default 1e-3
        ``"mle"`` only: ridge precision, against separation.
    regularize : float, default 0.2
        ``"alpaca_eval"``: AlpacaEval's λ (0.2). The verdicts of the gamed baselines — the
        baseline prompted to be verbose and to be concise — join every model's fit with weight
        λ / (number of gamed baselines) and no intercept, pulling the length and difficulty
        slopes toward those that explain the baseline against itself. 0 turns it off
        (AlpacaEval's ``length_controlled_noreg``). Without gamed baselines (see ``gamed``) it
        cannot be applied (a warning says so).
    gamed : sequence of str, Judgments or "published", optional
        ``"alpaca_eval"``: where the gamed baselines' verdicts come from.

        * ``None`` (default): the models of ``judgments`` that AlpacaEval's rule names (the name
          holds the baseline's and ``verbose`` or ``concise``); a list: those model names.
        * A :class:`~metaeval.Judgments` table of the gamed baselines' verdicts against the same
          baseline (every model in it but the baseline is one): used as if they were in
          ``judgments``. With AlpacaEval's own gamed verdicts (its ``df_gamed.csv`` on Hugging
          Face) this — or the default with them in ``judgments`` — is its exact recipe.
        * ``"published"``: an **approximation** for AlpacaEval 2.0 data when those verdicts are
          not at hand (they are public only on Hugging Face): items must be AlpacaEval's
          instruction ids (0-804) and the baseline ``gpt4_1106_preview`` (checked through its
          output lengths). metaeval ships, from AlpacaEval's GitHub repository (Apache-2.0), the
          output lengths of ``gpt4_1106_preview_verbose`` and ``_concise`` on every instruction,
          their published GLM coefficients (φ_g, ψ_g, θ_g) and their published win rates. Each
          gamed row keeps AlpacaEval's features (``tanh(Δ / sd)``, γ_i, no intercept) and
          weight (λ / 2), and its target is the *expected* preference under that GLM,
          ``σ(φ_g tanh(Δ_gi / sd_g) + ψ_g γ_i + θ_g + c_g)``, instead of the observed verdict;
          ``c_g`` refits the intercept so that the targets' mean is the gamed model's published
          win rate (θ_g belongs to AlpacaEval's own γ, not to the one used here; the shifts are
          in ``run_info.params["per_judge"]``). Why this is sound: the log loss with fractional
          targets (a fractional logit, the form AlpacaEval already fits) is linear in the
          target, so a fit on expected targets minimises the expected loss; the targets enter
          only through ``Σ w y z``, which the GLM's own score equations keep nearly unchanged
          when y is replaced by its fitted value. What it changes: the noise of the real
          verdicts is gone (the fit is the one those verdicts give in expectation), the
          cross-validation folds see smooth targets (so the penalty chosen can differ), and the
          rebuilt rows stay out of the joint difficulty fit (their targets need γ). On
          simulated AlpacaEval-like data the rebuilt rows give the exact recipe's LC win rates
          to about 0.05 points on the same γ (tests/test_alpaca_lc.py); what remains against
          AlpacaEval's published numbers is mostly that its γ is not the one estimated here
          (``difficulty=`` AlpacaEval's ``instruction_difficulty.csv`` removes that).
    difficulty : mapping of str to float, optional
        ``"alpaca_eval"``: instruction difficulty per item, e.g. AlpacaEval's published
        ``instruction_difficulty.csv`` (which its leaderboard uses); default: the joint fit
        on this table.
    align : {"item", "position"}, default "item"
        ``"alpaca_eval"``: ``"item"`` matches each verdict with its instruction's difficulty;
        ``"position"`` reproduces AlpacaEval, which matches by the verdict's position in the
        model's list, so that after a missing verdict the difficulties shift by one.
    refit_difficulty : bool, default True
        ``"alpaca_eval"``: the bootstrap refits the joint instruction-difficulty fit in every
        resample (at the penalty chosen on all instructions; default), so that the interval
        carries γ's own uncertainty. ``False`` holds γ at the fit on all instructions, which
        saves one joint fit per resample (on AlpacaEval's 57 models × 805 instructions a
        resample takes 0.28 s with the refit, 0.07 s without: about 1 min more for 200).
        Coverage of nominal-95 % intervals of the true LC win rate (``benchmarks/alpaca_lc.md``:
        805 instructions, four models and two gamed baselines, 40 replicates, 100 resamples,
        the same data and resamples for both): refitting 93.1 % (± 2.0), held fixed 91.9 %
        (± 2.2); per model 87.5-97.5 % and 87.5-95 %. Refitting widens the intervals most for
        the models whose lengths differ most from the baseline's (their LC win rate is an
        extrapolation along the length term, which γ's noise moves). Both hold the
        cross-validated penalties fixed (re-choosing them in each resample would cost 50 fits
        each), so neither carries the penalty's choice; with ``difficulty`` given, γ is taken
        as known.
    n_resamples : int, default 1000
        ``"alpaca_eval"``: bootstrap resamples of instructions for the interval (0: none).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals of the LC win rate (and of ``length_coef``).
    rng : int, numpy.random.Generator or None
        Seed or generator of the bootstrap.

    Returns
    -------
    LengthControlled
        One row per judge and model: ``win_rate`` and ``standard_error`` (AlpacaEval's, in percent),
        ``lc_win_rate`` with ``lc_standard_error`` and ``lc_ci_low`` / ``lc_ci_high``, the length
        coefficient ``length_coef``, ``avg_length`` and ``n``; with ``method="alpaca_eval"`` also
        ``difficulty_coef``, ``intercept`` and ``C``.

    Notes
    -----
    The LC win rate is on the scale of a win rate (0–100 against the baseline, 50 = as good as the
    baseline). Dubois et al. (2024) report that length control raised the Spearman correlation of
    AlpacaEval with Chatbot Arena from 0.94 to 0.98, and that it makes the win rate much less
    sensitive to prompting a model to be more or less verbose. The difference between
    two models' LC win rates is the quantity to compare across models; read it against the
    intervals (two intervals overlapping does not mean the difference is insignificant — compare the
    models directly for that).

    Examples
    --------
    >>> import metaeval
    >>> import polars as pl
    >>> from metaeval import bias
    >>> sim = metaeval.simulate.pairwise(n_models=4, n_items=200, judges=("judge-x",), length_bias=1.0, rng=0)
    >>> versus = sim.judgments.filter((pl.col("model_a") == "atlas-1") | (pl.col("model_b") == "atlas-1"))
    >>> lc = bias.length_controlled_win_rate(versus, "atlas-1")
    >>> sorted(lc.table.columns)[:3]
    ['avg_length', 'judge', 'lc_ci_high']
    >>> ae = bias.length_controlled_win_rate(versus, "atlas-1", method="alpaca_eval", n_resamples=20, rng=0)
    >>> ae.table.select("model", "C").height
    3
    """
    judgments = as_judgments(judgments)
    require_pairwise(judgments, "length-controlled win rate")
    require_columns(judgments, ["len_a", "len_b"], "length-controlled win rate", "output lengths of both sides")
    frame = judgments.frame
    if gamed is not None and method != "alpaca_eval":
        raise MetaevalError("`gamed` is an option of method='alpaca_eval' (AlpacaEval's regularisation toward the "
                            "gamed baselines); method='mle' has none")
    if isinstance(gamed, str) and gamed != "published":
        raise ParameterError(f"`gamed` must be 'published', a list of model names or a table of the gamed "
                            f"baselines' verdicts; got the string {gamed!r} (a single name goes in a list)")
    gamed_source = ("table" if isinstance(gamed, Judgments) else "published" if isinstance(gamed, str)
                    else "rule" if gamed is None else "names")
    if isinstance(gamed, Judgments):
        frame, gamed = _with_gamed_table(frame, gamed, baseline)
    frame = _drop_missing_lengths(frame, "length-controlled win rate")
    base = common_baseline(frame, baseline)
    involved = (pl.col("model_a") == base) | (pl.col("model_b") == base)
    left = frame.filter(~involved).height
    if left:
        warn(f"{left} comparisons do not involve the baseline {base!r} and are left out", DataDroppedWarning)
    frame = frame.filter(involved & (pl.col("model_a") != pl.col("model_b")))
    if frame.height == 0:
        raise InsufficientDataError(f"no comparison of another model with the baseline {base!r}")
    y_a = preference(frame)
    base_is_a = (frame["model_a"] == base).to_numpy()
    y = np.where(base_is_a, 1 - y_a, y_a)
    la = frame["len_a"].cast(pl.Float64).to_numpy()
    lb = frame["len_b"].cast(pl.Float64).to_numpy()
    len_model = np.where(base_is_a, lb, la)
    delta = len_model - np.where(base_is_a, la, lb)
    model = np.where(base_is_a, frame["model_b"].to_numpy(), frame["model_a"].to_numpy())
    judge = frame["judge"].to_numpy()
    if method == "alpaca_eval":
        return _alpaca_eval_method(judgments, frame, base, y, model, judge, len_model, delta, regularize=regularize,
                                   gamed=gamed, gamed_source=gamed_source, difficulty=difficulty, align=align,
                                   refit_difficulty=refit_difficulty, n_resamples=n_resamples,
                                   confidence_level=confidence_level, rng=rng)
    key = pl.DataFrame({"judge": judge, "model": model})
    gcode = key.select(pl.struct("judge", "model").rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    G = int(gcode.max()) + 1
    groups = key.with_columns(pl.Series("g", gcode)).unique("g").sort("g")
    n_g = np.bincount(gcode, minlength=G)
    mean_d = np.bincount(gcode, weights=delta, minlength=G) / n_g
    var_d = (np.bincount(gcode, weights=delta**2, minlength=G) - n_g * mean_d**2) / np.maximum(n_g - 1, 1)
    sd_d = np.sqrt(np.maximum(var_d, 0))
    x_len = np.tanh(delta / np.where(sd_d[gcode] > 0, sd_d[gcode], 1.0))
    cols = [np.ones_like(y), x_len]
    if item_term == "estimate":
        item_code = codes(frame["item"])
        gamma = np.zeros(len(y))
        jc = codes(pl.Series(judge))
        for j in range(int(jc.max()) + 1):
            sel = jc == j
            ic = np.unique(item_code[sel], return_inverse=True)[1]
            _, d = two_way_logistic(gcode[sel], ic, y[sel], G, int(ic.max()) + 1)
            gamma[sel] = d[ic]
        cols.append(gamma)
    Z = np.column_stack(cols)
    fit = batched_logistic(gcode, Z, y, G, prior=prior)
    if fit.separated.any():
        who = groups.filter(pl.Series(fit.separated))["model"].to_list()
        warn(f"the preference is separated (always won or always lost) for {', '.join(map(str, who[:5]))}; "
             f"their estimates rest on the prior (precision {prior:g})", EstimationWarning)
    coef = fit.coef
    Z0 = Z.copy()
    Z0[:, 1] = 0.0
    eta0 = np.einsum("ij,ij->i", Z0, coef[gcode])
    p0 = expit(eta0)
    lc = np.bincount(gcode, weights=p0, minlength=G) / n_g
    # Delta method: d mean(p0) / d coef = mean(p0 (1 - p0) Z0).
    grad = np.column_stack([np.bincount(gcode, weights=p0 * (1 - p0) * Z0[:, k], minlength=G) for k in
                            range(Z.shape[1])]) / n_g[:, None]
    lc_se = np.sqrt(np.maximum(np.einsum("gi,gij,gj->g", grad, fit.cov_robust, grad), 0))
    z = st.norm.ppf(0.5 + confidence_level / 2)
    wr = np.bincount(gcode, weights=y, minlength=G) / n_g
    wr_var = (np.bincount(gcode, weights=y**2, minlength=G) - n_g * wr**2) / np.maximum(n_g - 1, 1)
    phi = coef[:, 1]
    phi_se = np.sqrt(np.maximum(fit.cov_robust[:, 1, 1], 0))
    table = pl.DataFrame({
        "judge": groups["judge"], "model": groups["model"],
        "win_rate": 100 * wr, "standard_error": 100 * np.sqrt(np.maximum(wr_var, 0) / n_g),
        "lc_win_rate": 100 * lc, "lc_standard_error": 100 * lc_se,
        "lc_ci_low": np.clip(100 * (lc - z * lc_se), 0, 100), "lc_ci_high": np.clip(100 * (lc + z * lc_se), 0, 100),
        "length_coef": phi, "length_coef_ci_low": phi - z * phi_se, "length_coef_ci_high": phi + z * phi_se,
        "avg_length": np.bincount(gcode, weights=len_model, minlength=G) / n_g, "n": n_g.astype(np.int64),
    }).sort(["judge", "lc_win_rate"], descending=[False, True])
    run = RunInfo("length_controlled_win_rate", {"method": "mle", "baseline": base, "item_term": item_term,
                                                 "prior": prior}, None,
                  judgments.fingerprint, len(judgments.items), len(judgments))
    return LengthControlled(table, base, item_term, confidence_level, run)


def _with_gamed_table(frame: pl.DataFrame, gamed: Judgments, baseline: str | None) -> tuple[pl.DataFrame, list[str]]:
    """``judgments`` with the gamed baselines' verdicts (``gamed=`` a table) appended, and their names."""
    require_pairwise(gamed, "`gamed` table")
    require_columns(gamed, ["len_a", "len_b"], "`gamed` table", "output lengths of both sides")
    g = gamed.frame
    base = common_baseline(g, baseline)
    names = sorted((set(g["model_a"].to_list()) | set(g["model_b"].to_list())) - {base})
    clash = sorted(set(names) & (set(frame["model_a"].to_list()) | set(frame["model_b"].to_list())))
    if clash:
        raise MetaevalError(f"the `gamed` table's models are in `judgments` too: {', '.join(clash)}; give their "
                            "verdicts once (in `judgments` with `gamed=[names]`, or in the `gamed` table)")
    cols = ["item", "judge", "model_a", "model_b", "outcome", "len_a", "len_b"]
    has_p = "p_a" in frame.columns or "p_a" in g.columns

    def part(f: pl.DataFrame) -> pl.DataFrame:
        p = [(pl.col("p_a").cast(pl.Float64) if "p_a" in f.columns else pl.lit(None, pl.Float64)).alias("p_a")]
        return f.select(*cols, *(p if has_p else [])).with_columns(
            pl.col("item", "judge", "model_a", "model_b", "outcome").cast(pl.String),
            pl.col("len_a", "len_b").cast(pl.Float64))

    return pl.concat([part(frame), part(g)]), names


def _alpaca_eval_method(judgments: Judgments, frame: pl.DataFrame, base: str, y: np.ndarray, model: np.ndarray,
                        judge: np.ndarray, len_model: np.ndarray, delta: np.ndarray, *, regularize: float,
                        gamed: Sequence[str] | Literal["published"] | None, gamed_source: str,
                        difficulty: Mapping[str, float] | None,
                        align: Literal["item", "position"], refit_difficulty: bool, n_resamples: int,
                        confidence_level: float, rng: np.random.Generator | int | None) -> LengthControlled:
    published = published_gamed() if gamed == "published" else []
    names = None if isinstance(gamed, str) else gamed
    gen, seed = as_generator(rng)
    rows = pl.DataFrame({"judge": judge, "model": model, "item": frame["item"], "y": y, "len_model": len_model,
                         "len_base": len_model - delta})
    tables, diffs, notes = [], [], {}
    for (j,), g in rows.group_by(["judge"], maintain_order=True):
        dup = g.select(pl.struct("model", "item").is_duplicated().any()).item()
        if dup:
            raise MetaevalError(f"judge {j!r}: AlpacaEval's recipe takes one verdict per model and instruction; "
                                "average or pick repeats (`rep`) first")
        out, note = alpaca_eval_lc(g.drop("judge"), base, regularize=regularize, gamed=names,
                                   difficulty=difficulty, align=align, n_resamples=n_resamples,
                                   confidence_level=confidence_level, gen=gen, published=published,
                                   refit_difficulty=refit_difficulty)
        raw = g.group_by("model", maintain_order=True).agg(
            (100 * pl.col("y").mean()).alias("win_rate"),
            (100 * pl.col("y").std(ddof=1) / pl.len().sqrt()).alias("standard_error"),
            pl.col("len_model").mean().alias("avg_length"), pl.len().cast(pl.Int64).alias("n"))
        tables.append(out.join(raw, on="model", maintain_order="left").with_columns(pl.lit(j).alias("judge")))
        diffs.append(note.pop("difficulty_table").with_columns(pl.lit(j).alias("judge")))
        notes[str(j)] = note
    table = pl.concat(tables).select(
        "judge", "model", "win_rate", "standard_error", "lc_win_rate", "lc_standard_error", "lc_ci_low",
        "lc_ci_high", "length_coef", "difficulty_coef", "intercept", "C", "avg_length", "n",
    ).sort(["judge", "lc_win_rate"], descending=[False, True])
    first = next(iter(notes.values()))
    params = {"method": "alpaca_eval", "baseline": base, "regularize": regularize, "align": align,
              "refit_difficulty": refit_difficulty, "n_resamples": n_resamples, "interval": first["interval"],
              "difficulty": "given" if difficulty is not None else "joint fit",
              "gamed": gamed_source,
              "gamed_baselines": first["gamed_baselines"], "regularize_applied": first["regularize_applied"],
              "per_judge": notes}
    run = RunInfo("length_controlled_win_rate", params, seed, judgments.fingerprint, len(judgments.items),
                  len(judgments))
    return LengthControlled(table, base, "alpaca_eval", confidence_level, run, "alpaca_eval",
                            pl.concat(diffs).select("judge", "item", "difficulty"))


# -------------------------------------------------------------------- WildBench rule
@validate_params({"k": [Interval(Real, 0, None, closed="left")]})
def wildbench_tie_rule(judgments: Judgments, k: float = 500, *, slight: str | pl.Expr | None = None) -> Judgments:
    """WildBench's length penalty: a *slight* win becomes a tie when the winner is more than ``k`` characters longer.

    This is WB-Reward's rule with K = 500 (Lin et al. 2024). A verdict is slight where ``slight``
    (a boolean column or expression) is true; by default, where ``p_a`` is strictly between 0 and 1
    and not ½ (WildBench's "slightly better" is ``p_a`` = 0.75 or 0.25). Converted verdicts get
    outcome ``tie`` and ``p_a`` = ½; how many were converted is recorded in
    ``provenance["wildbench_converted"]``.

    Parameters
    ----------
    judgments : Judgments
        Pairwise verdicts with ``len_a`` and ``len_b`` (characters).
    k : float, default 500
        The length margin, in characters, beyond which a slight win of the longer output is a tie.
    slight : str or polars.Expr, optional
        A boolean column or expression marking the slight verdicts. Default: ``p_a`` strictly
        between 0 and 1 and not ½.

    Returns
    -------
    Judgments
        The same table with the converted verdicts set to ties.

    Examples
    --------
    >>> from metaeval import Judgments, bias
    >>> j = Judgments({"item": ["q1", "q2"], "judge": ["j", "j"], "model_a": ["x", "x"], "model_b": ["y", "y"],
    ...                "outcome": ["a", "a"], "p_a": [0.75, 1.0], "len_a": [2000, 2000], "len_b": [900, 900]})
    >>> out = bias.wildbench_tie_rule(j)
    >>> out.frame["outcome"].cast(str).to_list(), out.provenance["wildbench_converted"]
    (['tie', 'a'], 1)
    """
    judgments = as_judgments(judgments)
    require_pairwise(judgments, "WildBench tie rule")
    require_columns(judgments, ["len_a", "len_b"], "WildBench tie rule", "output lengths of both sides")
    f = judgments.frame
    if slight is None:
        if "p_a" not in f.columns:
            raise MetaevalError("the WildBench tie rule needs to know which wins are slight: give `slight=` (a "
                                "boolean column or expression) or a `p_a` column with graded preferences")
        slight_expr = pl.col("p_a").is_between(0, 1, closed="none") & (pl.col("p_a") != 0.5)
    elif isinstance(slight, str):
        col = column_or_extra(f, slight)
        if col is None:
            raise MetaevalError(f"`slight` names column {slight!r}, which is neither a column nor a field of `extra`")
        slight_expr = pl.lit(col.cast(pl.Boolean))
    else:
        slight_expr = slight
    diff = pl.col("len_a").cast(pl.Float64) - pl.col("len_b").cast(pl.Float64)
    convert = (slight_expr.fill_null(False)
               & (((pl.col("outcome") == "a") & (diff > k)) | ((pl.col("outcome") == "b") & (-diff > k))))
    mask = f.select(convert.alias("c"))["c"]
    n = int(mask.sum())
    cols = [pl.when(mask).then(pl.lit("tie")).otherwise(pl.col("outcome").cast(pl.String)).alias("outcome")]
    if "p_a" in f.columns:
        cols.append(pl.when(mask).then(0.5).otherwise(pl.col("p_a")).alias("p_a"))
    out = f.with_columns(cols)
    prov = dict(judgments.provenance, derived="wildbench_tie_rule", wildbench_k=k, wildbench_converted=n)
    return Judgments(out, kind="pairwise", provenance=prov)
