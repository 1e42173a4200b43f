"""Hostile and malformed files: each is one clear metaeval error naming the file, line / sample and
field (issue 20), never an AttributeError deep in an importer, and never unbounded memory."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import pytest

import metaeval
from metaeval.errors import ImportFormatError, MetaevalError, MetaevalWarning
from metaeval.io.inspect_ai import read_inspect

# ----------------------------------------------------------------------------- inspect logs
SAMPLE = {"id": 1, "epoch": 1, "scores": {"match": {"value": "C"}}}
SPEC = {"task": "t", "model": "m"}


def _log(**over):
    log = {"eval": SPEC, "samples": [SAMPLE, {**SAMPLE, "id": 2}]}
    log.update(over)
    return log


BAD_JSON_LOGS = [
    ("list log", [SPEC], ["field `eval`", "must be an object with an `eval` object; got a list"]),
    ("eval is text", _log(eval="x"), ["field `eval`", "got text"]),
    ("eval is a list", _log(eval=[SPEC]), ["field `eval`", "got a list"]),
    ("model is a number", _log(eval={"task": "t", "model": 3}), ["field `model`", "must be text"]),
    ("samples an object", _log(samples={"a": SAMPLE}), ["field `samples`", "must be a list of samples; got an object"]),
    ("sample is text", _log(samples=[SAMPLE, "x"]), ["field `samples`", "sample 1", "got text"]),
    ("text epoch", _log(samples=[SAMPLE, {**SAMPLE, "id": 2, "epoch": "one"}]),
     ["field `epoch`", "sample 1", "must be an integer", "'one'"]),
    ("float epoch", _log(samples=[{**SAMPLE, "epoch": 1.5}]), ["field `epoch`", "sample 0"]),
    ("id is an object", _log(samples=[{**SAMPLE, "id": {"a": 1}}]), ["field `id`", "sample 0", "got an object"]),
    ("no id", _log(samples=[{"epoch": 1, "scores": {}}]), ["field `id`", "sample 0"]),
    ("scores a list", _log(samples=[{**SAMPLE, "scores": [1, 2]}]), ["field `scores`", "sample 0", "got a list"]),
    ("score a list", _log(samples=[{**SAMPLE, "scores": {"match": [1]}}]),
     ["field `scores.match`", "sample 0", "got a list"]),
    ("value an object of objects", _log(samples=[{**SAMPLE, "scores": {"m": {"value": {"k": {"deep": 1}}}}}]),
     ["field `scores.m.value.k`", "sample 0", "got an object"]),
    ("value a list of lists", _log(samples=[{**SAMPLE, "scores": {"m": {"value": [[1]]}}}]),
     ["field `scores.m`", "got a list"]),
    ("no samples", _log(samples=[]), ["field `samples`", "holds no samples"]),
]


@pytest.mark.parametrize(("label", "log", "fragments"), BAD_JSON_LOGS, ids=[b[0] for b in BAD_JSON_LOGS])
def test_malformed_inspect_json_log_is_one_clear_error(tmp_path, label, log, fragments):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    with pytest.raises(ImportFormatError) as exc:
        metaeval.read(path, format="inspect")
    message = str(exc.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, f"{label}: {fragment!r} not in {message!r}"


def test_inspect_legitimate_values_still_read(tmp_path):
    """Inspect's Value types: scalars, lists (kept as JSON labels), objects of scalars (one judge per key)."""
    path = tmp_path / "log.json"
    samples = [{"id": "a", "epoch": 1, "scores": {"m": {"value": {"x": 1, "y": "C"}}, "l": {"value": [1, 2]}}},
               {"id": 7, "scores": {"m": 0.5, "l": None}}]
    path.write_text(json.dumps(_log(samples=samples)))
    with pytest.warns(metaeval.errors.MissingVerdictWarning):
        j = metaeval.read(path)
    rows = sorted(j.all_rows().select("item", "judge", "score", "label", "rep").rows(), key=str)
    assert rows == sorted([("a", "m/x", 1.0, None, 1), ("a", "m/y", 1.0, None, 1), ("a", "l", None, "[1, 2]", 1),
                           ("7", "m", 0.5, None, 1), ("7", "l", None, None, 1)], key=str)
    assert j.n_abstentions == 1


def _eval_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data if isinstance(data, bytes) else json.dumps(data))
    return path


