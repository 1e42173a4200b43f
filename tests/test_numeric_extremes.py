"""Extreme scores are never silently wrong. Beyond ±1e100 a value is refused as not a score,
naming the column (file, row) or the model and task (before: ±1e308 passed the "finite" check,
then `compare` printed a mean of inf with a CI of [nan, nan] and Krippendorff's α was nan, with
raw numpy RuntimeWarnings and exit 0). Within the bound, every entry point computes without a
RuntimeWarning, and scale-free statistics give the same answer for tiny scores (1e-300, whose
squares underflow) and huge ones (1e100, whose fourth powers overflow) as for ordinary ones:
kernels that square their input run on it scaled by a power of two, which is exact."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import metaeval
from metaeval import agreement, stats
from metaeval.cli import cli
from metaeval.errors import MetaevalError, SchemaError
from metaeval.rankers import compare_rules, rank
from metaeval.tables import ScoreMatrix


def grades(scale: float, n: int = 40, extreme: bool = True) -> metaeval.Judgments:
    """Three models graded by three judges on n items, times ``scale``; with ``extreme`` the first
    rows sit at ±scale itself."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        base = rng.normal(size=3)
        for mi, m in enumerate(("x", "y", "z")):
            for j in ("h1", "h2", "judge"):
                v = (base[mi] + 0.3 * mi + rng.normal() * 0.5) / 10
                rows.append({"item": f"q{i}", "judge": j, "model": m, "task": f"t{i % 4}", "score": v})
    if extreme:
        for r in rows[:6]:
            r["score"] = 1.0 if r["model"] == "x" else -1.0
    frame = pl.DataFrame(rows).with_columns(pl.col("score") * scale)
    return metaeval.read(frame)


def entry_points(j: metaeval.Judgments) -> dict[str, Callable[[], Any]]:
    one = j.filter(judge="judge")
    sm = j.score_matrix(by="task")
    return {
        "compare auto": lambda: stats.compare(one, "x", "y", rng=0),
        "compare paired_t": lambda: stats.compare(one, "x", "y", test="paired_t", rng=0),
        "compare wilcoxon": lambda: stats.compare(one, "x", "y", test="wilcoxon", rng=0),
        "compare bootstrap": lambda: stats.compare(one, "x", "y", test="bootstrap", n_resamples=200, rng=0),
        "compare permutation": lambda: stats.compare(one, "x", "y", test="permutation", n_resamples=200, rng=0),
        "compare bayes": lambda: stats.compare(one, "x", "y", method="bayes", rng=0),
        "compare clustered": lambda: stats.compare(one, "x", "y", cluster="task", n_resamples=200, rng=0),
        "all_pairs": lambda: stats.all_pairs(one, n_resamples=200, rng=0),
        "alpha interval": lambda: agreement.krippendorff_alpha(j, "interval", n_resamples=50, rng=0),
        "alpha ratio": lambda: agreement.krippendorff_alpha(j, "ratio", n_resamples=50, rng=0),
        "icc": lambda: agreement.icc(j),
        "pearson": lambda: agreement.correlation(j, "judge", "h1", method="pearson", granularity="item", n_resamples=50,
                                                 rng=0),
        "kendall (system)": lambda: agreement.correlation(j, "judge", "h1", n_resamples=50, rng=0),
        "against": lambda: agreement.against(j, "h1", metrics=("krippendorff_alpha",), scale="interval",
                                             n_resamples=50, rng=0),
        "rank (pointwise)": lambda: rank(j, n_resamples=50, rng=0),
        "friedman": lambda: stats.friedman(sm),
        "critical difference": lambda: stats.critical_difference(sm),
        "compare_rules": lambda: compare_rules(sm),
        "nash averaging": lambda: rank(sm, "nash_averaging", n_resamples=20, rng=0),
        "power_from_pilot": lambda: stats.power_from_pilot(one, "x", "y", delta=0.1),
    }


NAMES = list(entry_points(grades(1.0)))


def _numbers(res: Any) -> np.ndarray:
    """The scale-free and scaled numbers of a result: estimate and interval where it has them."""
    est = getattr(res, "estimate", None)
    ci = getattr(res, "ci", None)
    return np.array([np.nan if est is None else est, *((ci.low, ci.high) if ci is not None else ())], float)


