"""Figures: a golden Vega-Lite spec of every chart (``tests/golden/charts``), the geometry of the
critical-difference diagram against the numbers it draws, the data behind the new figures
(confusion matrices, reliability diagram, rank intervals under resampled tasks), and every chart
drawn in headless Chromium and rendered to PNG.

Regenerate the golden specs after a deliberate change with ``METAEVAL_UPDATE_GOLDEN=1 pytest
tests/test_charts.py`` and read the diff."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats as st

import metaeval
from metaeval import Judgments, ScoreMatrix, agreement, juries
from metaeval.bias.length import LengthControlled
from metaeval.errors import InsufficientDataError, MetaevalError, MissingVerdictWarning
from metaeval.rankers import robustness
from metaeval.report import Figure, Report, Section, charts
from metaeval.results import RunInfo
from metaeval.stats import critical_difference
from metaeval.stats.win_rates import WinRates

from .conftest import DEMSAR
from .conftest import DEMSAR_MODELS as MODELS

GOLDEN = Path(__file__).parent / "golden" / "charts"
UPDATE = os.environ.get("METAEVAL_UPDATE_GOLDEN") == "1"



def demsar() -> ScoreMatrix:
    return ScoreMatrix(MODELS, tuple(f"d{i}" for i in range(14)), DEMSAR.T)


def leaderboard() -> ScoreMatrix:
    rng = np.random.default_rng(4)
    models = ("atlas", "borealis", "cirrus", "dune", "ember", "fjord")
    return ScoreMatrix(models, tuple(f"task-{i}" for i in range(12)),
                       np.linspace(1.5, 0, 6)[:, None] + rng.normal(0, 0.6, (6, 12)))


def graded_table(n: int = 600, seed: int = 0, shrink: float = 1.0) -> Judgments:
    """Pairwise verdicts of ``judge-x`` with a graded preference p_a, and a human reference whose
    verdict is a with probability 0.5 + shrink (p_a − 0.5): calibrated when ``shrink`` is 1."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    human = np.where(rng.uniform(size=n) < 0.5 + shrink * (p - 0.5), "a", "b")
    items = [f"q{i}" for i in range(n)]
    return Judgments({"item": items * 2, "judge": ["judge-x"] * n + ["human"] * n, "model_a": ["m1"] * (2 * n),
                      "model_b": ["m2"] * (2 * n), "outcome": list(np.where(p > 0.5, "a", "b")) + list(human),
                      "p_a": list(p) + [None] * n})


