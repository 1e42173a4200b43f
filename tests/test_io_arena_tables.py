"""Arena-style battle logs as tables (Parquet, CSV, TSV: model_a, model_b, winner) are read by
``metaeval.read()`` and every command that takes a TABLE, as the same table the JSON path gives
for the same battles, and as the same battles ``metaeval.battles.scan()`` ranks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import metaeval
from metaeval import battles, datasets
from metaeval.cli import cli
from metaeval.errors import ImportFormatError
from metaeval.io import detect_format

FIXTURES = Path(__file__).parent / "fixtures"
LOG = datasets.path("arena_battles.parquet")


def _battles() -> list[dict]:
    return json.loads((FIXTURES / "arena" / "clean_battle.json").read_text())


def _write(rows: list[dict], path: Path) -> Path:
    """The battles as JSON Lines, Parquet, CSV or TSV (nested fields as their JSON text in CSV)."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    frame = pl.DataFrame(rows)
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        flat = frame.with_columns(pl.col("conv_metadata").map_elements(
            lambda s: json.dumps(s, sort_keys=True), return_dtype=pl.String)) if "conv_metadata" in frame.columns \
            else frame
        flat.write_csv(path, separator="\t" if path.suffix == ".tsv" else ",")
    return path


def test_the_shipped_log_is_detected_and_read():
    fmt, why = detect_format(LOG)
    assert (fmt, why) == ("arena", "columns model_a, model_b, winner (a battle log)")
    j = metaeval.read(LOG)
    raw = pl.read_parquet(LOG)
    assert j.frame.height == raw.height == 900
    assert j.kind == "pairwise"
    want = raw["winner"].replace_strict({"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "tie"})
    assert j.frame["outcome"].to_list() == want.to_list()
    assert j.frame["item"].to_list() == raw["question_id"].to_list()
    assert j.frame["len_a"].to_list() == raw["len_a"].to_list()
    assert j.frame["extra"].struct.field("category").to_list() == raw["category"].to_list()
    assert j.provenance["detected"] == "columns model_a, model_b, winner (a battle log)"


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv"])
def test_a_table_gives_the_same_judgments_as_json_lines(tmp_path, suffix):
    rows = _battles()
    want = metaeval.read(_write(rows, tmp_path / "b.jsonl")).frame
    got = metaeval.read(_write(rows, tmp_path / f"b{suffix}")).frame
    assert got.columns == want.columns
    for c in ("item", "judge", "model_a", "model_b", "outcome", "rep"):
        assert got[c].to_list() == want[c].to_list(), c
    for f in ("bothbad", "turn", "anony", "language", "tstamp", "conv_metadata"):
        assert got["extra"].struct.field(f).to_list() == want["extra"].struct.field(f).to_list(), f


def test_judge_rule_item_fallback_and_repeats(tmp_path):
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "judge": "gpt4_pair"},
            {"model_a": "x", "model_b": "y", "winner": "model_b", "judge": None},
            {"model_a": "x", "model_b": "y", "winner": "tie", "judge": "u1", "question_id": "q"},
            {"model_a": "x", "model_b": "y", "winner": "tie", "judge": "u1", "question_id": "q"}]
    f = metaeval.read(_write(rows, tmp_path / "b.parquet")).frame
    assert f["judge"].to_list() == ["gpt4_pair", "human:anonymous", "human:u1", "human:u1"]
    assert f["item"].to_list() == ["battle-0", "battle-1", "q", "q"]
    assert f["rep"].to_list() == [0, 0, 0, 1]


def test_a_table_with_metaevals_own_columns_stays_generic(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"item": ["i"], "judge": ["j"], "model_a": ["x"], "model_b": ["y"], "winner": ["x"],
                  "outcome": ["a"]}).write_parquet(path)
    assert detect_format(path)[0] == "parquet"
    assert metaeval.read(path).frame["outcome"].to_list() == ["a"]


@pytest.mark.parametrize("suffix, where", [(".parquet", "(row 2)"), (".csv", "line 4")])
def test_a_bad_winner_names_the_row_and_column(tmp_path, suffix, where):
    rows = [{"model_a": "x", "model_b": "y", "winner": w} for w in ("model_a", "tie", "nobody", "nobody")]
    with pytest.raises(ImportFormatError) as exc:
        metaeval.read(_write(rows, tmp_path / f"b{suffix}"))
    msg = str(exc.value)
    assert where in msg and "field `winner`" in msg and "'nobody'" in msg and "2 such rows" in msg
    assert str(tmp_path) in msg


@pytest.mark.parametrize("suffix, where", [(".parquet", "(row 1)"), (".csv", "line 3")])
def test_a_missing_model_names_the_row_and_column(tmp_path, suffix, where):
    rows = [{"model_a": "x", "model_b": "y", "winner": "tie"}, {"model_a": "x", "model_b": None, "winner": "tie"}]
    with pytest.raises(ImportFormatError, match="required field is missing") as exc:
        metaeval.read(_write(rows, tmp_path / f"b{suffix}"))
    assert where in str(exc.value) and "field `model_b`" in str(exc.value)


def test_a_model_column_of_numbers_that_are_not_names_is_refused(tmp_path):
    path = tmp_path / "b.parquet"
    pl.DataFrame({"model_a": [1.5], "model_b": [2.5], "winner": ["tie"]}).write_parquet(path)
    with pytest.raises(ImportFormatError, match="a model name must be text; got a column of Float64"):
        metaeval.read(path)


def test_the_cli_ranks_and_counts_a_parquet_log():
    res = CliRunner().invoke(cli, ["rank", str(LOG)])
    assert res.exit_code == 0, res.output
    assert "electra-1" in res.output.splitlines()[3]  # the strongest planted model is first
    res = CliRunner().invoke(cli, ["winrates", "--format", "arena", str(LOG)])
    assert res.exit_code == 0, res.output
    assert "win rates" in res.output


def test_format_arena_on_a_csv_log(tmp_path):
    path = _write(_battles(), tmp_path / "log.csv")
    res = CliRunner().invoke(cli, ["info", "--format", "arena", str(path)])
    assert res.exit_code == 0, res.output
    assert "source format          arena" in res.output


def test_read_and_scan_give_the_same_bradley_terry_scores():
    """The in-memory path (read → rank) and the out-of-core path (scan → rank) fit the same
    likelihood on the same battles: the scores agree to the solvers' tolerance."""
    a = metaeval.rank(metaeval.read(LOG), method="bradley_terry", ties="half", ci="none")
    b = metaeval.rank(battles.scan(LOG), method="bradley_terry", ties="half", ci="none")
    sa = dict(zip(a.models, a.rating, strict=True))
    sb = dict(zip(b.models, b.rating, strict=True))
    assert set(sa) == set(sb)
    np.testing.assert_allclose([sa[m] - np.mean(list(sa.values())) for m in sorted(sa)],
                               [sb[m] - np.mean(list(sb.values())) for m in sorted(sb)], atol=1e-6)