@pytest.mark.parametrize("scale", [1e100, 1e-300], ids=["huge", "tiny"])
def test_no_runtime_warning_escapes_and_results_scale(scale):
    """With warnings as errors: every entry point runs on scores at the bound (±1e100) and on tiny
    ones (1e-300) and gives the ordinary answer, scaled (before: overflow in the ICC at 1e100; at
    1e-300 the paired t, bootstrap-t, t posterior and CR2 intervals collapsed to one point and the
    interval α and ICC were nan)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # the metaeval warnings of a small study
        base = {k: f() for k, f in entry_points(grades(1.0)).items()}
        got = {k: f() for k, f in entry_points(grades(scale)).items()}
    for name in ("compare auto", "compare paired_t", "compare bootstrap", "compare bayes", "compare clustered",
                 "compare wilcoxon", "compare permutation"):
        np.testing.assert_allclose(_numbers(got[name]), _numbers(base[name]) * scale, rtol=1e-9, err_msg=name)
        assert got[name].ci.low < got[name].estimate < got[name].ci.high, name
    for name in ("alpha interval", "alpha ratio", "pearson"):
        np.testing.assert_allclose(_numbers(got[name]), _numbers(base[name]), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(got["icc"].table["icc"].to_numpy(), base["icc"].table["icc"].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("value", [1e308, -1e308, 1e101])
def test_scores_beyond_the_bound_are_refused_naming_the_column(value):
    frame = grades(1.0).frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(value).otherwise(pl.col("score")).alias("score"))
    with pytest.raises(SchemaError, match=r"column `score` must lie within ±1e100 .*got -?1e\+\d+ in row 4$"):
        metaeval.Judgments(frame)


def test_the_cli_refuses_them_with_exit_2_and_no_traceback(tmp_path):
    rows = [{"item": f"q{i}", "judge": "j", "model": m, "score": (1e308 if m == "x" else -1e308) if i < 3
             else float(i % 5)} for i in range(30) for m in ("x", "y")]
    path = tmp_path / "huge.csv"
    pl.DataFrame(rows).write_csv(path)
    for args in (["compare", str(path), "x", "y"], ["agreement", str(path), "--metric", "icc"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, res.output
        assert "column `score` must lie within ±1e100" in res.output and "Traceback" not in res.output
        assert "inf" not in res.output and "nan" not in res.output


def test_costs_and_leaderboard_cells_beyond_the_bound_are_refused(tmp_path):
    frame = grades(1.0).frame.with_columns(pl.lit(0.01).alias("cost"))
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(1e200).otherwise(pl.col("cost")).alias("cost"))
    with pytest.raises(SchemaError, match="column `cost` must be at most 1e100"):
        metaeval.Judgments(frame)
    with pytest.raises(MetaevalError, match=r"got 1e\+200 for model 'b', task 'T1'"):
        ScoreMatrix(("a", "b"), ("T1", "T2"), np.array([[1.0, 2.0], [1e200, 3.0]]))
    board = tmp_path / "board.csv"
    pl.DataFrame({"Model": ["a", "b", "c"], "T1": [1.0, -1e300, 3.0], "T2": [1.0, 2.0, 3.0]}).write_csv(board)
    res = CliRunner().invoke(cli, ["vote", str(board)])
    assert res.exit_code == 2 and "board.csv, line 3, field `T1`" in res.output and "is not a score" in res.output


@pytest.mark.parametrize("call", [
    lambda d: stats.paired_mean_interval(d),
    lambda d: stats.studentized_bootstrap(d, n_resamples=50, rng=0),
    lambda d: stats.sign_flip_test(d, n_resamples=50, rng=0),
    lambda d: stats.hodges_lehmann_interval(d),
    lambda d: stats.t_posterior(d),
    lambda d: stats.bayesian_bootstrap(d, n_draws=50, rng=0),
    lambda d: stats.cluster_robust_se(d, np.arange(d.size) % 3),
])
def test_array_entry_points_refuse_differences_beyond_twice_the_bound(call):
    d = np.array([0.1, -0.2, 0.3, 1e250, 0.05, -0.1])
    with pytest.raises(MetaevalError, match=r"holds 1e\+250 \(at position 3\): values beyond ±2e\+100 are not scores"):
        call(d)
    with warnings.catch_warnings():  # the differences of two scores at the bound are accepted
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        call(np.array([0.1, -0.2, 0.3, 2e100, 0.05, -0.1]))


def test_score_arrays_refuse_values_beyond_the_bound():
    a = np.array([0.8, 0.7, 0.9, 0.85])
    with pytest.raises(MetaevalError, match=r"`b` holds -1e\+300 \(at position 2\)"):
        stats.correlated_t_test(a, np.array([0.7, 0.6, -1e300, 0.8]))
    with pytest.raises(MetaevalError, match=r"`a` holds 1e\+200"):
        stats.signed_rank_test(np.array([0.8, 1e200, 0.9]), np.array([0.7, 0.6, 0.8]))
    with pytest.raises(MetaevalError, match=r"`payoff matrix` holds 1e\+300"):
        metaeval.rankers.games.zero_sum_max_entropy(np.array([[0.0, 1e300], [-1e300, 0.0]]))


def test_tiny_paired_differences_keep_their_interval():
    d = np.array([0.4, 1.1, 0.2, 0.9, -0.3, 0.7, 1.3, 0.5])
    _, _, ci, p, _ = stats.paired_mean_interval(d)
    tiny = stats.paired_mean_interval(d * 1e-300)
    assert tiny[1] > 0 and tiny[3] == pytest.approx(p, rel=1e-12)  # before: se 0, p 0, interval one point
    np.testing.assert_allclose(tiny[2], np.array(ci) * 1e-300, rtol=1e-12)
    se_c = stats.cluster_robust_se(d * 1e-300, np.arange(8) % 4)[0]
    assert se_c == pytest.approx(stats.cluster_robust_se(d, np.arange(8) % 4)[0] * 1e-300, rel=1e-12)


@pytest.mark.parametrize("method", ["bradley_terry", "davidson", "rao_kupper", "rank_centrality"])
def test_rankers_on_tiny_and_huge_counts(method):
    """Ratings do not change when every count is scaled: tiny fractional counts (1e-300) give the
    ratings of the counts themselves (before: Bradley–Terry, Davidson and Rao–Kupper stopped at
    once and returned all zeros); counts beyond 1e15 are refused (before: a RuntimeWarning from a
    cast to int, then noise)."""
    from metaeval.tables import PairwiseCounts

    wins = np.array([[0, 6, 5], [2, 0, 4], [3, 2, 0]], float)
    ties = np.array([[0, 2, 1], [2, 0, 3], [1, 3, 0]], float)
    base = rank(PairwiseCounts(("a", "b", "c"), wins, ties), method, ci="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = rank(PairwiseCounts(("a", "b", "c"), wins * 1e-300, ties * 1e-300), method, ci="none")
    np.testing.assert_allclose(tiny.rating, base.rating, atol=1e-8)
    with pytest.raises(MetaevalError, match=r"`wins` must hold counts of at most 1e15 .*got 6e\+200 for 'a' against "
                                            r"'b'"):
        PairwiseCounts(("a", "b", "c"), wins * 1e200, ties)
