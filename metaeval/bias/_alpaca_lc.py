"""AlpacaEval's own length-controlled win rate, step by step (``method="alpaca_eval"``).

Written from AlpacaEval's description and code (Dubois et al. 2024, "Length-Controlled
AlpacaEval"; GitHub ``tatsu-lab/alpaca_eval``: ``src/alpaca_eval/metrics/glm_winrate.py``,
``notebooks/instruction_difficulty.ipynb`` and ``notebooks/notebook_helpers.py``), without
their code or scikit-learn:

1. **Instruction difficulty** ``γ_i``: one joint logistic fit over every model's verdicts
   against the baseline (the baseline's own rows included, preference ½), with a length slope
   and an intercept per model, one coefficient per instruction (the first instruction is the
   reference, 0) and a common "not a gamed baseline" term; L1 penalty, ``C`` chosen by 5-fold
   cross-validation. The instruction coefficients are ``γ``.
2. **Per model** ``m``: ``logit P(m preferred) = φ tanh(Δ_i / sd) + ψ γ_i + θ`` with
   ``Δ = len(baseline) - len(m)`` and ``sd`` its standard deviation over m's instructions (not
   centred), no other intercept; L1 penalty with ``C`` from ``logspace(-4, 4, 10)`` chosen by
   5-fold cross-validation (one fold per row, scikit-learn's ``GroupKFold`` order) on the
   fractional log loss; then refitted on all rows with that ``C``.
3. **Regularisation toward the gamed baselines** (``λ = 0.2``): the verdicts of the baseline
   prompted to be verbose and to be concise (``<baseline>_verbose``, ``<baseline>_concise``)
   join every model's fit with weight ``λ / 2`` each and ``θ`` fixed at 0 — they share φ and ψ,
   so the length slope is pulled toward the one that explains the baseline against itself.
4. **LC win rate** ``= 100 × mean_i σ(θ + ψ γ_i)`` (the prediction at Δ = 0), and AlpacaEval's
   ``lc_standard_error = 100 × sd_i(σ(θ + ψ γ_i)) / √n`` (ddof 1).

The gamed baselines' verdicts (AlpacaEval's ``df_gamed.csv``) are only published on Hugging Face.
:func:`published_gamed` rebuilds their rows from what the GitHub repository holds: the two gamed
models' output lengths per instruction (``metaeval/data/alpaca_eval_gamed_lengths.csv``) and their
published GLM coefficients (:data:`PUBLISHED_GAMED_GLM`) and win rates
(:data:`PUBLISHED_GAMED_WIN_RATE`); each row's target is the preference that GLM expects,
``σ(φ_g tanh(Δ_gi / sd_g) + ψ_g γ_i + θ_g + c_g)``, in place of the observed one, with ``c_g``
refitting the intercept to the published win rate on the γ in use (:meth:`PublishedGamed.targets`).

LIBLINEAR's problem ``‖β‖₁ + C Σ w ℓ`` is solved exactly here (proximal Newton for the small
fits, L-BFGS-B for the joint one), where scikit-learn stops LIBLINEAR at ``tol = 1e-4``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np
import polars as pl
from scipy import optimize
from scipy import sparse as sp
from scipy.special import expit

from metaeval.bias._glm import l1_logistic, l1_logistic_sparse
from metaeval.errors import EstimationWarning, MetaevalError, warn
from metaeval.stats.resampling import cluster_weights, percentile_interval

__all__ = ["CS", "PUBLISHED_GAMED_GLM", "PUBLISHED_GAMED_WIN_RATE", "JointFit", "PublishedGamed", "alpaca_eval_lc",
           "gamed_baselines", "group_kfold", "instruction_difficulty", "published_gamed"]

#: scikit-learn's ``LogisticRegressionCV(Cs=10)`` grid, which AlpacaEval uses.
CS = np.logspace(-4, 4, 10)
N_SPLITS = 5

#: AlpacaEval's published GLM weights of its two gamed baselines (judge ``weighted_alpaca_eval_gpt4_turbo``,
#: GLM ``length_controlled_v1``, baseline ``gpt4_1106_preview``): the coefficients of
#: ``np.tanh(std_delta_len)`` (Δ = baseline length − model length, over its sd), ``instruction_difficulty``
#: and ``not_gamed_baseline``. Source: github.com/tatsu-lab/alpaca_eval (Apache-2.0) at commit
#: cd543a149df89434d8a54582c0151c0b945c3d20, ``src/alpaca_eval/metrics/weights/weighted_alpaca_eval_gpt4_turbo/
#: length_controlled_v1/baseline_gpt4_1106_preview.csv``.
PUBLISHED_GAMED_GLM: dict[str, tuple[float, float, float]] = {
    "gpt4_1106_preview_verbose": (-1.5835274219761557, 0.8334888457867451, 0.1923534665807022),
    "gpt4_1106_preview_concise": (-1.6424856171097677, 0.6835779026468267, -0.3182055425894927),
}
#: Their published (graded) win rates against the baseline, 100 × the mean of their 805 verdicts: the one
#: statistic of the gamed verdicts that AlpacaEval's GitHub repository holds. Source: the same commit,
#: ``src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv``.
PUBLISHED_GAMED_WIN_RATE: dict[str, float] = {
    "gpt4_1106_preview_verbose": 64.30360147101865,
    "gpt4_1106_preview_concise": 22.92019444047205,
}
#: The baseline those gamed baselines were judged against.
PUBLISHED_BASELINE = "gpt4_1106_preview"
GAMED_LENGTHS = "alpaca_eval_gamed_lengths.csv"


@dataclass(frozen=True)
class PublishedGamed:
    """One gamed baseline rebuilt from AlpacaEval's published GLM: its output length and the
    baseline's on each of AlpacaEval's instructions (``item`` = instruction id as text) and its
    coefficients ``(φ, ψ, θ)`` on ``tanh(Δ / sd)``, the instruction difficulty and the intercept."""

    name: str
    item: np.ndarray
    len_model: np.ndarray
    len_base: np.ndarray
    coef: tuple[float, float, float]
    win_rate: float | None = None

    def features(self) -> np.ndarray:
        """``tanh(Δ / sd)`` per instruction, Δ = baseline − gamed length, sd over all its instructions
        (ddof 1), as AlpacaEval standardises each model's length differences."""
        delta = self.len_base - self.len_model
        return np.tanh(delta / np.std(delta, ddof=1))

    def targets(self, gamma: np.ndarray) -> tuple[np.ndarray, float]:
        """Expected preference on each instruction, given its difficulty ``gamma`` (aligned with
        ``item``): ``σ(φ tanh(Δ / sd) + ψ γ + θ + c)``, where the shift ``c`` makes their mean the
        published ``win_rate`` (0 without one). Returns ``(targets, c)``.

        The published θ belongs to AlpacaEval's own difficulties; on another estimate of γ (whose
        level is pinned only by one reference instruction) the same θ would imply a different
        mean preference, so θ is refitted to the observed mean: the intercept's score equation
        ``Σ (y - q) = 0`` holds again for the rebuilt targets.
        """
        phi, psi, theta = self.coef
        eta = phi * self.features() + psi * gamma + theta
        if self.win_rate is None:
            return expit(eta), 0.0
        target = self.win_rate / 100
        if not 0 < target < 1:
            raise MetaevalError(f"{self.name}: a published win rate must lie strictly between 0 and 100; got "
                                f"{self.win_rate!r}")
        c = float(optimize.brentq(lambda c: float(np.mean(expit(eta + c))) - target, -50.0, 50.0, xtol=1e-12))
        return expit(eta + c), c


