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

LIBLINEAR's problem ``‖β‖₁ + C Σ w ℓ`` is solved exactly here (proximal Newton for the small
fits, L-BFGS-B for the joint one), where scikit-learn stops LIBLINEAR at ``tol = 1e-4``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from scipy import sparse as sp
from scipy.special import expit

from metaeval._random import resample_counts
from metaeval.bias._glm import l1_logistic, l1_logistic_sparse
from metaeval.errors import EstimationWarning, MetaevalError, warn

__all__ = ["CS", "alpaca_eval_lc", "gamed_baselines", "group_kfold", "instruction_difficulty"]

#: scikit-learn's ``LogisticRegressionCV(Cs=10)`` grid, which AlpacaEval uses.
CS = np.logspace(-4, 4, 10)
N_SPLITS = 5


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


def instruction_difficulty(model: np.ndarray, item: np.ndarray, y: np.ndarray, x: np.ndarray,
                           not_gamed: np.ndarray, n_models: int, n_items: int) -> tuple[np.ndarray, float]:
    """Step 1: the joint fit. ``model`` / ``item`` are codes (item 0 is the reference level),
    ``x`` the model's ``tanh(Δ / sd)``. Returns ``(γ of every item, chosen C)``."""
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
    start = 2 * n_models
    gamma = np.concatenate([[0.0], beta[start:start + n_items - 1]])
    return gamma, float(CS[best])