def test_malformed_inspect_eval_archive_names_the_member(tmp_path):
    header_list = _eval_zip(tmp_path / "a.eval", {"header.json": [SPEC], "samples/1_epoch_1.json": SAMPLE})
    with pytest.raises(ImportFormatError, match=r"a\.eval, field `eval`: member 'header.json' must be an object"):
        metaeval.read(header_list)
    bad_epoch = _eval_zip(tmp_path / "b.eval", {"header.json": {"eval": SPEC},
                                                "samples/1_epoch_1.json": {**SAMPLE, "epoch": "x"}})
    with pytest.raises(ImportFormatError, match=r"field `epoch`: must be an integer \(member 'samples/1_epoch_1"):
        metaeval.read(bad_epoch)
    eval_text = _eval_zip(tmp_path / "c.eval", {"header.json": {"eval": "x"}, "samples/1_epoch_1.json": SAMPLE})
    with pytest.raises(ImportFormatError, match="field `eval`"):
        metaeval.read(eval_text)
    bad_json = _eval_zip(tmp_path / "d.eval", {"header.json": {"eval": SPEC}, "samples/1_epoch_1.json": b"{oops"})
    with pytest.raises(ImportFormatError, match=r"d\.eval, line 1: invalid JSON in member 'samples/1_epoch_1.json'"):
        metaeval.read(bad_json)


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.json", "samples/../../x.json", "samples\\1.json",
                                  "C:/x.json"])
def test_eval_archive_with_path_like_member_names_is_refused(tmp_path, name):
    path = _eval_zip(tmp_path / "p.eval", {"header.json": {"eval": SPEC}, "samples/1_epoch_1.json": SAMPLE,
                                           name: b"{}"})
    with pytest.raises(ImportFormatError, match="has a path-like name") as exc:
        metaeval.read(path)
    assert str(exc.value).startswith(str(path))


def test_eval_archive_with_a_nested_zip_is_refused(tmp_path):
    inner = _eval_zip(tmp_path / "inner.zip", {"a.json": {}}).read_bytes()
    path = _eval_zip(tmp_path / "n.eval", {"header.json": {"eval": SPEC}, "samples/1_epoch_1.json": inner})
    with pytest.raises(ImportFormatError, match=r"member 'samples/1_epoch_1\.json' is itself a zip archive"):
        metaeval.read(path)


def test_eval_archive_member_count_is_capped(tmp_path):
    members = {"header.json": {"eval": SPEC}} | {f"samples/{i}_epoch_1.json": {**SAMPLE, "id": i}
                                                 for i in range(30)}
    path = _eval_zip(tmp_path / "many.eval", members)
    with pytest.raises(ImportFormatError, match="the archive has 31 members, more than `max_members` = 20"):
        read_inspect(path, max_members=20)
    assert len(read_inspect(path)) == 30
    with pytest.raises(MetaevalError, match="`max_members` must be a positive integer"):
        read_inspect(path, max_members=0)