def published_gamed() -> list[PublishedGamed]:
    """AlpacaEval's two gamed baselines as shipped with metaeval (lengths from
    ``metaeval/data/alpaca_eval_gamed_lengths.csv``, coefficients :data:`PUBLISHED_GAMED_GLM`).

    >>> [(g.name, len(g.item), round(float(g.len_model.mean()))) for g in published_gamed()]
    [('gpt4_1106_preview_verbose', 805, 2403), ('gpt4_1106_preview_concise', 805, 1137)]
    """
    with resources.files("metaeval").joinpath("data", GAMED_LENGTHS).open("rb") as fh:
        table = pl.read_csv(fh, comment_prefix="#")
    item = table["instruction_id"].cast(pl.String).to_numpy()
    base = table[PUBLISHED_BASELINE].to_numpy().astype(float)
    return [PublishedGamed(name, item, table[name].to_numpy().astype(float), base, coef,
                           PUBLISHED_GAMED_WIN_RATE[name]) for name, coef in PUBLISHED_GAMED_GLM.items()]


def group_kfold(n: int, n_splits: int = N_SPLITS) -> np.ndarray:
    """Fold of each of ``n`` rows under scikit-learn's ``GroupKFold`` with one group per row.

    Groups of equal size are dealt, last group first, to the lightest fold: row ``r`` goes to
    fold ``(n - 1 - r) mod n_splits``.

    >>> group_kfold(7, 5).tolist()
    [1, 0, 4, 3, 2, 1, 0]
    """
    return (n - 1 - np.arange(n)) % n_splits


