"""AlpacaEval's length-controlled win rate (``method="alpaca_eval"``): the kernels against
scikit-learn's LIBLINEAR and GroupKFold (the library AlpacaEval calls), the whole per-model step
against scikit-learn configured as AlpacaEval configures it, the regularisation toward the gamed
baselines, and the bad-input messages."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from metaeval import Judgments, bias
from metaeval.bias._alpaca_lc import CS, PublishedGamed, alpaca_eval_lc, gamed_baselines, group_kfold, published_gamed
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
    assert reg.run_info.params["refit_difficulty"] and "refitting the instruction difficulty" in reg.summary()
    # with the difficulty it estimated given back: the same estimates; the interval then takes γ as known, which
    # is the interval with γ held fixed (same seed, same numbers)
    again = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", difficulty=difficulty, n_resamples=30,
                                            rng=1)
    ci = ["lc_ci_low", "lc_ci_high"]
    assert again.table.drop(ci).equals(t.drop(ci)) and not again.table.select(ci).equals(t.select(ci))
    fixed = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", refit_difficulty=False, n_resamples=30,
                                            rng=1)
    assert fixed.table.equals(again.table) and "held fixed" in fixed.summary()


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


def _published_from_fit(rows: pl.DataFrame, fit: pl.DataFrame, calibrate: bool) -> list[PublishedGamed]:
    """The gamed baselines as AlpacaEval publishes them: lengths, GLM coefficients (from ``fit``) and win rate."""
    out = []
    for g in ("base_verbose", "base_concise"):
        r = fit.filter(pl.col("model") == g).row(0, named=True)
        sub = rows.filter(pl.col("model") == g).with_columns(pl.col("item").cast(pl.Int64)).sort("item")
        out.append(PublishedGamed(g, sub["item"].cast(pl.String).to_numpy(), sub["len_model"].to_numpy().astype(float),
                                  sub["len_base"].to_numpy().astype(float),
                                  (-r["length_coef"], r["difficulty_coef"], r["intercept"]),
                                  100 * float(sub["y"].mean()) if calibrate else None))
    return out


def test_rows_rebuilt_from_the_published_glm_track_the_exact_recipe():
    """gamed="published" in miniature: the gamed baselines' verdicts are replaced by the preferences their
    fitted GLM expects. On the difficulty they were fitted with, and on another estimate of it (the situation
    on AlpacaEval's data: γ re-estimated from other models), the LC win rates stay within 0.15 points of the
    exact recipe (real gamed verdicts, same γ); without the intercept refit, or without the gamed rows, they
    do not."""
    n = 300
    j = alpaca_like(n_items=n, seed=0)
    rows = _rows(j)
    true_gamma = np.random.default_rng(0).normal(0, 1, n)  # alpaca_like's first draw
    other = true_gamma + np.random.default_rng(100).normal(0, 0.3, n)
    kw = {"regularize": 0.2, "gamed": None, "align": "item", "n_resamples": 0, "confidence_level": 0.95,
          "gen": np.random.default_rng(0)}
    normal = rows.filter(~pl.col("model").str.starts_with("base_"))

    def lc(table, gamma, **extra):
        out, notes = alpaca_eval_lc(table, "base", difficulty={str(i): float(v) for i, v in enumerate(gamma)},
                                    **kw, **extra)
        return out.filter(~pl.col("model").str.starts_with("base_")).sort("model")["lc_win_rate"].to_numpy(), notes

    exact, _ = alpaca_eval_lc(rows, "base", difficulty={str(i): float(v) for i, v in enumerate(true_gamma)}, **kw)
    for gamma in (true_gamma, other):
        reference, _ = lc(rows, gamma)
        rebuilt, notes = lc(normal, gamma, published=_published_from_fit(rows, exact, calibrate=True))
        assert notes["gamed_source"] == "published GLM" and notes["regularize_applied"] == 0.2
        assert np.abs(rebuilt - reference).max() < 0.15
    uncalibrated, _ = lc(normal, other, published=_published_from_fit(rows, exact, calibrate=False))
    noreg, _ = alpaca_eval_lc(normal, "base", difficulty={str(i): float(v) for i, v in enumerate(other)},
                              **{**kw, "regularize": 0.0})
    noreg_lc = noreg.sort("model")["lc_win_rate"].to_numpy()
    reference, _ = lc(rows, other)
    assert np.abs(uncalibrated - reference).max() > np.abs(rebuilt - reference).max()
    assert np.abs(noreg_lc - reference).max() > 1.0


def test_published_gamed_fixture_is_alpaca_evals():
    gamed = published_gamed()
    assert [g.name for g in gamed] == ["gpt4_1106_preview_verbose", "gpt4_1106_preview_concise"]
    for g in gamed:
        assert g.item.tolist() == [str(i) for i in range(805)]
        assert (g.len_base == gamed[0].len_base).all() and (g.len_model > 0).all()
    # AlpacaEval's leaderboard: avg_length 2402 (verbose), 1136 (concise), 2049 (the baseline)
    assert [int(g.len_model.mean()) for g in gamed] == [2402, 1136] and int(gamed[0].len_base.mean()) == 2049
    # the expected preferences average to the published win rates once the intercept is refitted
    gamma = np.random.default_rng(0).normal(0.2, 1.3, 805)
    for g in gamed:
        target, shift = g.targets(gamma)
        assert 100 * target.mean() == pytest.approx(g.win_rate, abs=1e-8) and abs(shift) < 2


def _alpaca_eval_items(n_models: int = 3, seed: int = 0) -> Judgments:
    """Simulated models against gpt4_1106_preview on AlpacaEval's 805 instruction ids, with its outputs' lengths."""
    gen = np.random.default_rng(seed)
    base_len = published_gamed()[0].len_base
    rows = []
    for m in range(n_models):
        length = (base_len * gen.lognormal(0, 0.5, 805) + 1).round()
        p = 1 / (1 + np.exp(-(-1 + m + np.tanh((length - base_len) / 1000) + gen.normal(0, 1, 805))))
        rows += [{"item": str(i), "judge": "j", "model_a": "gpt4_1106_preview", "model_b": f"m{m}",
                  "outcome": "b" if p[i] > 0.5 else "a", "p_a": 1 - p[i], "len_a": int(base_len[i]),
                  "len_b": int(length[i])} for i in range(805)]
    return Judgments(pl.DataFrame(rows))


def test_gamed_published_through_the_public_api():
    j = _alpaca_eval_items()
    difficulty = {str(i): float(v) for i, v in enumerate(np.random.default_rng(1).normal(0, 1, 805))}
    kw = {"method": "alpaca_eval", "difficulty": difficulty, "n_resamples": 0}
    res = bias.length_controlled_win_rate(j, "gpt4_1106_preview", gamed="published", **kw)
    assert res.run_info.params["gamed"] == "published" and res.run_info.params["regularize_applied"] == 0.2
    assert res.run_info.params["gamed_baselines"] == ["gpt4_1106_preview_verbose", "gpt4_1106_preview_concise"]
    shifts = res.run_info.params["per_judge"]["j"]["published_intercept_shift"]
    assert set(shifts) == set(res.run_info.params["gamed_baselines"])
    assert "approximation" in res.summary() and res.table.height == 3
    with pytest.warns(EstimationWarning, match="no gamed baselines"):
        plain = bias.length_controlled_win_rate(j, "gpt4_1106_preview", **kw)
    # the gamed rows pull the length slopes together
    assert res.table["length_coef"].std() < plain.table["length_coef"].std()


def test_gamed_table_is_the_same_as_gamed_verdicts_in_the_judgments():
    j = alpaca_like(n_items=80, seed=4)
    is_gamed = pl.col("model_b").str.starts_with("base_")
    difficulty = {str(i): float(np.cos(i)) for i in range(80)}
    kw = {"method": "alpaca_eval", "difficulty": difficulty, "n_resamples": 10, "rng": 3}
    inside = bias.length_controlled_win_rate(j, "base", gamed=["base_verbose", "base_concise"], **kw)
    apart = bias.length_controlled_win_rate(j.filter(~is_gamed), "base", gamed=j.filter(is_gamed), **kw)
    assert apart.run_info.params["gamed"] == "table" and inside.run_info.params["gamed"] == "names"
    a, b = apart.table.sort("model"), inside.table.sort("model")
    assert a["model"].to_list() == b["model"].to_list()
    for col in ("win_rate", "lc_win_rate", "lc_ci_low", "lc_ci_high", "length_coef", "C", "avg_length"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-9)  # the same fit, summed in another order


def test_gamed_bad_input():
    j = alpaca_like(n_items=40, seed=1)
    kw = {"method": "alpaca_eval", "n_resamples": 0}
    with pytest.raises(MetaevalError, match="`gamed` is an option of method='alpaca_eval'"):
        bias.length_controlled_win_rate(j, "base", gamed="published")
    with pytest.raises(MetaevalError, match="a single name goes in a list"):
        bias.length_controlled_win_rate(j, "base", gamed="base_verbose", **kw)
    with pytest.raises(MetaevalError, match="are in `judgments` too: base_concise, base_verbose"):
        bias.length_controlled_win_rate(j, "base", gamed=j, **kw)
    # not AlpacaEval's instructions: the items are ids but the baseline's lengths are not gpt4_1106_preview's
    with pytest.raises(MetaevalError, match=r"differs from gpt4_1106_preview's on \d+ of 40 items \(first: item '0'"):
        bias.length_controlled_win_rate(j, "base", gamed="published", **kw)
    named = Judgments(j.frame.with_columns(pl.concat_str(pl.lit("q"), pl.col("item")).alias("item")))
    with pytest.raises(MetaevalError, match="40 items here are not \\(first: 'q0'\\)"):
        bias.length_controlled_win_rate(named, "base", gamed="published", **kw)
    real = _alpaca_eval_items(n_models=1)
    real = Judgments(pl.concat([real.frame, real.frame.with_columns(pl.lit("gpt4_1106_preview_verbose")
                                                                  .alias("model_b"))]))
    with pytest.raises(MetaevalError, match="holds verdicts of gpt4_1106_preview_verbose: leave out"):
        bias.length_controlled_win_rate(real, "gpt4_1106_preview", gamed="published", **kw)
    with pytest.raises(MetaevalError, match="`refit_difficulty` must be True or False; got 'no'"):
        bias.length_controlled_win_rate(real, "gpt4_1106_preview", refit_difficulty="no", **kw)  # type: ignore[arg-type]


_HERMITE = np.polynomial.hermite_e.hermegauss(80)
COVERAGE_MODELS = {"strong": (0.5, 1.3), "weak": (-1.5, 0.8), "verbose": (-0.8, 2.2), "terse": (-0.3, 0.5)}


def lc_coverage_data(gen: np.random.Generator, *, n_items: int = 805, gamed: bool = True, phi_spread: float = 0.0,
                     kappa: float = 6.0, phi: float = 1.0, psi: float = 0.9
                     ) -> tuple[Judgments, dict[str, float], np.ndarray]:
    """AlpacaEval-like data with a known LC win rate: four models (and, with ``gamed``, the baseline's verbose
    and concise variants, of the baseline's own quality) against ``base`` on ``n_items`` instructions.
    Instruction difficulty γ_i ~ N(0, 1); output lengths log-normal around the baseline's, scaled per model;
    graded preferences y ~ Beta(κ p, κ (1 - p)) with mean p = σ(θ_m + φ_m tanh(Δ_mi / sd_m) + ψ γ_i) (φ_m = φ
    for every model, or spread by ``phi_spread`` around it while the gamed ones keep φ).

    The true LC win rate of model m is the estimand the recipe reports, the win rate had the two outputs been
    equally long, over the population of instructions: ``100 × E_γ σ(θ_m + ψ γ)``, γ ~ N(0, 1)
    (Gauss-Hermite). Returns ``(judgments, truth per model, γ)``."""
    z, w = _HERMITE
    w = w / w.sum()
    gamma = gen.normal(0, 1, n_items)
    base_len = gen.lognormal(7.4, 0.5, n_items).round() + 1
    models = dict(COVERAGE_MODELS)
    if gamed:
        models |= {"base_verbose": (0.0, 1.9), "base_concise": (0.0, 0.45)}
    frames, truth = [], {}
    for k, (name, (theta, scale)) in enumerate(models.items()):
        length = (base_len * scale * gen.lognormal(0, 0.3, n_items)).round() + 1
        delta = length - base_len
        slope = phi if name.startswith("base_") else phi + phi_spread * (k - 1.5)
        p = 1 / (1 + np.exp(-(theta + slope * np.tanh(delta / delta.std(ddof=1)) + psi * gamma)))
        y = gen.beta(kappa * p, kappa * (1 - p))
        truth[name] = 100 * float(np.sum(w / (1 + np.exp(-(theta + psi * z)))))
        frames.append(pl.DataFrame({"item": [str(i) for i in range(n_items)], "judge": "j", "model_a": "base",
                                    "model_b": name, "outcome": np.where(y > 0.5, "b", "a"), "p_a": 1 - y,
                                    "len_a": base_len.astype(int), "len_b": length.astype(int)}))
    return Judgments(pl.concat(frames)), truth, gamma


@pytest.mark.slow
def test_alpaca_eval_interval_covers_when_it_refits_the_difficulty():
    """The bootstrap interval of method="alpaca_eval" against the known LC win rate (lc_coverage_data, 300
    instructions, no gamed baselines), with metaeval.calibration.study. Refitting the joint difficulty in every
    resample (the default) covers (within 88-100 %, for 120 intervals); on the same resamples it gives wider
    intervals than holding γ fixed for the models whose lengths differ most from the baseline's, whose LC win rate
    is an extrapolation along the length term (benchmarks/alpaca_lc.md has the study with 805 instructions and the
    gamed baselines, 40 replicates: refitted 93.1 %, fixed 91.9 %)."""
    from metaeval.calibration import study

    widths: dict[str, list[float]] = {"refit": [], "fixed": []}

    def replicate(gen: np.random.Generator) -> list[dict]:
        j, truth, _ = lc_coverage_data(gen, n_items=300, gamed=False)
        seed = int(gen.integers(2**31))
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EstimationWarning)
            fit = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", n_resamples=100, rng=seed)
            assert fit.difficulty is not None
            # γ given back: the interval takes it as known (as refit_difficulty=False does), one joint fit saved
            difficulty = dict(zip(fit.difficulty["item"], fit.difficulty["difficulty"], strict=True))
            held = bias.length_controlled_win_rate(j, "base", method="alpaca_eval", difficulty=difficulty,
                                                   n_resamples=100, rng=seed)
        for refit, lc in ((True, fit), (False, held)):
            for r in lc.table.iter_rows(named=True):
                if r["model"] in ("terse", "verbose"):
                    widths["refit" if refit else "fixed"].append(r["lc_ci_high"] - r["lc_ci_low"])
                out.append({"test": "refit" if refit else "fixed", "pvalue": float("nan"), "ci_low": r["lc_ci_low"],
                            "ci_high": r["lc_ci_high"], "truth": truth[r["model"]]})
        return out

    res = study(replicate, {"300 instructions": {}}, n_replicates=30, rng=5, coverage_band=(0.88, 1.0))
    refit = res.table.filter(pl.col("test") == "refit").row(0, named=True)
    assert refit["within_tolerance"], res.table  # 120 intervals (4 models x 30 replicates)
    # the same resamples of the same data: refitting γ widens the intervals of the extrapolated models
    assert np.mean(widths["refit"]) > 1.05 * np.mean(widths["fixed"])


def test_published_gamed_rows_without_regularisation_refit_in_the_bootstrap():
    """gamed="published" with regularize=0 uses no gamed rows, so its refitting bootstrap is the
    plain one (it raised a bare ValueError from inside the bootstrap: the published rows were
    never laid out, and the bootstrap asked for their targets)."""
    j = _alpaca_eval_items()
    kw = {"method": "alpaca_eval", "regularize": 0.0, "n_resamples": 10, "rng": 0}
    published = bias.length_controlled_win_rate(j, "gpt4_1106_preview", gamed="published", **kw)
    plain = bias.length_controlled_win_rate(j, "gpt4_1106_preview", **kw)
    assert published.run_info.params["regularize_applied"] == 0.0
    cols = [c for c in plain.table.columns if plain.table[c].dtype.is_numeric()]
    np.testing.assert_array_equal(published.table.select(cols).to_numpy(), plain.table.select(cols).to_numpy())
