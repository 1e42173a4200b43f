"""Battle logs out of core: the same counts and ratings as in memory; resamples that do not depend
on how the files are split."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import metaeval
from metaeval.battles import covariates_scan, rank_scan, scan
from metaeval.errors import ImportFormatError, InsufficientDataError, MetaevalError

_OUT = {"a": "model_a", "b": "model_b", "tie": "tie"}


@pytest.fixture(scope="module")
def sim():
    return metaeval.simulate.pairwise(n_models=5, n_items=120, rng=3)


def _battles(sim) -> pl.DataFrame:
    f = sim.judgments.frame
    return pl.DataFrame({"model_a": f["model_a"], "model_b": f["model_b"],
                         "winner": f["outcome"].cast(pl.String).replace_strict(_OUT),
                         "question_id": f["item"], "category": f["item"].str.slice(-1).cast(pl.String)})


def _write(df: pl.DataFrame, folder, parts: int, rng: int = 0, mixed: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    idx = np.random.default_rng(rng).permutation(df.height)
    for k, chunk in enumerate(np.array_split(idx, parts)):
        part = df[chunk.tolist()]
        if mixed and k % 3 == 1:
            part.write_csv(folder / f"part-{k}.csv")
        elif mixed and k % 3 == 2:
            part.write_ndjson(folder / f"part-{k}.jsonl")
        else:
            part.write_parquet(folder / f"part-{k}.parquet")


def test_counts_and_ratings_equal_the_in_memory_fit(sim, tmp_path):
    df = _battles(sim)
    _write(df, tmp_path / "logs", 4, mixed=True)
    stats = scan(tmp_path / "logs", cluster="question_id", category="category", chunk_rows=97).reduce()
    assert stats.n_battles == df.height
    from metaeval.rankers.bradley_terry import cell_counts as _cube
    from metaeval.rankers.bradley_terry import code_battles as mem_battles

    b = mem_battles(sim.judgments, None)
    order = [stats.models.index(m) for m in b.models]
    np.testing.assert_array_equal(stats.cube[np.ix_(order, order)], _cube(b))
    ours = rank_scan(stats).select("model", "rating")
    theirs = metaeval.rank(sim.judgments, "bradley_terry", ci="none").to_polars().select("model", "rating")
    joined = ours.join(theirs, on="model", suffix="_mem")
    np.testing.assert_allclose(joined["rating"], joined["rating_mem"] - joined["rating_mem"].mean(), atol=1e-6)
    total = sum(stats.by_category.values())
    np.testing.assert_array_equal(total, stats.cube)


def test_resamples_do_not_depend_on_how_the_files_are_split(sim, tmp_path):
    df = _battles(sim)
    _write(df, tmp_path / "one", 1, rng=1)
    _write(df, tmp_path / "many", 7, rng=2, mixed=True)
    a = scan(tmp_path / "one", cluster="question_id", chunk_rows=1000).reduce(n_resamples=40, seed=5)
    b = scan(tmp_path / "many", cluster="question_id", chunk_rows=33).reduce(n_resamples=40, seed=5)
    np.testing.assert_array_equal(a.boot, b.boot)  # integer weights: exact, whatever the order of summation
    c = scan(tmp_path / "one", cluster="question_id").reduce(n_resamples=40, seed=6)
    assert not np.array_equal(a.boot, c.boot)
    # each resample keeps every cluster's battles together: a cluster weight multiplies all of them
    assert abs(a.boot.sum(axis=(1, 2, 3)).mean() / df.height - 1) < 0.1


def test_poisson_cluster_bootstrap_matches_the_in_memory_cluster_bootstrap(sim, tmp_path):
    _write(_battles(sim), tmp_path / "logs", 2)
    stats = scan(tmp_path / "logs", cluster="question_id").reduce(n_resamples=400, seed=0)
    ours = rank_scan(stats)
    mem = metaeval.rank(sim.judgments, "bradley_terry", cluster="item", n_resamples=400, rng=0).to_polars()
    j = ours.join(mem, on="model", suffix="_mem")
    width, width_mem = j["ci_high"] - j["ci_low"], j["ci_high_mem"] - j["ci_low_mem"]
    ratio = (width / width_mem).to_numpy()
    assert np.all(np.abs(ratio - 1) < 0.25), ratio  # Poisson vs multinomial weights: the same spread


def test_categories_dedupe_and_rank_by_category(sim, tmp_path):
    df = _battles(sim)
    dup = pl.concat([df, df.head(30)])
    dup = dup.with_columns(pl.int_range(dup.height).alias("battle_id"))
    dup = dup.with_columns(pl.when(pl.col("battle_id") >= df.height).then(pl.col("battle_id") - df.height)
                           .otherwise(pl.col("battle_id")).alias("battle_id"))
    _write(dup, tmp_path / "logs", 3)
    stats = scan(tmp_path / "logs", category="category", dedupe=["battle_id"]).reduce()
    assert stats.n_battles == df.height and stats.dropped["duplicates"] == 30
    t = rank_scan(stats, category=sorted(stats.by_category)[0])
    assert t.height == 5
    with pytest.raises(MetaevalError, match="no category 'x'"):
        rank_scan(stats, category="x")


@pytest.mark.parametrize(("change", "match"), [
    ({"winner": "model_c"}, r"row 4, column `winner`: expected one of"),
    ({"model_b": None}, r"row 4, column `model_b`: expected a model name"),
    ({"model_b": "SAME"}, r"row 4, column `model_b`: expected a model other than `model_a`"),
])
def test_bad_rows_name_file_row_and_column(tmp_path, change, match):
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "question_id": str(i)} for i in range(6)]
    bad = dict(rows[3])
    bad.update(change)
    if bad.get("model_b") == "SAME":
        bad["model_b"] = bad["model_a"]
    rows[3] = bad
    pl.DataFrame(rows, schema={"model_a": pl.String, "model_b": pl.String, "winner": pl.String,
                               "question_id": pl.String}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(ImportFormatError, match="b.parquet " + match) as err:
        scan(tmp_path / "b.parquet", chunk_rows=2).reduce()
    assert err.value.path.endswith("b.parquet")


def test_missing_files_columns_and_too_little_data(tmp_path):
    with pytest.raises(ImportFormatError, match="no battle log files"):
        scan(tmp_path / "*.parquet")
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(ImportFormatError, match=r"x\.parquet has no column `model_a`"):
        scan(tmp_path / "x.parquet").reduce()
    pl.DataFrame({"model_a": ["p"], "model_b": ["q"], "winner": ["tie"]}).write_parquet(tmp_path / "y.parquet")
    with pytest.raises(MetaevalError, match="give `cluster=`"):
        scan(tmp_path / "y.parquet").reduce(n_resamples=10)
    one = tmp_path / "one"
    one.mkdir()
    pl.DataFrame({"model_a": ["p"], "model_b": ["p2"], "winner": ["tie"]}).write_parquet(one / "z.parquet")
    assert scan(one).reduce().n_battles == 1
    with pytest.raises(InsufficientDataError):
        scan(one).reduce(models=["p"])


def test_ray_reduction_equals_the_local_one_and_keeps_error_messages(sim, tmp_path):
    pytest.importorskip("ray")
    from metaeval.engine import ray_session

    _write(_battles(sim), tmp_path / "logs", 5, rng=4, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", category="category", chunk_rows=50)
    local = sc.reduce(n_resamples=30, seed=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"model_a": ["x", "x"], "model_b": ["y", "x"], "winner": ["tie", "tie"],
                  "question_id": ["1", "2"]}).write_parquet(bad / "b.parquet")
    with ray_session(num_cpus=2):
        dist = sc.reduce(n_resamples=30, seed=2, engine="ray")  # 2 tasks (the CPUs) over 5 files
        one = sc.reduce(n_resamples=30, seed=2, engine="ray", tasks=1)
        np.testing.assert_array_equal(one.boot, local.boot)
        with pytest.raises(ImportFormatError, match=r"b\.parquet row 2, column `model_b`"):
            scan(bad).reduce(engine="ray")
    np.testing.assert_array_equal(local.cube, dist.cube)
    np.testing.assert_array_equal(local.boot, dist.boot)
    assert local.by_category.keys() == dist.by_category.keys()
    for k in local.by_category:
        np.testing.assert_array_equal(local.by_category[k], dist.by_category[k])
    with pytest.raises(MetaevalError, match="deduplication across files"):
        scan(tmp_path / "logs", dedupe=["question_id"]).reduce(engine="ray")
    with pytest.raises(MetaevalError, match="`engine` must be one of"):
        sc.reduce(engine="spark")


def test_style_control_on_ray_equals_the_local_fit(sim, tmp_path):
    pytest.importorskip("ray")
    from metaeval.engine import ray_session

    df = _battles(sim)
    rng = np.random.default_rng(3)
    df = df.with_columns(pl.Series("len_diff", rng.normal(0, 1, df.height)),
                         pl.Series("md_diff", rng.integers(-2, 3, df.height).astype(float)))
    _write(df, tmp_path / "logs", 5, rng=4, mixed=True)  # clusters span files
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=60)
    local, order = covariates_scan(sc, ["len_diff", "md_diff"], partitions=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"model_a": ["x", "x"], "model_b": ["y", "y"], "winner": ["tie", "tie"], "question_id": ["1", "2"],
                  "len_diff": [0.5, None], "md_diff": [0.0, 1.0]}).write_parquet(bad / "b.parquet")
    with ray_session(num_cpus=2):
        dist, order_d = covariates_scan(sc, ["len_diff", "md_diff"], partitions=2, engine="ray")
        with pytest.raises(ImportFormatError, match=r"b\.parquet row 2, column `len_diff`"):
            covariates_scan(scan(bad, cluster="question_id"), ["len_diff"], engine="ray")
    assert order == order_d
    np.testing.assert_allclose(dist.theta, local.theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dist.beta, local.beta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dist.cov_robust, local.cov_robust, rtol=1e-10, atol=1e-16)
    assert dist.n_clusters == local.n_clusters == df["question_id"].n_unique()
    with pytest.raises(MetaevalError, match="deduplication across files"):
        covariates_scan(scan(tmp_path / "logs", dedupe=["question_id"]), ["len_diff"], engine="ray")


def test_out_of_core_sandwich_equals_the_in_memory_sandwich(sim, tmp_path):
    _write(_battles(sim), tmp_path / "logs", 3, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=40)
    stats = sc.reduce()
    mem = metaeval.rank(sim.judgments, "bradley_terry", ci="sandwich", cluster="item", rng=0).to_polars()
    for partitions in (1, 4):
        ours = rank_scan(stats, sandwich=sc, partitions=partitions)
        j = ours.join(mem, on="model", suffix="_mem")
        np.testing.assert_allclose(j["ci_high"] - j["ci_low"], j["ci_high_mem"] - j["ci_low_mem"], rtol=1e-8)


def test_ratings_per_month_from_one_pass(sim, tmp_path):
    df = _battles(sim)
    months = np.array(["2024-01-15T10:00:00", "2024-02-03T08:30:00", "2024-03-28T23:59:00"])
    df = df.with_columns(pl.Series("tstamp", months[np.arange(df.height) % 3]))
    _write(df, tmp_path / "logs", 2, mixed=True)
    stats = scan(tmp_path / "logs", time="tstamp").reduce()
    assert list(stats.by_period) == ["2024-01", "2024-02", "2024-03"]
    np.testing.assert_array_equal(sum(stats.by_period.values()), stats.cube)
    jan = rank_scan(stats, period="2024-01")
    sub = metaeval.Judgments(sim.judgments.frame.filter(pl.int_range(pl.len()) % 3 == 0))
    mem = metaeval.rank(sub, "bradley_terry", ci="none").to_polars()
    j = jan.join(mem, on="model", suffix="_mem")
    np.testing.assert_allclose(j["rating"], j["rating_mem"] - j["rating_mem"].mean(), atol=1e-6)
    epoch = df.with_columns(pl.col("tstamp").str.to_datetime().dt.epoch("s").alias("tstamp"))
    _write(epoch, tmp_path / "epoch", 1)
    weeks = scan(tmp_path / "epoch", time="tstamp", period="week").reduce().by_period
    assert next(iter(weeks)) == "2024-W03"
    bad = df.with_columns(pl.lit("soon").alias("tstamp"))
    _write(bad, tmp_path / "bad", 1)
    with pytest.raises(ImportFormatError, match="value 'soon' is not a date"):
        scan(tmp_path / "bad", time="tstamp").reduce()


def test_style_control_out_of_core_equals_the_in_memory_fit(sim, tmp_path):
    from metaeval.rankers.covariates import bt_covariates_battles

    df = _battles(sim)
    rng = np.random.default_rng(0)
    df = df.with_columns(pl.Series("len_diff", rng.normal(0, 1, df.height)),
                         pl.Series("md_diff", rng.integers(-2, 3, df.height).astype(float)))
    _write(df, tmp_path / "logs", 3, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=70)
    fit, order = covariates_scan(sc, ["len_diff", "md_diff"], partitions=3)
    code = {m: i for i, m in enumerate(order)}
    ia = np.array([code[v] for v in df["model_a"]])
    ib = np.array([code[v] for v in df["model_b"]])
    y = df["winner"].replace_strict({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}).to_numpy()
    cl = df["question_id"].cast(pl.Categorical).to_physical().to_numpy()
    mem = bt_covariates_battles(ia, ib, y, df.select("len_diff", "md_diff").to_numpy(), len(order), cluster=cl)
    np.testing.assert_allclose(fit.theta, mem.theta, atol=1e-8)
    np.testing.assert_allclose(fit.beta, mem.beta, atol=1e-8)
    np.testing.assert_allclose(fit.cov_robust, mem.cov_robust, rtol=1e-6, atol=1e-12)
    bad = df.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("len_diff"))
                          .alias("len_diff"))
    _write(bad, tmp_path / "bad", 1)
    with pytest.raises(ImportFormatError, match=r"column `len_diff`: expected a finite number"):
        covariates_scan(scan(tmp_path / "bad"), ["len_diff"])


def test_style_control_and_sandwich_honour_dedupe_and_partitions(sim, tmp_path):
    """The coded passes (Newton steps, sandwich buckets) drop the duplicates reduce() drops, and
    the number of buckets changes the sums' order only."""
    from metaeval.battles import sandwich_cov

    df = _battles(sim)
    rng = np.random.default_rng(1)
    df = df.with_columns(pl.Series("len_diff", rng.normal(0, 1, df.height)),
                         pl.int_range(df.height).alias("battle_id"))
    _write(df, tmp_path / "clean", 2)
    _write(pl.concat([df, df.sample(40, seed=0)]), tmp_path / "dup", 3)
    clean = scan(tmp_path / "clean", cluster="question_id")
    dup = scan(tmp_path / "dup", cluster="question_id", dedupe=["battle_id"], chunk_rows=50)
    want, _ = covariates_scan(clean, ["len_diff"])
    for parts in (1, 4):
        got, _ = covariates_scan(dup, ["len_diff"], partitions=parts)
        np.testing.assert_allclose(got.beta, want.beta, rtol=1e-10)
        np.testing.assert_allclose(got.cov_robust, want.cov_robust, rtol=1e-9, atol=1e-15)
        assert got.n_clusters == want.n_clusters
    stats = clean.reduce()
    theta = np.linspace(-1, 1, len(stats.models))
    a = sandwich_cov(clean, stats, theta, partitions=1)
    b = sandwich_cov(dup, stats, theta, partitions=3)
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-15)
    undeduped, _ = covariates_scan(scan(tmp_path / "dup", cluster="question_id"), ["len_diff"])
    assert not np.allclose(undeduped.beta, want.beta, rtol=1e-6)  # the check can fail: duplicates move β