def gamed_baselines(models: Sequence[str], baseline: str) -> list[str]:
    """AlpacaEval's rule for the gamed baselines: models whose name contains the baseline's and
    ``verbose`` or ``concise``.

    >>> gamed_baselines(["gpt4", "gpt4_verbose", "gpt4_concise", "llama_verbose"], "gpt4")
    ['gpt4_verbose', 'gpt4_concise']
    """
    return [m for m in models if m != baseline and baseline in m and ("verbose" in m or "concise" in m)]


def _item_order(items: Sequence[str]) -> list[str]:
    """Instructions in the order of their levels: numerically when every id is an integer."""
    uniq = sorted(set(items))
    if all(s.lstrip("-").isdigit() for s in uniq):
        return sorted(uniq, key=int)
    return uniq


def _logloss_scores(eta: np.ndarray, y: np.ndarray, sw: np.ndarray, fold: np.ndarray, group: np.ndarray,
                    n_groups: int) -> np.ndarray:
    """AlpacaEval's cross-validation log loss on each held-out fold, ``-mean(sw · [y log q + (1-y) log(1-q)])``
    with ``q`` clipped to [1e-15, 1 - 1e-15], per group (returns G × folds)."""
    q = np.clip(expit(eta), 1e-15, 1 - 1e-15)
    ll = -sw * (y * np.log(q) + (1 - y) * np.log(1 - q))
    out = np.zeros((n_groups, N_SPLITS))
    for f in range(N_SPLITS):
        sel = fold == f
        s = np.bincount(group[sel], weights=ll[sel], minlength=n_groups)
        n = np.bincount(group[sel], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, f] = np.where(n > 0, s / n, 0.0)
    return out


