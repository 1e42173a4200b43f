"""A leaderboard's costs and errors are read lower-is-better, and its counts are not tasks: a
vote over a table of judges must not reward the most expensive, slowest, most biased one, nor
count AlpacaEval's n_wins_base (the baseline's wins) as a score of the model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import metaeval
from metaeval.cli import cli
from metaeval.errors import MetaevalWarning, ParameterError
from metaeval.io.leaderboard import _DESCRIPTOR, _LOWER_IS_BETTER

from .conftest import shared


def _board(tmp_path, text: str):
    path = tmp_path / "board.csv"
    path.write_text(text)
    return path


BOARD = "model,accuracy,Price [$/1000],Latency (s),n_wins,# parsed\nx,0.9,10,2.0,5,100\ny,0.8,1,1.0,7,100\n"


def test_costs_are_lower_is_better_with_a_warning_and_counts_are_left_out(tmp_path):
    with pytest.warns(MetaevalWarning, match=r"lower-is-better.*Price \[\$/1000\], Latency \(s\)"):
        sm = metaeval.read_leaderboard(_board(tmp_path, BOARD))
    assert sm.tasks == ("accuracy", "Price [$/1000]", "Latency (s)")
    assert sm.higher_is_better.tolist() == [True, False, False]
    assert any("n_wins, # parsed" in n for n in sm.notes)


def test_an_explicit_direction_guesses_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetaevalWarning)  # no guess, so no warning
        sm = metaeval.read_leaderboard(_board(tmp_path, BOARD), higher_is_better=True)
    assert sm.higher_is_better.tolist() == [True, True, True]
    sm = metaeval.read_leaderboard(_board(tmp_path, BOARD), higher_is_better=False)
    assert sm.higher_is_better.tolist() == [False, False, False]


def test_a_mapping_sets_the_named_tasks_and_guesses_the_rest(tmp_path):
    with pytest.warns(MetaevalWarning, match="Latency"):
        sm = metaeval.read_leaderboard(_board(tmp_path, BOARD), higher_is_better={"Price [$/1000]": True})
    assert sm.higher_is_better.tolist() == [True, True, False]
    with pytest.raises(ParameterError, match=r"names 'Prize', which is not a score column.*accuracy"):
        metaeval.read_leaderboard(_board(tmp_path, BOARD), higher_is_better={"Prize": False})


@pytest.mark.parametrize("name", ["mnli", "NQ", "winogrande", "MMLU", "Human agreement", "n-gram overlap",
                                  "timeliness", "lossless", "Spearman corr.", "answer"])
def test_ordinary_task_names_are_higher_is_better_tasks(name):
    assert not _LOWER_IS_BETTER.search(name) and not _DESCRIPTOR.search(name)


@pytest.mark.parametrize("name", ["Price [$/1000 examples]", "Time [seconds/1000 examples]", "Bias", "Variance",
                                  "cost ($)", "WER", "latency_ms", "runtime", "Perplexity", "eval_loss", "MAE"])
def test_cost_and_error_names_are_lower_is_better(name):
    assert _LOWER_IS_BETTER.search(name)


@pytest.mark.parametrize("name", ["n_wins", "n_wins_base", "n_draws", "n_total", "# parsed", "num_wins"])
def test_counts_are_descriptions(name):
    assert _DESCRIPTOR.search(name)


def test_alpacaevals_evaluator_leaderboard_reads_costs_as_costs():
    with pytest.warns(MetaevalWarning, match="lower-is-better"):
        sm = metaeval.read_leaderboard(shared("alpaca-eval", "evaluators_leaderboard.csv"))
    hib = dict(zip(sm.tasks, sm.higher_is_better.tolist(), strict=True))
    assert hib == {"Human agreement": True, "Price [$/1000 examples]": False, "Time [seconds/1000 examples]": False,
                   "Spearman corr.": True, "Pearson corr.": True, "Bias": False, "Variance": False,
                   "Proba. prefer longer": True, "Proba. prefer lists": True, "Proba. prefer 1": True}


def test_alpacaevals_leaderboard_keeps_counts_out_of_the_tasks():
    sm = metaeval.read_leaderboard(shared("alpaca-eval", "leaderboard_ae2_weighted_gpt4_turbo.csv"))
    assert sm.tasks == ("win_rate", "discrete_win_rate", "length_controlled_winrate")
    assert sm.higher_is_better.all()


def test_glue_winners_are_unchanged():
    """No GLUE column is named like a cost, so the paper's development target still holds: ERNIE
    wins under Borda, Copeland and the arithmetic mean."""
    from metaeval.rankers import apply_rule

    with warnings.catch_warnings():
        warnings.simplefilter("error", MetaevalWarning)
        sm = metaeval.read_leaderboard(shared("vote-n-rank", "leaderboard_glue.csv"), top=30, preset="vote_n_rank")
    assert sm.higher_is_better.all()
    for rule in ("borda", "copeland", "arithmetic_mean"):
        assert apply_rule(rule, sm).winners == ("ERNIE",), rule


def test_the_cli_takes_directions_and_says_which_were_guessed(tmp_path):
    path = _board(tmp_path, BOARD)
    res = CliRunner().invoke(cli, ["vote", str(path), "--rules", "borda"])
    assert res.exit_code == 0, res.output
    assert "read as lower-is-better" in res.output and "Price [$/1000], Latency (s)" in res.output
    assert "borda  y" in res.output  # cheaper and faster wins 2 of 3 tasks
    res = CliRunner().invoke(cli, ["vote", str(path), "--rules", "borda", "--higher-is-better",
                                   "Price [$/1000],Latency (s)", "--json"])
    assert res.exit_code == 0, res.output
    assert "lower-is-better" not in res.output
    assert '"x"' in res.output.split('"winners"')[1].split("]")[0]
    res = CliRunner().invoke(cli, ["vote", str(path), "--lower-is-better", "accuracy", "--higher-is-better",
                                   "accuracy"])
    assert res.exit_code != 0 and "in both --lower-is-better and --higher-is-better" in res.output


def test_a_vote_orients_lower_is_better_scores():
    """The orientation the reader sets is the one the rules use: flipping a column's direction
    flips the winner of a two-model, one-task board."""
    from metaeval.rankers import apply_rule
    from metaeval.tables import ScoreMatrix

    for hib, want in ((True, "x"), (False, "y")):
        sm = ScoreMatrix(("x", "y"), ("t",), np.array([[2.0], [1.0]]), np.array([hib]), np.array([1.0]))
        assert apply_rule("borda", sm).winners == (want,)