@pytest.fixture(scope="module")
def sim_ties():
    return metaeval.simulate.pairwise(n_models=5, n_items=120, tie_threshold=0.4, rng=8)


@pytest.mark.parametrize("method", ["bradley_terry", "davidson"])
def test_rank_of_a_scan_equals_rank_in_memory_with_poisson_weights(sim_ties, tmp_path, method):
    sim = sim_ties
    assert (sim.judgments.frame["outcome"] == "tie").sum() > 50
    _write(_battles(sim), tmp_path / "logs", 3, rng=5, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=61)
    lazy = metaeval.rank(sc, method, n_resamples=150, rng=4)
    mem = metaeval.rank(sim.judgments, method, cluster="item", bootstrap="poisson", n_resamples=150, rng=4)
    assert lazy.models == mem.models and lazy.ci_method == "cluster bootstrap (question_id, Poisson weights)"
    np.testing.assert_array_equal(lazy.draws, mem.draws)  # the same resamples, bit for bit
    for name in ("rating", "ci_low", "ci_high", "rank_low", "rank_high", "p_best", "n"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(mem, name))
    if method == "davidson":
        assert lazy.tie_parameter == mem.tie_parameter
    other = metaeval.rank(sim.judgments, method, cluster="item", bootstrap="poisson", n_resamples=150, rng=5)
    assert not np.array_equal(other.draws, mem.draws)