def cv_l1_fits(group: np.ndarray, Z: np.ndarray, y: np.ndarray, weight: np.ndarray, score_weight: np.ndarray,
               n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: ``C`` from :data:`CS` by 5-fold cross-validation (rows in the given order within
    a group), then the fit on all rows at that ``C``. Returns ``(coef G × k, C G)``."""
    n_g = np.bincount(group, minlength=n_groups)
    pos = np.arange(len(group)) - np.concatenate([[0], np.cumsum(n_g)[:-1]])[group]
    if np.any(np.diff(group) < 0):
        raise MetaevalError("rows must be sorted by group")  # internal: callers build them sorted
    fold = (n_g[group] - 1 - pos) % N_SPLITS
    k = Z.shape[1]
    scores = np.zeros((n_groups, len(CS)))
    # One batched problem per C: group g's fit without fold f is problem g * 5 + f.
    rows = np.tile(np.arange(len(y)), N_SPLITS)
    rep_fold = np.repeat(np.arange(N_SPLITS), len(y))
    prob = group[rows] * N_SPLITS + rep_fold
    w_train = weight[rows] * (fold[rows] != rep_fold)
    for c_idx, C in enumerate(CS):
        beta = l1_logistic(prob, Z[rows], y[rows], n_groups * N_SPLITS, 1.0 / C, weights=w_train)
        beta = beta.reshape(n_groups, N_SPLITS, k)
        eta = np.einsum("ij,ij->i", Z, beta[group, fold])
        scores[:, c_idx] = -_logloss_scores(eta, y, score_weight, fold, group, n_groups).sum(1)
    best = np.argmax(scores, axis=1)  # scikit-learn: argmax of the summed fold scores, first on ties
    chosen = CS[best]
    coef = l1_logistic(group, Z, y, n_groups, 1.0 / chosen, weights=weight)
    return coef, chosen


@dataclass(frozen=True)
class JointFit:
    """Step 1's fit, kept so that a bootstrap can refit it on resampled instructions."""

    X: sp.csr_matrix
    y: np.ndarray
    item: np.ndarray
    beta: np.ndarray
    C: float
    n_models: int
    n_items: int

    @property
    def gamma(self) -> np.ndarray:
        return self.difficulty(self.beta)

    def difficulty(self, beta: np.ndarray) -> np.ndarray:
        start = 2 * self.n_models
        return np.concatenate([[0.0], beta[start:start + self.n_items - 1]])

    def refit(self, counts: np.ndarray) -> np.ndarray:
        """γ refitted at the same ``C`` with each instruction weighted by ``counts`` (its multiplicity
        in a bootstrap resample), warm-started at the fit on all instructions."""
        beta = l1_logistic_sparse(self.X, self.y, 1.0 / self.C, weights=counts[self.item].astype(float),
                                  beta0=self.beta, tol=1e-8, max_iter=50000)
        return self.difficulty(beta)


def instruction_difficulty(model: np.ndarray, item: np.ndarray, y: np.ndarray, x: np.ndarray,
                           not_gamed: np.ndarray, n_models: int, n_items: int) -> JointFit:
    """Step 1: the joint fit. ``model`` / ``item`` are codes (item 0 is the reference level),
    ``x`` the model's ``tanh(Δ / sd)``. Returns the fit (γ of every item: ``.gamma``; the chosen
    penalty: ``.C``)."""
    n = len(y)
    r = np.arange(n)
    cols = [
        sp.csr_matrix((x, (r, model)), shape=(n, n_models)),
        sp.csr_matrix((np.ones(n), (r, model)), shape=(n, n_models)),
    ]
    ref = item > 0
    cols.append(sp.csr_matrix((np.ones(int(ref.sum())), (r[ref], item[ref] - 1)), shape=(n, n_items - 1)))
    cols.append(sp.csr_matrix(not_gamed.astype(float)[:, None]))
    X = sp.hstack(cols).tocsr()
    fold = group_kfold(n)
    scores = np.zeros(len(CS))
    warm = [None] * N_SPLITS
    for c_idx, C in enumerate(CS):
        for f in range(N_SPLITS):
            train = fold != f
            # the held-out scores need the predictions, not the last digits of each path point
            b = l1_logistic_sparse(X[train], y[train], 1.0 / C, beta0=warm[f], tol=1e-8, max_iter=3000)
            warm[f] = b
            q = np.clip(expit(X[~train] @ b), 1e-15, 1 - 1e-15)
            yt = y[~train]
            scores[c_idx] += float(np.mean(yt * np.log(q) + (1 - yt) * np.log(1 - q)))
    best = int(np.argmax(scores))
    beta = l1_logistic_sparse(X, y, 1.0 / CS[best], beta0=None, tol=1e-10, max_iter=50000)
    return JointFit(X, y, item, beta, float(CS[best]), n_models, n_items)


def _tanh_std(delta: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    """``tanh(Δ / sd)`` with sd (ddof 1, not centred on the mean) per code; 0 where sd is 0."""
    cnt = np.bincount(code, minlength=n).astype(float)
    mean = np.bincount(code, weights=delta, minlength=n) / np.maximum(cnt, 1)
    var = np.bincount(code, weights=(delta - mean[code]) ** 2, minlength=n) / np.maximum(cnt - 1, 1)
    sd = np.sqrt(var)[code]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, np.tanh(delta / np.where(sd > 0, sd, 1.0)), 0.0)


def _check_published(rows: pl.DataFrame, models: Sequence[str], published: Sequence[PublishedGamed]) -> None:
    """The published gamed rows belong to AlpacaEval's instructions and baseline: the table's items
    must be AlpacaEval's instruction ids with the baseline's lengths there, and must not hold
    the gamed baselines' own verdicts (which would then be the ones to use)."""
    here = [g.name for g in published if g.name in models]
    if here:
        raise MetaevalError(f"the table holds verdicts of {', '.join(here)}: leave out gamed='published' to "
                            "regularise toward those real verdicts (AlpacaEval's exact recipe)")
    ref = dict(zip(published[0].item.tolist(), published[0].len_base.tolist(), strict=True))
    base = rows.group_by("item").agg(pl.col("len_base").first()).sort("item")
    unknown = [s for s in base["item"].to_list() if s not in ref]
    if unknown:
        raise MetaevalError(f"gamed='published' rebuilds AlpacaEval's gamed baselines on its 805 instructions, "
                            f"whose items are the instruction ids 0-804; {len(unknown)} items here are not "
                            f"(first: {unknown[0]!r})")
    bad = [(s, n) for s, n in zip(base["item"].to_list(), base["len_base"].to_list(), strict=True)
           if float(n) != ref[s]]
    if bad:
        s, n = bad[0]
        raise MetaevalError(f"gamed='published' needs AlpacaEval's baseline {PUBLISHED_BASELINE!r} on its "
                            f"instructions (items = instruction ids 0-804): the baseline's output length differs "
                            f"from {PUBLISHED_BASELINE}'s on {len(bad)} of {base.height} items (first: item {s!r}, "
                            f"{n:g} characters here, {ref[s]:g} in AlpacaEval's outputs)")


def alpaca_eval_lc(
    rows: pl.DataFrame,
    baseline: str,
    *,
    regularize: float,
    gamed: Sequence[str] | None,
    difficulty: Mapping[str, float] | None,
    align: Literal["item", "position"],
    n_resamples: int,
    confidence_level: float,
    gen: np.random.Generator,
    published: Sequence[PublishedGamed] = (),
    refit_difficulty: bool = True,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """Steps 1-4 on one judge's verdicts against ``baseline``.

    ``rows`` has ``model``, ``item``, ``y`` (the model's preference over the baseline),
    ``len_model`` and ``len_base``. The gamed rows are the verdicts of the models ``gamed``
    names (default: :func:`gamed_baselines`), or, with ``published``, rows rebuilt from
    AlpacaEval's published GLM (targets: its expected preferences; they stay out of the joint
    difficulty fit, whose γ they need). Returns one row per model (``lc_win_rate``,
    ``lc_standard_error`` (AlpacaEval's), ``lc_ci_low`` / ``lc_ci_high`` (item bootstrap: every
    per-model fit redone on the resampled instructions at its chosen ``C``, and with
    ``refit_difficulty`` the joint difficulty fit too, at its chosen ``C``), ``length_coef``,
    ``difficulty_coef``, ``intercept``, ``C``) and notes for the run info.
    """
    items = _item_order(rows["item"].to_list())
    if difficulty is not None:
        missing = [i for i in items if i not in difficulty]
        if missing:
            raise MetaevalError(f"`difficulty` has no value for {len(missing)} instructions (first: {missing[0]!r})")
    item_code = {s: i for i, s in enumerate(items)}
    models = sorted(set(rows["model"].to_list()) - {baseline})
    table_gamed, notes, lam = _gamed_rows(rows, baseline, models, regularize, gamed, published)
    frame = rows.with_columns(pl.col("item").replace_strict(item_code, return_dtype=pl.Int64).alias("icode"))
    frame = frame.sort(["model", "icode"])
    all_models = [baseline, *models]
    mcode = {m: i for i, m in enumerate(all_models)}
    model_arr = frame["model"].to_numpy()
    m_idx = np.array([mcode[m] for m in model_arr], dtype=np.int64)
    icode = frame["icode"].to_numpy()
    y = frame["y"].to_numpy().astype(float)
    len_model = frame["len_model"].to_numpy().astype(float)
    delta = frame["len_base"].to_numpy().astype(float) - len_model

    # ---- step 1: instruction difficulty
    joint, gamma = _difficulty_step(difficulty, items, m_idx, icode, y, len_model, delta, len(all_models),
                                    [mcode[g] for g in table_gamed], notes)

    # ---- steps 2-3: per-model fits
    counts = np.bincount(m_idx, minlength=len(all_models))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(y)) - starts[m_idx]
    g_idx = icode if align == "item" else pos  # AlpacaEval's `index` is the row's position in the model's list
    if np.any(g_idx >= len(items)):
        raise MetaevalError("a model has more verdicts than there are instructions; `align='position'` needs one "
                            "verdict per instruction at most")
    x = _tanh_std(delta, m_idx, len(all_models))
    own = np.column_stack([x, gamma[g_idx], np.ones(len(y))])
    targets = _PublishedTargets(published, item_code)
    gamed_parts = _gamed_parts(lam, table_gamed, targets, model_arr, own, y, icode, g_idx, gamma, notes)
    design = _stacked_design(models, gamed_parts, lam, model_arr, own, y, icode, g_idx)
    coef, chosen = cv_l1_fits(design.group, design.Z, design.Y, design.W, design.SW, design.G)

    # ---- step 4: the prediction at Δ = 0
    lc, sem = _lc_at_zero(design, coef)
    low = high = np.full(design.G, np.nan)
    refit = refit_difficulty and joint is not None
    notes["interval"] = ("bootstrap over instructions refitting the instruction difficulty and every model's fit "
                         "(penalties fixed at those chosen)" if refit else
                         "bootstrap over instructions refitting every model's fit, the instruction difficulty "
                         + ("held fixed" if joint is not None else "as given") + " (penalties fixed)")
    if n_resamples > 0:
        boot = _lc_bootstrap(design, coef, chosen, gamma, joint if refit else None, targets, len(items), n_resamples,
                             gen)
        low, high = percentile_interval(boot, confidence_level, nan_policy="propagate")

    out = pl.DataFrame({
        "model": models,
        "lc_win_rate": 100 * lc,
        "lc_standard_error": 100 * sem,
        "lc_ci_low": 100 * np.asarray(low),
        "lc_ci_high": 100 * np.asarray(high),
        "length_coef": -coef[:, 0],
        "difficulty_coef": coef[:, 1],
        "intercept": coef[:, 2],
        "C": chosen,
    })
    return out, notes


def _difficulty_step(difficulty: Mapping[str, float] | None, items: list[str], m_idx: np.ndarray, icode: np.ndarray,
                     y: np.ndarray, len_model: np.ndarray, delta: np.ndarray, n_models: int, gamed_codes: list[int],
                     notes: dict[str, object]) -> tuple[JointFit | None, np.ndarray]:
    """Step 1: the instruction difficulty γ, given or fitted jointly on every model but the gamed
    baselines (with the baseline against itself at ½ on every instruction); the fit is kept for a
    bootstrap that refits it."""
    joint: JointFit | None
    if difficulty is None:
        keep = len_model != 0  # the notebook drops empty outputs (`len_2 != 0`)
        jm = np.concatenate([np.zeros(len(items), np.int64), m_idx[keep]])
        ji = np.concatenate([np.arange(len(items)), icode[keep]])
        jy = np.concatenate([np.full(len(items), 0.5), y[keep]])  # the baseline against itself
        jx = np.concatenate([np.zeros(len(items)), _tanh_std(delta[keep], m_idx[keep], n_models)])
        jng = ~np.isin(jm, np.array(gamed_codes, dtype=np.int64))
        joint = instruction_difficulty(jm, ji, jy, jx, jng, n_models, len(items))
        gamma = joint.gamma
        notes["difficulty"] = "joint fit"
        notes["difficulty_C"] = joint.C
    else:
        joint = None
        gamma = np.array([float(difficulty[i]) for i in items])
        notes["difficulty"] = "given"
    notes["difficulty_table"] = pl.DataFrame({"item": items, "difficulty": gamma})
    return joint, gamma


def _gamed_rows(rows: pl.DataFrame, baseline: str, models: list[str], regularize: float, gamed: Sequence[str] | None,
                published: Sequence[PublishedGamed]) -> tuple[list[str], dict[str, object], float]:
    """The gamed baselines among the table's models (none when their rows are rebuilt from
    ``published``), the run notes that name them, and the regularisation toward them that applies
    (0, with a warning, when there are none)."""
    if published:
        _check_published(rows, models, published)
        table_gamed: list[str] = []
    else:
        table_gamed = gamed_baselines(models, baseline) if gamed is None else list(gamed)
    unknown = [g for g in table_gamed if g not in models]
    if unknown:
        raise MetaevalError(f"`gamed` names models without verdicts against {baseline!r}: {', '.join(unknown)}")
    gamed_list = [g.name for g in published] if published else table_gamed
    notes: dict[str, object] = {"gamed_baselines": gamed_list,
                                "gamed_source": "published GLM" if published else "verdicts"}
    if regularize > 0 and not gamed_list:
        warn(f"no gamed baselines ({baseline}_verbose / {baseline}_concise) among the models: AlpacaEval's "
             f"regularisation toward them (λ = {regularize:g}) cannot be applied, so this is its unregularised "
             "fit ('length_controlled_noreg'), which can differ from its published LC win rates by points for "
             "models with extreme lengths", EstimationWarning)
    lam = regularize if gamed_list else 0.0
    notes["regularize_applied"] = lam
    return table_gamed, notes, lam


class _PublishedTargets:
    """The rows rebuilt from the published gamed baselines: which of each one's instructions the
    table has (``rows``, filled by :func:`_gamed_parts`) and their targets on a difficulty."""

    def __init__(self, published: Sequence[PublishedGamed], item_code: Mapping[str, int]) -> None:
        self.published, self.item_code = published, item_code
        # per published model: which of its items are here, and their codes
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, gam: np.ndarray) -> tuple[list[np.ndarray], dict[str, float]]:
        out: list[np.ndarray] = []
        shift: dict[str, float] = {}
        if not self.rows:  # no regularisation (λ = 0): the published rows are not used, nor rebuilt
            return out, shift
        for pg, (here, _codes) in zip(self.published, self.rows, strict=True):
            # every instruction's difficulty for the intercept refit; one the table lacks counts as average
            g_all = np.array([gam[self.item_code[s]] if s in self.item_code else float(np.mean(gam)) for s in pg.item])
            target, shift[pg.name] = pg.targets(g_all)
            out.append(target[here])
        return out, shift


