"""Agreement: published worked examples, Gwet's irrCAC values, differential tests against
statsmodels, krippendorff and pingouin, degenerate cases, and the LLMBar headline numbers."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pingouin as pg
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohen
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

import metaeval
from metaeval import Judgments, agreement
from metaeval.agreement.icc import icc_array
from metaeval.agreement.kernels import agreement_coefficient
from metaeval.agreement.krippendorff import krippendorff_alpha_array
from metaeval.errors import DataDroppedWarning, EstimationWarning

from .conftest import ROOT, shared
from .reference.irrcac_values import RAW_4RATERS, RAW_5OBSERVERS, VALUES

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders x 12 units.
K2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]).T
K2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def table_from_matrix(x: np.ndarray, kind: str = "score") -> Judgments:
    rows = [{"item": f"u{u:03d}", "judge": f"coder{r}", "model": "m", kind: (x[u, r] if kind == "score"
                                                                            else str(int(x[u, r])))}
            for u in range(x.shape[0]) for r in range(x.shape[1]) if not np.isnan(x[u, r])]
    return Judgments(pl.DataFrame(rows))


@pytest.mark.parametrize("level", list(K2011_ALPHA))
def test_krippendorff_2011_worked_example(level):
    assert round(krippendorff_alpha_array(K2011, level), 3) == K2011_ALPHA[level]
    res = agreement.krippendorff_alpha(table_from_matrix(K2011), level, ci="none")
    assert round(res.estimate, 3) == K2011_ALPHA[level]
    assert res.n_units == 11  # unit 12 has a single rating and is not pairable


@pytest.mark.parametrize(("name", "weights", "method"), list(VALUES))
def test_gwet_irrcac_reference_values(name, weights, method):
    data = np.array(RAW_4RATERS if name == "raw_4raters" else RAW_5OBSERVERS, dtype=float)
    value, se, pa, pe = VALUES[(name, weights, method)]
    c = agreement_coefficient(data, method, weights=weights)
    assert c.value == pytest.approx(value, abs=1e-9)
    assert c.se == pytest.approx(se, abs=1e-9)
    assert c.pa == pytest.approx(pa, abs=1e-9) and c.pe == pytest.approx(pe, abs=1e-9)


def test_fleiss_textbook_example():
    # The Fleiss' kappa article's worked example (10 subjects, 14 raters, 5 categories): kappa = 0.210.
    counts = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                       [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    ratings = np.array([np.repeat(np.arange(1, 6), row) for row in counts], dtype=float)
    c = agreement_coefficient(ratings, "fleiss")
    assert round(c.value, 3) == 0.210
    assert c.value == pytest.approx(sm_fleiss(counts), abs=1e-12)
    assert round(c.pa, 3) == 0.378 and round(c.pe, 3) == 0.213


def test_cohen_textbook_example():
    # 50 proposals, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    j = Judgments({"item": [f"q{i}" for i in range(50)] * 2, "judge": ["A"] * 50 + ["B"] * 50, "model": ["m"] * 100,
                   "label": a + b})
    res = agreement.cohen_kappa(j, "A", "B")
    assert res.estimate == pytest.approx(0.4)
    ref = sm_cohen(np.array([[15, 10], [5, 20]]))
    assert res.se == pytest.approx(ref["std_kappa"])
    assert res.ci.low == pytest.approx(ref["kappa_low"]) and res.ci.high == pytest.approx(ref["kappa_upp"])


def test_shrout_fleiss_table():
    # Shrout & Fleiss (1979), Table 2 data and Table 4 estimates.
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7.]])
    res = icc_array(x)
    np.testing.assert_allclose(np.round(res["icc"], 2), [0.17, 0.29, 0.71, 0.44, 0.62, 0.91])


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(2, 6), st.integers(2, 5), st.integers(0, 10_000))
def test_differential_against_krippendorff_statsmodels(n_units, n_raters, q, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, q + 1, (n_units, n_raters)).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    if np.unique(x[~np.isnan(x)]).size < 2 or (np.sum(~np.isnan(x), axis=1) >= 2).sum() < 2:
        return
    for level in ("nominal", "ordinal", "interval", "ratio"):
        ours = krippendorff_alpha_array(x, level)
        theirs = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
        assert ours == pytest.approx(theirs, abs=1e-10)
    # Complete data: Fleiss against statsmodels.
    full = rng.integers(1, q + 1, (n_units, n_raters)).astype(float)
    counts = np.stack([(full == c).sum(1) for c in range(1, q + 1)], axis=1)
    if np.unique(full).size >= 2:
        assert agreement_coefficient(full, "fleiss").value == pytest.approx(sm_fleiss(counts), abs=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(10, 60), st.integers(0, 10_000), st.sampled_from(["identity", "linear", "quadratic"]))
@example(10, 369, "identity")  # statsmodels' variance is negative here: nan on both sides
def test_cohen_against_statsmodels(n, seed, weights):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, 4, n))
    a[:4], b[:4] = np.arange(4), np.arange(4)  # every category present
    j = Judgments({"item": [f"q{i}" for i in range(n)] * 2, "judge": ["A"] * n + ["B"] * n, "model": ["m"] * 2 * n,
                   "score": np.concatenate([a, b]).astype(float)})
    ours = agreement.cohen_kappa(j, "A", "B", weights=weights)
    table = np.zeros((4, 4))
    np.add.at(table, (a, b), 1)
    ref = sm_cohen(table, wt=None if weights == "identity" else weights)
    assert ours.estimate == pytest.approx(ref["kappa"], abs=1e-10)
    # Where the analytic variance comes out negative both give nan (ours with a warning).
    assert ours.se == pytest.approx(ref["std_kappa"], abs=1e-10, nan_ok=True)


@settings(max_examples=15, deadline=None)
@given(st.integers(5, 30), st.integers(2, 5), st.integers(0, 10_000))
def test_icc_against_pingouin(n, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 1)) + rng.normal(0, 1, (1, k)) + rng.normal(0, 1, (n, k))
    ours = icc_array(x)
    df = pd.DataFrame([(i, j, x[i, j]) for i in range(n) for j in range(k)], columns=["t", "r", "s"])
    ref = pg.intraclass_corr(df, "t", "r", "s")
    np.testing.assert_allclose(ours["icc"], ref["ICC"].to_numpy(), atol=1e-10)
    np.testing.assert_allclose(ours["f"], ref["F"].to_numpy(), atol=1e-8)
    np.testing.assert_allclose(ours["pvalue"], ref["pval"].to_numpy(), atol=1e-10)
    lows = np.array([c[0] for c in ref["CI95"]])
    np.testing.assert_allclose(np.round(ours["ci_low"], 2), lows, atol=0.0051)


def test_interval_alpha_handles_many_distinct_values_fast():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, (2000, 1))
    x = truth + rng.normal(0, 0.5, (2000, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    ours = krippendorff_alpha_array(x, "interval")
    # Agrees with the coincidence-matrix computation of the krippendorff package on a subsample.
    sub = x[:150]
    assert krippendorff_alpha_array(sub, "interval") == pytest.approx(
        krippendorff.alpha(reliability_data=sub.T, level_of_measurement="interval"), abs=1e-10)
    assert 0.7 < ours < 0.9


def test_bootstrap_intervals_contain_estimates_and_are_reproducible():
    sim = metaeval.simulate.pointwise(n_models=3, n_items=120, n_humans=3, judges=("judge-atlas",), rng=1)
    for fn in (agreement.fleiss_kappa, agreement.gwet_ac, agreement.brennan_prediger, agreement.percent_agreement):
        a = fn(sim.judgments, n_resamples=300, rng=5)
        b = fn(sim.judgments, n_resamples=300, rng=5)
        assert a.ci.low <= a.estimate <= a.ci.high and a.ci.low == b.ci.low
        assert a.ci.method == "bootstrap (items)"
        analytic = fn(sim.judgments, ci="analytic")
        # Units of an item are correlated, so the item bootstrap is at least roughly as wide.
        assert a.ci.width > 0.5 * analytic.ci.width
    k = agreement.krippendorff_alpha(sim.judgments, "interval", n_resamples=300, rng=5)
    assert k.ci.low <= k.estimate <= k.ci.high
    ka = agreement.krippendorff_alpha(sim.judgments, "ordinal", ci="analytic")
    assert np.isfinite(ka.se)


def test_fleiss_h0_standard_error():
    sim = metaeval.simulate.pointwise(n_models=2, n_items=80, n_humans=4, judges=(), scale=(1, 3), rng=2)
    res = agreement.fleiss_kappa(sim.judgments, ci="analytic")
    assert "se_h0" in res.details and res.details["se_h0"] > 0
    assert res.details["pvalue_h0"] < 0.05  # the simulated raters agree far beyond chance


def test_degenerate_cases_are_nan_with_a_reason():
    const = Judgments({"item": ["q1", "q1", "q2", "q2"], "judge": ["a", "b", "a", "b"], "model": ["m"] * 4,
                       "score": [3.0, 3.0, 3.0, 3.0]})
    with pytest.warns(EstimationWarning, match="expected disagreement is 0"):
        assert np.isnan(agreement.krippendorff_alpha(const, "interval").estimate)
    with pytest.warns(EstimationWarning, match="chance agreement is 1"):
        assert np.isnan(agreement.fleiss_kappa(const).estimate)
    one = Judgments({"item": ["q1", "q2"], "judge": ["a", "a"], "model": ["m", "m"], "score": [1.0, 2.0]})
    with pytest.warns(EstimationWarning, match="at least two judges"):
        assert np.isnan(agreement.gwet_ac(one).estimate)
    with pytest.warns(EstimationWarning, match="no unit has two or more ratings"):
        assert np.isnan(agreement.krippendorff_alpha(one, "interval").estimate)


def test_correlation_levels():
    sim = metaeval.simulate.pointwise(n_models=6, n_items=60, n_humans=2, scale=None, rng=3)
    j = sim.judgments
    res = agreement.correlation(j, "judge-atlas", "human", method="kendall_b", granularity="system", ci="none")
    f = j.frame
    judge_means = f.filter(pl.col("judge") == "judge-atlas").group_by("model").agg(pl.col("score").mean()).sort("model")
    human = f.filter(pl.col("judge").str.starts_with("human:")).group_by("item", "model").agg(pl.col("score").mean()) \
        .group_by("model").agg(pl.col("score").mean()).sort("model")
    from scipy.stats import kendalltau

    assert res.estimate == pytest.approx(kendalltau(judge_means["score"], human["score"]).statistic)
    item = agreement.correlation(j, "judge-atlas", "human", method="pearson", granularity="item", n_resamples=100,
                                 rng=0)
    assert item.ci.low <= item.estimate <= item.ci.high
    pa = agreement.correlation(j, "judge-atlas", "human", method="pairwise_accuracy", granularity="all", ci="none")
    assert 0.5 < pa.estimate <= 1


def test_kernels_small_examples():
    assert agreement.kendalls_w(np.array([[1, 2, 3], [3, 2, 1]])) == 0.0
    assert agreement.pairwise_accuracy(np.array([1, 1, 2]), np.array([1, 2, 3]), ties=False) == 1.0
    assert agreement.pairwise_accuracy(np.array([1, 1, 2]), np.array([1, 2, 3]), ties=True) == pytest.approx(2 / 3)
    # Error consistency: same accuracy (0.5), errors on opposite items -> -1.
    assert agreement.error_consistency(np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])) == -1.0
    onehot = np.eye(4)[[0, 1, 2, 3, 0, 1]]
    assert agreement.capa(onehot, onehot, np.array([0, 1, 2, 3, 1, 1])) == pytest.approx(1.0)
    # Hard answers: CAPA with c_obs = share of equal answers and chance from the accuracies.
    p1 = np.eye(4)[[0, 1, 2, 3]]
    p2 = np.eye(4)[[0, 1, 0, 0]]
    acc1, acc2 = 1.0, 0.5
    c_exp = acc1 * acc2 + (1 - acc1) * (1 - acc2) / 3
    assert agreement.capa(p1, p2, np.array([0, 1, 2, 3])) == pytest.approx((0.5 - c_exp) / (1 - c_exp))


def test_matrix_and_against():
    sim = metaeval.simulate.pointwise(n_models=3, n_items=80, n_humans=2, scale=(1, 5), rng=4)
    m = agreement.matrix(sim.judgments, "cohen_kappa", weights="quadratic")
    assert m.to_polars().height == 6 and m.wide().shape == (4, 5)
    one = agreement.cohen_kappa(sim.judgments, "human:1", "judge-atlas", weights="quadratic")
    row = m.to_polars().filter((pl.col("judge_a") == "human:1") & (pl.col("judge_b") == "judge-atlas"))
    assert row["estimate"][0] == pytest.approx(one.estimate)
    assert "layer" in m.chart().to_dict()
    ag = agreement.against(sim.judgments, "human", metrics=("krippendorff_alpha",), ci="none")
    assert set(ag.to_polars()["judge"]) == {"judge-atlas", "judge-borealis"}


def test_two_order_on_a_small_table():
    rows = []
    gold = {"q1": "a", "q2": "b", "q3": "a", "q4": "b"}
    first = {"q1": "a", "q2": "b", "q3": "b", "q4": "b"}
    second = {"q1": "a", "q2": "a", "q3": "b", "q4": "b"}
    for q in gold:
        rows.append({"item": q, "judge": "gold", "model_a": "o1", "model_b": "o2", "outcome": gold[q]})
        rows.append({"item": q, "judge": "J", "model_a": "o1", "model_b": "o2", "outcome": first[q],
                     "shown_first": "a"})
        rows.append({"item": q, "judge": "J", "model_a": "o1", "model_b": "o2", "outcome": second[q],
                     "shown_first": "b"})
    table = Judgments(pl.DataFrame(rows))
    res = agreement.two_order(table, "gold", n_resamples=50, rng=0).to_polars().row(0, named=True)
    assert res["accuracy"] == pytest.approx((0.75 + 0.5) / 2)
    assert res["positional_agreement"] == pytest.approx(0.75)
    assert res["two_game_accuracy"] == pytest.approx(0.5)  # q1 +2, q2 0, q3 -2, q4 +2 -> 2 of 4 positive


def test_llmbar_headline_numbers_through_the_agreement_api():
    import importlib.util

    path = shared("llmbar", "judgments.csv")
    spec = importlib.util.spec_from_file_location("load_llmbar", ROOT / "examples" / "load_llmbar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.load_llmbar(path).filter(pl.col("task") == "LLMBar/Natural")
    table = table.filter((pl.col("variant") == "Vanilla_NoRules") | (pl.col("judge") == "gold"))
    res = {r["judge"]: r for r in agreement.two_order(table, "gold", by=("judge",), n_resamples=200, rng=0)
           .to_polars().to_dicts()}
    assert res["GPT-4"]["accuracy"] == pytest.approx(0.935)
    assert res["GPT-4"]["positional_agreement"] == pytest.approx(0.97)
    assert res["ChatGPT"]["accuracy"] == pytest.approx(0.79)
    assert res["ChatGPT"]["positional_agreement"] == pytest.approx(0.68)


def test_alpaca_eval_judge_vs_judge_agreement():
    import warnings

    path = shared("alpaca-eval", "annotations_compact.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = metaeval.read(path)
    # Annotators that judged the same (instruction, baseline, model) pairs.
    counts = j.frame.group_by("model_b").agg(pl.col("judge").n_unique().alias("k")).filter(pl.col("k") >= 2)
    sub = j.filter(pl.col("model_b").is_in(counts["model_b"].to_list()))
    with pytest.warns(EstimationWarning, match="judge pairs share too few units"):
        m = agreement.matrix(sub, "percent_agreement", ci="none")
    shared_pairs = m.to_polars().filter(pl.col("n_units") > 0)
    assert shared_pairs.height >= 1
    assert ((shared_pairs["estimate"] > 0.4) & (shared_pairs["estimate"] <= 1)).all()


def test_agreement_cli(tmp_path):
    import json

    from click.testing import CliRunner

    from metaeval.cli import cli

    out = tmp_path / "p.parquet"
    metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, scale=(1, 5), rng=0).judgments.write_parquet(out)
    run = CliRunner()
    r1 = run.invoke(cli, ["agreement", str(out), "--scale", "interval", "--seed", "0", "--n-resamples", "100",
                          "--json"])
    assert r1.exit_code == 0, r1.output
    assert json.loads(r1.output)["rows"][0]["coefficient"] == "Krippendorff's alpha (interval)"
    r2 = run.invoke(cli, ["agreement", str(out), "--reference", "human", "--metric", "cohen_kappa", "--weights",
                          "quadratic", "--ci", "analytic"])
    assert r2.exit_code == 0 and "judge-atlas" in r2.output
    r3 = run.invoke(cli, ["agreement", str(out), "--metric", "icc", "--judges", "human:1,human:2"])
    assert "ICC(2,1)" in r3.output
    r4 = run.invoke(cli, ["agreement", str(out), "--metric", "cohen_kappa"])
    assert r4.exit_code == 2 and "pass --judges A,B" in r4.output


def test_consensus_of_split_reference_votes_is_a_tie_not_the_first_label():
    # two humans split on q1 (one saw the pair the other way round), agree on q2
    j = Judgments({"item": ["q1", "q1", "q1", "q2", "q2", "q2"],
                   "judge": ["human:1", "human:2", "judge", "human:1", "human:2", "judge"],
                   "model_a": ["x", "y", "x", "x", "x", "x"], "model_b": ["y", "x", "y", "y", "y", "y"],
                   "outcome": ["a", "a", "b", "b", "b", "b"]})
    res = agreement.against(j, "human", metrics=("percent_agreement",), ci="none")
    assert res.reference == "human (consensus of 2)"
    # q1: human:1 says x, human:2 says y → tie, so the judge's "y" disagrees; q2 agrees
    assert res.table["percent_agreement"][0] == pytest.approx(0.5)
    labels = Judgments({"item": ["q1"] * 3 + ["q2"] * 3, "judge": ["human:1", "human:2", "j"] * 2,
                        "model": ["m"] * 6, "label": ["yes", "no", "yes", "yes", "yes", "yes"]})
    with pytest.warns(DataDroppedWarning, match="1 units have no majority label"):
        agreement.against(labels, "human", metrics=("percent_agreement",), ci="none")


# --- units: a reference recorded once applies to every order and variant; abstentions -------------------

def _judges_with_a_plain_reference(seed: int = 3) -> tuple[Judgments, pl.DataFrame]:
    """Six judges in both orders and two prompt variants; a human who recorded each pair once."""
    sim = metaeval.simulate.pairwise(n_models=4, n_items=40, judges=tuple(f"judge-{c}" for c in "abcdef"),
                                     n_humans=1, both_orders=True, rng=seed)
    f = sim.judgments.frame.drop("extra", strict=False)
    judges = f.filter(pl.col("judge") != "human:1")
    judges = pl.concat([judges.with_columns(pl.lit(v).alias("variant")) for v in ("plain", "cot")])
    human = (f.filter(pl.col("judge") == "human:1", pl.col("shown_first") == "a")
             .with_columns(pl.lit(None, dtype=pl.String).alias("variant"), pl.lit(None).alias("shown_first")))
    return Judgments(pl.concat([judges, human], how="diagonal_relaxed")), judges


def test_a_reference_without_order_or_variant_is_compared_with_every_verdict():
    table, judges = _judges_with_a_plain_reference()
    res = agreement.against(table, "human:1", metrics=("cohen_kappa", "percent_agreement"), n_resamples=200, rng=0)
    t = res.table
    # every verdict of every judge has the human's verdict to be compared with
    per_judge = dict(judges.group_by("judge").len().iter_rows())
    assert dict(zip(t["judge"], t["n_units"], strict=True)) == per_judge
    assert t["cohen_kappa"].is_finite().all() and (t["percent_agreement"] > 0.3).all()
    # percent agreement of a judge = share of its verdicts equal to the human's on the same item and pair
    from metaeval.tables import canonical

    hum = canonical(table.frame.filter(pl.col("judge") == "human:1")).select("item", "model_a", "model_b",
                                                                            pl.col("outcome").alias("h"))
    by_hand = canonical(judges).join(hum, on=["item", "model_a", "model_b"]).group_by("judge").agg(
        (pl.col("outcome") == pl.col("h")).mean().alias("pa"))
    assert by_hand["judge"].len() == 6
    expected = dict(by_hand.iter_rows())
    for r in t.iter_rows(named=True):
        assert r["percent_agreement"] == pytest.approx(expected[r["judge"]], abs=1e-12)


def test_krippendorff_alpha_with_the_reference_counts_every_rater():
    table, _ = _judges_with_a_plain_reference()
    res = agreement.krippendorff_alpha(table, ci="none")
    assert len(res.raters) == 7
    # the same units built by hand: one per (item, pair, variant, order), the human's verdict on each
    from metaeval.tables import canonical

    f = canonical(table.frame)
    units = f.filter(pl.col("judge") != "human:1").select("item", "model_a", "model_b", "variant",
                                                           "shown_first").unique()
    hum = f.filter(pl.col("judge") == "human:1").select("item", "model_a", "model_b", pl.col("outcome").alias("o"))
    code = {"a": 0, "b": 1, "tie": 2}
    cols = []
    for judge in sorted(set(f["judge"])):
        if judge == "human:1":
            v = units.join(hum, on=["item", "model_a", "model_b"], how="left")
        else:
            keys = ["item", "model_a", "model_b", "variant", "shown_first"]
            v = units.join(f.filter(pl.col("judge") == judge).select(*keys, pl.col("outcome").alias("o")), on=keys,
                           how="left")
        cols.append([np.nan if o is None else code[o] for o in v["o"].cast(pl.String).to_list()])
    ref = krippendorff.alpha(reliability_data=np.array(cols, dtype=float), level_of_measurement="nominal")
    assert res.estimate == pytest.approx(ref, abs=1e-10)
    six = agreement.krippendorff_alpha(table, judges=[j for j in table.judges if j != "human:1"], ci="none")
    names = sorted(set(f["judge"]))
    six_ref = krippendorff.alpha(reliability_data=np.array([c for n, c in zip(names, cols, strict=True)
                                                            if n != "human:1"], dtype=float),
                                 level_of_measurement="nominal")
    assert six.estimate == pytest.approx(six_ref, abs=1e-10)
    assert abs(six.estimate - res.estimate) > 1e-3  # the human's verdicts count


def test_no_overlap_with_the_reference_is_an_error_that_says_why():
    j = Judgments({"item": ["q1", "q2", "q3", "q4"], "judge": ["g", "g", "h", "h"], "model_a": ["x"] * 4,
                   "model_b": ["y"] * 4, "outcome": ["a", "b", "a", "b"],
                   "variant": ["v1", "v1", "v2", "v2"]})
    with pytest.raises(metaeval.InsufficientDataError, match="judged no item in common"):
        agreement.against(j, "h", n_resamples=50, rng=0)
    k = Judgments({"item": ["q1", "q2", "q1", "q2"], "judge": ["g", "g", "h", "h"], "model_a": ["x"] * 4,
                   "model_b": ["y"] * 4, "outcome": ["a", "b", "a", "b"], "variant": ["v1", "v1", "v2", "v2"]})
    with pytest.raises(metaeval.InsufficientDataError, match="never share a value of `variant`"):
        agreement.against(k, "h", n_resamples=50, rng=0)


def _with_abstentions() -> Judgments:
    """Judge g: 6 right, 2 wrong, 2 abstentions on 10 items; the reference h is always 'a'."""
    out = ["a"] * 6 + ["b"] * 2 + [None] * 2
    with pytest.warns(metaeval.MetaevalWarning, match="2 of 20 rows have no verdict"):
        return Judgments({"item": [f"q{i}" for i in range(10)] * 2, "judge": ["g"] * 10 + ["h"] * 10,
                          "model_a": ["x"] * 20, "model_b": ["y"] * 20, "outcome": out + ["a"] * 10,
                          "missing_reason": [None] * 8 + ["timeout", "unparseable"] + [None] * 10})


def test_missing_verdicts_count_by_the_policy_and_the_rate_is_reported():
    j = _with_abstentions()
    wrong = agreement.against(j, "h", metrics=("percent_agreement",), n_resamples=500, rng=0)
    row = wrong.table.row(0, named=True)
    assert wrong.missing == "wrong" and row["n_units"] == 10
    assert row["percent_agreement"] == pytest.approx(0.6)
    assert row["abstention_rate"] == pytest.approx(0.2)
    assert row["abstention_rate_ci_low"] < 0.2 < row["abstention_rate_ci_high"]
    drop = agreement.against(j, "h", metrics=("percent_agreement",), missing="drop", n_resamples=200, rng=0)
    assert drop.table["percent_agreement"][0] == pytest.approx(0.75) and drop.table["n_units"][0] == 8
    assert drop.table["abstention_rate"][0] == pytest.approx(0.2)  # the rate does not depend on the policy
    tie = agreement.against(j, "h", metrics=("percent_agreement",), missing="tie", n_resamples=200, rng=0)
    assert tie.table["percent_agreement"][0] == pytest.approx(0.6)
    with pytest.raises(metaeval.MetaevalError, match="`missing` must be one of 'drop', 'wrong', 'tie' or None"):
        agreement.against(j, "h", missing="skip")


def test_the_abstention_interval_covers_rare_abstentions():
    """A judge that never abstained gets [0, exact bound], not [0, 0]; the interval covers a rare
    true abstention rate (1 %: no abstention at all in a third of the studies) and a common one."""
    import warnings

    def covered(gen: np.random.Generator, p: float, n: int = 80) -> bool:
        out = np.where(gen.random(n) < p, None, "a").tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            j = Judgments({"item": [f"q{i}" for i in range(n)] * 2, "judge": ["g"] * n + ["h"] * n,
                           "model_a": ["x"] * 2 * n, "model_b": ["y"] * 2 * n, "outcome": out + ["a"] * n})
            r = agreement.against(j, "h", metrics=("percent_agreement",), n_resamples=200,
                                  rng=gen).table.row(0, named=True)
        if r["abstention_rate"] == 0:
            assert r["abstention_rate_ci_high"] == pytest.approx(1 - 0.025 ** (1 / n))
        return r["abstention_rate_ci_low"] <= p <= r["abstention_rate_ci_high"]

    gen = np.random.default_rng(7)
    rare = np.mean([covered(gen, 0.01) for _ in range(200)])
    common = np.mean([covered(gen, 0.10) for _ in range(200)])
    assert rare >= 0.93 and 0.90 <= common <= 0.99, (rare, common)


def test_juries_score_a_one_judge_panel_as_agreement_does_under_each_policy():
    from metaeval import juries

    j = _with_abstentions()
    for missing, expected in (("wrong", 0.6), ("drop", 0.75)):
        res = juries.evaluate_panels(j, "h", judges=["g"], max_size=1, missing=missing, n_resamples=100, rng=0)
        assert res.table["accuracy"][0] == pytest.approx(expected)
        assert res.run_info.params["missing"] == missing


def test_renamed_arguments_keep_working_for_one_release_with_a_warning(tmp_path):
    from click.testing import CliRunner

    from metaeval.cli import cli

    sim = metaeval.simulate.pointwise(n_models=3, n_items=40, n_humans=2, scale=(1, 5), rng=0).judgments
    new = agreement.krippendorff_alpha(sim, scale="interval", ci="none").estimate
    with pytest.warns(FutureWarning, match="`level` is now `scale`"):
        old = agreement.krippendorff_alpha(sim, level="interval", ci="none").estimate
    assert old == new
    with pytest.raises(metaeval.errors.ParameterError, match="pass `scale` only"):
        agreement.krippendorff_alpha(sim, level="interval", scale="interval", ci="none")
    with pytest.warns(FutureWarning, match="`level` is now `granularity`"):
        c = agreement.correlation(sim, "judge-atlas", "human", level="item", ci="none")
    assert c.estimate == agreement.correlation(sim, "judge-atlas", "human", granularity="item", ci="none").estimate
    out = tmp_path / "p.parquet"
    sim.write_parquet(out)
    r = CliRunner().invoke(cli, ["agreement", str(out), "--level", "interval", "--ci", "none", "--json"])
    assert r.exit_code == 0, r.output
    assert "--level is now --scale" in r.stderr
