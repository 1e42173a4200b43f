"""Real judge data from ../shared/data loads through the public API (skipped when absent)."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import polars as pl
import pytest

import metaeval
from metaeval.errors import DataDroppedWarning, MissingVerdictWarning

from .conftest import ROOT, shared

pytestmark = pytest.mark.realdata


def read_reference_csv(name: str) -> pl.DataFrame:
    return pl.read_csv(ROOT / "tests" / "reference" / name, comment_prefix="#")


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
        warnings.simplefilter("ignore", MissingVerdictWarning)
        return metaeval.read(path)


def test_alpaca_eval_loads_with_everything_accounted_for(alpaca):
    prov = alpaca.provenance
    assert prov["format"] == "alpaca_eval (csv)" and prov["rows_read"] == 106250
    assert sum(prov["dropped"].values()) + len(alpaca) + alpaca.n_abstentions == 106250
    assert prov["abstentions"] == alpaca.n_abstentions == 64
    assert prov["draws_coded_0"] == 197
    assert len(alpaca.judges) == 6 and len(alpaca.items) == 805


WEIGHTED = "weighted_alpaca_eval_gpt4_turbo"


def leaderboard_names(table) -> pl.DataFrame:
    """Generator name -> leaderboard name (AlpacaEval's results folder; the two differ for NullModel)."""
    return table.frame.select(pl.col("model_b").alias("model"),
                              pl.col("extra").struct.field("model_dir").alias("board_name")).unique()


def test_alpaca_eval_reproduces_the_published_leaderboard(alpaca):
    # Development target: for every model of the weighted GPT-4-turbo leaderboard with annotations here,
    # win_rate = 100 mean(preference - 1) and standard_error = 100 sd(ddof=1) / sqrt(n) -- from `win_rates`
    # (graded, the default) -- and discrete_win_rate from `win_rates(graded=False)`.
    from metaeval.stats import win_rates

    board = pl.read_csv(shared("alpaca-eval", "leaderboard_ae2_weighted_gpt4_turbo.csv")).rename({"": "board_name"})
    weighted = alpaca.filter(pl.col("judge") == WEIGHTED)
    graded = win_rates(weighted, n_resamples=20, rng=0).to_polars()
    discrete = win_rates(weighted, graded=False, n_resamples=20, rng=0).to_polars()
    ours = (graded.join(discrete.select("model", pl.col("win_rate").alias("discrete")), on="model")
            .join(leaderboard_names(weighted), on="model"))
    joined = ours.join(board, on="board_name")
    # every model evaluated against the baseline but text_davinci_003, which that leaderboard does not list
    assert joined.height == 56 and set(ours["board_name"]) - set(joined["board_name"]) == {"text_davinci_003"}
    np.testing.assert_allclose(100 * joined["win_rate"], joined["win_rate_right"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(100 * joined["standard_error"], joined["standard_error_right"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(100 * joined["discrete"], joined["discrete_win_rate"], rtol=0, atol=1e-9)
    assert (joined["n"] == joined["n_total"]).all()
    # the graded and discrete win rates are different numbers (the weighted judge gives probabilities)
    assert (joined["win_rate"] - joined["discrete"]).abs().max() > 0.05


def test_llmbar_recipe_reproduces_the_paper():
    path = shared("llmbar", "judgments.csv")
    recipe = load_example("load_llmbar")
    table = recipe.load_llmbar(path)
    assert table.kind == "pairwise"
    # 40,413 rows in two orders, less the 174 + 174 missing verdicts (kept as abstentions), plus one gold row per item.
    assert len(table.frame.filter(pl.col("judge") != "gold")) == 2 * 40413 - 348
    assert table.n_abstentions == 348 and len(table.items) == 1200
    head = {r["judge"]: r for r in recipe.headline(table).to_dicts()}
    assert head["GPT-4"]["accuracy"] == pytest.approx(0.935)
    assert head["GPT-4"]["positional_agreement"] == pytest.approx(0.97)
    assert head["ChatGPT"]["accuracy"] == pytest.approx(0.79)
    assert head["ChatGPT"]["positional_agreement"] == pytest.approx(0.68)


def test_llmbar_every_published_configuration_reproduces_exactly():
    """LLMBar's own statistics.json for all 499 (subset, evaluator, strategy) configurations
    (tests/reference/llmbar_statistics.csv), including the configurations with missing verdicts,
    which LLMBar counts as wrong and, when both orders are missing, as agreeing: missing="wrong"."""
    recipe = load_example("load_llmbar")
    table = recipe.load_llmbar(shared("llmbar", "judgments.csv"))
    res = metaeval.agreement.two_order(table, "gold", by=("task", "judge", "variant"), missing="wrong",
                                       n_resamples=20, rng=0).table
    published = read_reference_csv("llmbar_statistics.csv")
    m = published.join(res, left_on=["subset", "evaluator", "strategy"], right_on=["task", "judge", "variant"],
                       how="left", suffix="_ours")
    assert m.height == 499 and m["n_ours"].null_count() == 0
    assert (m["n"] == m["n_ours"]).all()
    np.testing.assert_array_equal(np.round(m["accuracy_first"] * m["n"]), m["correct_noswap"])
    np.testing.assert_array_equal(np.round(m["accuracy_second"] * m["n"]), m["correct_swap"])
    np.testing.assert_allclose(m["accuracy"], (m["correct_noswap"] + m["correct_swap"]) / (2 * m["n"]), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(m["positional_agreement"], m["equal"] / m["n"], rtol=0, atol=1e-12)
    with_missing = m.filter(pl.col("abstention_rate") > 0)
    assert with_missing.height >= 20  # the configurations the rule matters for are among them
    # dropping the abstentions instead gives other numbers for those configurations
    dropped = metaeval.agreement.two_order(table, "gold", by=("task", "judge", "variant"), missing="drop",
                                           n_resamples=20, rng=0).table
    d = with_missing.join(dropped, left_on=["subset", "evaluator", "strategy"], right_on=["task", "judge", "variant"],
                          suffix="_drop")
    assert (d["n_drop"] < d["n"]).all()


def test_judgebench_scores_reproduce_the_published_ones():
    """JudgeBench's own metric (tests/reference/judgebench_scores.csv) for every judge, category and overall:
    a missing verdict scores 0 in JudgeBench's two-game sum, i.e. missing="tie"."""
    recipe = load_example("load_judgebench")
    table = recipe.load_judgebench(shared("judgebench", "judgments.csv"))
    assert table.n_abstentions == 13 and len(table.items) == 620
    ours = recipe.scores(table)
    published = read_reference_csv("judgebench_scores.csv").with_columns(
        pl.concat_str([pl.col("judge_name"), pl.col("judge_model")], separator=":").alias("judge"))
    m = published.join(ours, left_on=["judge", "response_model", "category"], right_on=["judge", "variant", "task"],
                       how="left")
    assert m.height == 35 and m["n_right"].null_count() == 0
    assert (m["n"] == m["n_right"]).all()
    np.testing.assert_array_equal(np.round(m["two_game_accuracy"] * m["n"]), m["n_correct"])
    np.testing.assert_allclose(m["score_right"], m["score"], atol=0.005)
    # counting a missing verdict as wrong instead lowers the judge that has them
    wrong = metaeval.agreement.two_order(table, "gold", by=("judge",), missing="wrong", n_resamples=20, rng=0).table
    haiku = "arena_hard:claude-3-haiku-20240307"
    tie = ours.filter(pl.col("judge") == haiku, pl.col("task") == "overall")
    assert wrong.filter(pl.col("judge") == haiku)["two_game_accuracy"][0] < tie["two_game_accuracy"][0]


def test_glue_leaderboard_preprocessing():
    sm = metaeval.read_leaderboard(shared("vote-n-rank", "leaderboard_glue.csv"), top=30, exclude=["Score"])
    assert sm.shape == (30, 14) and sm.models[0] == "ERNIE"
    # The split cells keep one vote per task.
    assert sm.weights.sum() == pytest.approx(11)


# --- Vote'n'Rank: the paper's winners, from its authors' notebooks --------------------------------
# Source of every expected value below: GitHub PragmaticsLab/vote_and_rank at commit
# 6d9cbe37600ada4ff2e448a6cac87098a46f32a6 — "case studies/CS1 - Reranking Leaderboards.ipynb" (the stored
# outputs of `elect_all()` under "Selecting the winner" for GLUE and SuperGLUE, `elect_all(drop_mean=True)` and
# `elect_all()` for VALUE, and the `rank_all()` score tables) and "case studies/CS4 - User-Oriented
# Setting.ipynb" (the `rank_all()` tables "Ranking according to performance" and "... social bias"). The data
# files here are byte-identical to the repository's tables/ (leaderboards - GLUE.csv etc.).
VNR_GLUE = {**dict.fromkeys(["borda", "copeland", "minimax", "baldwin", "dowdall", "condorcet", "arithmetic_mean",
                             "geometric_mean", "optimality_gap"], ("ERNIE",)),
            "threshold": ("StructBERT + CLEVER",), "plurality": ("ERNIE", "GLUE Human Baselines")}
_SG_HUMAN, _SG_ERNIE, _SG_T5UDG = "SuperGLUE Human Baselines", "ERNIE 3.0", "T5 + UDG, Single Model (Google Brain)"
VNR_SUPERGLUE = {"dowdall": (_SG_HUMAN,), "threshold": (_SG_T5UDG,), "condorcet": (), "arithmetic_mean": (_SG_ERNIE,),
                 "geometric_mean": (_SG_ERNIE,), "borda": (_SG_ERNIE,), "plurality": (_SG_HUMAN,),
                 "baldwin": (_SG_ERNIE, _SG_HUMAN), "optimality_gap": (_SG_T5UDG,), "minimax": (_SG_ERNIE, _SG_HUMAN),
                 "copeland": (_SG_HUMAN,)}


def _vnr(board, **kw):
    from metaeval.rankers import compare_rules

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        return compare_rules(board, preset="vote_n_rank", **kw)


def _read(name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        return metaeval.read_leaderboard(shared("vote-n-rank", name), **kw)


def test_vote_n_rank_preset_reproduces_the_glue_and_superglue_winners():
    glue = _vnr(_read("leaderboard_glue.csv", top=30))  # the paper keeps the top 30 rows
    assert {r: set(w) for r, w in glue.winners.items()} == {r: set(w) for r, w in VNR_GLUE.items()}
    assert "diagnostic task(s) AX weighted 0" in glue.data_notes[0]
    sg = _vnr(_read("leaderboard_superglue.csv"))
    assert {r: set(w) for r, w in sg.winners.items()} == {r: set(w) for r, w in VNR_SUPERGLUE.items()}
    assert len(sg.models) == 22  # the two rows with missing scores are dropped, as the paper does
    # the rank_all() scores printed in CS1: GLUE Dowdall 4.95 (ERNIE), 4.08 (human baselines), mean 91.18;
    # SuperGLUE mean 90.62 (ERNIE 3.0), Dowdall 4.98 (human baselines), 4.25 (ERNIE 3.0)
    from metaeval.rankers import apply_rule
    from metaeval.rankers.presets import VOTE_N_RANK

    g, _ = VOTE_N_RANK.prepare(_read("leaderboard_glue.csv", top=30).dropna())
    dow = dict(zip(g.models, apply_rule("dowdall", g, preset="vote_n_rank").scores, strict=True))
    assert round(dow["ERNIE"], 2) == 4.95 and round(dow["GLUE Human Baselines"], 2) == 4.08
    assert round(apply_rule("arithmetic_mean", g, preset="vote_n_rank").scores.max(), 2) == 91.18
    s, _ = VOTE_N_RANK.prepare(_read("leaderboard_superglue.csv").dropna())
    assert round(apply_rule("arithmetic_mean", s, preset="vote_n_rank").scores.max(), 2) == 90.62
    assert sorted(np.round(apply_rule("dowdall", s, preset="vote_n_rank").scores, 2))[-2:] == [4.25, 4.98]


def test_vote_n_rank_preset_reproduces_the_value_winners_with_and_without_missing_scores():
    value = _read("leaderboard_value.csv")
    human, craig = value.models[0], value.models[1]
    assert human == "Human VALUE baseline" and craig.startswith("craig.starr")
    # with the human baseline's missing scores: the paper runs its partial-data rules (means dropped)
    kept = _vnr(value, missing="keep", rules=["condorcet", "minimax", "optimality_gap", "copeland"])
    assert set(kept.winners.values()) == {(human,)}
    partial = _vnr(value, missing="keep")
    assert set(partial.skipped) == {"plurality", "borda", "dowdall", "threshold", "baldwin"}
    # without it (value[1:]): every rule crowns craig.starr
    complete = _vnr(value)
    assert len(complete.winners) == 11 and set(complete.winners.values()) == {(craig,)}
    # CS1's rank_all() tables: Borda 53, 39, 30, 20, 18, 5; Copeland 5 … −5; with the baseline Copeland 6 … −6
    # and minimax (winning votes) 0, −6, −10, −10, −11, −11, −11
    from metaeval.rankers import apply_rule

    def scores(rule, sm):
        return sorted(np.round(apply_rule(rule, sm, preset="vote_n_rank").scores, 2).tolist(), reverse=True)

    assert scores("borda", value.dropna()) == [53, 39, 30, 20, 18, 5]
    assert scores("copeland", value.dropna()) == [5, 3, 1, -1, -3, -5]
    assert scores("copeland", value) == [6, 4, 2, 0, -2, -4, -6]
    assert scores("minimax", value) == [0, -6, -10, -10, -11, -11, -11]
    assert scores("optimality_gap", value)[:2] == [-30.98, -36.51]


def test_vote_n_rank_preset_reproduces_case_study_4():
    from metaeval import ScoreMatrix
    from metaeval.rankers import apply_rule

    # performance (GLUE on one GPU): two-metric tasks weigh 1/2 per metric; t5-base misses STS-B and is dropped
    perf = _read("cs4_glue_hpc.csv")
    assert perf.n_missing == 2  # the empty STS-B cells are missing scores, not a reason to drop the column
    w = [0.5 if t.split(".")[0] in ("stsb", "mrpc", "qqp") else 1.0 for t in perf.tasks]
    perf = ScoreMatrix(perf.models, perf.tasks, perf.scores, weights=w)
    res = _vnr(perf, rules=["copeland", "arithmetic_mean", "geometric_mean", "borda", "dowdall", "minimax",
                            "plurality"])
    assert set(res.winners.values()) == {("deberta-base",)} and "t5-base" in res.data_notes[0]
    assert sorted(np.round(apply_rule("borda", perf.dropna(), preset="vote_n_rank").scores, 2), reverse=True) == \
        [56.5, 49, 32.5, 32, 17, 11, 8]
    # social bias: the notebook drops t5-base here too (it is not in the performance table)
    bias = _read("cs4_social_bias.csv")
    keep = [i for i, m in enumerate(bias.models) if m != "t5-base"]
    bias = ScoreMatrix(tuple(bias.models[i] for i in keep), bias.tasks, bias.scores[keep])
    res = _vnr(bias, rules=["copeland", "arithmetic_mean", "geometric_mean", "borda", "dowdall", "minimax",
                            "plurality"])
    assert {r: w for r, w in res.winners.items() if r != "plurality"} == dict.fromkeys(
        ["copeland", "arithmetic_mean", "geometric_mean", "borda", "dowdall", "minimax"], ("albert-base-v2",))
    # four models share plurality's 1.00 (a first place tied with another counts for no one)
    assert set(res.winners["plurality"]) == {"distilbert-base-uncased", "bert-base-uncased", "albert-base-v2",
                                             "deberta-base"}
    assert sorted(apply_rule("borda", bias, preset="vote_n_rank").scores, reverse=True) == [23, 20, 15, 15, 13, 11, 4]


def test_vote_and_audit_on_every_vote_n_rank_file_stay_small(tmp_path):
    """`metaeval vote` and `audit-leaderboard` on each file as a user runs them: exit 0, no error line,
    the missing cells reported, and the 100-model GLUE board in the default rule set."""
    import json

    from click.testing import CliRunner

    from metaeval.cli import cli

    runner = CliRunner()
    for name in ("leaderboard_glue.csv", "leaderboard_superglue.csv", "leaderboard_value.csv", "cs4_glue_hpc.csv",
                 "cs4_social_bias.csv"):
        path = str(shared("vote-n-rank", name))
        res = runner.invoke(cli, ["vote", path, "--json"])
        assert res.exit_code == 0, (name, res.output)
        out = json.loads(res.output)
        assert out["rows"] and not any("error" in w for w in out["warnings"]), name
        if name == "leaderboard_glue.csv":
            assert len(out["rows"]) >= 23 and out["condorcet_winner"] == "ERNIE"
            assert any("Score" in n and "aggregate" in n for n in out["read_notes"])
        if name == "cs4_glue_hpc.csv":
            assert any("t5-base: stsb.eval_pearson, stsb.eval_spearmanr" in w for w in out["warnings"])
    res = runner.invoke(cli, ["audit-leaderboard", str(shared("vote-n-rank", "leaderboard_superglue.csv")), "-o",
                              str(tmp_path / "sg"), "--figures", "", "--format", "md", "--n-resamples", "50",
                              "--exclude", "AX-b,AX-g", "--top", "20"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "sg" / "index.md").read_text()
    assert "20 models" in text and "AX-b" not in text.split("## Winner under every rule")[0].split("tasks")[0]


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
    # the board is read as the paper did (preset="vote_n_rank") and reaches its GLUE result: ERNIE under Borda,
    # Copeland, Minimax, Baldwin, Dowdall, Condorcet and the means; threshold picks StructBERT + CLEVER
    assert "vote_n_rank: diagnostic task(s) AX left out" in board and "30 models × 13 tasks" in board
    rules = board.split("## Winner under every rule", 1)[1].split("##", 1)[0]
    for rule in ("borda", "copeland", "minimax", "baldwin", "dowdall", "condorcet", "arithmetic_mean",
                 "geometric_mean"):
        assert f"| {rule} | ERNIE |" in rules, rule
    assert "| threshold | StructBERT + CLEVER |" in rules
    assert (tmp_path / "alpaca_eval" / "index.html").exists()
    assert [s.title for s in reps["alpaca_eval"].sections][:4] == ["Data", "Win rates", "Ratings and rank uncertainty",
                                                                   "Length-controlled win rates"]


@pytest.fixture(scope="module")
def alpaca_eval_lc(alpaca):
    """AlpacaEval's recipe on the weighted GPT-4-turbo judge, aligned as AlpacaEval aligns (by position): with the
    gamed baselines rebuilt from AlpacaEval's published GLM (gamed="published") and without them (the data here
    lacks their verdicts), on the same jointly fitted instruction difficulty."""
    weighted = alpaca.filter(pl.col("judge") == WEIGHTED)
    board = pl.read_csv(shared("alpaca-eval", "leaderboard_ae2_weighted_gpt4_turbo.csv")).rename({"": "board_name"})
    weights = pl.read_csv(shared("alpaca-eval", "lc_glm_weights_weighted_gpt4_turbo.csv")).rename({"": "board_name"})
    out = {}
    published = metaeval.bias.length_controlled_win_rate(weighted, "gpt4_1106_preview", method="alpaca_eval",
                                                         align="position", gamed="published", n_resamples=0)
    assert published.difficulty is not None
    difficulty = dict(zip(published.difficulty["item"], published.difficulty["difficulty"], strict=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = metaeval.bias.length_controlled_win_rate(weighted, "gpt4_1106_preview", method="alpaca_eval",
                                                         align="position", difficulty=difficulty, n_resamples=0)
    for name, lc in (("published", published), ("none", plain)):
        joined = (lc.table.join(leaderboard_names(weighted), on="model").join(board, on="board_name")
                  .join(weights, on="board_name", how="left")
                  .with_columns((pl.col("lc_win_rate") - pl.col("length_controlled_winrate")).alias("delta")))
        out[name] = (lc, joined)
    return out, [str(w.message) for w in caught]


@pytest.mark.slow
def test_alpaca_eval_lc_follows_the_published_leaderboard(alpaca_eval_lc):
    """What the recipe reaches without the gamed baselines' verdicts (gpt4_1106_preview_verbose / _concise,
    AlpacaEval's df_gamed, not in ../shared/data): AlpacaEval's unregularised fit, with the instruction difficulty
    from the 57 models here, not from AlpacaEval's early-2024 file."""
    from scipy import stats

    fits, caught = alpaca_eval_lc
    lc, joined = fits["none"]
    assert joined.height == 56  # every model on that leaderboard with annotations here (NullModel included)
    assert not lc.run_info.params["gamed_baselines"] and any("no gamed baselines" in m for m in caught)
    # the raw win rates are the leaderboard's to the digit
    np.testing.assert_allclose(joined["win_rate"], joined["win_rate_right"], rtol=0, atol=1e-9)
    delta = joined["delta"].abs()
    rho = stats.spearmanr(joined["lc_win_rate"], joined["length_controlled_winrate"]).statistic
    assert 0.5 < float(delta.median()) < 0.6 and 0.965 < rho < 0.98
    # the largest gap is the adversarially short gpt4_gamed (68 characters on average), whose length slope the
    # regularisation toward the gamed baselines holds at AlpacaEval's -2.98; unregularised it runs to -14
    worst = joined.sort("delta", descending=True, nulls_last=True).row(0, named=True)
    assert worst["board_name"] == "gpt4_gamed" and worst["length_coef"] > 10
    # per-model coefficients against AlpacaEval's published weights (their length term has the other sign)
    assert stats.spearmanr(joined["length_coef"], -joined["np.tanh(std_delta_len)"]).statistic > 0.9
    assert stats.spearmanr(joined["intercept"], joined["not_gamed_baseline.astype(float)"]).statistic > 0.95


@pytest.mark.slow
def test_alpaca_eval_lc_meets_the_issue_thresholds(alpaca_eval_lc):
    """Median |LC - published| <= 0.5 points and Spearman >= 0.995 (issue 18), with the gamed baselines rebuilt
    from AlpacaEval's published GLM (gamed="published"): an approximation, as the gamed verdicts are not here.
    Measured: median 0.39, max 2.29 (claude-2), Spearman 0.9988. What remains is one-sided (51 of 56 above the
    published LC, up to 2.3 points) and comes from the two inputs AlpacaEval keeps on Hugging Face (df_gamed.csv):
    the gamed baselines' observed verdicts (rebuilt here as expected preferences) and its early-2024 instruction
    difficulty (refitted here on these 57 models); on the same inputs alpaca-eval's own code agrees with ours to
    0.1 point (benchmarks/alpaca_lc.md)."""
    from scipy import stats

    fits, _ = alpaca_eval_lc
    lc, joined = fits["published"]
    assert joined.height == 56
    params = lc.run_info.params
    assert params["gamed"] == "published" and params["regularize_applied"] == 0.2
    assert params["gamed_baselines"] == ["gpt4_1106_preview_verbose", "gpt4_1106_preview_concise"]
    np.testing.assert_allclose(joined["win_rate"], joined["win_rate_right"], rtol=0, atol=1e-9)
    delta = joined["delta"].abs()
    rho = stats.spearmanr(joined["lc_win_rate"], joined["length_controlled_winrate"]).statistic
    assert float(delta.median()) <= 0.5 and rho >= 0.995
    # the regularisation holds gpt4_gamed's length slope near AlpacaEval's 2.98 (unregularised: 14)
    gamed = joined.filter(pl.col("board_name") == "gpt4_gamed").row(0, named=True)
    assert abs(gamed["length_coef"] + gamed["np.tanh(std_delta_len)"]) < 0.5 and abs(gamed["delta"]) < 3
    # what remains: every model within 3 points, the coefficients close to the published ones
    assert float(delta.max()) < 3
    assert stats.spearmanr(joined["length_coef"], -joined["np.tanh(std_delta_len)"]).statistic > 0.95
    assert stats.spearmanr(joined["intercept"], joined["not_gamed_baseline.astype(float)"]).statistic > 0.99