def _tanh_std(delta: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    """``tanh(Δ / sd)`` with sd (ddof 1, not centred on the mean) per code; 0 where sd is 0."""
    cnt = np.bincount(code, minlength=n).astype(float)
    mean = np.bincount(code, weights=delta, minlength=n) / np.maximum(cnt, 1)
    var = np.bincount(code, weights=(delta - mean[code]) ** 2, minlength=n) / np.maximum(cnt - 1, 1)
    sd = np.sqrt(var)[code]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, np.tanh(delta / np.where(sd > 0, sd, 1.0)), 0.0)


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
) -> tuple[pl.DataFrame, dict[str, object]]:
    """Steps 1-4 on one judge's verdicts against ``baseline``.

    ``rows`` has ``model``, ``item``, ``y`` (the model's preference over the baseline),
    ``len_model`` and ``len_base``. Returns one row per model (``lc_win_rate``,
    ``lc_standard_error`` (AlpacaEval's), ``lc_ci_low`` / ``lc_ci_high`` (item bootstrap),
    ``length_coef``, ``difficulty_coef``, ``intercept``, ``C``) and notes for the run info.
    """
    items = _item_order(rows["item"].to_list())
    if difficulty is not None:
        missing = [i for i in items if i not in difficulty]
        if missing:
            raise MetaevalError(f"`difficulty` has no value for {len(missing)} instructions (first: {missing[0]!r})")
    item_code = {s: i for i, s in enumerate(items)}
    models = sorted(set(rows["model"].to_list()) - {baseline})
    gamed_list = gamed_baselines(models, baseline) if gamed is None else list(gamed)
    unknown = [g for g in gamed_list if g not in models]
    if unknown:
        raise MetaevalError(f"`gamed` names models without verdicts against {baseline!r}: {', '.join(unknown)}")
    notes: dict[str, object] = {"gamed_baselines": gamed_list}
    if regularize > 0 and not gamed_list:
        warn(f"no gamed baselines ({baseline}_verbose / {baseline}_concise) among the models: AlpacaEval's "
             f"regularisation toward them (λ = {regularize:g}) cannot be applied, so this is its unregularised "
             "fit ('length_controlled_noreg'), which can differ from its published LC win rates by points for "
             "models with extreme lengths", EstimationWarning)
    lam = regularize if gamed_list else 0.0
    notes["regularize_applied"] = lam

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
    if difficulty is None:
        keep = len_model != 0  # the notebook drops empty outputs (`len_2 != 0`)
        jm = np.concatenate([np.zeros(len(items), np.int64), m_idx[keep]])
        ji = np.concatenate([np.arange(len(items)), icode[keep]])
        jy = np.concatenate([np.full(len(items), 0.5), y[keep]])  # the baseline against itself
        jx = np.concatenate([np.zeros(len(items)), _tanh_std(delta[keep], m_idx[keep], len(all_models))])
        gamed_codes = np.array([mcode[g] for g in gamed_list], dtype=np.int64)
        jng = ~np.isin(jm, gamed_codes)
        gamma, joint_c = instruction_difficulty(jm, ji, jy, jx, jng, len(all_models), len(items))
        notes["difficulty"] = "joint fit"
        notes["difficulty_C"] = joint_c
    else:
        gamma = np.array([float(difficulty[i]) for i in items])
        notes["difficulty"] = "given"

    notes["difficulty_table"] = pl.DataFrame({"item": items, "difficulty": gamma})

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
    fit_models = list(models)
    blocks_group, blocks_Z, blocks_y, blocks_w, blocks_item = [], [], [], [], []
    gamed_rows = [np.flatnonzero(model_arr == g) for g in gamed_list] if lam > 0 else []
    for gi, m in enumerate(fit_models):
        sel = np.flatnonzero(model_arr == m)
        parts = []
        for gr in gamed_rows:
            Zg = own[gr].copy()
            Zg[:, 2] = 0.0
            parts.append((Zg, y[gr], np.full(len(gr), lam / len(gamed_rows)), icode[gr]))
        parts.append((own[sel], y[sel], np.ones(len(sel)), icode[sel]))
        for Zp, yp, wp, ip in parts:
            blocks_group.append(np.full(len(yp), gi))
            blocks_Z.append(Zp)
            blocks_y.append(yp)
            blocks_w.append(wp)
            blocks_item.append(ip)
    group = np.concatenate(blocks_group)
    Z = np.vstack(blocks_Z)
    Y = np.concatenate(blocks_y)
    W = np.concatenate(blocks_w)
    SW = W if lam > 0 else np.ones_like(W)  # AlpacaEval scores unweighted when nothing is regularised
    ITEM = np.concatenate(blocks_item)
    G = len(fit_models)
    coef, chosen = cv_l1_fits(group, Z, Y, W, SW, G)

    # ---- step 4: the prediction at Δ = 0
    is_own = Z[:, 2] == 1.0
    p0 = expit(coef[group, 2] + coef[group, 1] * Z[:, 1])
    n_own = np.bincount(group[is_own], minlength=G).astype(float)
    lc = np.bincount(group[is_own], weights=p0[is_own], minlength=G) / n_own
    var = np.bincount(group[is_own], weights=(p0[is_own] - lc[group[is_own]]) ** 2, minlength=G) / np.maximum(
        n_own - 1, 1)
    sem = np.sqrt(var / n_own)

    low = high = np.full(G, np.nan)
    if n_resamples > 0:
        boot = np.empty((n_resamples, G))
        W_counts = resample_counts(gen, len(items), n_resamples)
        chunk = max(1, int(2_000_000 // max(len(Y), 1)))
        for start in range(0, n_resamples, chunk):
            cw = W_counts[start:start + chunk]
            b = cw.shape[0]
            prob = (np.arange(b)[:, None] * G + group[None, :]).ravel()
            wts = (cw[:, ITEM] * W[None, :]).ravel()
            beta = l1_logistic(prob, np.tile(Z, (b, 1)), np.tile(Y, b), b * G, np.tile(1.0 / chosen, b),
                               weights=wts, beta0=np.tile(coef, (b, 1)))
            beta = beta.reshape(b, G, 3)
            pb = expit(beta[:, group[is_own], 2] + beta[:, group[is_own], 1] * Z[is_own, 1][None, :])
            wo = cw[:, ITEM[is_own]]
            num = np.stack([np.bincount(group[is_own], weights=pb[r] * wo[r], minlength=G) for r in range(b)])
            den = np.stack([np.bincount(group[is_own], weights=wo[r], minlength=G) for r in range(b)])
            boot[start:start + b] = num / den
        alpha = 1 - confidence_level
        low = np.quantile(boot, alpha / 2, axis=0)
        high = np.quantile(boot, 1 - alpha / 2, axis=0)

    out = pl.DataFrame({
        "model": fit_models,
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