_GamedPart = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]


def _gamed_parts(lam: float, table_gamed: Sequence[str], targets: _PublishedTargets, model_arr: np.ndarray,
                 own: np.ndarray, y: np.ndarray, icode: np.ndarray, g_idx: np.ndarray, gamma: np.ndarray,
                 notes: dict[str, object]) -> list[_GamedPart]:
    """The gamed rows every model's fit is regularised with (none when ``lam`` is 0): features
    (tanh(Δ / sd), γ, 0), a target, the instruction, where its γ is read, and for rebuilt rows the
    index of their published model (their targets depend on γ); -1 for verdicts."""
    gamed_parts: list[_GamedPart] = []
    if lam > 0:
        for g in table_gamed:
            gr = np.flatnonzero(model_arr == g)
            Zg = own[gr].copy()
            Zg[:, 2] = 0.0
            gamed_parts.append((Zg, y[gr], icode[gr], g_idx[gr], -1))
        for pg in targets.published:
            here = np.array([s in targets.item_code for s in pg.item])
            targets.rows.append((here, np.array([targets.item_code[s] for s in pg.item[here]], dtype=np.int64)))
        rebuilt, shifts = targets(gamma)
        for k, (pg, (here, gi_codes)) in enumerate(zip(targets.published, targets.rows, strict=True)):
            Zg = np.column_stack([pg.features()[here], gamma[gi_codes], np.zeros(len(gi_codes))])
            gamed_parts.append((Zg, rebuilt[k], gi_codes, gi_codes, k))
        if targets.published:
            notes["published_intercept_shift"] = shifts
    return gamed_parts


