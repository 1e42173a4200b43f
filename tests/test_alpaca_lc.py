"""AlpacaEval's length-controlled win rate (``method="alpaca_eval"``): the kernels against
scikit-learn's LIBLINEAR and GroupKFold (the library AlpacaEval calls), the whole per-model step
against scikit-learn configured as AlpacaEval configures it, the regularisation toward the gamed
baselines, and the bad-input messages."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from metaeval import Judgments, bias
from metaeval.bias._alpaca_lc import CS, alpaca_eval_lc, gamed_baselines, group_kfold
from metaeval.bias._glm import l1_logistic
from metaeval.errors import EstimationWarning, MetaevalError


def alpaca_like(n_items: int = 150, seed: int = 0, gamed: bool = True, missing: int = 0) -> Judgments:
    """Models judged against ``base`` with graded preferences that reward length; with ``gamed``, the
    baseline's verbose and concise variants (same quality, other lengths)."""
    gen = np.random.default_rng(seed)
    gamma = gen.normal(0, 1, n_items)
    base_len = gen.lognormal(7, 0.4, n_items).round()
    models = {"m-strong": (0.5, 1.3), "m-weak": (-1.5, 0.8), "m-verbose": (-0.8, 2.2), "m-terse": (-0.3, 0.5)}
    if gamed:
        models |= {"base_verbose": (0.0, 1.9), "base_concise": (0.0, 0.45)}
    rows = []
    for name, (theta, scale) in models.items():
        length = (base_len * scale * gen.lognormal(0, 0.3, n_items)).round()
        delta = length - base_len
        eta = theta + 0.9 * np.tanh(delta / delta.std()) + 0.8 * gamma + gen.normal(0, 0.5, n_items)
        p = 1 / (1 + np.exp(-eta))
        keep = np.arange(n_items) >= (missing if name == "m-weak" else 0)
        for i in np.flatnonzero(keep):
            rows.append({"item": str(i), "judge": "j", "model_a": "base", "model_b": name,
                         "outcome": "b" if p[i] > 0.5 else "a", "p_a": 1 - p[i], "len_a": int(base_len[i]),
                         "len_b": int(length[i])})
    return Judgments(pl.DataFrame(rows))


def test_group_kfold_is_scikit_learns():
    model_selection = pytest.importorskip("sklearn.model_selection")
    for n in (5, 12, 803):
        folds = np.empty(n, int)
        for f, (_, test) in enumerate(model_selection.GroupKFold(5).split(np.zeros(n), groups=np.arange(n))):
            folds[test] = f
        assert (folds == group_kfold(n)).all()


def test_l1_logistic_matches_liblinear():
    linear_model = pytest.importorskip("sklearn.linear_model")
    gen = np.random.default_rng(1)
    n = 300
    Z = np.column_stack([np.tanh(gen.normal(size=n)), gen.normal(size=n), np.ones(n)])
    y = 1 / (1 + np.exp(-(Z @ [-1.5, 0.8, -0.5] + gen.normal(0, 0.7, n))))
    w = np.where(np.arange(n) < 100, 0.1, 1.0)
    for C in CS[2:]:
        # AlpacaEval's trick for fractional labels: each row twice, labels 1 and 0, weights w y and w (1 - y)
        ref = linear_model.LogisticRegression(C=C, penalty="l1", solver="liblinear", fit_intercept=False,
                                              tol=1e-12, max_iter=100000)
        ref.fit(np.vstack([Z, Z]), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[w * y, w * (1 - y)])
        ours = l1_logistic(np.zeros(n, int), Z, y, 1, 1 / C, weights=w)[0]
        assert ours == pytest.approx(ref.coef_[0], abs=1e-6)
    # many problems at once give what each gives alone
    two = l1_logistic(np.r_[np.zeros(n, int), np.ones(n, int)], np.vstack([Z, Z]), np.r_[y, 1 - y], 2,
                      np.array([1 / CS[4], 1 / CS[7]]))
    assert two[0] == pytest.approx(l1_logistic(np.zeros(n, int), Z, y, 1, 1 / CS[4])[0], abs=1e-9)
    assert two[1] == pytest.approx(l1_logistic(np.zeros(n, int), Z, 1 - y, 1, 1 / CS[7])[0], abs=1e-9)