def labelled_table() -> Judgments:
    """Two judges and a gold label on 40 pairs; judge-y abstains twice."""
    rng = np.random.default_rng(2)
    gold = rng.choice(["a", "b"], 40)
    x = np.where(rng.uniform(size=40) < 0.8, gold, np.where(gold == "a", "b", "a"))
    y = np.where(rng.uniform(size=40) < 0.6, gold, "tie").astype(object)
    y[[3, 7]] = None
    rows = [{"item": f"q{i}", "judge": judge, "model_a": "m1", "model_b": "m2", "outcome": v[i]}
            for judge, v in (("gold", gold), ("judge-x", x), ("judge-y", y)) for i in range(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return Judgments(pl.DataFrame(rows))


def win_rates_result() -> WinRates:
    run = RunInfo("win_rates", {})
    return WinRates(("atlas", "borealis", "cirrus"), np.array([0.62, 0.5, 0.38]), np.array([0.02, 0.02, 0.02]),
                    np.array([0.58, 0.46, 0.34]), np.array([0.66, 0.54, 0.42]), np.array([200, 200, 200]), 0.95, run)


def lc_result(judges: tuple[str, ...] = ("judge-x",)) -> LengthControlled:
    rows = []
    for k, judge in enumerate(judges):
        for i, model in enumerate(("atlas", "borealis", "cirrus")):
            wr, lc = 60.0 - 15 * i + k, 52.0 - 10 * i + k
            rows.append({"judge": judge, "model": model, "win_rate": wr, "standard_error": 2.0, "lc_win_rate": lc,
                         "lc_standard_error": 2.5, "lc_ci_low": lc - 4.9, "lc_ci_high": lc + 4.9})
    return LengthControlled(pl.DataFrame(rows), "baseline", "estimate", 0.95, RunInfo("lc", {}))


def jury_selection(costs: tuple[float, ...] | None) -> juries.JurySelection:
    sim = metaeval.simulate.jury(n_items=300, accuracies=(0.85, 0.75, 0.7, 0.6), costs=costs, rng=1)
    return juries.select(sim.judgments, "gold", n_resamples=100, rng=0, progress=False)


# ---------------------------------------------------------------------------- golden
def _normalise(obj: Any, strip: bool) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "$schema":
                continue
            if strip and k == "values" and isinstance(v, list):
                out[k] = {"rows": len(v), "fields": sorted({f for row in v if isinstance(row, dict) for f in row})}
            elif strip and k == "domain" and isinstance(v, list) and all(isinstance(x, float) for x in v):
                out[k] = "numeric, from the data"  # e.g. an axis fitted to bootstrap intervals
            elif strip and k == "datasets":
                out[k] = {name: {"rows": len(rows)} for name, rows in v.items()}
            else:
                out[k] = _normalise(v, strip)
        return out
    if isinstance(obj, list):
        return [_normalise(v, strip) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    return obj


def _cases() -> dict[str, tuple[Callable[[], Any], bool]]:
    """Each figure: how to make it and whether its data stay in the golden file (small, fixed)."""
    return {
        "cd_nemenyi": (lambda: critical_difference(demsar()).chart(), True),
        "cd_bonferroni_dunn": (lambda: critical_difference(demsar(), test="bonferroni_dunn",
                                                           control="C4.5").chart(), True),
        "win_rates_forest": (lambda: win_rates_result().chart(), True),
        "lc_dumbbell": (lambda: lc_result().chart(), True),
        "lc_dumbbell_by_judge": (lambda: lc_result(("judge-x", "judge-y")).chart(), True),
        "confusion_matrices": (lambda: agreement.confusion_matrix(labelled_table(), "gold").chart(), True),
        "against_forest": (lambda: agreement.against(labelled_table(), "gold", n_resamples=50, rng=0).chart(), False),
        "reliability_diagram": (lambda: agreement.reliability(graded_table(), "human", bins=5).chart(), False),
        "rank_intervals_rules": (lambda: robustness(leaderboard(), rules=("borda", "copeland"), n_resamples=40,
                                                    rng=0).chart(), False),
        "jury_frontier_bands": (lambda: jury_selection(None).chart(), False),
        "jury_frontier_costs": (lambda: jury_selection((10.0, 1.0, 0.5, 0.1)).chart(), False),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_vega_lite_spec(name):
    make, keep_data = CASES[name]
    spec = _normalise(make().to_dict(), strip=not keep_data)
    path = GOLDEN / f"{name}.vl.json"
    text = json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"no golden spec for {name}: wrote {path}; read it and commit it")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"the {name} spec changed; if deliberate, regenerate with METAEVAL_UPDATE_GOLDEN=1 and read the diff")


# --------------------------------------------------------------- CD diagram geometry
def _segments(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for layer in spec["layer"] for row in layer["data"].get("values", []) if "role" in row]


@pytest.mark.parametrize("test", ["nemenyi", "bonferroni_dunn"])
def test_cd_diagram_draws_the_numbers_of_the_result(test):
    cd = critical_difference(demsar(), test=test, control="C4.5" if test == "bonferroni_dunn" else None)
    segs = _segments(cd.chart().to_dict())
    bar = next(s for s in segs if s["role"] == "cd")
    assert bar["x2"] - bar["x"] == pytest.approx(cd.cd, abs=1e-5)  # the CD bar on the rank axis
    axis = next(s for s in segs if s["role"] == "axis")
    assert (axis["x"], axis["x2"]) == (1.0, 4.0) and axis["y"] == axis["y2"]
    assert bar["y"] < axis["y"]  # above the axis
    ranks = dict(zip(cd.models, cd.average_ranks, strict=True))
    best_half = set(sorted(ranks, key=ranks.get)[:2])
    for model, r in ranks.items():
        down = next(s for s in segs if s.get("model") == model and s["x"] == s["x2"])
        assert down["x"] == pytest.approx(r, abs=1e-5) and down["y"] == axis["y"]  # from its rank on the axis
        out = next(s for s in segs if s.get("model") == model and s["y"] == s["y2"])
        side = "left" if out["x2"] < 1 else "right"
        assert (side == "left") == (model in best_half), model
        label = next(s for s in segs if s["role"] == "model label" and s.get("model") == model)
        assert label["text"] == f"{model} ({r:.2f}{', control' if model == cd.control else ''})"
    bars = sorted((s for s in segs if s["role"] in ("clique", "control interval")), key=lambda s: s["y"])
    if test == "nemenyi":
        assert cd.cliques  # Demšar's example: C4.5 and C4.5+cf are not told apart from the others
        assert len(bars) == len(cd.cliques)
        for group, b in zip(cd.cliques, bars, strict=True):
            assert b["x"] == pytest.approx(min(ranks[m] for m in group), abs=1e-5)
            assert b["x2"] == pytest.approx(max(ranks[m] for m in group), abs=1e-5)
            assert b["models"] == ", ".join(group)
    else:  # Bonferroni–Dunn: the control ± CD, clipped to the axis; the models outside differ from it
        (b,) = bars
        rc = ranks["C4.5"]
        assert b["x"] == pytest.approx(max(rc - cd.cd, 1.0), abs=1e-5)
        assert b["x2"] == pytest.approx(min(rc + cd.cd, 4.0), abs=1e-5)
        differs = dict(cd.to_polars().select("model", "differs_from_control").rows())
        for m, r in ranks.items():
            assert differs[m] == (not b["x"] <= r <= b["x2"] or abs(r - rc) > cd.cd)
    spec = cd.chart().to_dict()
    title = spec["title"]["text"]
    assert ("Nemenyi" if test == "nemenyi" else "Bonferroni–Dunn") in title and "α = 0.05" in title


def test_cd_diagram_long_names_are_shortened_and_ties_keep_their_rank():
    long = "a model whose name is far too long to stand beside the axis of the diagram"
    sm = ScoreMatrix((long, "b", "c"), ("t1", "t2", "t3", "t4"), np.array([[3, 3, 3, 3], [2, 2, 1, 1.0],
                                                                             [1, 1, 2, 2.0]]))
    segs = _segments(critical_difference(sm).chart().to_dict())
    labels = {s["model"]: s["text"] for s in segs if s["role"] == "model label"}
    assert labels[long].endswith("… (1.00)") and len(labels[long]) < 52
    assert labels["b"] == "b (2.50)" and labels["c"] == "c (2.50)"


# ------------------------------------------------------------------ the new results
def test_confusion_matrix_counts_match_percent_agreement():
    j = labelled_table()
    cm = agreement.confusion_matrix(j, "gold")
    assert cm.categories == ("a", "b", "tie", "(no verdict)")
    assert set(cm.table["reference_verdict"]) == {"a", "b"}  # no empty rows for verdicts gold never gave
    ag = agreement.against(j, "gold", metrics=("percent_agreement",), ci="none")
    for judge in ("judge-x", "judge-y"):
        t = cm.table.filter(pl.col("judge") == judge)
        diag = t.filter(pl.col("reference_verdict") == pl.col("judge_verdict"))["count"].sum()
        assert t["count"].sum() == t["n_units"][0] == 40
        pa = ag.table.filter(pl.col("judge") == judge)["percent_agreement"][0]
        assert diag / 40 == pytest.approx(pa)
        shares = t.group_by("reference_verdict").agg(pl.col("row_share").sum())["row_share"]
        assert np.allclose(shares.to_numpy(), 1.0)
    assert cm.wide("judge-y")["(no verdict)"].sum() == 2
    drop = agreement.confusion_matrix(j, "gold", missing="drop")
    assert drop.table.filter(pl.col("judge") == "judge-y")["n_units"][0] == 38
    with pytest.raises(MetaevalError, match="unknown judge 'nobody'"):
        cm.wide("nobody")


def test_confusion_matrix_of_scores_and_its_limits():
    sim = metaeval.simulate.pointwise(n_models=3, n_items=40, judges=("judge-x",), n_humans=1, scale=(1, 5), rng=3)
    cm = agreement.confusion_matrix(sim.judgments, "human")
    assert set(cm.categories) <= {"1", "2", "3", "4", "5"}
    assert cm.table["count"].sum() == cm.table["n_units"][0]
    fine = sim.judgments.frame.with_columns(pl.col("score") + pl.int_range(pl.len()) / 1000)
    with pytest.raises(MetaevalError, match="distinct values"):
        agreement.confusion_matrix(Judgments(fine), "human")


def test_reliability_bins_units_and_flags_an_overconfident_judge():
    good = agreement.reliability(graded_table(n=2000, seed=1), "human", bins=10)
    t = good.table
    assert t["n"].sum() == 2000 and t.height == 10
    assert ((t["bin_low"] <= t["mean_p"]) & (t["mean_p"] <= t["bin_high"])).all()
    k = (t["observed"] * t["n"]).to_numpy()
    lo, hi = metaeval.stats.intervals.proportion_interval(k, t["n"].to_numpy())
    assert np.allclose(t["ci_low"], lo) and np.allclose(t["ci_high"], hi)
    assert not good.notes  # one unit per item: the Wilson intervals hold as stated
    bad = agreement.reliability(graded_table(n=2000, seed=1, shrink=0.3), "human", bins=10).table
    top = bad.filter(pl.col("bin") == 9).row(0, named=True)
    assert top["ci_high"] < top["mean_p"]  # it says 0.95; the reference agrees about 0.64 of the time
    with pytest.raises(MetaevalError, match="graded preferences"):
        agreement.reliability(labelled_table(), "gold")
    with pytest.raises(MetaevalError, match="`bins`"):
        agreement.reliability(graded_table(), "human", bins=1)


def test_reliability_intervals_cover_a_calibrated_judge():
    """The Wilson interval of each bin covers the mean of the true probabilities of its units
    (a calibrated judge): coverage at the nominal level (metaeval.calibration.study)."""
    from metaeval.calibration import study

    def replicate(gen: np.random.Generator, n: int = 300) -> list[dict[str, float]]:
        p = gen.uniform(size=n)
        human = np.where(gen.uniform(size=n) < p, "a", "b")
        items = [f"q{i}" for i in range(n)]
        j = Judgments({"item": items * 2, "judge": ["x"] * n + ["human"] * n, "model_a": ["m1"] * (2 * n),
                       "model_b": ["m2"] * (2 * n), "outcome": ["a"] * n + list(human), "p_a": list(p) + [None] * n})
        t = agreement.reliability(j, "human", bins=5).table
        out = []
        for row in t.iter_rows(named=True):
            z = (row["observed"] - row["mean_p"]) / math.sqrt(row["mean_p"] * (1 - row["mean_p"]) / row["n"])
            out.append({"test": f"bin {row['bin']}", "pvalue": float(2 * st.norm.sf(abs(z))), "ci_low": row["ci_low"],
                        "ci_high": row["ci_high"], "truth": row["mean_p"]})
        return out

    # 400 replicates: Monte Carlo standard error of a coverage of 0.95 is 0.011, so the band is ±2.7 of them
    s = study(replicate, {"calibrated judge": {}}, n_replicates=400, coverage_band=(0.92, 0.98), rng=0)
    assert s.passed, s.failures()
    assert s.table.height == 5 and abs(s.table["coverage"].mean() - 0.95) < 0.01


def test_robustness_ranks_keep_the_win_shares_and_the_full_data_rank():
    from metaeval.rankers.social_choice import apply_rule

    sm = leaderboard()
    rb = robustness(sm, rules=("borda", "copeland"), n_resamples=60, rng=1)
    r = rb.ranks
    assert r.height == 2 * len(sm.models) and r.columns == ["rule", "model", "rank", "rank_low", "rank_high",
                                                            "win_share"]
    for rule in ("borda", "copeland"):
        full = apply_rule(rule, sm)
        got = r.filter(pl.col("rule") == rule)
        assert dict(got.select("model", "rank").rows()) == {m: float(x) for m, x in zip(full.candidates, full.rank,
                                                                                       strict=True)}
        shares = dict(rb.win_share.select("model", rule).rows())
        assert all(shares[m] == pytest.approx(w) for m, w in got.select("model", "win_share").rows())
        assert (got["rank_low"] <= got["rank_high"]).all() and got["rank_low"].min() >= 1
    again = robustness(sm, rules=("borda", "copeland"), n_resamples=60, rng=1)
    assert again.ranks.equals(rb.ranks)
    # a model that wins every task ranks first in every resample
    dominant = ScoreMatrix(sm.models, sm.tasks, np.vstack([sm.scores[:-1], sm.scores.max(0) + 1]))
    top = robustness(dominant, rules=("borda",), n_resamples=30, rng=0).ranks.filter(pl.col("model") == "fjord")
    assert top.select("rank", "rank_low", "rank_high").row(0) == (1.0, 1.0, 1.0)


def test_jury_frontier_separates_panels_of_equal_cost_and_marks_the_picks():
    sel = jury_selection(None)
    spec = sel.chart().to_dict()
    rows = spec["data"]["values"]
    assert {r["cost_band"] for r in rows} == {"1", "2", "3"}
    for band in ("1", "2", "3"):  # every panel of one cost gets its own slot, best first
        group = [r for r in rows if r["cost_band"] == band]
        assert sorted(r["slot"] for r in group) == list(range(len(group)))
        by_slot = sorted(group, key=lambda r: r["slot"])
        assert all(a["accuracy"] >= b["accuracy"] for a, b in itertools.pairwise(by_slot))
    roles = {r["panel"]: r["role"] for r in rows}
    assert roles[sel.recommended].startswith("recommended")
    if sel.frugal != sel.recommended:
        assert roles[sel.frugal] == "cheapest not significantly worse"
    shown = {r["panel"] for r in rows if r["shown"]}
    assert set(sel.frontier["panel"]) | {sel.recommended, sel.frugal} == shown
    priced = jury_selection((10.0, 1.0, 0.5, 0.1)).chart().to_dict()
    layers = priced["layer"]
    assert any(layer["encoding"].get("x", {}).get("scale", {}).get("type") == "log" for layer in layers)
    labels = sorted(r["label_y"] for r in priced["data"]["values"] if r.get("shown"))
    span = priced["height"] / (layers[1]["encoding"]["y"]["scale"]["domain"][1]
                               - layers[1]["encoding"]["y"]["scale"]["domain"][0])
    assert all((b - a) * span >= 12.9 for a, b in itertools.pairwise(labels))  # labels never overlap


def test_a_free_judge_gets_a_symmetric_log_axis():
    t = pl.DataFrame({"judge": ["free", "cheap", "mid", "dear"], "price": [0.0, 0.3, 4.0, 300.0],
                      "agree": [60.0, 66.0, 68.0, 71.0]})
    spec = juries.frontier(t, judge="judge", cost="price", score="agree", n=600, scale=100).chart().to_dict()
    x = next(layer["encoding"]["x"] for layer in spec["layer"] if layer["encoding"].get("x", {}).get("field") == "cost")
    assert x["scale"]["type"] == "symlog" and x["scale"]["constant"] == 0.3 and "symmetric log" in x["title"]
    assert x["axis"]["values"] == [0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]


def test_dumbbell_has_a_legend_and_both_intervals():
    lc = lc_result()
    spec = lc.chart().to_dict()
    values = spec["data"]["values"]
    assert {v["series"] for v in values} == {"raw win rate", "length-controlled win rate"}
    raw = next(v for v in values if v["series"] == "raw win rate" and v["model"] == "atlas")
    z = st.norm.ppf(0.975)
    assert raw["low"] == pytest.approx(60 - z * 2, abs=1e-4) and raw["high"] == pytest.approx(60 + z * 2, abs=1e-4)
    controlled = next(v for v in values if v["series"] != "raw win rate" and v["model"] == "atlas")
    assert (controlled["low"], controlled["high"]) == (pytest.approx(47.1), pytest.approx(56.9))
    legends = [layer["encoding"]["color"].get("legend") for layer in spec["layer"] if "color" in layer["encoding"]]
    assert any(lg is not None for lg in legends)


def test_against_chart_has_one_panel_per_metric_in_the_order_of_the_first():
    ag = agreement.against(labelled_table(), "gold", n_resamples=50, rng=0)
    spec = ag.chart().to_dict()
    titles = [p["layer"][0]["encoding"]["x"]["title"] for p in spec["hconcat"]]
    assert titles == ["Cohen's κ", "percent agreement", "abstention rate"]
    order = spec["hconcat"][0]["layer"][0]["encoding"]["y"]["sort"]
    assert order == ag.table.sort("cohen_kappa", descending=True)["judge"].to_list()


def test_chart_values_are_json_ready():
    assert charts.values([{"a": float("nan"), "b": np.float64(1 / 3), "c": np.int64(2), "d": float("inf")}]) == [
        {"a": None, "b": 0.333333, "c": 2, "d": None}]
    with pytest.raises(MetaevalError, match="two or more models"):
        charts.cd_diagram(["a"], [1.0], 1.0, [], title="t")


def test_reports_get_the_new_figures():
    from metaeval import report

    pw = metaeval.simulate.pairwise(n_models=3, n_items=40, judges=("judge-atlas", "judge-borealis"), n_humans=2,
                                    rng=0).judgments
    rep = report.build(pw, focus="judge", n_resamples=40, progress=False)
    names = [f.name for s in rep.sections for f in s.figures]
    assert {"against_reference", "confusion"} <= set(names) and "reliability" not in names
    graded = graded_table(n=200)
    rep = report.build(graded, reference="human", focus="judge", n_resamples=40, progress=False)
    assert "reliability" in [f.name for s in rep.sections for f in s.figures]
    board = report.build(leaderboard(), n_resamples=40, progress=False)
    assert {"rank_intervals", "critical_difference"} <= {f.name for s in board.sections for f in s.figures}


# ------------------------------------------------------------------ drawn and rendered
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXPECT = {  # text each drawn chart must show
    "cd_nemenyi": ["CD = 1.25", "C4.5+m+cf (1.93)", "Nemenyi"],
    "cd_bonferroni_dunn": ["C4.5 (3.14, control)", "Bonferroni–Dunn"],
    "win_rates_forest": ["atlas", "win rate against the field"],
    "lc_dumbbell": ["raw win rate", "length-controlled win rate"],
    "lc_dumbbell_by_judge": ["judge-x", "judge-y", "length-controlled win rate"],
    "against_forest": ["Cohen's κ", "percent agreement", "judge-y"],
    "confusion_matrices": ["(no verdict)", "judge's verdict", "judge-x"],
    "reliability_diagram": ["units", "p_a"],
    "rank_intervals_rules": ["borda", "copeland", "atlas"],
    "jury_frontier_bands": ["recommended", "on the frontier"],
    "jury_frontier_costs": ["log scale", "recommended"],
}


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_every_chart_draws_in_chromium_with_no_console_message(tmp_path):
    names = sorted(CASES)
    figures = [Figure(name, name, CASES[name][0]()) for name in names]
    page = tmp_path / "index.html"
    page.write_text(Report("charts", [Section("all", figures=figures)]).to_html())
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=30000", "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    dom = res.stdout
    assert 'data-charts="drawn"' in dom
    console = [x for x in res.stderr.splitlines() if ":CONSOLE" in x]
    assert not console, console  # no Vega warning, no error
    parts = re.split(r'<div class="chart[^"]*" id="chart-', dom)[1:]
    assert len(parts) == len(names)
    for name, part in zip(names, parts, strict=True):
        svg = part.split("</figure>")[0]
        assert "<svg" in svg and svg.count("<path") + svg.count("<line") > 3, name
        text = re.sub(r"<[^>]+>", " ", svg).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        for want in EXPECT[name]:
            assert want in text, (name, want)


def test_every_chart_renders_to_png(tmp_path):
    vlc = pytest.importorskip("vl_convert")
    from PIL import Image

    for name, (make, _) in CASES.items():
        spec = json.loads(json.dumps(make().to_dict(), allow_nan=False))
        path = tmp_path / f"{name}.png"
        path.write_bytes(vlc.vegalite_to_png(spec, scale=1))
        img = Image.open(path).convert("RGB")
        assert img.width > 300 and img.height > 100, name
        assert len(img.getcolors(maxcolors=1_000_000) or []) > 20, name  # lines and text, not a blank frame


def test_a_confusion_matrix_needs_a_judge_besides_the_reference():
    with pytest.raises(InsufficientDataError):
        agreement.confusion_matrix(Judgments({"item": ["q"], "judge": ["gold"], "model_a": ["m1"],
                                              "model_b": ["m2"], "outcome": ["a"]}), "gold")