@dataclass(frozen=True)
class _Design:
    """Every model's fit stacked: its rows (``group``), features ``Z`` (tanh(Δ / sd), γ, own row),
    targets ``Y``, fit weights ``W`` and scoring weights ``SW``, each row's instruction ``ITEM``,
    where its γ is read (``didx``: ``Z[:, 1] == gamma[didx]``) and its published gamed model
    (``pub_of_row``, -1 for none); ``G`` models."""

    group: np.ndarray
    Z: np.ndarray
    Y: np.ndarray
    W: np.ndarray
    SW: np.ndarray
    ITEM: np.ndarray
    didx: np.ndarray
    pub_of_row: np.ndarray
    G: int


def _stacked_design(fit_models: Sequence[str], gamed_parts: Sequence[_GamedPart], lam: float, model_arr: np.ndarray,
                    own: np.ndarray, y: np.ndarray, icode: np.ndarray, g_idx: np.ndarray) -> _Design:
    """Each model's own rows after the gamed rows (weighted ``lam`` in all), stacked model by model."""
    blocks_group, blocks_Z, blocks_y, blocks_w, blocks_item, blocks_didx, blocks_pub = [], [], [], [], [], [], []
    for gi, m in enumerate(fit_models):
        sel = np.flatnonzero(model_arr == m)
        parts = [(Zg, yg, np.full(len(yg), lam / len(gamed_parts)), ig, dg, np.full(len(yg), k))
                 for Zg, yg, ig, dg, k in gamed_parts]
        parts.append((own[sel], y[sel], np.ones(len(sel)), icode[sel], g_idx[sel], np.full(len(sel), -1)))
        for Zp, yp, wp, ip, dp, kp in parts:
            blocks_group.append(np.full(len(yp), gi))
            blocks_Z.append(Zp)
            blocks_y.append(yp)
            blocks_w.append(wp)
            blocks_item.append(ip)
            blocks_didx.append(dp)
            blocks_pub.append(kp)
    W = np.concatenate(blocks_w)
    return _Design(group=np.concatenate(blocks_group), Z=np.vstack(blocks_Z), Y=np.concatenate(blocks_y), W=W,
                   SW=W if lam > 0 else np.ones_like(W),  # AlpacaEval scores unweighted when nothing is regularised
                   ITEM=np.concatenate(blocks_item), didx=np.concatenate(blocks_didx),
                   pub_of_row=np.concatenate(blocks_pub), G=len(fit_models))