def _sklearn_recipe(Z: np.ndarray, y: np.ndarray, w: np.ndarray | None):
    """scikit-learn as AlpacaEval's `fit_LogisticRegressionCV` configures it (written from its description:
    duplicated rows for fractional labels, 5-fold GroupKFold over the original rows, LIBLINEAR with an L1
    penalty, no intercept, the held-out fractional log loss as the score)."""
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    def loss(y_true, y_pred, true_prob, true_sample_weight=None):
        target = np.where(y_true == 1, true_prob, 1 - true_prob)
        q = np.clip(y_pred, 1e-15, 1 - 1e-15)
        ll = target * np.log(q) + (1 - target) * np.log(1 - q)
        return -np.mean(ll if true_sample_weight is None else ll * true_sample_weight)

    n = len(y)
    prob = np.r_[y, 1 - y]
    tsw = None if w is None else np.r_[w, w]
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(loss, response_method="predict_proba", greater_is_better=False)
        scorer = scorer.set_score_request(true_sample_weight=True, true_prob=True)
        model = LogisticRegressionCV(cv=GroupKFold(5), scoring=scorer, penalty="l1", solver="liblinear",
                                     fit_intercept=False, random_state=123, tol=1e-10, max_iter=100000)
        model.set_fit_request(sample_weight=True)
        model.fit(np.vstack([Z, Z]), np.r_[np.ones(n), np.zeros(n)], sample_weight=prob * (1 if w is None else tsw),
                  groups=np.r_[np.arange(n), np.arange(n)], true_prob=prob, true_sample_weight=tsw)
    return model


def _rows(j: Judgments) -> pl.DataFrame:
    f = j.frame
    return pl.DataFrame({"model": f["model_b"], "item": f["item"], "y": 1 - f["p_a"], "len_model": f["len_b"],
                         "len_base": f["len_a"]})


@pytest.mark.parametrize("regularize", [0.0, 0.2])
def test_per_model_fits_match_scikit_learn_configured_as_alpaca_eval(regularize):
    pytest.importorskip("sklearn")
    j = alpaca_like(n_items=120, seed=3)
    rows = _rows(j)
    gen = np.random.default_rng(0)
    difficulty = {str(i): float(v) for i, v in enumerate(gen.normal(0, 1, 120))}
    ours, notes = alpaca_eval_lc(rows, "base", regularize=regularize, gamed=None, difficulty=difficulty,
                                 align="item", n_resamples=0, confidence_level=0.95, gen=gen)
    assert notes["gamed_baselines"] == ["base_concise", "base_verbose"] or set(notes["gamed_baselines"]) == {
        "base_verbose", "base_concise"}
    gam = np.array([difficulty[str(i)] for i in range(120)])

    def design(m: str, const: float) -> tuple[np.ndarray, np.ndarray]:
        sub = rows.filter(pl.col("model") == m).with_columns(pl.col("item").cast(pl.Int64)).sort("item")
        delta = (sub["len_base"] - sub["len_model"]).cast(pl.Float64).to_numpy()
        Z = np.column_stack([np.tanh(delta / delta.std(ddof=1)), gam[sub["item"].to_numpy()],
                             np.full(sub.height, const)])
        return Z, sub["y"].to_numpy()

    for m in ("m-strong", "m-verbose", "base_concise"):
        Z, y = design(m, 1.0)
        if regularize:
            parts = [design(g, 0.0) for g in notes["gamed_baselines"]]
            Zall = np.vstack([p[0] for p in parts] + [Z])
            yall = np.concatenate([p[1] for p in parts] + [y])
            w = np.concatenate([np.full(len(p[1]), regularize / len(parts)) for p in parts] + [np.ones(len(y))])
            ref = _sklearn_recipe(Zall, yall, w)
        else:
            ref = _sklearn_recipe(Z, y, None)
        row = ours.filter(pl.col("model") == m).row(0, named=True)
        assert row["C"] == pytest.approx(ref.C_[0])
        assert [-row["length_coef"], row["difficulty_coef"], row["intercept"]] == pytest.approx(ref.coef_[0], abs=1e-5)
        Z0 = Z.copy()
        Z0[:, 0] = 0
        pred = ref.predict_proba(Z0)[:, 1]
        assert row["lc_win_rate"] == pytest.approx(100 * pred.mean(), abs=1e-4)
        assert row["lc_standard_error"] == pytest.approx(100 * pred.std(ddof=1) / np.sqrt(len(pred)), abs=1e-4)


