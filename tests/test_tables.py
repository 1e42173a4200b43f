"""The Judgments table: validation, conversions, labelled intermediates, Parquet round trip."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metaeval import Judgments, PairwiseCounts, Profile, SchemaError, ScoreMatrix
from metaeval.errors import DataDroppedWarning, InsufficientDataError, MetaevalError, MissingVerdictWarning
from metaeval.tables import split_kinds


def pair_table(**extra):
    data = {"item": ["q1", "q1", "q2"], "judge": ["j"] * 3, "model_a": ["x", "x", "y"],
            "model_b": ["y", "z", "z"], "outcome": ["a", "tie", "b"]}
    data.update(extra)
    return data


def test_pairwise_table_is_validated_and_typed():
    j = Judgments(pair_table())
    assert j.kind == "pairwise"
    assert j.frame.schema["outcome"] == pl.Enum(["a", "b", "tie"])
    assert j.frame["rep"].to_list() == [0, 0, 0]
    assert j.models == ("x", "y", "z")
    assert j.items == ("q1", "q2")


def test_outcome_labels_are_case_insensitive_but_nothing_else():
    j = Judgments(pair_table(outcome=["A", " Tie", "b"]))
    assert j.frame["outcome"].to_list() == ["a", "tie", "b"]


def test_unknown_columns_are_kept_in_extra():
    j = Judgments(pair_table(note=["x", None, "z"], price=[1, 2, 3]))
    assert "extra" in j.frame.columns
    assert j.frame["extra"].struct.field("note").to_list() == ["x", None, "z"]
    assert j.frame["extra"].struct.field("price").to_list() == [1, 2, 3]


def test_every_problem_is_listed_at_once():
    with pytest.raises(SchemaError) as exc:
        Judgments({"item": ["q1", None, "q3"], "judge": ["j", "j", "j"], "model_a": ["x", "x", "x"],
                   "model_b": ["y", "x", "y"], "outcome": ["a", "A>B", "b"], "p_a": [0.2, 1.5, 0.5]})
    problems = exc.value.problems
    assert len(problems) == 4
    text = str(exc.value)
    assert "column `outcome` must be one of 'a', 'b', 'tie'; got 'A>B' in row 1" in text
    assert "column `item` must not be missing; missing in row 1" in text
    assert "column `model_b` must differ from `model_a`; got 'x' in row 1" in text
    assert "column `p_a` must lie in [0, 1]; got 1.5 in row 1" in text


def test_non_numeric_and_non_finite_scores():
    with pytest.raises(SchemaError) as exc:
        Judgments({"item": ["q1", "q2", "q3"], "judge": ["h"] * 3, "model": ["x"] * 3,
                   "score": ["1", "abc", "inf"]})
    text = str(exc.value)
    assert "column `score` must be numeric; got 'abc' in row 1" in text
    assert "column `score` must be finite; got 'inf' in row 2" in text


def test_missing_verdicts_are_abstentions_kept_in_the_table():
    # pandas writes a missing score as NaN; a CSV as an empty cell or 'nan': each is an abstention
    with pytest.warns(MissingVerdictWarning, match="2 of 4 rows have no verdict"):
        j = Judgments({"item": ["q1", "q2", "q3", "q4"], "judge": ["h"] * 4, "model": ["x"] * 4,
                       "score": [1.0, float("nan"), None, 2.0],
                       "missing_reason": [None, "unparseable", "timeout", None]})
    assert len(j) == 2 and j.n_abstentions == 2
    assert j.abstentions["item"].to_list() == ["q2", "q3"]
    assert j.abstentions["missing_reason"].to_list() == ["unparseable", "timeout"]
    info = dict(j.info().rows)
    assert info["abstentions (no verdict)"] == "2" and info["abstentions by judge"] == "h 2"
    # a pairwise row without an outcome is an abstention; with `p_a` but no outcome it is an error
    with pytest.warns(MissingVerdictWarning):
        p = Judgments({"item": ["q1", "q2"], "judge": ["g", "g"], "model_a": ["x", "x"], "model_b": ["y", "y"],
                       "outcome": ["a", None]})
    assert p.n_abstentions == 1 and p.pairwise_counts().total == 1
    with pytest.raises(SchemaError, match="`outcome` must be given where `p_a` is"):
        Judgments({"item": ["q1"], "judge": ["g"], "model_a": ["x"], "model_b": ["y"], "outcome": [None],
                   "p_a": [0.3]})
    with pytest.raises(SchemaError, match="every one of the 1 rows lacks a verdict"):
        Judgments({"item": ["q1"], "judge": ["g"], "model_a": ["x"], "model_b": ["y"], "outcome": [None]})
    # an abstention and a verdict by the same judge on the same unit are a duplicate
    with pytest.raises(SchemaError, match="repeat the same"):
        Judgments({"item": ["q1", "q1"], "judge": ["g", "g"], "model_a": ["x", "x"], "model_b": ["y", "y"],
                   "outcome": ["a", None]})


def test_abstentions_survive_filter_fingerprint_and_parquet(tmp_path):
    with pytest.warns(MissingVerdictWarning):
        j = Judgments({"item": ["q1", "q2", "q3"], "judge": ["g", "g", "h"], "model_a": ["x"] * 3,
                       "model_b": ["y"] * 3, "outcome": ["a", None, None]})
    with pytest.warns(MissingVerdictWarning):
        j2 = Judgments({"item": ["q1", "q2", "q3"], "judge": ["g", "g", "h"], "model_a": ["x"] * 3,
                        "model_b": ["y"] * 3, "outcome": ["a", None, "b"]})
    assert j.fingerprint != j2.fingerprint
    assert j.filter(judge="g").n_abstentions == 1
    path = j.write_parquet(tmp_path / "t.parquet")
    from metaeval.io import read

    with pytest.warns(MissingVerdictWarning):
        back = read(path)
    assert back.n_abstentions == 2 and len(back) == 1 and back.fingerprint == j.fingerprint


def test_duplicates_need_rep():
    data = {"item": ["q1", "q1"], "judge": ["h", "h"], "model": ["x", "x"], "score": [1.0, 2.0]}
    with pytest.raises(SchemaError, match=r"2 rows repeat the same \(item, judge, model, rep\)"):
        Judgments(data)
    j = Judgments({**data, "rep": [0, 1]})
    assert len(j) == 2


def test_mixed_kinds_need_to_be_said():
    data = {"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", None], "score": [3.0, None],
            "model_a": [None, "x"], "model_b": [None, "y"], "outcome": [None, "a"]}
    with pytest.raises(SchemaError, match="mixes 1 pointwise rows"):
        Judgments(data)
    with pytest.warns(DataDroppedWarning, match="dropped 1 rows"):
        j = Judgments(data, kind="pairwise")
    assert j.kind == "pairwise" and len(j) == 1
    point, pair = split_kinds(data)
    assert len(point) == 1 and len(pair) == 1


def test_missing_required_columns_are_named():
    with pytest.raises(SchemaError, match="required column `judge` is missing"):
        Judgments({"item": ["q"], "model_a": ["x"], "model_b": ["y"], "outcome": ["a"]})
    with pytest.raises(SchemaError, match="needs a `score` or a `label`"):
        Judgments({"item": ["q"], "judge": ["h"], "model": ["x"]})
    with pytest.raises(SchemaError, match="no rows"):
        Judgments({"item": [], "judge": [], "model": [], "score": []})


def test_negative_lengths_and_costs_are_rejected():
    with pytest.raises(SchemaError) as exc:
        Judgments(pair_table(len_a=[1, -2, 3], cost=[0.1, 0.2, -1.0]))
    assert "column `len_a` must not be negative" in str(exc.value)
    assert "column `cost` must be finite and not negative" in str(exc.value)


def test_pairwise_counts_match_a_plain_loop():
    j = Judgments(pair_table())
    pc = j.pairwise_counts()
    assert pc.models == ("x", "y", "z")
    np.testing.assert_array_equal(pc.wins, [[0, 1, 0], [0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(pc.ties, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.sampled_from(["a", "b", "tie"])),
                min_size=1, max_size=40))
def test_pairwise_counts_property(rows):
    rows = [(a, b, o) for a, b, o in rows if a != b]
    if not rows:
        return
    names = [f"m{k}" for k in range(5)]
    j = Judgments({"item": [f"q{i}" for i in range(len(rows))], "judge": ["j"] * len(rows),
                   "model_a": [names[a] for a, _, _ in rows], "model_b": [names[b] for _, b, _ in rows],
                   "outcome": [o for _, _, o in rows]})
    pc = j.pairwise_counts()
    idx = {m: i for i, m in enumerate(pc.models)}
    wins = np.zeros((len(pc.models),) * 2)
    ties = np.zeros_like(wins)
    for a, b, o in rows:
        ia, ib = idx[names[a]], idx[names[b]]
        if o == "a":
            wins[ia, ib] += 1
        elif o == "b":
            wins[ib, ia] += 1
        else:
            ties[ia, ib] += 1
            ties[ib, ia] += 1
    np.testing.assert_array_equal(pc.wins, wins)
    np.testing.assert_array_equal(pc.ties, ties)
    # Swapping a and b with the outcome flipped changes nothing.
    flip = {"a": "b", "b": "a", "tie": "tie"}
    js = Judgments({"item": [f"q{i}" for i in range(len(rows))], "judge": ["j"] * len(rows),
                    "model_a": [names[b] for _, b, _ in rows], "model_b": [names[a] for a, _, _ in rows],
                    "outcome": [flip[o] for _, _, o in rows]})
    np.testing.assert_array_equal(js.pairwise_counts().wins, pc.wins)
    # Relabelling models permutes the matrix.
    rename = {n: f"z{4 - k}" for k, n in enumerate(names)}
    jr = Judgments(j.frame.with_columns(pl.col("model_a").replace(rename), pl.col("model_b").replace(rename)))
    pr = jr.pairwise_counts()
    perm = [pr.models.index(rename[m]) for m in pc.models]
    np.testing.assert_array_equal(pr.wins[np.ix_(perm, perm)], pc.wins)


def test_weighted_counts_use_probabilities():
    j = Judgments(pair_table(p_a=[0.8, 0.5, 0.1]))
    pc = j.pairwise_counts(weighted=True)
    np.testing.assert_allclose(pc.wins, [[0, 0.8, 0.5], [0.2, 0, 0.1], [0.5, 0.9, 0]])
    assert pc.ties.sum() == 0


def test_to_pairwise_from_scores():
    j = Judgments({"item": ["q1"] * 3 + ["q2"] * 2, "judge": ["h"] * 5, "model": ["x", "y", "z", "x", "y"],
                   "score": [3.0, 1.0, 3.0, 2.0, 2.4]})
    p = j.to_pairwise(tie_tolerance=0.5)
    rows = p.frame.select("item", "model_a", "model_b", "outcome").rows()
    assert rows == [("q1", "x", "y", "a"), ("q1", "x", "z", "tie"), ("q1", "y", "z", "b"), ("q2", "x", "y", "tie")]
    low = j.to_pairwise(higher_is_better=False)
    assert low.frame["outcome"].to_list()[:3] == ["b", "tie", "a"]
    with pytest.raises(MetaevalError, match="already pairwise"):
        p.to_pairwise()


def test_to_pairwise_needs_pairs():
    j = Judgments({"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", "y"], "score": [1.0, 2.0]})
    with pytest.raises(InsufficientDataError, match="nothing to pair"):
        j.to_pairwise()


def test_score_matrix_and_profile():
    j = Judgments({"item": ["q1", "q2", "q1", "q2"], "judge": ["h"] * 4, "model": ["x", "x", "y", "y"],
                   "score": [1.0, 3.0, 4.0, 4.0], "task": ["t1", "t2", "t1", "t1"]})
    sm = j.score_matrix()
    assert sm.models == ("x", "y") and sm.tasks == ("t1", "t2")
    np.testing.assert_array_equal(sm.scores, [[1.0, 3.0], [4.0, np.nan]])
    prof = sm.to_profile()
    np.testing.assert_array_equal(prof.ranks, [[2, 1], [1, np.nan]])
    assert sm.dropna().models == ("x",)
    assert sm.dropna(how="tasks").tasks == ("t1",)


def test_score_matrix_rejects_bad_shapes():
    with pytest.raises(MetaevalError, match="must be 2 x 2"):
        ScoreMatrix(("a", "b"), ("t", "u"), np.zeros((2, 3)))
    with pytest.raises(MetaevalError, match="must be distinct"):
        ScoreMatrix(("a", "a"), ("t",), np.zeros((2, 1)))
    with pytest.raises(MetaevalError, match="finite or nan"):
        ScoreMatrix(("a",), ("t",), np.array([[np.inf]]))


def test_pairwise_counts_validation_and_components():
    with pytest.raises(MetaevalError, match="zero diagonal"):
        PairwiseCounts(("a", "b"), np.eye(2))
    with pytest.raises(MetaevalError, match="non-negative"):
        PairwiseCounts(("a", "b"), np.array([[0, -1], [1, 0]]))
    pc = PairwiseCounts(("a", "b", "c"), np.array([[0, 2, 0], [1, 0, 0], [0, 0, 0]]), np.zeros((3, 3)))
    assert not pc.is_connected(strong=False)
    assert sorted(pc.components(strong=False)) == [("a", "b"), ("c",)]
    # a beats c but c never beats or ties a: weakly but not strongly connected.
    pc2 = PairwiseCounts(("a", "b", "c"), np.array([[0, 2, 1], [1, 0, 0], [0, 0, 0]]))
    assert pc2.is_connected(strong=False) and not pc2.is_connected()
    assert pc2.to_polars().height == 2
    assert np.isnan(pc2.win_rates()[1, 2])


def test_profile_from_orders():
    p = Profile.from_orders([["x", "y"], ["z", "x", "y"]], weights=[2, 1])
    assert p.candidates == ("x", "y", "z")
    np.testing.assert_array_equal(p.ranks, [[1, 2, np.nan], [2, 3, 1]])
    assert p.to_polars().height == 6
    with pytest.raises(MetaevalError, match="names a candidate twice"):
        Profile.from_orders([["x", "x"]])


def test_parquet_round_trip_keeps_every_column(tmp_path):
    j = Judgments(pair_table(shown_first=["a", "b", None], len_a=[10, 20, 30], len_b=[5, 5, 5],
                             note=["n1", None, "n3"], nested=[{"k": 1}, {"k": 2}, {"k": 3}]))
    path = j.write_parquet(tmp_path / "t.parquet")
    import metaeval

    back = metaeval.read(path)
    assert_frame_equal(back.frame, j.frame)
    assert back.frame["extra"].struct.field("nested").struct.field("k").to_list() == [1, 2, 3]


def test_atomic_write_leaves_target_untouched_on_failure(tmp_path):
    from metaeval._files import atomic_path

    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_filter_and_repr():
    j = Judgments(pair_table())
    assert len(j.filter(item="q1")) == 2
    assert len(j.filter(pl.col("outcome") == "b")) == 1
    with pytest.raises(InsufficientDataError):
        j.filter(item="nope")
    with pytest.raises(MetaevalError, match="no such column"):
        j.filter(color="red")
    assert "pairwise: 3 rows" in repr(j)


def test_fingerprint_depends_on_content():
    a = Judgments(pair_table())
    b = Judgments(pair_table(outcome=["a", "tie", "a"]))
    assert a.fingerprint == Judgments(pair_table()).fingerprint
    assert a.fingerprint != b.fingerprint


def test_info_reports_missing_values():
    j = Judgments(pair_table(shown_first=["a", None, None]))
    rows = dict(j.info().rows)
    assert rows["missing `shown_first`"] == "2"
    assert rows["outcome tie"] == "1"


def test_metaeval_parquet_is_verified_by_fingerprint_and_tampering_is_caught(tmp_path):
    import metaeval

    j = Judgments(pair_table(len_a=[1, 2, 3]))
    path = j.write_parquet(tmp_path / "t.parquet")
    meta = pl.read_parquet_metadata(path)
    assert meta["metaeval.kind"] == "pairwise" and meta["metaeval.fingerprint"] == j.fingerprint
    back = metaeval.read(path)
    assert back.provenance["validation"] == "every row validated; fingerprint verified"
    assert_frame_equal(back.frame, j.frame)
    # Change a row but keep the metadata: the fingerprint no longer matches, every row is checked.
    tampered = back.frame.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.col("model_a"))
                                       .otherwise(pl.col("model_b")).alias("model_b"))
    tampered.write_parquet(path, metadata={k: v for k, v in meta.items() if k.startswith("metaeval.")})
    with pytest.raises(SchemaError, match="must differ from `model_a`"):
        metaeval.read(path)


def test_fingerprint_depends_on_row_order():
    a = Judgments(pair_table())
    b = Judgments(a.frame.reverse())
    assert a.fingerprint != b.fingerprint


def test_na_text_in_numeric_columns_is_missing():
    j = Judgments({"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", "x"], "score": ["3", " NA "],
                   "label": [None, "bad"]})
    assert j.frame["score"].to_list() == [3.0, None]
    with pytest.warns(MissingVerdictWarning):
        k = Judgments({"item": ["q1", "q2"], "judge": ["h", "h"], "model": ["x", "x"], "score": ["3", "NA"]})
    assert k.n_abstentions == 1 and k.abstentions["item"].to_list() == ["q2"]


def test_the_module_documents_every_column_with_its_kind_and_requirement():
    """The column table of `metaeval.tables` (the data model's reference) lists every canonical column, the
    kinds that use it and whether it is required — so the documentation cannot drift from COLUMNS."""
    import re

    import metaeval.tables as tables

    rows = {}
    for line in tables.__doc__.splitlines():
        m = re.match(r"^``(\w+)``( \*)?\s+\S+\s+(both|pointwise|pairwise)\s", line)
        if m:
            rows[m.group(1)] = (bool(m.group(2)), m.group(3))
    assert set(rows) == {*tables.COLUMNS, "extra"}
    for name, spec in tables.COLUMNS.items():
        kind = "both" if len(spec.kinds) == 2 else spec.kinds[0]
        assert rows[name] == (spec.required, kind), name
    assert "DESIGN.md" not in tables.__doc__ and "DESIGN.md" not in (Judgments.__doc__ or "")


# the names `from metaeval.tables import X` gave when `metaeval.tables` was one module (issue 21 made it a package:
# schema, table, intermediates, conversions); each must still come from there, as the very object of its new module
_FORMER_NAMES = {
    "schema": ["COLUMNS", "OUTCOMES", "OUTCOME_DTYPE", "SIDE_DTYPE", "Kind", "RowNumbers", "_canonical_schema"],
    "table": ["Judgments", "TableInfo", "as_judgments", "frame_input", "split_kinds"],
    "intermediates": ["Battles", "PairwiseCounts", "Profile", "ScoreMatrix"],
    "conversions": ["ABSTAINED", "MISSING_POLICIES", "UNIT_KEYS", "auto_reference", "broadcast_units", "canonical",
                    "check_missing", "column_or_extra", "common_baseline", "majority", "model_codes", "outcome_score",
                    "preference", "reference_members"],
}


@pytest.mark.parametrize("module", sorted(_FORMER_NAMES))
def test_the_package_re_exports_every_former_name(module):
    import importlib

    import metaeval.tables as tables

    sub = importlib.import_module(f"metaeval.tables.{module}")
    for name in _FORMER_NAMES[module]:
        assert getattr(tables, name) is getattr(sub, name), name
    assert set(tables.__all__) <= {n for names in _FORMER_NAMES.values() for n in names}


def test_tables_and_intermediates_pickle_and_old_pickles_resolve():
    """Pickles (and Ray, which ships objects by pickling them) name a class by module and name: a pickle made
    before the split says `metaeval.tables.Judgments`, which must still resolve to the class."""
    import pickle

    import metaeval.tables as tables
    from metaeval import simulate

    j = simulate.pairwise(n_models=3, n_items=6, rng=1).judgments
    objects = [j, j.pairwise_counts(), j.battles("item"), j.info(),
               ScoreMatrix(("x", "y"), ("t1", "t2"), np.array([[1.0, np.nan], [2.0, 0.5]]), [True, False]),
               Profile.from_orders([["x", "y"], ["y", "x"]], weights=[2.0, 1.0])]
    back = pickle.loads(pickle.dumps(objects))
    assert back[0].fingerprint == j.fingerprint and back[0].kind == j.kind
    assert_frame_equal(back[0].frame, j.frame)
    np.testing.assert_array_equal(back[1].wins, objects[1].wins)
    np.testing.assert_array_equal(back[2].oc, objects[2].oc)
    np.testing.assert_array_equal(back[2].cluster, objects[2].cluster)
    assert back[3].rows == objects[3].rows
    np.testing.assert_array_equal(back[4].scores, objects[4].scores)
    np.testing.assert_array_equal(back[5].weights, objects[5].weights)
    # a pickle written before the split: the same bytes with the class's old home, `metaeval.tables`
    for obj in objects:
        cls = type(obj)
        data = pickle.dumps(obj, protocol=2)  # protocol 2 names the class as text: module, newline, name
        old = data.replace(f"{cls.__module__}\n{cls.__qualname__}".encode(),
                           f"metaeval.tables\n{cls.__qualname__}".encode())
        assert old != data and b"metaeval.tables\n" in old
        assert type(pickle.loads(old)) is cls is getattr(tables, cls.__qualname__)
