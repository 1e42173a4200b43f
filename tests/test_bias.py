"""metaeval.bias: each probe against hand counts, statsmodels / scipy / krippendorff, planted
effects, and its bad-input messages; the audit and the CLI."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats as st

import metaeval
from metaeval import Judgments, bias
from metaeval.agreement.krippendorff import interval_alpha_two
from metaeval.bias._glm import batched_logistic, two_way_logistic
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError


def both_orders_table(first: int, second: int, same: int) -> Judgments:
    """Pairs judged in both orders: ``first`` follow the first slot, ``second`` the second, ``same`` agree."""
    rows = []
    k = 0
    for verdicts, count in ((("a", "b"), first), (("b", "a"), second), (("a", "a"), same)):
        for _ in range(count):
            for shown, out in zip(("a", "b"), verdicts, strict=True):
                rows.append({"item": f"q{k}", "judge": "j", "model_a": "x", "model_b": "y", "outcome": out,
                             "shown_first": shown})
            k += 1
    return Judgments(pl.DataFrame(rows), kind="pairwise")


# ---------------------------------------------------------------------------- position
def test_position_both_orders_hand_counts_and_mcnemar():
    from statsmodels.stats.contingency_tables import mcnemar

    res = bias.position_bias(both_orders_table(30, 10, 60))
    row = res.table.row(0, named=True)
    assert row["conflict_rate"] == pytest.approx(0.4)
    assert row["first_slot_share"] == pytest.approx(0.75)
    assert row["estimate"] == pytest.approx(0.5 * math.log(3))
    # The exact conditional test is McNemar's exact test on the discordant pairs.
    assert row["pvalue"] == pytest.approx(mcnemar([[60, 30], [10, 0]], exact=True).pvalue, rel=1e-12)
    ci = st.binomtest(30, 40).proportion_ci(method="exact")
    assert row["ci_low"] == pytest.approx(0.5 * math.log(ci.low / (1 - ci.low)))
    assert row["ci_high"] == pytest.approx(0.5 * math.log(ci.high / (1 - ci.high)))
    lo, hi = metaeval.stats.proportion_interval(40, 100)
    assert (row["conflict_ci_low"], row["conflict_ci_high"]) == pytest.approx((float(lo), float(hi)))
    assert "prefers the output shown first" in res.findings[0]


def test_position_no_slot_following_is_finite_with_warning():
    with pytest.warns(EstimationWarning, match="Haldane"):
        res = bias.position_bias(both_orders_table(12, 0, 20))
    assert math.isfinite(res.table["estimate"][0]) and res.table["ci_high"][0] == math.inf


def test_position_recovers_planted_bias_and_reference_metrics():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=120, judges=("judge-x",), n_humans=1, position_bias=1.2,
                                     both_orders=True, judge_noise=0.0, human_noise=0.0, rng=11)
    res = bias.position_bias(sim.judgments)
    row = res.table.row(0, named=True)
    assert row["judge"] == "judge-x" and row["ci_low"] < 1.2 < row["ci_high"]
    # The human (noise 0) is the truth: averaging the two orders beats being right in both.
    assert row["consistent_accuracy"] <= row["accuracy"] <= 1
    assert row["bpc_accuracy"] >= row["consistent_accuracy"]
    needs = res.details["needs_human"]
    assert needs["entropy"].max() == pytest.approx(1.0) and needs.height == 20
    assert res.chart().to_dict()["layer"]


def test_position_one_order_matches_statsmodels():
    import statsmodels.api as sm

    sim = metaeval.simulate.pairwise(n_models=4, n_items=300, judges=("judge-x",), position_bias=0.6,
                                     judge_noise=0.0, rng=2)
    res = bias.position_bias(sim.judgments, prior=0.0)
    f = sim.judgments.frame
    models = sorted(sim.judgments.models)
    X = np.zeros((f.height, len(models)))
    X[np.arange(f.height), [models.index(m) for m in f["model_a"]]] = 1
    X[np.arange(f.height), [models.index(m) for m in f["model_b"]]] = -1
    x = np.where(f["shown_first"].to_numpy() == "a", 1.0, -1.0)
    la, lb = np.log(f["len_a"].to_numpy().astype(float)), np.log(f["len_b"].to_numpy().astype(float))
    dlen = (la - lb) / np.concatenate([la, lb]).std()  # the length control of the one-order model
    y = (f["outcome"] == "a").to_numpy().astype(float)
    groups = np.unique(f["item"].to_numpy(), return_inverse=True)[1]
    ref = sm.Logit(y, np.column_stack([X[:, 1:], x, dlen])).fit(disp=0, cov_type="cluster",
                                                                cov_kwds={"groups": groups, "use_correction": False})
    assert res.table["design"][0] == "one order (Bradley–Terry with a position term and a length term)"
    assert res.table["estimate"][0] == pytest.approx(ref.params[-2], abs=1e-7)
    # The interval is t (items − 1 df) on the leave-one-item-out jackknife standard error: close to
    # the exact jackknife of statsmodels refits, and to the sandwich with 300 items.
    g = groups.max() + 1
    se = (res.table["ci_high"][0] - res.table["estimate"][0]) / st.t(g - 1).ppf(0.975)
    design = np.column_stack([X[:, 1:], x, dlen])
    loo = np.array([sm.Logit(y[groups != k], design[groups != k]).fit(disp=0).params[-2] for k in range(g)])
    assert se == pytest.approx(math.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2)), rel=0.02)
    assert se == pytest.approx(ref.bse[-2], rel=0.05)
    assert res.table["pvalue"][0] == pytest.approx(2 * st.t(g - 1).sf(abs(res.table["estimate"][0]) / se))
    # Without lengths the model has the position term alone.
    bare = Judgments(f.drop("len_a", "len_b"), kind="pairwise")
    ref0 = sm.Logit(y, np.column_stack([X[:, 1:], x])).fit(disp=0)
    alone = bias.position_bias(bare, prior=0.0).table.row(0, named=True)
    assert alone["design"] == "one order (Bradley–Terry with a position term)"
    assert alone["estimate"] == pytest.approx(ref0.params[-1], abs=1e-7)


def test_balanced_position_calibration_averages_orders():
    j = both_orders_table(3, 1, 2)
    out = bias.balanced_position_calibration(j)
    assert len(out) == 6 and "shown_first" not in out.frame.columns
    assert out.frame["outcome"].cast(str).value_counts().sort("outcome").rows() == [("a", 2), ("tie", 4)]


def test_position_bad_input():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    no_order = Judgments(sim.judgments.frame.drop("shown_first"), kind="pairwise")
    with pytest.raises(MetaevalError, match="needs column `shown_first`"):
        bias.position_bias(no_order)
    point = metaeval.simulate.pointwise(n_models=3, n_items=10, rng=0).judgments
    with pytest.raises(MetaevalError, match="needs pairwise verdicts"):
        bias.position_bias(point)
    with pytest.raises(MetaevalError, match="`design` must be"):
        bias.position_bias(sim.judgments, design="swap")


# ------------------------------------------------------------------------------ length
def test_length_slope_recovered_and_p_longer_by_hand():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=300, judges=("judge-x",), length_bias=0.7,
                                     judge_noise=0.0, rng=8)
    res = bias.length_bias(sim.judgments)
    row = res.table.row(0, named=True)
    assert row["ci_low"] < 0.7 < row["ci_high"]
    f = sim.judgments.frame
    la, lb = f["len_a"].to_numpy(), f["len_b"].to_numpy()
    y = (f["outcome"] == "a").to_numpy().astype(float) + 0.5 * (f["outcome"] == "tie").to_numpy()
    differ = np.abs(la - lb) > 0.1 * np.maximum(la, lb)
    assert row["n_longer_pairs"] == differ.sum()
    assert row["p_longer"] == pytest.approx(np.where(la > lb, y, 1 - y)[differ].mean())


def test_length_separation_warns_and_stays_finite():
    rows = [{"item": f"q{i}", "judge": "j", "model_a": "x", "model_b": "y", "outcome": "a",
             "len_a": 100 + 10 * i, "len_b": 120} for i in range(30)]
    with pytest.warns(EstimationWarning, match="separation"):
        res = bias.length_bias(Judgments(pl.DataFrame(rows), kind="pairwise"))
    assert np.isfinite(res.table.select("estimate", "ci_low", "ci_high").to_numpy()).all()


def test_length_bad_input_names_columns():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    with pytest.raises(MetaevalError, match="needs column `len_a`, `len_b`"):
        bias.length_bias(Judgments(sim.judgments.frame.drop("len_a", "len_b"), kind="pairwise"))
    with pytest.raises(MetaevalError, match="`min_diff`"):
        bias.length_bias(sim.judgments, min_diff=1.5)


def test_pointwise_length_bias_goes_through_pairs():
    sim = metaeval.simulate.pointwise(n_models=4, n_items=100, judges=("judge-x",), n_humans=0, length_bias=1.0,
                                      rng=3)
    res = bias.length_bias(sim.judgments)
    assert res.table["estimate"][0] > 0 and res.table["pvalue"][0] < 0.01


def test_batched_logistic_matches_statsmodels_fractional_glm():
    import statsmodels.api as sm

    gen = np.random.default_rng(0)
    n, G = 600, 3
    g = np.repeat(np.arange(G), n // G)
    Z = np.column_stack([np.ones(n), np.tanh(gen.normal(size=n)), gen.normal(size=n)])
    y = np.clip(1 / (1 + np.exp(-(Z @ [0.3, 1.0, -0.5]))) + gen.normal(0, 0.1, n), 0, 1)
    fit = batched_logistic(g, Z, y, G, prior=0.0)
    for k in range(G):
        sel = g == k
        ref = sm.GLM(y[sel], Z[sel], family=sm.families.Binomial()).fit(cov_type="HC0")
        assert fit.coef[k] == pytest.approx(ref.params, abs=1e-7)
        assert np.sqrt(np.diag(fit.cov[k])) == pytest.approx(np.sqrt(np.diag(ref.cov_params())) * 0 +
                                                              sm.GLM(y[sel], Z[sel], family=sm.families.Binomial())
                                                              .fit().bse, rel=1e-5)
        # our sandwich carries the n / (n - k) correction of HC1
        assert np.sqrt(np.diag(fit.cov_robust[k])) == pytest.approx(ref.bse * math.sqrt(sel.sum() / (sel.sum() - 3)),
                                                                    rel=1e-5)


def test_two_way_logistic_matches_statsmodels():
    import statsmodels.api as sm

    gen = np.random.default_rng(1)
    r, c = np.repeat(np.arange(4), 30), np.tile(np.arange(30), 4)
    # fractional responses: no item is separated, so the unpenalised maximum exists
    y = np.clip(1 / (1 + np.exp(-(r * 0.4 - 0.6 + gen.normal(0, 1, 30)[c]))) + gen.normal(0, 0.1, 120), 0.02, 0.98)
    a, d = two_way_logistic(r, c, y, 4, 30, prior=0.0, tol=1e-12, max_iter=5000)
    X = np.column_stack([np.eye(4)[r], np.eye(30)[c][:, 1:]])
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    eta = a[r] + d[c]
    assert eta == pytest.approx(X @ ref.params, abs=1e-4)


def test_length_controlled_win_rate_on_simulated_baseline():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=400, judges=("judge-x",), length_bias=1.2, rng=4)
    base = "atlas-1"
    versus = sim.judgments.filter((pl.col("model_a") == base) | (pl.col("model_b") == base))
    lc = bias.length_controlled_win_rate(versus, base)
    t = lc.table
    assert set(t["model"]) == set(sim.judgments.models) - {base}
    assert (t["length_coef"] > 0).all()  # longer preferred is planted
    assert ((t["lc_ci_low"] <= t["lc_win_rate"]) & (t["lc_win_rate"] <= t["lc_ci_high"])).all()
    # The raw win rate and its standard error are AlpacaEval's definitions.
    f = versus.frame
    m = t.row(0, named=True)["model"]
    sub = f.filter((pl.col("model_a") == m) | (pl.col("model_b") == m))
    y = np.where(sub["model_a"].to_numpy() == base, (sub["outcome"] == "b").to_numpy(),
                 (sub["outcome"] == "a").to_numpy()) + 0.5 * (sub["outcome"] == "tie").to_numpy()
    assert t.row(0, named=True)["win_rate"] == pytest.approx(100 * y.mean())
    assert t.row(0, named=True)["standard_error"] == pytest.approx(100 * y.std(ddof=1) / math.sqrt(len(y)))
    none = bias.length_controlled_win_rate(versus, base, item_term="none")
    assert none.item_term == "none" and "item term: none" in none.summary()
    with pytest.raises(MetaevalError, match="no model is in every comparison"):
        bias.length_controlled_win_rate(sim.judgments)


def test_wildbench_tie_rule_with_a_column():
    j = Judgments({"item": ["q1", "q2", "q3"], "judge": ["j"] * 3, "model_a": ["x"] * 3, "model_b": ["y"] * 3,
                   "outcome": ["b", "b", "a"], "len_a": [100, 100, 100], "len_b": [700, 300, 900],
                   "slight": [True, True, True]}, kind="pairwise")
    out = bias.wildbench_tie_rule(j, 500, slight="slight")
    assert out.frame["outcome"].cast(str).to_list() == ["tie", "b", "a"]
    with pytest.raises(MetaevalError, match="which wins are slight"):
        bias.wildbench_tie_rule(Judgments(j.frame.drop("extra"), kind="pairwise"))


# ------------------------------------------------------------------------------- style
def test_style_features_skip_code_blocks():
    text = "## Head\n```\n# not a header\n- not a list\n```\n1. one\n2) two\n* three\n__b__ and **c**"
    row = bias.style_features([text, None]).rows()
    assert row[0][1:] == (1, 2, 3) and row[1] == (None, None, None, None)


def test_style_bias_from_texts_matches_statsmodels():
    import statsmodels.api as sm

    gen = np.random.default_rng(5)
    n = 800
    models = np.array(["m0", "m1", "m2"])
    ia = gen.integers(0, 3, n)
    ib = (ia + gen.integers(1, 3, n)) % 3
    bold_a, bold_b = gen.integers(0, 4, n), gen.integers(0, 4, n)
    text_a = ["x" * 50 + " **b**" * k for k in bold_a]
    text_b = ["x" * 50 + " **b**" * k for k in bold_b]
    diff = np.divide(bold_a - bold_b, bold_a + bold_b, out=np.zeros(n), where=(bold_a + bold_b) > 0)
    z = (diff - diff.mean()) / diff.std()
    eta = np.array([0.5, 0, -0.5])[ia] - np.array([0.5, 0, -0.5])[ib] + 0.8 * z
    y = gen.random(n) < 1 / (1 + np.exp(-eta))
    j = Judgments({"item": [f"q{i}" for i in range(n)], "judge": ["j"] * n, "model_a": models[ia],
                   "model_b": models[ib], "outcome": np.where(y, "a", "b"), "text_a": text_a, "text_b": text_b},
                  kind="pairwise")
    with pytest.warns(EstimationWarning, match="never differs"):
        res = bias.style_bias(j, prior=0.0)
    t = res.table
    assert set(t["feature"]) == {"length", "bold"}  # no headers or lists: never differ, left out
    X = np.zeros((n, 3))
    X[np.arange(n), ia] = 1
    X[np.arange(n), ib] = -1
    la = np.array([len(s) for s in text_a], float)
    lb = np.array([len(s) for s in text_b], float)
    dl = (la - lb) / (la + lb)
    zl = (dl - dl.mean()) / dl.std()
    ref = sm.Logit(y.astype(float), np.column_stack([X[:, 1:], zl, z])).fit(disp=0)
    est = dict(zip(t["feature"], t["estimate"], strict=True))
    assert est["length"] == pytest.approx(ref.params[-2], abs=1e-6)
    assert est["bold"] == pytest.approx(ref.params[-1], abs=1e-6)
    ratings = res.details["ratings"]
    assert ratings.columns[:2] == ["model", "rating"] and ratings.height == 3


def test_style_bad_input():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    bare = Judgments(sim.judgments.frame.drop("len_a", "len_b"), kind="pairwise")
    with pytest.raises(MetaevalError, match="needs response texts"):
        bias.style_bias(bare)
    with pytest.raises(MetaevalError, match="`nope`"):
        bias.style_bias(sim.judgments, texts=("nope", "len_b"))
    with pytest.raises(MetaevalError, match="unknown judge"):
        bias.style_bias(sim.judgments, judge="nobody")


# --------------------------------------------------------------------- self-preference
def test_self_preference_recovered_and_null():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=250, judges=("judge-atlas", "judge-borealis"),
                                     self_preference=0.8, judge_noise=0.0, rng=6)
    res = bias.self_preference(sim.judgments)
    for row in res.table.iter_rows(named=True):
        se = (row["ci_high"] - row["ci_low"]) / (2 * 1.959963984540054)
        assert abs(row["estimate"] - 0.8) < 3 * se
        assert row["odds_ratio"] == pytest.approx(math.exp(row["estimate"]))
    null = bias.self_preference(metaeval.simulate.pairwise(n_models=4, n_items=250, judges=("judge-atlas",
                                "judge-borealis"), judge_noise=0.0, rng=6).judgments)
    assert (null.table["pvalue"] > 0.01).all()


def test_self_preference_needs_other_judges():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=50, judges=("judge-atlas",), rng=0)
    with pytest.raises(InsufficientDataError, match=re.escape(
            "no judge's self-preference can be estimated: judge-atlas: no other judge saw the atlas models it "
            "compared (atlas-1), so a preference for them cannot be told apart from their strength")):
        bias.self_preference(sim.judgments)


def test_self_preference_custom_families_and_pointwise():
    sim = metaeval.simulate.pointwise(n_models=4, n_items=80, judges=("judge-atlas",), n_humans=2,
                                      self_preference=1.5, rng=2)
    # Self-preference 1.5 on a 1–10 scale pushes the judge's grades against the ceiling: it says so.
    with pytest.warns(metaeval.errors.ApproximationWarning, match="ends of its scale"):
        res = bias.self_preference(sim.judgments)
    assert res.table["judge"].to_list() == ["judge-atlas"] and res.table["estimate"][0] > 0.5
    fams = {"judge-atlas": "cirrus", **{m: m.split("-")[0] for m in sim.judgments.models}}
    with pytest.warns(metaeval.errors.ApproximationWarning):
        other = bias.self_preference(sim.judgments, families=fams)
    assert other.table["family"][0] == "cirrus"


def test_known_families_match_whole_tokens_never_prefixes():
    from metaeval.bias.families import known_family, resolve_families

    assert known_family("alpaca_eval_gpt4") == "openai"  # not "alpaca"
    assert known_family("weighted_alpaca_eval_gpt4_turbo") == "openai"
    assert known_family("bedrock_claude") == "anthropic"  # not "bedrock"
    assert known_family("OpenHermes-2.5-Mistral-7B") == "mistral"
    assert known_family("gpt-3.5-turbo-0301") == known_family("text_davinci_003") == "openai"
    assert known_family("llama-2-7b-gptq") == "meta"  # gptq is a quantisation, not the token gpt
    assert known_family("gemma-7b-it") == known_family("PaLM2") == "google"
    assert known_family("vicuna-13b") is None and known_family("human:2") is None
    fm = resolve_families(["llama-3-8b-gpt4-distilled", "zephyr-7b-beta", "gold", "Qwen-14B-Chat"])
    assert fm.ambiguous == {"llama-3-8b-gpt4-distilled": ("openai", "meta")}
    assert fm.unknown == ("zephyr-7b-beta",) and fm.family == {"Qwen-14B-Chat": "alibaba"}
    assert "zephyr-7b-beta" in fm.problems() and "openai / meta" in fm.problems()
    mapped = resolve_families(["judge-x", "x-1", "y-1"], {"judge-x": "x", "x-1": "x"})
    assert mapped.family == {"judge-x": "x", "x-1": "x"} and mapped.unknown == ("y-1",)
    assert resolve_families(["a"], lambda n: "fam").family == {"a": "fam"}


def test_self_preference_leaves_out_unknown_names_with_a_warning_that_lists_them():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=80, judges=("judge-atlas", "judge-borealis"), n_humans=1,
                                     rng=1)
    fams = {**sim.truth.families}
    fams.pop("electra-1")
    with pytest.warns(metaeval.errors.DataDroppedWarning, match="no known family for 1 name: electra-1"):
        res = bias.self_preference(sim.judgments, families=fams)
    assert res.table["judge"].to_list() == ["judge-atlas", "judge-borealis"]
    assert "left out: no known family for 1 name: electra-1" in res.summary()


def test_scaled_bradley_terry_matches_a_generic_optimiser():
    from scipy.optimize import minimize
    from scipy.special import log_expit

    from metaeval.bias._glm import scaled_bradley_terry

    gen = np.random.default_rng(5)
    n, m = 3000, 4
    ia = gen.integers(0, m, n)
    ib = (ia + gen.integers(1, m, n)) % m
    judge = gen.integers(0, 3, n)
    x = np.column_stack([np.where(judge == 1, gen.normal(size=n), 0.0),
                         np.where(judge == 2, (ia == 0).astype(float) - (ib == 0), 0.0)])
    theta = np.array([-1.0, -0.2, 0.3, 0.9])
    eta = np.array([0.7, 1.0, 1.6])[judge] * (theta[ia] - theta[ib])
    y = (gen.random(n) < 1 / (1 + np.exp(-(eta + x @ [0.5, 0.8])))).astype(float)
    prior = 0.01
    fit = scaled_bradley_terry(ia, ib, y, judge, x, m, 3, scale_gauge=np.array([True, False, False]), prior=prior)

    def negloglik(par):
        th, lam, be = par[:m], par[m:m + 3], par[m + 3:]
        e = np.exp(lam)[judge] * (th[ia] - th[ib]) + x @ be
        pen = prior * par @ par + th.sum() ** 2 + lam[0] ** 2
        return -np.sum(y * log_expit(e) + (1 - y) * log_expit(-e)) + 0.5 * pen

    ref = minimize(negloglik, np.zeros(m + 5), method="BFGS", options={"gtol": 1e-8}).x
    assert fit.beta == pytest.approx(ref[m + 3:], abs=1e-4)
    assert np.exp(fit.log_scale[1:] - fit.log_scale[0]) == pytest.approx(np.exp(ref[m + 1:m + 3] - ref[m]), rel=1e-4)
    assert fit.theta == pytest.approx(ref[:m] - ref[:m].mean(), abs=1e-4)


def test_scaled_within_ls_matches_least_squares_with_group_intercepts():
    from scipy.optimize import least_squares

    from metaeval.bias._glm import scaled_within_ls

    gen = np.random.default_rng(2)
    n_items, m, J = 30, 4, 2
    item = np.repeat(np.arange(n_items), m * J)
    judge = np.tile(np.repeat(np.arange(J), m), n_items)
    model = np.tile(np.arange(m), n_items * J)
    own = ((judge == 1) & (model == 2)).astype(float)
    y = gen.normal(size=n_items * J)[item * J + judge] + np.array([1.0, 1.7])[judge] * np.array(
        [-1.0, 0.0, 0.4, 0.8])[model] + 0.5 * own + gen.normal(0, 0.6, len(item))
    fit = scaled_within_ls(y, item * J + judge, judge, model, own[:, None], m, J,
                           scale_gauge=np.array([True, False]), prior=0.0)
    group = item * J + judge

    def resid(par):
        th, lam1, delta, alpha = par[:m], par[m], par[m + 1], par[m + 2:]
        return y - alpha[group] - np.where(judge == 1, np.exp(lam1), 1.0) * th[model] - delta * own

    start = np.r_[np.zeros(m), 0.0, 0.0, np.zeros(n_items * J)]
    start[:m] = [-1, 0, 0.4, 0.8]
    ref = least_squares(resid, start, xtol=1e-12, ftol=1e-12).x
    assert fit.beta[0] == pytest.approx(ref[m + 1], abs=1e-6)
    assert np.exp(fit.log_scale[1] - fit.log_scale[0]) == pytest.approx(np.exp(ref[m]), rel=1e-6)


def test_self_preference_separates_sharpness_and_length_from_favouritism():
    # The false alarms: a judge sharper than the humans, and a judge with a length bias.
    sharp = metaeval.simulate.pairwise(n_models=5, n_items=300, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                       judge_scale=2.5, rng=7)
    res = bias.self_preference(sharp.judgments)
    assert (res.table["pvalue"] > 0.05).all(), res.summary()
    assert (res.table["sharpness"] > 1.8).all()
    assert res.table["controls"].to_list() == ["sharpness, length, position"] * 2
    long = metaeval.simulate.pairwise(n_models=5, n_items=300, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                      length_bias=1.0, rng=8)
    assert (bias.self_preference(long.judgments).table["pvalue"] > 0.05).all()
    planted = metaeval.simulate.pairwise(n_models=5, n_items=300, judges=("judge-atlas", "judge-borealis"),
                                         n_humans=2, judge_scale=2.5, length_bias=1.0, self_preference=0.6,
                                         judge_noise=0.0, rng=9)
    t = bias.self_preference(planted.judgments).table
    assert ((t["ci_low"] < 0.6) & (t["ci_high"] > 0.6) & (t["pvalue"] < 0.05)).all(), t


def test_self_preference_nan_row_with_the_reason_when_not_identified():
    # judge-cirrus alone saw cirrus-1: its own-family term is not identified; judge-atlas's is.
    sim = metaeval.simulate.pairwise(n_models=4, n_items=120, judges=("judge-atlas", "judge-cirrus"), n_humans=1,
                                     rng=3)
    f = sim.judgments.frame.filter(~((pl.col("judge") != "judge-cirrus")
                                     & ((pl.col("model_a") == "cirrus-1") | (pl.col("model_b") == "cirrus-1"))))
    with pytest.warns(EstimationWarning, match="judge-cirrus cannot be estimated: no other judge saw the cirrus"):
        res = bias.self_preference(Judgments(f, kind="pairwise"))
    rows = {r["judge"]: r for r in res.table.iter_rows(named=True)}
    assert math.isfinite(rows["judge-atlas"]["estimate"]) and math.isnan(rows["judge-cirrus"]["estimate"])
    assert "not estimable" in rows["judge-cirrus"]["finding"]


def test_self_preference_baseline_design_of_one_family_identifies_nothing():
    # AlpacaEval's design: two judges of the baseline's family compare every model with that baseline.
    # A shift of the family's strength is undone by shifting both judges' terms together, so neither is
    # identified — and neither may be kept (it would silently become the unbiased reference of the other).
    sim = metaeval.simulate.pairwise(n_models=5, n_items=200, judges=("gpt-judge-1", "gpt-judge-2"), rng=5)
    f = sim.judgments.frame.filter((pl.col("model_a") == "atlas-1") | (pl.col("model_b") == "atlas-1"))
    fams = {**{m: m.split("-")[0] for m in sim.judgments.models}, "gpt-judge-1": "atlas", "gpt-judge-2": "atlas"}
    with pytest.raises(InsufficientDataError) as err:
        bias.self_preference(Judgments(f, kind="pairwise"), families=fams)
    for judge in ("gpt-judge-1", "gpt-judge-2"):
        assert f"{judge}: every other judge that saw the atlas models it compared (atlas-1) is of family atlas" \
            in str(err.value)


def test_self_preference_on_scores_in_points_and_the_ceiling_warning():
    sim = metaeval.simulate.pointwise(n_models=5, n_items=200, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                      scale=None, self_preference=1.0, judge_scale=1.5, rng=4)
    res = bias.self_preference(sim.judgments)
    t = res.table
    assert res.effect == "score shift for the judge's own family" and t["odds_ratio"].is_nan().all()
    assert ((t["ci_low"] < 1.0) & (t["ci_high"] > 1.0)).all(), t
    assert t["sharpness"].to_numpy() == pytest.approx([1.5, 1.5], rel=0.15)
    clipped = metaeval.simulate.pointwise(n_models=5, n_items=60, judges=("judge-atlas",), n_humans=2,
                                          judge_scale=3.0, rng=4)
    with pytest.warns(metaeval.errors.ApproximationWarning, match="grades sit at the ends of its scale"):
        bias.self_preference(clipped.judgments)


def test_intra_model_bias_pairwise_flags_own_family():
    sim = metaeval.simulate.pairwise(n_models=4, n_items=150, judges=("judge-borealis",), n_humans=1,
                                     self_preference=1.5, rng=3)
    res = bias.intra_model_bias(sim.judgments)
    top = res.table.sort("estimate", descending=True).row(0, named=True)
    assert top["model"] == "borealis-1" and top["own_family"] and top["pvalue"] < 0.01
    with pytest.raises(MetaevalError, match="no judge is 'expert'"):
        bias.intra_model_bias(sim.judgments, "expert")


# ------------------------------------------------------------------ consistency, calibration
def test_self_consistency_equals_fleiss_over_reps():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=60, judges=("judge-x",), n_reps=3, rng=1)
    res = bias.self_consistency(sim.judgments, n_resamples=100, rng=0)
    f = sim.judgments.frame.with_columns(("rep:" + pl.col("rep").cast(pl.String)).alias("judge")).drop("rep", "extra",
                                                                                                         strict=False)
    k = metaeval.agreement.fleiss_kappa(Judgments(f, kind="pairwise"), ci="none")
    assert res.table["estimate"][0] == pytest.approx(k.estimate, abs=1e-12)
    perfect = pl.concat([sim.judgments.frame.filter(pl.col("rep") == 0).with_columns(pl.lit(r).alias("rep"))
                         for r in range(2)])
    p = bias.self_consistency(Judgments(perfect, kind="pairwise"), n_resamples=50, rng=0)
    assert p.table["estimate"][0] == pytest.approx(1.0) and p.table["flip_rate"][0] == 0
    with pytest.raises(MetaevalError, match="column `rep`"):
        bias.self_consistency(metaeval.simulate.pairwise(n_models=3, n_items=5, rng=0).judgments)


def test_interval_alpha_two_matches_krippendorff_package():
    import krippendorff

    gen = np.random.default_rng(3)
    a = gen.normal(size=40)
    b = a + gen.normal(0, 0.7, 40)
    ours = interval_alpha_two(a, b)
    assert ours == pytest.approx(krippendorff.alpha(np.vstack([a, b]), level_of_measurement="interval"), abs=1e-10)
    w = gen.multinomial(40, np.full(40, 1 / 40), size=3)
    for k in range(3):
        rep = np.repeat(np.arange(40), w[k])
        assert interval_alpha_two(a, b, w)[k] == pytest.approx(interval_alpha_two(a[rep], b[rep]))


def test_calibration_fixes_a_shifted_scale():
    sim = metaeval.simulate.pointwise(n_models=4, n_items=100, judges=("judge-x",), n_humans=2, scale=None, rng=9)
    f = sim.judgments.frame.with_columns(pl.when(pl.col("judge") == "judge-x").then(pl.col("score") * 2 + 3)
                                         .otherwise(pl.col("score")).alias("score"))
    res = bias.calibration(Judgments(f, kind="pointwise"), "judge-x", n_resamples=300, rng=0)
    row = res.table.row(0, named=True)
    assert row["estimate"] > 0 and row["ci_low"] > 0 and row["alpha_gain_ci_low"] > 0
    assert row["mse_calibrated"] < row["mse_raw"]
    coefs = res.details["coefficients"]
    assert coefs["coefficient"][1] == pytest.approx(0.5, abs=0.15)
    with pytest.raises(MetaevalError, match="feature column `speed`"):
        bias.calibration(sim.judgments, "judge-x", features=["speed"])
    with pytest.raises(MetaevalError, match="pointwise numeric `score`"):
        bias.calibration(metaeval.simulate.pairwise(n_models=3, n_items=5, rng=0).judgments, "judge-atlas")


# ------------------------------------------------------------------------- audit, CLI
def test_audit_pointwise_runs_calibration_and_skips_with_reasons():
    sim = metaeval.simulate.pointwise(n_models=4, n_items=60, judges=("judge-atlas",), n_humans=2, rng=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bias.audit(sim.judgments, n_resamples=100, rng=0)
    assert "calibration" in res.probes and "consistency" in res.skipped
    assert "column `rep`" in res.skipped["consistency"]
    assert res.table.filter(pl.col("probe") == "calibration")["p_holm"].is_nan().all()
    assert "findings:" in res.summary() and "skipped consistency" in res.summary()


def test_cli_bias_json(tmp_path):
    from click.testing import CliRunner

    from metaeval.cli import cli

    sim = metaeval.simulate.pairwise(n_models=3, n_items=60, judges=("judge-atlas", "judge-draco"),
                                     both_orders=True, position_bias=1.5, rng=2)
    path = sim.judgments.write_parquet(tmp_path / "t.parquet")
    out = CliRunner().invoke(cli, ["bias", str(path), "--json", "--seed", "1", "--n-resamples", "50"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output[out.output.index("{"):])
    position = [r for r in data["rows"] if r["probe"] == "position"]
    assert len(position) == 2 and all(r["flagged"] for r in position)
    assert "consistency" in data["skipped"]


def test_audit_reports_but_never_flags_intra_model_departures():
    # A judge three times as sharp as the humans departs from them on the best and worst models
    # (PoLL's intra-model estimand is not 0) — without favouring its own family.
    sim = metaeval.simulate.pairwise(n_models=4, n_items=200, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                     judge_scale=3.0, rng=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bias.audit(sim.judgments, n_resamples=50, rng=0)
    intra = res.table.filter(pl.col("probe") == "intra-model")
    assert (intra["pvalue"] < 0.001).any()
    assert not intra["flagged"].any() and intra["p_holm"].is_nan().all()
    sp = res.table.filter(pl.col("probe") == "self-preference")
    assert sp.height == 2 and not sp["flagged"].any() and sp["p_holm"].is_not_nan().all()


def test_calibration_bootstrap_kernels():
    from metaeval.bias.consistency import _alpha_rows, _out_of_fold

    gen = np.random.default_rng(4)
    X = np.column_stack([np.ones(40), gen.normal(size=40)])
    y = X @ [0.5, 2.0] + gen.normal(size=40)
    fold = np.arange(40) % 4
    W = np.vstack([np.ones(40), gen.multinomial(40, np.full(40, 1 / 40))]).astype(float)
    pred = _out_of_fold(X, y, fold, 4, W)
    for k in range(4):
        sel = np.repeat(np.flatnonzero(fold != k), W[1, fold != k].astype(int))
        coef = np.linalg.lstsq(X[sel], y[sel], rcond=None)[0]
        assert pred[1, fold == k] == pytest.approx(X[fold == k] @ coef)
    assert _alpha_rows(pred, y, W) == pytest.approx([interval_alpha_two(pred[r], y, W[r:r + 1])[0] for r in range(2)])