def test_regularisation_pulls_toward_the_gamed_baselines():
    j = alpaca_like(n_items=120, seed=5)
    reg = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", n_resamples=30, rng=1)
    assert reg.difficulty is not None and reg.difficulty.height == 120
    assert reg.run_info.params["difficulty"] == "joint fit"
    difficulty = dict(zip(reg.difficulty["item"], reg.difficulty["difficulty"], strict=True))
    with pytest.warns(EstimationWarning, match="no gamed baselines"):
        bias.length_controlled_win_rate(j.filter(~pl.col("model_b").str.starts_with("base_")), "base",
                                        method="alpaca_eval", difficulty=difficulty, n_resamples=0)
    noreg = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", regularize=0.0, difficulty=difficulty,
                                            n_resamples=0)
    t = reg.table
    assert reg.run_info.params["regularize_applied"] == 0.2 and noreg.run_info.params["regularize_applied"] == 0.0
    assert set(reg.run_info.params["gamed_baselines"]) == {"base_verbose", "base_concise"}
    # the gamed rows share the slopes: the spread of the models' length slopes shrinks
    assert t["length_coef"].std() < noreg.table["length_coef"].std()
    assert (t["length_coef"] > 0).all()  # longer preferred is planted
    assert ((t["lc_ci_low"] <= t["lc_win_rate"]) & (t["lc_win_rate"] <= t["lc_ci_high"])).all()
    assert "regularised toward" in reg.summary()
    # same seed, same numbers (with the difficulty it estimated, given back)
    again = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", difficulty=difficulty, n_resamples=30,
                                            rng=1)
    assert again.table.equals(t)


def test_position_alignment_only_matters_after_a_missing_verdict():
    full = alpaca_like(n_items=100, seed=2, gamed=False)
    gap = alpaca_like(n_items=100, seed=2, gamed=False, missing=3)  # m-weak lacks items 0-2
    difficulty = {str(i): float(np.sin(i)) for i in range(100)}
    kw = {"method": "alpaca_eval", "regularize": 0.0, "difficulty": difficulty, "n_resamples": 0}
    a = bias.length_controlled_win_rate(full, "base", align="item", **kw).table
    b = bias.length_controlled_win_rate(full, "base", align="position", **kw).table
    assert a.equals(b)
    c = bias.length_controlled_win_rate(gap, "base", align="item", **kw).table.sort("model")
    d = bias.length_controlled_win_rate(gap, "base", align="position", **kw).table.sort("model")
    differs = (c["lc_win_rate"] - d["lc_win_rate"]).abs() > 1e-9
    assert c.filter(differs)["model"].to_list() == ["m-weak"]


def test_alpaca_eval_method_bad_input():
    j = alpaca_like(n_items=40, seed=1, gamed=False)
    with pytest.raises(MetaevalError, match="`method` must be"):
        bias.length_controlled_win_rate(j, "base", method="glm")
    with pytest.raises(MetaevalError, match="`align` must be"):
        bias.length_controlled_win_rate(j, "base", method="alpaca_eval", align="index")
    with pytest.raises(MetaevalError, match="`regularize` must be"):
        bias.length_controlled_win_rate(j, "base", method="alpaca_eval", regularize=-1)
    with pytest.raises(MetaevalError, match="`difficulty` has no value for 40"):
        bias.length_controlled_win_rate(j, "base", method="alpaca_eval", difficulty={"x": 1.0})
    with pytest.raises(MetaevalError, match="`gamed` names models"):
        bias.length_controlled_win_rate(j, "base", method="alpaca_eval", gamed=["nope"], n_resamples=0)
    twice = Judgments(pl.concat([j.frame, j.frame.head(1).with_columns(pl.lit(1, pl.Int64).alias("rep"))],
                                how="diagonal"))
    with pytest.raises(MetaevalError, match="one verdict per model and instruction"):
        bias.length_controlled_win_rate(twice, "base", method="alpaca_eval", n_resamples=0)
    assert gamed_baselines(["base", "base_verbose", "x_concise"], "base") == ["base_verbose"]