def _lc_at_zero(design: _Design, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: each model's mean predicted preference on its own rows at Δ = 0, and its standard error."""
    group, Z, G = design.group, design.Z, design.G
    is_own = Z[:, 2] == 1.0
    p0 = expit(coef[group, 2] + coef[group, 1] * Z[:, 1])
    n_own = np.bincount(group[is_own], minlength=G).astype(float)
    lc = np.bincount(group[is_own], weights=p0[is_own], minlength=G) / n_own
    var = np.bincount(group[is_own], weights=(p0[is_own] - lc[group[is_own]]) ** 2, minlength=G) / np.maximum(
        n_own - 1, 1)
    return lc, np.sqrt(var / n_own)


def _lc_bootstrap(design: _Design, coef: np.ndarray, chosen: np.ndarray, gamma: np.ndarray, joint: JointFit | None,
                  targets: _PublishedTargets, n_items: int, n_resamples: int,
                  gen: np.random.Generator) -> np.ndarray:
    """Resamples × models LC win rates over resampled instructions: every model's fit redone at its
    chosen ``C``, and with ``joint`` the instruction difficulty refitted (and the rebuilt gamed
    rows' targets with it), in chunks of about two million rows."""
    group, Z, Y, W, ITEM, didx, G = design.group, design.Z, design.Y, design.W, design.ITEM, design.didx, design.G
    is_own = Z[:, 2] == 1.0
    boot = np.empty((n_resamples, G))
    W_counts = cluster_weights(n_items, n_resamples, gen)
    chunk = max(1, int(2_000_000 // max(len(Y), 1)))
    for start in range(0, n_resamples, chunk):
        cw = W_counts[start:start + chunk]
        b = cw.shape[0]
        prob = (np.arange(b)[:, None] * G + group[None, :]).ravel()
        wts = (cw[:, ITEM] * W[None, :]).ravel()
        Zb, Yb = np.tile(Z, (b, 1)), np.tile(Y, b)
        gam_b = np.tile(gamma, (b, 1))
        if joint is not None:
            n_rows = len(Y)
            for r in range(b):
                gam_b[r] = joint.refit(cw[r])
                Zb[r * n_rows:(r + 1) * n_rows, 1] = gam_b[r][didx]
                if targets.published:
                    rows_r = Yb[r * n_rows:(r + 1) * n_rows]
                    for k, t in enumerate(targets(gam_b[r])[0]):
                        rows_r[design.pub_of_row == k] = np.tile(t, G)
        beta = l1_logistic(prob, Zb, Yb, b * G, np.tile(1.0 / chosen, b), weights=wts,
                           beta0=np.tile(coef, (b, 1)))
        beta = beta.reshape(b, G, 3)
        pb = expit(beta[:, group[is_own], 2] + beta[:, group[is_own], 1] * gam_b[:, didx[is_own]])
        wo = cw[:, ITEM[is_own]]
        num = np.stack([np.bincount(group[is_own], weights=pb[r] * wo[r], minlength=G) for r in range(b)])
        den = np.stack([np.bincount(group[is_own], weights=wo[r], minlength=G) for r in range(b)])
        boot[start:start + b] = num / den
    return boot