def test_rank_of_a_scan_sandwich_and_unclustered_intervals_equal_in_memory(sim, tmp_path):
    _write(_battles(sim), tmp_path / "logs", 2, rng=6)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=100)
    for ties, scale in (("half", "logit"), ("drop", "elo")):
        lazy = metaeval.rank(sc, "bradley_terry", ci="sandwich", ties=ties, scale=scale, n_resamples=300, rng=1,
                             partitions=3)
        mem = metaeval.rank(sim.judgments, "bradley_terry", ci="sandwich", cluster="item", ties=ties, scale=scale,
                            n_resamples=300, rng=1)
        for name in ("rating", "ci_low", "ci_high"):
            np.testing.assert_allclose(getattr(lazy, name), getattr(mem, name), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(lazy.rank_low, mem.rank_low)
        assert lazy.ci_method == "cluster-robust sandwich"
    plain = scan(tmp_path / "logs")  # no cluster column: no item ids, so single battles are resampled
    lazy = metaeval.rank(plain, "bradley_terry", n_resamples=100, rng=2)
    mem = metaeval.rank(sim.judgments, "bradley_terry", cluster="none", n_resamples=100, rng=2)
    np.testing.assert_array_equal(lazy.ci_low, mem.ci_low)
    # cluster="none" sets a scan's cluster column aside: single battles, as without one
    unclustered = metaeval.rank(sc, "bradley_terry", cluster="none", n_resamples=100, rng=2)
    np.testing.assert_array_equal(unclustered.ci_low, lazy.ci_low)
    assert unclustered.ci_method == "bootstrap"
    assert lazy.run_info.params["source"].startswith("2 battle log file")


def test_rank_of_a_scan_refuses_what_needs_the_battles(sim, tmp_path):
    _write(_battles(sim), tmp_path / "logs", 1)
    sc = scan(tmp_path / "logs", cluster="question_id")
    with pytest.raises(MetaevalError, match="'elo' needs the battles in memory"):
        metaeval.rank(sc, "elo")
    with pytest.raises(MetaevalError, match=r"multinomial cluster bootstrap .* cannot stream"):
        metaeval.rank(sc, "bradley_terry", bootstrap="multinomial")
    with pytest.raises(MetaevalError, match="alpha do"):
        metaeval.rank(sc, "bradley_terry", alpha=0.1)
    with pytest.raises(MetaevalError, match="`bootstrap='poisson'` weighs clusters"):
        metaeval.rank(sim.judgments, "bradley_terry", cluster="none", bootstrap="poisson")
    with pytest.raises(MetaevalError, match="`bootstrap` must be one of"):
        metaeval.rank(sim.judgments, "bradley_terry", bootstrap="bayes")


def test_win_rates_of_a_scan_equal_win_rates_in_memory(sim_ties, tmp_path):
    from metaeval.stats import win_rates

    sim = sim_ties
    _write(_battles(sim), tmp_path / "logs", 3, rng=7, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=50)
    lazy = win_rates(sc, n_resamples=300, rng=2)
    mem = win_rates(sim.judgments, graded=False, bootstrap="poisson", n_resamples=300, rng=2)
    assert lazy.models == mem.models
    for name in ("estimate", "ci_low", "ci_high", "n"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(mem, name))
    np.testing.assert_allclose(lazy.standard_error, mem.standard_error, rtol=1e-10)
    for level in (0.95, 0.8):  # the kept draws: the same intervals at another level as in memory
        for a, b in zip(lazy.confidence_interval(level), mem.confidence_interval(level), strict=True):
            np.testing.assert_array_equal(a, b)
    from metaeval.battles import win_rates_lazy

    np.testing.assert_allclose(win_rates_lazy(sc, n_resamples=300, rng=2, partitions=4).standard_error,
                               mem.standard_error, rtol=1e-10)
    with pytest.raises(MetaevalError, match="give the item column as `cluster=`"):
        win_rates(scan(tmp_path / "logs"))


def _length_sim():
    sim = metaeval.simulate.pairwise(n_models=5, n_items=150, judges=("j",), length_bias=0.6, tie_threshold=0.3,
                                     rng=3)
    f = sim.judgments.frame.drop("shown_first")  # a position term is fitted in memory only when it is given
    df = pl.DataFrame({"model_a": f["model_a"], "model_b": f["model_b"],
                       "winner": f["outcome"].cast(pl.String).replace_strict(_OUT), "question_id": f["item"],
                       "len_a": f["len_a"], "len_b": f["len_b"]})
    return metaeval.Judgments(f), df


def test_style_and_length_bias_of_a_scan_equal_the_in_memory_estimates(tmp_path):
    from metaeval import bias
    from metaeval.rankers.covariates import bt_covariates_battles

    j, df = _length_sim()
    _write(df, tmp_path / "logs", 3, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", chunk_rows=90)
    lazy, mem = bias.length_bias(sc), bias.length_bias(j)
    for col in ("estimate", "p_longer", "p_longer_ci_low", "n_longer_pairs", "sd_log_length"):
        np.testing.assert_allclose(lazy.table[col], mem.table[col], rtol=1e-9)
    # the interval: the cluster-robust sandwich of the same fit (in memory: the jackknife), t with items − 1 df
    la = np.log(np.maximum(df["len_a"].to_numpy(), 1.0))
    lb = np.log(np.maximum(df["len_b"].to_numpy(), 1.0))
    x = ((la - lb) / np.std(np.concatenate([la, lb])))[:, None]
    order = sorted(set(df["model_a"]) | set(df["model_b"]))
    code = {m: i for i, m in enumerate(order)}
    ia, ib = (np.array([code[v] for v in df[c]]) for c in ("model_a", "model_b"))
    y = df["winner"].replace_strict({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}).to_numpy()
    cl = df["question_id"].cast(pl.Categorical).to_physical().to_numpy()
    fit = bt_covariates_battles(ia, ib, y, x, len(order), prior=0.01, cluster=cl)
    from scipy.stats import t

    se = np.sqrt(fit.cov_robust[5, 5])
    np.testing.assert_allclose(lazy.table["ci_high"][0] - lazy.table["estimate"][0], t.ppf(0.975, 149) * se,
                               rtol=1e-6)
    assert abs(lazy.table["ci_low"][0] / mem.table["ci_low"][0] - 1) < 0.05  # sandwich vs jackknife: close
    s_lazy, s_mem = bias.style_bias(sc), bias.style_bias(j)
    np.testing.assert_allclose(s_lazy.table["estimate"], s_mem.table["estimate"], rtol=1e-8)
    r_lazy, r_mem = s_lazy.details["ratings"], s_mem.details["ratings"]
    for col in ("rating", "rating_ci_low", "style_adjusted", "rank", "adjusted_rank"):
        np.testing.assert_allclose(r_lazy[col], r_mem[col], rtol=1e-7, atol=1e-9)
    with pytest.raises(MetaevalError, match="counted from texts in memory only"):
        bias.style_bias(sc, texts=("a", "b"))
    with pytest.raises(MetaevalError, match="`by` does not apply"):
        bias.length_bias(sc, by="judge")
    with pytest.raises(MetaevalError, match="give the item column as `cluster=`"):
        bias.length_bias(scan(tmp_path / "logs"))
    # lengths under other names, or not numbers: errors naming the file, row and column (not polars')
    _write(df.rename({"len_a": "len_1"}), tmp_path / "renamed", 1)
    with pytest.raises(ImportFormatError, match=r"part-0\.parquet has no column `len_a`: the length probe reads"):
        bias.length_bias(scan(tmp_path / "renamed", cluster="question_id"))
    with pytest.raises(ImportFormatError, match="has no column `len_a`: the style probe reads"):
        bias.style_bias(scan(tmp_path / "renamed", cluster="question_id"))
    (tmp_path / "text").mkdir()
    df.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("long")).otherwise(pl.col("len_b").cast(pl.String))
                    .alias("len_b")).write_parquet(tmp_path / "text" / "t.parquet")
    with pytest.raises(ImportFormatError, match=r"row 8, column `len_b`: expected a number; got 'long'"):
        bias.length_bias(scan(tmp_path / "text", cluster="question_id"))


