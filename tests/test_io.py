"""Importers: every fixture in its real format, round trips, and clear errors on bad input."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import metaeval
from metaeval.errors import (
    DataDroppedWarning,
    ImportFormatError,
    MetaevalError,
    MetaevalWarning,
    MissingVerdictWarning,
    SchemaError,
)

from .conftest import FIXTURES

HELM_RUN = FIXTURES / "helm" / "mmlu:subject=anatomy,model=openai_gpt2"
LM_SAMPLES = FIXTURES / "lm_eval" / "samples_arc_easy_2024-05-01T12-00-00.123456.jsonl"

GOOD = [
    ("alpaca_eval/annotations.json", "alpaca_eval", "pairwise", 5),
    ("mt_bench/gpt-4_pair.jsonl", "mt_bench", "pairwise", 7),
    ("mt_bench/gpt-4_single.jsonl", "mt_bench", "pointwise", 3),
    ("arena/clean_battle.json", "arena", "pairwise", 4),
    (str(LM_SAMPLES.relative_to(FIXTURES)), "lm_eval", "pointwise", 6),
    ("inspect/log.json", "inspect", "pointwise", 6),
    ("inspect/log.eval", "inspect", "pointwise", 6),
    (str((HELM_RUN / "per_instance_stats.json").relative_to(FIXTURES)), "helm", "pointwise", 5),
    (str((HELM_RUN / "display_predictions.json").relative_to(FIXTURES)), "helm", "pointwise", 9),
    ("generic/pointwise.jsonl", "jsonl", "pointwise", 4),
]


def read_quiet(path, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        return metaeval.read(path, *args, **kwargs)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("name", "fmt", "kind", "rows"), GOOD)
def test_fixture_detects_reads_and_round_trips(name, fmt, kind, rows, tmp_path):
    path = FIXTURES / name
    before = digest(path)
    j = read_quiet(path)
    assert digest(path) == before, "an input file was modified"
    assert j.provenance["format"].startswith(fmt)
    assert "detected" in j.provenance
    assert j.kind == kind
    assert len(j) == rows
    out = j.write_parquet(tmp_path / "t.parquet")
    back = metaeval.read(out)
    assert_frame_equal(back.frame, j.frame)
    # And again through CSV export of the same table: the canonical columns survive.
    csv = j.write_csv(tmp_path / "t.csv")
    again = metaeval.read(csv, kind=kind)
    canonical = [c for c in j.frame.columns if c != "extra"]
    assert_frame_equal(again.frame.select(canonical), j.frame.select(canonical), check_dtypes=False)


def test_alpaca_eval_preferences():
    with pytest.warns(MissingVerdictWarning, match="1 of 6 rows have no verdict"):
        j = metaeval.read(FIXTURES / "alpaca_eval" / "annotations.json")
    f = j.frame
    assert f["outcome"].to_list() == ["b", "a", "tie", "tie", "b"]
    np.testing.assert_allclose(f["p_a"].to_numpy(), [2 - 1.8271, 1.0, 0.5, 0.5, 0.0])
    assert f["len_a"][0] == len("Some famous actors that started their careers on Broadway include Hugh Jackman.")
    assert f["cost"][0] == pytest.approx(0.0134)
    assert j.provenance["abstentions"] == 1 and "dropped" not in j.provenance
    assert j.abstentions["missing_reason"].to_list() == ["annotator gave no preference"]
    assert j.provenance["draws_coded_0"] == 1
    extra = f["extra"].struct.unnest().columns
    assert {"output_1", "output_2", "dataset", "time_per_example", "raw_completion"} <= set(extra)


def test_mt_bench_pairwise_games_become_two_rows():
    with pytest.warns(MissingVerdictWarning):
        j = metaeval.read(FIXTURES / "mt_bench" / "gpt-4_pair.jsonl")
    f = j.frame
    first = f.filter(pl.col("item") == "81", pl.col("model_b") == "gpt-3.5-turbo", pl.col("variant") == "pair-v2")
    assert first.select("shown_first", "outcome").rows() == [("a", "b"), ("b", "b")]
    claude = f.filter(pl.col("model_b") == "claude-v1")
    assert claude["outcome"].to_list() == ["a", "b"]  # inconsistent across orders: kept as recorded
    assert j.n_abstentions == 1 and j.abstentions["missing_reason"][0] == "FastChat could not parse a verdict ('error')"
    assert set(f["judge"]) == {"gpt-4"}
    assert "judgment" in f["extra"].struct.unnest().columns


def test_mt_bench_single_scores():
    with pytest.warns(MissingVerdictWarning):
        j = metaeval.read(FIXTURES / "mt_bench" / "gpt-4_single.jsonl")
    assert j.frame["score"].to_list() == [9.0, 4.0, 3.0]
    assert j.abstentions["missing_reason"].to_list() == ["FastChat could not parse a score (-1)"]
    assert j.frame["variant"].to_list() == ["single-v1", "single-v1", "single-v1-multi-turn"]


def test_arena_battles():
    j = metaeval.read(FIXTURES / "arena" / "clean_battle.json")
    f = j.frame
    assert f["outcome"].to_list() == ["a", "tie", "tie", "b"]
    assert f["rep"].to_list() == [0, 0, 0, 1]
    assert f["judge"][0] == "human:arena_user_973"
    assert f["extra"].struct.field("bothbad").to_list() == [False, False, True, False]
    assert json.loads(f["extra"].struct.field("conv_metadata")[0]) == {"sum_user_tokens": 12,
                                                                        "sum_assistant_a_tokens": 210}


def test_lm_eval_samples_and_results():
    j = metaeval.read(LM_SAMPLES)
    f = j.frame
    assert set(f["judge"]) == {"acc", "acc_norm"}
    assert f.filter(pl.col("judge") == "acc")["score"].to_list() == [1.0, 1.0, 0.0]
    assert set(f["model"]) == {"EleutherAI/pythia-160m"}  # read from the results file beside it
    assert set(f["task"]) == {"arc_easy"}
    # The aggregate equals the results file's number.
    results = sorted((FIXTURES / "lm_eval").glob("results_*.json"))
    board = metaeval.read_leaderboard(results, metric="acc,none")
    assert board.tasks == ("arc_easy", "hellaswag")
    acc = f.filter(pl.col("judge") == "acc")["score"].mean()
    assert board.scores[0, 0] == pytest.approx(acc, abs=1e-4)


def test_lm_eval_needs_a_model_name(tmp_path):
    target = tmp_path / LM_SAMPLES.name
    target.write_bytes(LM_SAMPLES.read_bytes())
    with pytest.raises(ImportFormatError, match="no model name: pass `model=`"):
        metaeval.read(target)
    assert metaeval.read(target, model="m").models == ("m",)


def test_inspect_logs():
    j = metaeval.read(FIXTURES / "inspect" / "log.json")
    f = j.frame
    assert f["score"].to_list() == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    assert f["rep"].to_list() == [1, 2, 1, 2, 1, 2]
    assert set(f["model"]) == {"openai/gpt-4o-mini"}
    e = metaeval.read(FIXTURES / "inspect" / "log.eval")
    assert set(e.judges) == {"expression_equivalance", "model_graded_fact/correct", "model_graded_fact/format"}
    assert e.frame.filter(pl.col("judge") == "model_graded_fact/format")["score"].to_list() == [0.5, 1.0]


def test_helm_perturbations_become_variants():
    j = metaeval.read(HELM_RUN / "per_instance_stats.json")
    em = j.frame.filter(pl.col("judge") == "exact_match")
    assert em.select("item", "variant", "score").rows() == [("id101", None, 1.0), ("id101", "typos", 0.0),
                                                             ("id102", None, 0.0)]
    assert set(j.models) == {"openai_gpt2"} and set(j.tasks) == {"mmlu"}
    d = metaeval.read(HELM_RUN / "display_predictions.json", format="helm")
    assert d.frame["extra"].struct.field("predicted_text").to_list()[:2] == [" B", " B"]
    only = metaeval.io.helm.read_helm(HELM_RUN / "per_instance_stats.json", metrics=["exact_match"])
    assert set(only.judges) == {"exact_match"}


def test_generic_mapping_values_and_constants():
    j = metaeval.read(FIXTURES / "generic" / "pairwise.csv", item="question_id", judge="annotator",
                      model_a="left", model_b="right", outcome="verdict",
                      values={"outcome": {"A>B": "a", "B>A": "b", "A=B": "tie"}})
    assert j.frame["item"].to_list() == ["001", "001", "002", "002"]  # ids keep leading zeros
    assert j.frame["outcome"].to_list() == ["a", "tie", "b", "b"]
    assert j.frame["extra"].struct.field("notes").to_list() == ["clear win", None, "close call", None]
    k = metaeval.read(FIXTURES / "generic" / "pointwise.jsonl", constants={"variant": "v1"})
    assert set(k.frame["variant"]) == {"v1"}


def test_several_files_are_stacked():
    j = read_quiet([FIXTURES / "mt_bench" / "gpt-4_pair.jsonl", FIXTURES / "arena" / "clean_battle.json"])
    assert len(j) == 11
    assert j.provenance["format"] == "arena,mt_bench"
    with pytest.raises(MetaevalError, match="different kinds"):
        read_quiet([FIXTURES / "mt_bench" / "gpt-4_pair.jsonl", FIXTURES / "mt_bench" / "gpt-4_single.jsonl"])


def test_leaderboard_cells_are_split_and_weighted():
    with pytest.warns(DataDroppedWarning, match="beta: RTE"):
            sm = metaeval.read_leaderboard(FIXTURES / "leaderboard" / "board.csv", exclude=["Score"],
                                       higher_is_better={"Latency (ms)": False})
    assert sm.models == ("alpha", "beta", "gamma")
    assert sm.tasks == ("CoLA", "MRPC (1)", "MRPC (2)", "RTE", "Latency (ms)")
    np.testing.assert_allclose(sm.weights, [1, 0.5, 0.5, 1, 1])
    assert np.isnan(sm.scores[1, 3])
    assert sm.higher_is_better.tolist() == [True, True, True, True, False]
    with pytest.warns(DataDroppedWarning):
        assert metaeval.read_leaderboard(FIXTURES / "leaderboard" / "board.csv", top=2).models == ("alpha", "beta")


def _board(tmp_path: Path, text: str, name: str = "board.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_leaderboard_two_metric_cells_without_split_cells_are_an_error(tmp_path):
    """split_cells=False: an 'a/b' column is an error naming its first such cell (it used to escape as a bare
    StopIteration when every cell of the column held two values)."""
    path = _board(tmp_path, "Model,CoLA,MRPC\nx,70.1,93.9/91.8\ny,69.0,90.0/88.0\n")
    with pytest.raises(ImportFormatError, match=r"line 2, field `MRPC`: cells hold 2 '/'-separated values "
                                                r"\('93.9/91.8', model 'x', row 1\) and `split_cells` is False"):
        metaeval.read_leaderboard(path, split_cells=False)
    assert metaeval.read_leaderboard(path).tasks == ("CoLA", "MRPC (1)", "MRPC (2)")
    mixed = _board(tmp_path, "Model,MRPC\nx,93.9/91.8\ny,90.0\n", "mixed.csv")
    with pytest.raises(ImportFormatError, match=r"different numbers of '/'-separated values \(2 and 1: '90.0'"):
        metaeval.read_leaderboard(mixed, split_cells=False)


# t1 decides: with it, alpha wins under every rule; without it, beta has the higher mean (the old reader
# dropped a column with one empty cell, so one blank cell changed the winner silently).
DECISIVE = "Model,t1,t2,t3\nalpha,90,80,72\nbeta,60,85,70\ngamma,{cell},60,60\ndelta,50,50,50\n"


def test_an_empty_cell_is_a_missing_score_with_a_warning_and_the_winner_stays(tmp_path):
    from metaeval.rankers import compare_rules

    full = metaeval.read_leaderboard(_board(tmp_path, DECISIVE.format(cell="55")))
    with pytest.warns(DataDroppedWarning, match=r"1 score is missing for 1 model \(gamma: t1\)"):
        holed = metaeval.read_leaderboard(_board(tmp_path, DECISIVE.format(cell=""), "holed.csv"))
    assert holed.tasks == ("t1", "t2", "t3") and holed.n_missing == 1 and np.isnan(holed.scores[2, 0])
    assert any("gamma: t1" in n for n in holed.notes)
    rules = ["borda", "copeland", "arithmetic_mean", "kemeny_young"]
    before = compare_rules(full, rules=rules).winners
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after = compare_rules(holed, rules=rules)
    assert after.winners == before and set(before.values()) == {("alpha",)}
    assert "gamma" in after.data_notes[0]  # left out of the comparison, and said so
    # without t1, beta would win: the column must not disappear
    without_t1 = metaeval.ScoreMatrix(full.models, full.tasks[1:], full.scores[:, 1:])
    assert compare_rules(without_t1, rules=["arithmetic_mean"]).winners["arithmetic_mean"] == ("beta",)


@pytest.mark.parametrize("token", ["-", "NA", "n/a", "nan", "null", "None", "—"])
def test_missing_tokens_and_half_missing_pairs(tmp_path, token):
    with pytest.warns(DataDroppedWarning):
        sm = metaeval.read_leaderboard(_board(tmp_path, f"Model,A,B\nx,1,2/3\ny,{token},NaN/4\nz,3,5/6\n"))
    assert sm.tasks == ("A", "B (1)", "B (2)")
    assert np.isnan(sm.scores[1, 0]) and np.isnan(sm.scores[1, 1]) and sm.scores[1, 2] == 4
    assert sm.n_missing == 2


@pytest.mark.parametrize("value", ["abc", "3/", "/4", "1/2/x", "inf", "12,5"])
def test_an_unparseable_score_names_file_line_column_model_and_value(tmp_path, value):
    # the second model's name spans two lines of the file: the error names the line where its row starts
    path = _board(tmp_path, f'Rank,Model,URL,CoLA,RTE\n1,alpha,http://a,70,90\n2,"be\nta",,"{value}",88\n'
                            '3,gamma,,65,80\n')
    with pytest.raises(ImportFormatError) as err:
        metaeval.read_leaderboard(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}, line 3, field `CoLA`: cannot read {value!r} as a score (model 'be ta', row 2)")
    assert err.value.line == 3 and err.value.field == "CoLA"


def test_text_columns_are_recognised_by_their_share_of_numbers(tmp_path):
    text = ("Model,Team,URL,Params,Notes,CoLA\n"
            "alpha,A Team,http://a.example,7B,good,70\n"
            "beta,2,,13B,3.5,71\n"
            "gamma,C Team,http://c.example,70B,fine,72\n")
    with pytest.warns(DataDroppedWarning) as caught:
        sm = metaeval.read_leaderboard(_board(tmp_path, text))
    assert sm.tasks == ("CoLA",)
    assert any("left out as text: Team, URL, Params, Notes" in n for n in sm.notes)
    # Team and Notes hold one number among text: each gets a warning naming the number
    said = " ".join(str(w.message) for w in caught)
    assert "column 'Team' left out as text: only 1 of its 3 filled cells are numbers (first: '2', model 'beta'" in said
    assert "column 'Notes'" in said
    # named explicitly, a text cell is an error
    with pytest.raises(ImportFormatError, match="cannot read '7B' as a score"):
        metaeval.read_leaderboard(_board(tmp_path, text), tasks=["Params"])


def test_aggregates_ranks_and_names(tmp_path):
    text = ('Rank,Model,Score,Mean-Rank,A,B\n1,"x <!-- link -->\n (ensemble)",2,1.5,1,2\n2,y,1,1.5,2,1\n')
    sm = metaeval.read_leaderboard(_board(tmp_path, text))
    assert sm.tasks == ("A", "B") and sm.models == ("x (ensemble)", "y")
    assert any("aggregates of the other columns: Score, Mean-Rank" in n for n in sm.notes)
    assert metaeval.read_leaderboard(_board(tmp_path, text), tasks=["Score"]).tasks == ("Score",)
    with pytest.raises(MetaevalError, match="`exclude` names no column 'Scroe'"):
        metaeval.read_leaderboard(_board(tmp_path, text), exclude=["Scroe"])


def test_a_long_table_is_not_read_as_a_leaderboard(tmp_path):
    rows = "\n".join(f"m{i % 3},q{i},{i % 2}" for i in range(60))
    with pytest.raises(ImportFormatError, match="repeats model names: 60 rows but 3 distinct names"):
        metaeval.read_leaderboard(_board(tmp_path, "model,item,score\n" + rows + "\n"))
    alpaca = "model_dir,annotator,instruction_id,generator_1,generator_2,preference\nd,j,1,gpt4,x,2\n"
    with pytest.raises(ImportFormatError, match="this is a table of judgments \\(alpaca_eval format"):
        metaeval.read_leaderboard(_board(tmp_path, alpaca, "annotations.csv"))


# --- bad input: each a clear metaeval error naming file / column / line ------------------------

def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


BAD = [
    ("missing column", "t.csv", "item,judge,model_a,outcome\nq1,j,x,a\n", {}, SchemaError,
     ["required column `model_b` is missing"]),
    ("unknown outcome", "t.csv", "item,judge,model_a,model_b,outcome\nq1,j,x,y,a\nq2,j,x,y,A>B\n", {}, SchemaError,
     ["column `outcome` must be one of 'a', 'b', 'tie'; got 'A>B' in line 3"]),
    ("non-numeric score", "t.csv", "item,judge,model,score\nq1,h,x,3\nq2,h,x,good\n", {}, SchemaError,
     ["column `score` must be numeric; got 'good' in line 3"]),
    ("non-finite score", "t.csv", "item,judge,model,score\nq1,h,x,3\nq2,h,x,inf\n", {}, SchemaError,
     ["column `score` must be finite; got inf in line 3"]),
    ("model_a == model_b", "t.csv", "item,judge,model_a,model_b,outcome\nq1,j,x,x,a\n", {}, SchemaError,
     ["column `model_b` must differ from `model_a`; got 'x' in line 2"]),
    ("exact duplicates", "t.csv", "item,judge,model,score\nq1,h,x,3\nq1,h,x,3\n", {}, SchemaError,
     ["2 rows repeat the same", "tell repeats apart with `rep`", "lines 2, 3"]),
    ("empty file", "t.csv", "", {}, ImportFormatError, ["t.csv: the file is empty"]),
    ("header only", "t.csv", "item,judge,model,score\n", {}, SchemaError, ["the table has no rows"]),
    ("not the claimed format", "t.json", "item,judge\nq1,h\n", {"format": "alpaca_eval"}, ImportFormatError,
     ["t.json, line 1: invalid JSON"]),
    ("truncated JSON line", "t.jsonl", '{"item": "q1", "judge": "h", "model": "x", "score": 1}\n{"item": "q2", "ju',
     {}, ImportFormatError, ["t.jsonl, line 2: invalid JSON", "looks truncated"]),
    ("invalid JSON line", "t.jsonl", '{"item": "q1"}\n{item: q2}\n{"item": "q3"}\n', {}, ImportFormatError,
     ["line 2: invalid JSON"]),
    ("non-UTF-8 bytes", "t.csv", b"item,judge,model,score\nq1,h,x,3\nq2,h,caf\xe9,4\n", {}, ImportFormatError,
     ["line 3: is not valid UTF-8", "byte b'\\xe9'"]),
    ("mixed kinds", "t.csv", "item,judge,model,score,model_a,model_b,outcome\nq1,h,x,3,,,\nq2,h,,,x,y,a\n", {},
     SchemaError, ["mixes 1 pointwise rows", "`kind='pointwise'`"]),
    ("AlpacaEval preference out of range", "a.json",
     '[{"instruction": "q", "generator_1": "x", "generator_2": "y", "preference": 3}]', {}, ImportFormatError,
     ["field `preference`", "got 3"]),
    ("Arena unknown winner", "b.json", '[{"model_a": "x", "model_b": "y", "winner": "both"}]', {}, ImportFormatError,
     ["field `winner`", "got 'both' (battle 0)"]),
    ("MT-Bench unknown winner", "p.jsonl",
     '{"question_id": 1, "model_1": "x", "model_2": "y", "g1_winner": "A", "g2_winner": "tie", "judge": ["g", "t"]}',
     {"format": "mt_bench"}, ImportFormatError, ["line 1, field `g1_winner`", "got 'A'"]),
    ("inspect log that is not a zip", "x.eval", "plain text", {}, ImportFormatError, ["not a zip archive"]),
    ("HELM entry without stats", "per_instance_stats.json", '[{"instance_id": "i1"}]', {"format": "helm",
     "model": "m"}, ImportFormatError, ["entry 0 needs `instance_id` and `stats`"]),
    ("mapped column absent", "t.csv", "qid,judge,model,score\n1,h,x,3\n", {"item": "question"}, ImportFormatError,
     ["mapped column 'question' is not in the file"]),
    ("unknown format", "t.xyz", "hello", {}, ImportFormatError, ["cannot tell the format", "pass `format=`"]),
    ("p_a out of range", "t.csv", "item,judge,model_a,model_b,outcome,p_a\nq1,j,x,y,a,1.2\n", {}, SchemaError,
     ["column `p_a` must lie in [0, 1]; got 1.2 in line 2"]),
    ("missing judge", "t.csv", "item,judge,model,score\nq1,,x,3\n", {}, SchemaError,
     ["column `judge` must not be missing; missing in line 2"]),
]


@pytest.mark.parametrize(("label", "name", "content", "options", "error", "fragments"), BAD,
                         ids=[b[0] for b in BAD])
def test_bad_input_gives_a_clear_error(tmp_path, label, name, content, options, error, fragments):
    path = write(tmp_path, name, content)
    before = digest(path)
    with pytest.raises(error) as exc:
        metaeval.read(path, **options)
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, f"{label}: {fragment!r} not in {message!r}"
    assert "Traceback" not in message
    assert digest(path) == before


def test_lm_eval_results_are_pointed_to_read_leaderboard():
    results = next((FIXTURES / "lm_eval").glob("results_*.json"))
    with pytest.raises(ImportFormatError, match="read it with `read_leaderboard`"):
        metaeval.read(results)


def test_unknown_keyword_is_rejected():
    with pytest.raises(MetaevalError, match="unknown option `colour`"):
        metaeval.read(FIXTURES / "generic" / "pointwise.jsonl", colour="red")


def test_leaderboard_interval_bounds_and_descriptors_are_not_tasks(tmp_path):
    # Arena-Hard's layout: one score with its bootstrap bounds, the answer length and the date
    p = tmp_path / "arena.csv"
    p.write_text("model,score,rating_q025,rating_q975,CI,avg_tokens,date\n"
                 "big,82.6,80.8,84.6,\"(-1.88, +1.97)\",662.0,2024-07-31\n"
                 "mid,79.4,77.3,80.6,\"(-2.10, +1.27)\",567.0,2024-07-31\n"
                 "small,20.1,18.0,22.3,\"(-2.1, +2.2)\",1200.0,2024-07-31\n")
    sm = metaeval.read_leaderboard(p)
    assert sm.tasks == ("score",)
    assert any("rating_q025, rating_q975" in n for n in sm.notes)
    assert any("avg_tokens" in n for n in sm.notes)
    # a board of several tasks with a standard-error column per task keeps the tasks only
    q = tmp_path / "se.csv"
    q.write_text("model,math,math_se,code,code_se\na,50,2,60,3\nb,40,2,70,3\n")
    assert metaeval.read_leaderboard(q).tasks == ("math", "code")


def test_csv_header_problems_and_ragged_rows_name_the_line(tmp_path):
    """A duplicated or empty header name is an error (not a silent rename into `extra`); a row with
    more fields than the header names its line; a semicolon-separated .csv is read by its separator."""
    dup = tmp_path / "dup.csv"
    dup.write_text("item,judge,model,score,score\n1,a,x,3,4\n")
    with pytest.raises(ImportFormatError, match=r"dup.csv, line 1, field `score`: column 'score' appears twice"):
        metaeval.read(dup)
    empty = tmp_path / "empty.csv"
    empty.write_text("item,judge,,model,score\n1,a,z,x,3\n")
    with pytest.raises(ImportFormatError, match="column 3 of the header has no name"):
        metaeval.read(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("item,judge,model,score\n1,a,x,3\n2,a,y,4,5,6\n3,a,z,1\n")
    with pytest.raises(ImportFormatError, match=r"ragged\.csv, line 3: 6 fields where the header has 4"):
        metaeval.read(ragged)
    short = tmp_path / "short.csv"
    short.write_text("item,judge,model,score\n1,a,x,3\n2,a,y\n")
    with pytest.raises(ImportFormatError, match=r"short\.csv, line 3: 3 fields where the header has 4 \(fewer"):
        metaeval.read(short)
    # a quoted header cell over two lines (AlpacaEval's benchmarks_vs_arena.csv): the header's fields are counted
    # as the CSV reads them, not on its first line. A leaderboard's short row (a spreadsheet leaves trailing
    # empty cells out) is read as missing scores, and the warning names its line
    wrapped = tmp_path / "wrapped.csv"
    wrapped.write_text('model,"Arena\nElo",bench\na,1,2\nb,3\nc,2,1\n')
    with pytest.warns(MetaevalWarning, match=r"wrapped\.csv: 1 row with fewer cells than the header's 3 \(line 4\)"):
        board = metaeval.read_leaderboard(wrapped)
    assert np.isnan(board.scores[1, 1]) and board.scores[2].tolist() == [2.0, 1.0]
    semi = tmp_path / "semi.csv"
    semi.write_text("item;judge;model;score\n1;a;x;3\n2;a;y;4\n")
    assert metaeval.read(semi).frame["score"].to_list() == [3.0, 4.0]


def test_a_huge_value_does_not_make_a_huge_message():
    from metaeval.datasets import path

    grades = metaeval.read(path("grades.csv"))
    with pytest.raises(metaeval.MetaevalError, match="unknown model 'mmm") as info:
        metaeval.compare(grades, "m" * 2_000_000, "x")
    assert len(str(info.value)) < 400 and "characters) …" in str(info.value)


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_json_nested_thousands_deep_is_one_clear_error(tmp_path, suffix):
    deep = tmp_path / f"deep.{suffix}"
    deep.write_text('{"item": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    with pytest.raises(ImportFormatError, match=f"deep.{suffix}: the file nests its values too deeply"):
        metaeval.read(deep)
    with pytest.raises(ImportFormatError, match="nests its values too deeply"):
        metaeval.read_leaderboard(deep)


def test_read_takes_polars_and_pandas_frames_with_the_same_maps():
    pd = pytest.importorskip("pandas")
    data = {"qid": ["1", "2"], "rater": ["a", "a"], "left": ["x", "x"], "right": ["y", "y"],
            "verdict": ["A>B", "B>A"]}
    maps = {"item": "qid", "judge": "rater", "model_a": "left", "model_b": "right", "outcome": "verdict"}
    values = {"outcome": {"A>B": "a", "B>A": "b"}}
    for frame in (pl.DataFrame(data), pd.DataFrame(data)):
        j = metaeval.read(frame, values=values, **maps)
        assert j.kind == "pairwise" and j.frame["outcome"].to_list() == ["a", "b"]
        assert j.provenance["format"] == "dataframe"
    bad = pl.DataFrame({"item": ["1", "2"], "judge": ["a", "a"], "model": ["x", None], "score": [1.0, 2.0]})
    with pytest.raises(SchemaError, match=r"<DataFrame>: column `model` must not be missing; missing in row 2"):
        metaeval.read(bad)
    with pytest.raises(MetaevalError, match="`format` applies to files"):
        metaeval.read(pl.DataFrame(data), format="csv")
