"""Real judge data from ../shared/data loads through the public API (skipped when absent)."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import polars as pl
import pytest

import metaeval
from metaeval.errors import DataDroppedWarning

from .conftest import ROOT, shared

pytestmark = pytest.mark.realdata


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def alpaca():
    path = shared("alpaca-eval", "annotations_compact.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        return metaeval.read(path)


def test_alpaca_eval_loads_with_everything_accounted_for(alpaca):
    prov = alpaca.provenance
    assert prov["format"] == "alpaca_eval (csv)" and prov["rows_read"] == 106250
    assert sum(prov["dropped"].values()) + len(alpaca) == 106250
    assert prov["dropped"]["missing `preference` (annotator gave no verdict)"] == 64
    assert prov["draws_coded_0"] == 197
    assert len(alpaca.judges) == 6 and len(alpaca.items) == 805


def test_alpaca_eval_reproduces_the_published_leaderboard(alpaca):
    # Development target: win_rate = 100 mean(preference - 1), standard_error = 100 sd(ddof=1) / sqrt(n),
    # for every model of the weighted GPT-4-turbo leaderboard that has annotations here.
    board = pl.read_csv(shared("alpaca-eval", "leaderboard_ae2_weighted_gpt4_turbo.csv")).rename({"": "model"})
    f = alpaca.frame.filter(pl.col("judge") == "weighted_alpaca_eval_gpt4_turbo")
    ours = f.group_by("model_b").agg(
        (100 * (1 - pl.col("p_a")).mean()).alias("wr"), (100 * (1 - pl.col("p_a")).std(ddof=1) / pl.len().sqrt())
        .alias("se"), pl.len().alias("n"))
    joined = ours.join(board, left_on="model_b", right_on="model")
    assert joined.height >= 50
    np.testing.assert_allclose(joined["wr"], joined["win_rate"], atol=1e-9)
    np.testing.assert_allclose(joined["se"], joined["standard_error"], atol=1e-9)
    assert (joined["n"] == joined["n_total"]).all()


def test_llmbar_recipe_reproduces_the_paper():
    path = shared("llmbar", "judgments.csv")
    recipe = load_example("load_llmbar")
    table = recipe.load_llmbar(path)
    assert table.kind == "pairwise"
    # 40,413 rows in two orders, less the 174 + 174 missing verdicts, plus one gold row per item.
    assert len(table.frame.filter(pl.col("judge") != "gold")) == 2 * 40413 - 348
    head = {r["judge"]: r for r in recipe.headline(table).to_dicts()}
    assert head["GPT-4"]["acc"] == pytest.approx(0.935) and head["GPT-4"]["positional_agreement"] == pytest.approx(0.97)
    assert head["ChatGPT"]["acc"] == pytest.approx(0.79)
    assert head["ChatGPT"]["positional_agreement"] == pytest.approx(0.68)


def test_glue_leaderboard_preprocessing():
    sm = metaeval.read_leaderboard(shared("vote-n-rank", "leaderboard_glue.csv"), top=30, exclude=["Score"])
    assert sm.shape == (30, 14) and sm.models[0] == "ERNIE"
    # The split cells keep one vote per task.
    assert sm.weights.sum() == pytest.approx(11)


def test_superglue_missing_cells_are_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        sm = metaeval.read_leaderboard(shared("vote-n-rank", "leaderboard_superglue.csv"), exclude=["Score"])
    assert sm.n_missing > 0
    assert sm.dropna().n_missing == 0


def test_alpaca_eval_ranking_example(tmp_path):
    shared("alpaca-eval", "annotations_compact.csv")
    example = load_example("alpaca_eval_ranking")
    joined = example.main(out=tmp_path, n_resamples=60, seed=1)
    assert joined.height >= 50
    # The published order is mostly inside the rank intervals, and the report was written.
    assert joined["published_in_interval"].mean() > 0.7
    assert (tmp_path / "index.md").read_text().startswith("# Is the AlpacaEval order real?")


def _bias_example():
    return load_example("bias_audit")


def test_llmbar_position_conflict_rates_match_the_paper():
    shared("llmbar", "judgments.csv")
    ex = _bias_example()
    table = ex.load_llmbar().filter(pl.col("task") == "LLMBar/Natural")
    table = table.filter((pl.col("variant") == "Vanilla_NoRules") | (pl.col("judge") == "gold"))
    res = metaeval.bias.position_bias(table, reference="gold", by="judge")
    rows = {r["judge"]: r for r in res.table.iter_rows(named=True)}
    assert len(rows) == 6
    # conflict rate = 1 - positional agreement (paper: GPT-4 97.0 %, ChatGPT 68.0 %)
    assert rows["GPT-4"]["conflict_rate"] == pytest.approx(0.03)
    assert rows["ChatGPT"]["conflict_rate"] == pytest.approx(0.32)
    assert rows["GPT-4"]["accuracy"] == pytest.approx(0.935)


def test_judgebench_reward_models_are_order_invariant_and_prompted_judges_are_not():
    ex = _bias_example()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metaeval.bias.position_bias(ex.load_judgebench(shared("judgebench", "judgments.csv")),
                                          reference="gold", by="judge")
    for row in res.table.iter_rows(named=True):
        if row["judge"].startswith("reward_model"):
            assert row["conflict_rate"] <= 0.01
        else:
            assert row["conflict_rate"] > 0.25 and row["ci_low"] > 0  # primacy


def test_alpaca_eval_length_bias_and_lc_win_rates():
    shared("alpaca-eval", "annotations_compact.csv")
    length, _lc, stats = _bias_example().alpaca()
    # Win rates are AlpacaEval's exactly; LC win rates follow the published ones closely.
    assert stats["raw_max_abs_diff"] < 1e-8
    assert stats["models"] >= 50 and stats["spearman"] > 0.95 and stats["median_abs_diff"] < 3.5
    turbo = length.table.filter(pl.col("judge") == "weighted_alpaca_eval_gpt4_turbo").row(0, named=True)
    assert turbo["ci_low"] > 0 and turbo["p_longer"] > 0.8


def test_alpaca_eval_self_preference_families_and_why_it_is_not_identified(alpaca):
    """AlpacaEval's annotators are named after the pipeline (alpaca_eval_…) and the host
    (bedrock_…): their families come from the model tokens, never the prefix. Every comparison
    is a model against an OpenAI baseline judged by OpenAI judges (and bedrock_claude judged only
    its own outputs), so no self-preference is identified — the probe says why instead of
    flagging "disfavours its own family (alpaca)" as the prefix rule did."""
    fm = metaeval.bias.resolve_families([*alpaca.models, *alpaca.judges])
    assert {j: fm.family[j] for j in alpaca.judges} == {
        "alpaca_eval_cot_gpt4_turbo_fn": "openai", "alpaca_eval_gpt4": "openai", "alpaca_eval_gpt4_0613": "openai",
        "alpaca_eval_gpt4_turbo_fn": "openai", "bedrock_claude": "anthropic",
        "weighted_alpaca_eval_gpt4_turbo": "openai"}
    assert fm.family["Mixtral-8x7B-Instruct-v0.1"] == "mistral" and fm.family["text_davinci_003"] == "openai"
    assert "alpaca-7b" in fm.unknown and len(fm.unknown) == 46
    with pytest.warns(DataDroppedWarning, match="no known family for 46 names: Ein-70B-v0.1"), \
            pytest.raises(metaeval.errors.InsufficientDataError) as err:
        metaeval.bias.self_preference(alpaca)
    msg = str(err.value)
    assert "bedrock_claude: no other judge saw the anthropic models it compared (bedrock_claude)" in msg
    assert "alpaca_eval_gpt4: the verdicts of the judges outside family openai (bedrock_claude) are not enough" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metaeval.bias.audit(alpaca, n_resamples=20, rng=0)
    assert "self-preference" in res.skipped and "self-preference" not in res.probes
    assert any(w.startswith("self-preference: no known family for 46 names") for w in res.warnings)
    flagged = res.flagged
    assert set(flagged["probe"]) == {"length", "style"} and flagged.height == 5


def test_game_ratings_example_redundant_prompts_move_only_the_averages(tmp_path):
    """AlpacaEval models x instructions: copying one source of instructions moves the mean win rate and
    Bradley-Terry, and leaves Nash averaging and the equilibrium ratings exactly where they were."""
    shared("alpaca-eval", "annotations_compact.csv")
    example = load_example("game_ratings")
    summary = example.main(out=tmp_path, n_models=8, copies=4, n_resamples=8, seed=0)
    moved = dict(zip(summary["method"], summary["largest rating change"], strict=True))
    assert moved["nash_averaging"] < 1e-6 and moved["equilibrium"] < 1e-6
    assert moved["mean_win_rate"] > 1e-3 and moved["bradley_terry"] > 1e-3
    assert (tmp_path / "index.md").read_text().startswith("# Do redundant prompts move the AlpacaEval ranking?")


def test_jury_selection_example_on_llmbar_and_alpaca_eval(tmp_path):
    shared("llmbar", "judgments.csv")
    shared("alpaca-eval", "evaluators_leaderboard.csv")
    example = load_example("jury_selection")
    res = example.main(out=tmp_path, n_resamples=200, seed=1)
    cot = res["cot"]
    # every panel of up to three of the six evaluators, scored against the gold label
    assert cot.panels.table.height == 6 + 15 + 20
    assert cot.test["holdout"] and cot.test["single"] == "GPT-4"
    # on LLMBar the weaker judges drag every jury below GPT-4 alone
    assert cot.test["difference"] < 0 and cot.test["significant"]
    # the paper's headline numbers (LLMBar/Natural, plain prompt, mean over both orders)
    table = example.load_llmbar()
    natural = table.filter(((pl.col("variant") == "Vanilla_NoRules") & (pl.col("task") == "LLMBar/Natural"))
                           | ((pl.col("judge") == "gold") & (pl.col("task") == "LLMBar/Natural")))
    for judge, published in (("GPT-4", 0.935), ("ChatGPT", 0.79)):
        one = metaeval.juries.evaluate_panels(natural, "gold", judges=[judge], n_resamples=0)
        assert one.table["accuracy"][0] == pytest.approx(published, abs=1e-12)
    # AlpacaEval: the frontier runs from the cheapest judge to the most human-like priced judge
    raw = pl.read_csv(shared("alpaca-eval", "evaluators_leaderboard.csv")).rename({"": "judge"})
    priced = raw.filter(pl.col("Price [$/1000 examples]").is_not_null() & (pl.col("Human agreement") > 1))
    front = res["frontier"].judges
    assert front[0] == priced.sort(["Price [$/1000 examples]", "Human agreement"], descending=[False, True])["judge"][0]
    assert front[-1] == priced.sort("Human agreement", descending=True)["judge"][0]
    assert res["slips"]["judge"].to_list() == ["weighted_alpaca_eval_gpt-4o-mini-2024-07-18"]
    # the simulated PoLL setting: independent small judges help, judges that think alike are flagged
    assert res["poll"]["independent"].test["better"]
    assert res["poll"]["alike"].panels.table.filter(pl.col("size") == 3)["alike"].any()
    assert (tmp_path / "index.md").read_text().startswith("# Which judge or jury should I use?")


def test_judge_probes_example_on_llmbar(tmp_path):
    pytest.importorskip("torch")
    shared("llmbar", "instances.jsonl")
    example = load_example("judge_probes")
    res = example.main(out=tmp_path, n_items=25, seed=0)
    longer = res["reports"]["longer-wins"].table
    flagged = set(longer.filter(pl.col("flagged"))["probe"])
    # a length-only judge is moved by padding and blind to negation, but never by the order
    assert {"verbosity", "negation"} <= flagged and "order_swap" not in flagged
    tiny = res["reports"]["tiny-gpt2"].table
    assert tiny.filter(pl.col("probe") == "repeat")["rate"][0] == 0
    assert (tmp_path / "index.md").read_text().startswith("# Perturbation probes on LLMBar/Natural")


def test_workflow_reports_on_real_data(tmp_path):
    shared("llmbar", "judgments.csv")
    shared("vote-n-rank", "leaderboard_glue.csv")
    shared("alpaca-eval", "annotations_compact.csv")
    example = load_example("workflows")
    reps = example.main(out=tmp_path, n_resamples=100, seed=0)
    judge = (tmp_path / "audit_judge" / "index.md").read_text()
    assert "## Bias audit" in judge and "## Judge or jury" in judge and "## Win rates" not in judge
    board = (tmp_path / "audit_leaderboard" / "index.md").read_text()
    # Vote'n'Rank's GLUE result: ERNIE wins under most rules
    assert "ERNIE" in board.split("## Winner under every rule", 1)[1].split("##", 1)[0]
    assert (tmp_path / "alpaca_eval" / "index.html").exists()
    assert [s.title for s in reps["alpaca_eval"].sections][:4] == ["Data", "Win rates", "Ratings and rank uncertainty",
                                                                   "Length-controlled win rates"]