def test_coverage_of_the_streamed_intervals():
    """Poisson cluster bootstrap of Bradley–Terry ratings (what rank(scan) reports) and the CR1
    sandwich t interval of a covariate (what the lazy bias probes report), on clustered battles
    with a known truth: coverage of nominal 95 % intervals (300 replicates, 200 items of 6 votes;
    measured: bootstrap 0.95 and 0.93, sandwich 0.94 and 0.95; with 80 items the percentile
    bootstrap under-covers a little, 0.91)."""
    from scipy.stats import t

    from metaeval.calibration import study
    from metaeval.rankers.covariates import bt_covariates_battles

    theta = np.array([0.8, 0.3, 0.0, -0.4, -0.7])
    names = [f"m{i}" for i in range(5)]

    def one(gen, n_items=200, per_item=6, beta=0.5):
        a = np.repeat(gen.integers(0, 5, n_items), per_item)  # an item: one pair, one covariate, several votes
        b = (a + np.repeat(gen.integers(1, 5, n_items), per_item)) % 5
        x = np.repeat(gen.normal(0, 1, n_items), per_item)
        p = 1 / (1 + np.exp(-(theta[a] - theta[b] + beta * x)))
        y = (gen.random(len(p)) < p).astype(float)
        item = np.repeat(np.arange(n_items), per_item)
        fit = bt_covariates_battles(a, b, y, x[:, None], 5, cluster=item)
        se = np.sqrt(fit.cov_robust[5, 5])
        q = t.ppf(0.975, n_items - 1)
        out = [{"test": "sandwich beta", "pvalue": np.nan, "ci_low": fit.beta[0] - q * se,
                "ci_high": fit.beta[0] + q * se, "truth": beta}]
        if beta != 0:  # the ranking leaves the covariate out: its truth is theta only when beta is 0
            return out
        j = metaeval.Judgments({"item": [f"q{i}" for i in item], "judge": "h", "model_a": [names[i] for i in a],
                                "model_b": [names[i] for i in b], "outcome": np.where(y == 1, "a", "b"),
                                "rep": np.tile(np.arange(per_item), n_items)})
        r = metaeval.rank(j, "bradley_terry", cluster="item", bootstrap="poisson", n_resamples=200,
                          rng=int(gen.integers(2**31)))
        truth = theta - theta.mean()
        return out + [
            {"test": f"poisson bootstrap {names[k]}", "pvalue": np.nan, "ci_low": r.ci_low[k], "ci_high": r.ci_high[k],
             "truth": truth[k]} for k in (0, 2)]

    s = study(one, {"beta=0": {"beta": 0.0}, "beta=0.5": {"beta": 0.5}}, n_replicates=300, rng=11)
    print(s.table.select("scenario", "test", "n", "coverage", "coverage_mcse"))
    assert s.table.height == 4
    assert s.table["coverage"].is_between(0.92, 0.98).all(), s.table