def _bomb(path, member_bytes, n_members=1):
    """A zip bomb: members of zeros (deflate packs ~1,000:1), generated here, never committed."""
    block = b"0" * 2**20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("header.json", json.dumps({"eval": SPEC}))
        for k in range(n_members):
            with zf.open(f"samples/{k}_epoch_1.json", "w", force_zip64=True) as fh:
                fh.write(b'{"id": %d, "epoch": 1, "scores": {"m": 1}, "pad": "' % k)  # valid JSON, padded
                for _ in range(member_bytes // len(block)):
                    fh.write(block)
                fh.write(b'"}')
    return path


def test_zip_bomb_is_refused_with_little_memory(tmp_path):
    """1 GB of zeros in a 1 MB archive: refused at the per-member cap, reading it in bounded chunks
    (the declared sizes are not trusted); peak memory stays near the cap, far below the bomb."""
    path = _bomb(tmp_path / "bomb.eval", 2**30)
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ImportFormatError, match=r"member 'samples/0_epoch_1.json' decompresses to more than "
                                                    r"`max_member_bytes` \(134,217,728 bytes\): a zip bomb"):
            metaeval.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    # a lower cap bounds memory lower still
    tracemalloc.start()
    try:
        with pytest.raises(ImportFormatError, match=r"more than `max_member_bytes` \(1,048,576 bytes\)"):
            read_inspect(path, max_member_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_zip_bomb_of_many_members_hits_the_total_cap(tmp_path):
    path = _bomb(tmp_path / "wide.eval", 4 * 2**20, n_members=6)
    with pytest.raises(ImportFormatError, match=r"member 'samples/\d_epoch_1.json' decompresses to more than what "
                                                r"is left of `max_total_bytes`"):
        read_inspect(path, max_member_bytes=8 * 2**20, max_total_bytes=10 * 2**20)


# ----------------------------------------------------------------------------- Parquet
def _pair_frame(**over):
    import polars as pl

    cols = {"item": ["q1", "q2", "q3"], "judge": ["j", "j", "j"], "model_a": ["x", "x", "y"],
            "model_b": ["y", "z", "z"], "outcome": ["a", "b", "tie"], "len_a": [10, 20, 30]}
    cols.update(over)
    return pl.DataFrame(cols).with_columns(pl.col("outcome").cast(metaeval.tables.OUTCOME_DTYPE),
                                           pl.lit(0, dtype=pl.Int64).alias("rep"))


FORGED = [
    ("model_a == model_b", {"model_b": ["y", "x", "z"]},
     "column `model_b` must differ from `model_a`; got 'x' in row 1"),
    ("null item", {"item": ["q1", None, "q3"]}, "column `item` must not be missing; missing in row 1"),
    ("negative length", {"len_a": [10, -500, 30]}, "column `len_a` must not be negative; got -500 in row 1"),
    ("duplicate rows", {"item": ["q1", "q1", "q3"], "model_b": ["y", "y", "z"]}, "2 rows repeat the same"),
]


@pytest.mark.parametrize(("label", "over", "fragment"), FORGED, ids=[f[0] for f in FORGED])
def test_forged_parquet_fingerprint_does_not_bypass_validation(tmp_path, label, over, fragment):
    """Metadata written by hand with the right (unkeyed) fingerprint used to make any frame read
    back as "fingerprint verified"; every row is now validated, naming file, row and column."""
    import polars as pl

    from metaeval.errors import SchemaError
    from metaeval.tables import Judgments, _canonical_schema

    frame = _pair_frame(**over).select([c for c in metaeval.tables.COLUMNS if c in _pair_frame(**over).columns])
    assert _canonical_schema(frame, "pairwise")
    forged = Judgments._trusted(frame, "pairwise")  # what an attacker can compute
    path = tmp_path / "forged.parquet"
    frame.write_parquet(path, metadata={"metaeval.kind": "pairwise", "metaeval.fingerprint": forged.fingerprint})
    with pytest.raises(SchemaError) as exc:
        metaeval.read(path)
    message = str(exc.value)
    assert str(path) in message and fragment in message, message
    assert pl.read_parquet_metadata(path)["metaeval.fingerprint"] == forged.fingerprint


def test_parquet_validation_reports_whether_content_is_what_metaeval_wrote(tmp_path):
    import polars as pl

    j = metaeval.Judgments(_pair_frame())
    path = j.write_parquet(tmp_path / "t.parquet")
    assert metaeval.read(path).provenance["validation"] == "every row validated; fingerprint verified"
    meta = pl.read_parquet_metadata(path)
    changed = j.frame.with_columns(pl.lit("other").alias("judge"))  # still valid, not what was written
    changed.write_parquet(path, metadata=meta)
    back = metaeval.read(path)
    assert back.provenance["validation"] == "every row validated; the content differs from what metaeval wrote"
    assert back.judges == ("other",)


def _alpaca_with_self_comparison(path, n_self):
    rows = [{"instruction": f"{path.stem}{k}", "generator_1": "base", "generator_2": "m", "preference": 2.0}
            for k in range(3)]
    rows += [{"instruction": f"s{k}", "generator_1": "m", "generator_2": "m", "preference": 1.5}
             for k in range(n_self)]
    path.write_text(json.dumps(rows))
    return path


def test_provenance_survives_parquet_export_and_multi_file_import(tmp_path):
    from metaeval.errors import DataDroppedWarning

    with pytest.warns(DataDroppedWarning):
        one = metaeval.read(_alpaca_with_self_comparison(tmp_path / "one.json", 2))
    (reason, count), = one.provenance["dropped"].items()
    assert count == 2
    back = metaeval.read(one.write_parquet(tmp_path / "one.parquet"))
    assert back.provenance["dropped"] == {reason: 2}
    assert back.provenance["exported_from"] == f"alpaca_eval {tmp_path / 'one.json'}"
    assert back.provenance["format"] == "parquet" and back.provenance["rows_read"] == 3
    # the same survives a mapped (generic) read of the file
    mapped = metaeval.read(tmp_path / "one.parquet", columns={"judge": "judge"})
    assert mapped.provenance["dropped"] == {reason: 2}
    with pytest.warns(DataDroppedWarning):
        both = metaeval.read([tmp_path / "one.json", _alpaca_with_self_comparison(tmp_path / "two.json", 3)])
    assert both.provenance["dropped"] == {reason: 5}
    assert both.provenance["rows_read"] == 11 and both.provenance["format"] == "alpaca_eval"
    mixed = metaeval.read([tmp_path / "one.parquet", tmp_path / "two.json"])
    assert mixed.provenance["dropped"] == {reason: 5}


# ----------------------------------------------------------------------------- line numbers
def _write(path, text):
    path.write_text(text)
    return path


def test_jsonl_schema_errors_name_the_file_line(tmp_path):
    """Blank lines and records that expand into several rows must not shift the line named."""
    from metaeval.errors import SchemaError

    generic = _write(tmp_path / "t.jsonl", '{"item": "q1", "judge": "h", "model": "x", "score": 1}\n\n\n'
                                           '{"item": null, "judge": "h", "model": "x", "score": 2}\n')
    with pytest.raises(SchemaError, match="column `item` must not be missing; missing in line 4"):
        metaeval.read(generic)
    lm = _write(tmp_path / "samples_arc_2024-05-01T12-00-00.jsonl",
                '{"doc_id": 0, "acc": 1, "acc_norm": 0}\n\n{"doc_id": 1, "acc": 1, "acc_norm": 0, "filter": [1]}\n')
    with pytest.raises(SchemaError, match=r"column `variant` must be text; got .* in 2 rows \(first: lines 3, 3\)"):
        metaeval.read(lm, format="lm_eval", model="m")
    mt = _write(tmp_path / "mt.jsonl", '{"question_id": 1, "model": "x", "score": 5, "judge": ["g", "t"]}\n'
                                       '{"question_id": 2, "model": "x", "score": 5, "judge": ["g", "t"]}\n'
                                       '{"question_id": 1, "model": "x", "score": 4, "judge": ["g", "t"]}\n')
    with pytest.raises(SchemaError, match=r"2 rows repeat the same .* \(first: lines 1, 3\)"):
        metaeval.read(mt, format="mt_bench")
    arena = _write(tmp_path / "battles.jsonl", '{"model_a": "x", "model_b": "y", "winner": "tie"}\n\n'
                                               '{"model_a": "x", "model_b": "y"}\n')
    with pytest.raises(ImportFormatError, match=r"battles\.jsonl, line 3, field `winner`: required field is missing"):
        metaeval.read(arena, format="arena")
    same = _write(tmp_path / "same.jsonl", '{"model_a": "x", "model_b": "y", "winner": "tie"}\n\n'
                                           '{"model_a": "x", "model_b": "x", "winner": "tie"}\n')
    with pytest.raises(SchemaError, match="must differ from `model_a`; got 'x' in line 3"):
        metaeval.read(same, format="arena")
    listed = _write(tmp_path / "battles.json", json.dumps([{"model_a": "x", "model_b": "y", "winner": "tie"},
                                                           {"model_a": "x", "model_b": "y", "winner": 3}]))
    with pytest.raises(ImportFormatError, match=r"field `winner`: must be one of .* got 3 \(battle 1\)"):
        metaeval.read(listed, format="arena")


def test_helm_odd_fields_are_clear_errors(tmp_path):
    run = tmp_path / "mmlu:subject=x,model=m"
    run.mkdir()
    entry = {"instance_id": "i1", "train_trial_index": 0, "stats": [{"name": {"name": "em"}, "mean": 1.0}]}
    cases = [({"perturbation": 3}, "field `perturbation`: entry 1"),
             ({"train_trial_index": "x"}, "field `train_trial_index`: entry 1: must be an integer"),
             ({"stats": ["em"]}, "field `stats`: entry 1: each stat must be an object"),
             ({"stats": [{"name": {"name": "em"}, "mean": "high"}]}, "`mean` must be a finite number; got 'high'"),
             ({"instance_id": {"a": 1}}, "field `instance_id`: entry 1: must be text")]
    for over, fragment in cases:
        path = _write(run / "per_instance_stats.json", json.dumps([entry, {**entry, **over}]))
        with pytest.raises(ImportFormatError) as exc:
            metaeval.read(path, format="helm")
        assert fragment in str(exc.value), str(exc.value)
    dup = _write(run / "per_instance_stats.json", json.dumps([entry, {**entry, "instance_id": "i2"}, entry]))
    from metaeval.errors import SchemaError

    with pytest.raises(SchemaError, match=r"first: entries 0, 2"):
        metaeval.read(dup, format="helm")


def test_csv_rows_with_fewer_fields_and_multiline_cells_name_the_line(tmp_path):
    from metaeval.errors import SchemaError

    few = _write(tmp_path / "few.csv", "item,judge,model,score\n1,a,x,3\n2,a,y\n3,a,z,1\n")
    with pytest.raises(ImportFormatError, match=r"few\.csv, line 3: 3 fields where the header has 4 \(fewer"):
        metaeval.read(few)
    # a quoted cell over two lines: the row after it starts on line 4, not 3
    multi = _write(tmp_path / "multi.csv", 'item,judge,model,score\n"q\n1",a,x,3\nq2,a,x,inf\n')
    with pytest.raises(SchemaError, match="must be finite; got inf in line 4"):
        metaeval.read(multi)
    alpaca = _write(tmp_path / "ann.csv", 'instruction,generator_1,generator_2,preference\n"two\nlines",x,y,1\n'
                                          "b,x,y,1\nc,x,y,7\n")
    with pytest.raises(ImportFormatError, match=r"field `preference`.* got 7 in 1 rows \(first: line 5\)"):
        metaeval.read(alpaca, format="alpaca_eval")
    tsv_named_csv = _write(tmp_path / "commas.tsv", "item,judge,model,score\n1,a,x,3\n")
    with pytest.raises(ImportFormatError, match=r"commas\.tsv, line 1: the header is one column .* split by commas"):
        metaeval.read(tsv_named_csv)


def test_leaderboard_csv_ragged_separators_and_lines(tmp_path):
    # a short row is missing trailing scores (spreadsheets leave trailing empty cells out); trailing empty
    # rows (",,") are no models; both are said
    few = _write(tmp_path / "few.csv", "model,a,b\nx,1,2\ny,3\nz,4,5\nw\n,,\n,\n")
    with pytest.warns(MetaevalWarning, match=r"few\.csv: 3 rows with fewer cells than the header's 3 \(lines 3, 5, 7"):
        board = metaeval.read_leaderboard(few)
    assert board.models == ("x", "y", "z", "w") and board.n_missing == 3
    assert "2 empty rows at the end of the file left out" in board.notes
    middle = _write(tmp_path / "middle.csv", "model,a,b\nx,1,2\n,,\nz,4,5\n")
    with pytest.raises(ImportFormatError, match=r"middle\.csv.*model name is missing in row 2"):
        metaeval.read_leaderboard(middle)
    many = _write(tmp_path / "many.csv", "model,a,b\nx,1,2\ny,3,4,5\n")
    with pytest.raises(ImportFormatError, match=r"many\.csv, line 3: 4 fields where the header has 3"):
        metaeval.read_leaderboard(many)
    dup = _write(tmp_path / "dup.csv", "model,a,a\nx,1,2\n")
    with pytest.raises(ImportFormatError, match=r"dup\.csv, line 1, field `a`: column 'a' appears twice"):
        metaeval.read_leaderboard(dup)
    tab = _write(tmp_path / "tab.csv", "model\ta\tb\nx\t1\t2\ny\t3\t4\n")
    assert metaeval.read_leaderboard(tab).scores.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    # ';' files from locales that write decimal commas; a multi-line name shifts the lines after it
    semi = _write(tmp_path / "semi.csv", 'model;a;b\n"x\n(new)";93,9;2\ny;3,5;4\nz;1,0;bad\n')
    with pytest.raises(ImportFormatError, match=r"semi\.csv, line 5, field `b`: cannot read 'bad'"):
        metaeval.read_leaderboard(semi)
    semi.write_text('model;a;b\n"x\n(new)";93,9;2\ny;3,5;4\n')
    board = metaeval.read_leaderboard(semi)
    assert board.scores.tolist() == [[93.9, 2.0], [3.5, 4.0]]
    assert "read decimal commas (the file is separated by ';'): a" in board.notes


# ----------------------------------------------------------------------------- frames everywhere
TABLE_FUNCTIONS = [
    "agreement.against", "agreement.brennan_prediger", "agreement.cohen_kappa", "agreement.confusion_matrix",
    "agreement.correlation", "agreement.fleiss_kappa", "agreement.gwet_ac", "agreement.icc",
    "agreement.krippendorff_alpha", "agreement.matrix", "agreement.percent_agreement", "agreement.rating_matrix",
    "agreement.reliability", "agreement.scott_pi", "agreement.two_order",
    "bias.audit", "bias.balanced_position_calibration", "bias.calibration", "bias.intra_model_bias",
    "bias.length_bias", "bias.length_controlled_win_rate", "bias.position_bias", "bias.self_consistency",
    "bias.self_preference", "bias.style_bias", "bias.wildbench_tie_rule",
    "juries.affinity_bias", "juries.evaluate_panels", "juries.intra_model_bias", "juries.peer_review",
    "juries.pool", "juries.select",
    "stats.all_pairs", "stats.compare", "stats.paired_scores", "stats.power_from_pilot",
    "stats.prompt_sensitivity", "stats.score_interval", "stats.seed_variance", "stats.win_rates",
    "rankers.rank", "report.build",
]


def _public(name):
    import importlib

    module, attr = name.rsplit(".", 1)
    mod = importlib.import_module(f"metaeval.{module}")
    if not hasattr(mod, attr):  # a function its package does not re-export
        for sub in ("api", "confusion", "graded", "paired", "multiple", "power", "variance", "intervals",
                    "win_rates", "build"):
            try:
                mod = importlib.import_module(f"metaeval.{module}.{sub}")
            except ImportError:
                continue
            if hasattr(mod, attr):
                break
    return getattr(mod, attr)


@pytest.mark.parametrize("name", TABLE_FUNCTIONS)
def test_every_table_function_takes_frames_through_the_same_door(name):
    """A polars, lazy or pandas frame goes through `tables.as_judgments` (as `metaeval.read(frame)`):
    a frame that does not fit is the same SchemaError as a file, naming `<DataFrame>` and the row."""
    import inspect

    import polars as pl

    from metaeval.errors import SchemaError

    fn = _public(name)
    required = [p for p in list(inspect.signature(fn).parameters.values())[1:]
                if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    bad = pl.DataFrame({"item": ["q1", "q2"], "judge": ["j", "j"], "model_a": ["x", "y"], "model_b": ["y", "y"],
                        "outcome": ["a", "b"]})
    pd = pytest.importorskip("pandas")
    for frame in (bad, bad.lazy(), bad.to_pandas()):
        with pytest.raises(SchemaError, match=r"in <DataFrame>: column `model_b` must differ from `model_a`; "
                                              r"got 'y' in row 2"):
            fn(frame, *["x"] * len(required))
    assert pd is not None


def test_frames_give_the_same_numbers_as_tables():
    pd = pytest.importorskip("pandas")
    import polars as pl

    from metaeval import agreement, bias, stats

    sim = metaeval.simulate.pairwise(n_models=3, n_items=60, n_humans=1, rng=3)
    j = sim.judgments
    frame = j.frame.drop("extra", strict=False)
    calls = [
        lambda t: metaeval.rank(t, "bradley_terry", n_resamples=30, rng=1).to_polars(),
        lambda t: stats.win_rates(t, n_resamples=50, rng=2).to_polars(),
        lambda t: agreement.krippendorff_alpha(t, n_resamples=30, rng=1).estimate,
        lambda t: agreement.cohen_kappa(t, j.judges[0], j.judges[1], ci="none").estimate,
        lambda t: bias.position_bias(t).table,
    ]
    for call in calls:
        expected = call(j)
        for given in (frame, frame.lazy(), frame.to_pandas()):
            got = call(given)
            if isinstance(expected, pl.DataFrame):
                assert got.equals(expected)
            else:
                assert got == expected
    assert isinstance(frame.to_pandas(), pd.DataFrame)


def test_a_pandas_object_that_is_not_a_table_is_a_metaeval_error():
    pd = pytest.importorskip("pandas")
    with pytest.raises(MetaevalError, match="a pandas Series is not a table"):
        metaeval.rank(pd.Series([1, 2]))


# ----------------------------------------------------------------------------- warnings
def test_warnings_point_at_the_callers_line_not_inside_metaeval(tmp_path):
    import warnings

    import polars as pl

    from metaeval.errors import DataDroppedWarning, MissingVerdictWarning

    path = _alpaca_with_self_comparison(tmp_path / "a.json", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metaeval.read(path)  # the warning is raised three calls deep, in metaeval/io/_common.py
    dropped = [w for w in caught if issubclass(w.category, DataDroppedWarning)]
    assert dropped and all(w.filename == __file__ for w in dropped), [(w.filename, w.lineno) for w in caught]
    # through several layers (rank -> table checks), and through a list of files
    gappy = _write(tmp_path / "g.csv", "item,judge,model_a,model_b,outcome\nq1,j,x,y,a\nq2,j,x,y,\nq3,j,y,x,b\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metaeval.read([gappy, path])
        frame = pl.DataFrame({"item": ["q1", "q2", "q3"], "judge": ["j"] * 3, "model_a": ["x"] * 3,
                              "model_b": ["y"] * 3, "outcome": ["a", "b", None]})
        metaeval.rank(frame, n_resamples=20, rng=0)  # the abstention warning comes from inside `rank`
    assert any(issubclass(w.category, MissingVerdictWarning) for w in caught)
    assert caught and all(w.filename == __file__ for w in caught if issubclass(w.category, metaeval.MetaevalWarning)), \
        [(w.category.__name__, w.filename) for w in caught]


def test_cli_warnings_show_no_internal_paths(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = _alpaca_with_self_comparison(tmp_path / "a.json", 2)
    exe = Path(sys.executable).with_name("metaeval")
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    for args in (["info", str(path)], ["import", str(path), "-o", str(tmp_path / "o.parquet")],
                 ["winrates", str(path), "--n-resamples", "20"]):
        out = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "metaeval: warning: left out 2 rows" in out.stderr
        assert "metaeval/" not in out.stderr and ".py:" not in out.stderr, out.stderr
    # a warning that no command catches goes through the same display
    import contextlib
    import io

    from metaeval.cli import _show_warning

    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        _show_warning(RuntimeWarning("overflow"), RuntimeWarning, "/x/metaeval/stats/paired.py", 12)
    assert buf.getvalue() == "metaeval: warning: RuntimeWarning: overflow\n"


def test_leaderboard_with_pandas_index_column(tmp_path):
    """pandas' to_csv writes the index as an unnamed first column (AlpacaEval's leaderboards name their
    models there): a leaderboard reads it as the model column; a table of judgments still refuses it."""
    board_csv = _write(tmp_path / "board.csv", ",win_rate,standard_error,mode\ngpt4,50.0,0.0,minimal\nyi,34.8,1.7,x\n")
    board = metaeval.read_leaderboard(board_csv)
    assert board.models == ("gpt4", "yi") and board.tasks == ("win_rate",)
    assert board.scores[:, 0].tolist() == [50.0, 34.8]
    clash = _write(tmp_path / "clash.csv", ",model,a\n0,x,1\n1,y,2\n")
    with pytest.raises(ImportFormatError, match=r"column 'model' appears twice"):
        metaeval.read_leaderboard(clash)
    judged = _write(tmp_path / "judged.csv", ",item,judge,model,score\n0,q1,h,x,3\n")
    with pytest.raises(ImportFormatError, match="column 1 of the header has no name"):
        metaeval.read(judged)


def test_leaderboard_task_names_read_as_people_write_them(tmp_path):
    """Headers scraped from a web table wrap ("Arena Elo\\n[Feb 2, 2024]", as in AlpacaEval's
    benchmarks_vs_arena.csv): task names are cleaned like model names, with a note; an output-length column
    is a description of the model, not a task."""
    wrapped = _write(tmp_path / "wrapped.csv", 'model,"Arena  Elo\n[Feb 2024]",MMLU,Output Length\nx,1200,70,900\n'
                                               'y,1100,65,1500\n')
    board = metaeval.read_leaderboard(wrapped)
    assert board.tasks == ("Arena Elo [Feb 2024]", "MMLU")
    assert "1 task name cleaned of line breaks or extra spaces" in board.notes
    assert "left out as descriptions of the models or runs, not task scores: Output Length" in board.notes
    # names that cleaning would merge are kept as written
    clash = _write(tmp_path / "clash.csv", 'model,"a\nb","a b"\nx,1,2\ny,2,1\n')
    assert metaeval.read_leaderboard(clash).tasks == ("a\nb", "a b")