def test_per_category_and_per_period_leaderboards_from_one_pass(sim_ties, tmp_path):
    from metaeval.battles import rank_changes, rank_groups

    sim = sim_ties
    df = _battles(sim)
    months = np.array(["2024-01-15", "2024-02-03"])
    df = df.with_columns(pl.Series("tstamp", months[np.arange(df.height) % 2]))
    _write(df, tmp_path / "logs", 3, rng=9, mixed=True)
    sc = scan(tmp_path / "logs", cluster="question_id", category="category", time="tstamp", chunk_rows=80)
    stats = sc.reduce(n_resamples=120, seed=3, group_resamples=True)
    np.testing.assert_array_equal(sum(stats.boot_by_category.values()), stats.boot)  # each battle in one group
    np.testing.assert_array_equal(sum(stats.boot_by_period.values()), stats.boot)
    cats = rank_groups(stats)
    per = rank_groups(stats, by="period")
    assert set(per["period"]) == {"2024-01", "2024-02"}
    cat = sorted(stats.by_category)[0]
    # a category's intervals are the in-memory Poisson bootstrap of that category's battles
    f = sim.judgments.frame
    sub = metaeval.Judgments(f.filter(f["item"].str.slice(-1) == cat))
    with pytest.warns(metaeval.errors.SmallSampleWarning, match="only 12 items"):
        mem = metaeval.rank(sub, "bradley_terry", cluster="item", bootstrap="poisson", n_resamples=120, rng=3)
    ours = cats.filter(pl.col("category") == cat).join(mem.to_polars(), on="model", suffix="_mem")
    np.testing.assert_allclose(ours["rating"], ours["rating_mem"], atol=1e-9)
    for col in ("ci_low", "ci_high"):
        np.testing.assert_allclose(ours[col], ours[f"{col}_mem"], atol=1e-9)
    np.testing.assert_array_equal(ours["rank_low"], ours["rank_low_mem"])
    np.testing.assert_array_equal(ours["rank_high"], ours["rank_high_mem"])
    second = sorted(stats.by_category)[1]
    ch = rank_changes(stats, cat, second)
    assert ch.height == 5
    assert (ch["change_low"] <= ch["change"]).all() and (ch["change"] <= ch["change_high"]).all()
    np.testing.assert_array_equal(rank_changes(stats, cat, cat)["change_high"], 0)  # a group against itself
    with pytest.raises(MetaevalError, match="group_resamples=True"):
        rank_groups(sc.reduce(n_resamples=10, seed=3))
    with pytest.raises(MetaevalError, match="no category 'nope'"):
        rank_changes(stats, "nope", cat)


def test_poisson_cell_counts_do_not_depend_on_threads_or_blocks():
    from metaeval.stats.resampling import poisson_cell_counts, poisson_weights, stable_keys

    rng = np.random.default_rng(5)
    ids = rng.integers(0, 300, 2000).astype(str)
    cells = rng.integers(0, 50, 2000)
    one = poisson_cell_counts(ids, cells, 50, 64, seed=11, threads=1)
    many = poisson_cell_counts(ids, cells, 50, 64, seed=11, threads=3, budget=300 * 5)  # 13 blocks on 3 threads
    np.testing.assert_array_equal(one, many)
    uniq, inv = np.unique(ids, return_inverse=True)
    w = poisson_weights(stable_keys(uniq), 64, seed=11)[inv]  # rows × resamples: the definition
    want = np.zeros((64, 50))
    for c in range(50):
        want[:, c] = w[cells == c].sum(axis=0)
    np.testing.assert_array_equal(one, want)


@pytest.fixture(scope="module")
def s3():
    """A local S3-compatible server (moto's, in a thread, on a free port): the object-storage tests
    talk real HTTP to it through polars' object-store layer."""
    server_mod = pytest.importorskip("moto.server", reason="the object-storage tests need moto[server]")
    boto3 = pytest.importorskip("boto3")
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    options = {"aws_endpoint_url": url, "aws_access_key_id": "test", "aws_secret_access_key": "test",
               "aws_region": "us-east-1", "aws_allow_http": "true"}
    yield client, options
    server.stop()


def test_battle_logs_in_object_storage_reduce_as_local_files(sim, tmp_path, s3):
    import io

    client, options = s3
    _write(_battles(sim), tmp_path / "logs", 4, rng=2)
    client.create_bucket(Bucket="arena")
    for f in sorted((tmp_path / "logs").glob("*.parquet")):
        client.put_object(Bucket="arena", Key=f"logs/2024/{f.name}", Body=f.read_bytes())
    local = scan(tmp_path / "logs", cluster="question_id", chunk_rows=70)
    for source in ("s3://arena/logs/", "s3://arena/logs/2024/*.parquet"):
        remote = scan(source, cluster="question_id", chunk_rows=70, storage_options=options)
        assert [f.name for f in remote.files] == [f.name for f in local.files]
        a, b = local.reduce(n_resamples=20, seed=3), remote.reduce(n_resamples=20, seed=3)
        np.testing.assert_array_equal(a.cube, b.cube)
        np.testing.assert_array_equal(a.boot, b.boot)
    remote = scan("s3://arena/logs/", cluster="question_id", storage_options=options)
    pytest.importorskip("ray")
    from metaeval.engine import ray_session

    with ray_session(num_cpus=2):  # the workers read the bucket with the scan's storage options
        dist = remote.reduce(n_resamples=20, seed=3, engine="ray")
    np.testing.assert_array_equal(dist.boot, local.reduce(n_resamples=20, seed=3).boot)
    # errors name the object: a bad row, a missing bucket, a CSV prefix
    buf = io.BytesIO()
    pl.DataFrame({"model_a": ["x", "x"], "model_b": ["y", "x"], "winner": ["tie", "tie"],
                  "question_id": ["1", "2"]}).write_parquet(buf)
    client.put_object(Bucket="arena", Key="bad/b.parquet", Body=buf.getvalue())
    with pytest.raises(ImportFormatError, match=r"b\.parquet row 2, column `model_b`"):
        scan("s3://arena/bad/", storage_options=options).reduce()
    with pytest.raises(ImportFormatError, match="could not list battle logs at s3://nothing-here/"):
        scan("s3://nothing-here/", storage_options=options)
    with pytest.raises(ImportFormatError, match="as Parquet"):
        scan("s3://arena/logs.csv", storage_options=options)
    with pytest.raises(ImportFormatError, match=r"missing\.parquet: could not read it as parquet battle logs"):
        scan(["s3://arena/logs/missing.parquet"], storage_options=options).reduce()


def test_a_file_that_is_not_what_its_name_says_is_named_in_the_error(tmp_path):
    (tmp_path / "part-0.parquet").write_text("not parquet")
    with pytest.raises(ImportFormatError, match=r"part-0\.parquet: could not read it as parquet battle logs"):
        scan(tmp_path).reduce()
