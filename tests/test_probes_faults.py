"""Judges that misbehave in the probe runner (issue 20): answers that are not verdicts are
abstentions (never ties) counted in the report; failing requests are isolated, retried with
backoff and recorded; the cache key is the judge's identity; the cache survives torn and damaged
lines; concurrent runs on one cache folder share the work."""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import multiprocessing as mp
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from metaeval import probes
from metaeval.cli import cli
from metaeval.errors import DataDroppedWarning, EstimationWarning, MetaevalError
from metaeval.probes.cache import Cache
from metaeval.probes.runner import check_answer
from metaeval.probes.study import build

PROBES = ["order_swap", "authority", "negation"]


def make_items(n: int = 12) -> list[dict]:
    return [{"id": f"q{i}", "prompt": f"Question {i}: what is the capital of France?",
             "response_a": "Paris is the capital of France. " * (1 + i % 3) + f"It has {i + 2} million people.",
             "response_b": f"The capital is Lyon. It has {i + 5} people.", "model_a": "m1", "model_b": "m2"}
            for i in range(n)]


def u(text: str) -> float:
    """A uniform number in [0, 1) fixed by the text."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 16**8


def fair(r: probes.Request) -> float:
    """Order-invariant: P(first) + P(second) = 1 for the two orders of a pair."""
    a, b = (len(x) for x in r.responses)
    return 1 / (1 + math.exp(-(a - b) / 20))


def bad_kind(text: str) -> str | None:
    x = u(text)
    return "nan" if x < 0.08 else "infinite" if x < 0.12 else "out_of_range" if x < 0.2 else \
        "not_a_number" if x < 0.25 else None


def misbehaving(r: probes.Request):
    kind = bad_kind(r.text)
    if kind == "nan":
        return float("nan")
    if kind == "infinite":
        return -math.inf if u(r.text + "s") < 0.5 else math.inf
    if kind == "out_of_range":
        return 1.7 if u(r.text + "s") < 0.5 else -0.2
    if kind == "not_a_number":
        return "A"
    return fair(r)


# --------------------------------------------------------- answers that are not verdicts
@pytest.mark.parametrize(("answer", "reason"), [(float("nan"), "nan"), (math.inf, "infinite"), (-math.inf, "infinite"),
                                                (1.7, "out_of_range"), (-1e-9, "out_of_range"), ("0.7", "not_a_number"),
                                                (None, "not_a_number"), (0.0, None), (1.0, None), (0.5, None)])
def test_each_answer_is_checked_against_its_request(answer, reason):
    pair = probes.Request("pair", "t", ("x", "y"), "q")
    value, why, detail = check_answer(pair, probes.runner.as_answer(answer))
    assert why == reason
    assert (why is None) == np.isfinite(value)
    if why is not None:
        assert detail


def test_a_score_outside_its_scale_is_out_of_range():
    score = probes.Request("score", "t", ("x",), "q", scale=(1, 5))
    assert check_answer(score, 7.0)[1] == "out_of_range" and "[1, 5]" in check_answer(score, 7.0)[2]
    assert check_answer(score, 0.5)[1] == "out_of_range"
    assert check_answer(score, 3.5) == (3.5, None, None)
    ten = probes.Request("score", "t", ("x",), "q", scale=(0, 10))
    assert check_answer(ten, 7.0) == (7.0, None, None)


def test_nan_inf_out_of_range_and_strings_are_abstentions_never_ties():
    items = make_items(40)
    with pytest.warns(DataDroppedWarning, match="abstentions, left out of every rate") as rec:
        rep = probes.run(items, probes.CallableJudge(misbehaving, name="misbehaving"), PROBES, progress=False)
    msg = str(next(w.message for w in rec if issubclass(w.category, DataDroppedWarning)))
    assert "nan" in msg and "out_of_range" in msg and "not_a_number" in msg
    cells = rep.run.cells
    bad = cells.filter(pl.col("abstained").is_not_null())
    assert bad.height > 0
    assert bad["outcome"].null_count() == bad.height and bad["p_a"].is_nan().all()  # never a tie
    assert cells.filter(pl.col("abstained").is_null())["outcome"].null_count() == 0
    # the counts per reason are exactly those the judge gave (cells and requests are one to one)
    plist = [probes.PERTURBATIONS[p] for p in ["repeat", *PROBES]]
    requests, _, _ = build(items, plist, mode=None, scale=(1, 5), seed=0)
    expected = Counter(k for k in (bad_kind(r.text) for r in requests) if k)
    assert set(expected) == {"nan", "infinite", "out_of_range", "not_a_number"}
    got = dict(rep.abstentions.group_by("reason").agg(pl.col("n").sum()).iter_rows())
    assert got == dict(expected)
    # the judge is fair to both orders: with abstentions left out, no position bias
    row = rep.table.filter(pl.col("probe") == "order_swap").row(0, named=True)
    assert row["rate"] == 0 and not row["flagged"]
    orig = cells.filter(pl.col("probe") == "original")
    assert row["n_abstained"] == orig["abstained"].is_not_null().sum()
    assert row["n_valid"] + row["n_abstained"] == orig.height
    assert row["n_items"] + row["abstained_items"] == 40 and 0 < row["n_items"] < 40
    # every rate uses valid verdicts only, and says how many
    for r in rep.table.iter_rows(named=True):
        own = cells.filter(pl.col("probe") == ("original" if r["probe"] == "order_swap" else r["probe"]))
        assert r["n_valid"] == own["abstained"].is_null().sum(), r["probe"]
    text = rep.summary()
    assert "abstentions" in text and "n_abstained" in text and "not_a_number" in text
    assert any(f.startswith("abstentions:") for f in rep.findings)
    d = rep.to_dict()
    assert {a["reason"] for a in d["abstentions"]} == set(expected)
    j = rep.judgments()
    assert j.abstentions.height == bad.height
    assert j.abstentions["missing_reason"].str.contains("nan|infinite|out_of_range|not_a_number").all()


def test_pointwise_scores_outside_the_scale_are_abstentions():
    items = [{"id": f"p{i}", "prompt": "Describe Paris.", "response": f"Paris is large. It has {i + 2} parks."}
             for i in range(30)]

    def scorer(r: probes.Request):
        x = u(r.text)
        return 7 if x < 0.1 else 0.5 if x < 0.2 else "4" if x < 0.3 else 4.0

    with pytest.warns(DataDroppedWarning):
        rep = probes.run(items, probes.CallableJudge(scorer, name="scorer"), ["authority"], progress=False)
    reasons = set(rep.abstentions["reason"])
    assert reasons == {"out_of_range", "not_a_number"}
    assert "scale 1-5" in rep.abstentions.filter(pl.col("reason") == "out_of_range")["example"][0]
    row = rep.table.filter(pl.col("probe") == "authority").row(0, named=True)
    assert row["rate"] == 0  # the valid verdicts never move (always 4)


def test_a_judge_with_no_valid_answer_gives_nan_rates_with_warnings():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rep = probes.run(make_items(10), probes.CallableJudge(lambda r: float("nan"), name="mute"), PROBES,
                         progress=False)
    kinds = {w.category for w in rec}
    assert DataDroppedWarning in kinds and EstimationWarning in kinds
    assert any("no usable verdict" in str(w.message) for w in rec)
    t = rep.table.filter(pl.col("probe") != "repeat")
    assert t["rate"].is_nan().all() and not t["flagged"].any() and (t["n_items"] == 0).all()


def test_cli_probe_shows_abstentions(tmp_path, monkeypatch):
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(x) for x in make_items(20)))
    (tmp_path / "nanjudge.py").write_text(
        "import hashlib\n"
        "def judge(r):\n"
        "    if int(hashlib.sha256(r.text.encode()).hexdigest()[:2], 16) < 80:\n"
        "        return float('nan')\n"
        "    a, b = (len(x) for x in r.responses)\n"
        "    return a / (a + b)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    res = CliRunner().invoke(cli, ["probe", str(items), "--judge", "python:nanjudge:judge", "--probes", "order_swap",
                                   "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["abstentions"] and {a["reason"] for a in data["abstentions"]} == {"nan"}
    assert any("abstentions" in w for w in data["warnings"])
    row = next(r for r in data["rows"] if r["probe"] == "order_swap")
    assert row["rate"] == 0 and row["flagged"] is False and row["n_abstained"] > 0
    text = CliRunner().invoke(cli, ["probe", str(items), "--judge", "python:nanjudge:judge", "--probes",
                                    "order_swap"])
    assert text.exit_code == 0 and "abstentions: answers that are not verdicts" in text.output
    assert "metaeval: warning:" in text.output


# ------------------------------------------------------------------- failing requests
class Flaky:
    """Fails a share of calls at random (seeded)."""

    def __init__(self, share: float, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.share, self.calls = share, 0

    def __call__(self, r: probes.Request) -> float:
        self.calls += 1
        if self.rng.random() < self.share:
            raise ConnectionError("the judge dropped the connection")
        return fair(r)


def test_a_judge_failing_5_percent_of_calls_finishes_with_the_default_batch():
    flaky = Flaky(0.05, seed=3)
    judge = probes.CallableJudge(flaky, name="flaky")
    assert judge.batch_size == 64
    slept: list[float] = []
    run = probes.collect(make_items(60), judge, progress=False, retry=probes.Retry(sleep=slept.append))
    ref = probes.collect(make_items(60), probes.CallableJudge(fair, name="fair"), progress=False)
    assert run.cells["abstained"].null_count() == run.cells.height  # every request answered in the end
    assert run.cells["value"].to_list() == ref.cells["value"].to_list()
    assert slept and flaky.calls < 1.1 * run.n_requests  # retries only for the failed ones
    assert all(0.25 <= s < 0.25 * 1.25 for s in slept[:1])


def test_retry_waits_grow_exponentially_with_seeded_jitter():
    r = probes.Retry(max_attempts=5, backoff=0.5, factor=2, jitter=0.25, max_backoff=3)
    d = r.delays(np.random.default_rng(0))
    assert d == r.delays(np.random.default_rng(0))
    assert len(d) == 4
    for k, (delay, base) in enumerate(zip(d, [0.5, 1, 2, 3], strict=True)):
        assert base <= delay < base * 1.25, k
    for bad in ({"max_attempts": 0}, {"backoff": -1}, {"jitter": float("nan")}, {"max_consecutive_failures": 1.5}):
        with pytest.raises(MetaevalError, match=f"`{next(iter(bad))}`"):
            probes.Retry(**bad)


def test_one_failing_request_does_not_take_its_batch_down():
    seen: list[int] = []

    def batched(reqs):  # raises for the whole batch when it holds the poisoned request
        seen.append(len(reqs))
        if any("Fact 7" in r.text or "7 million" in r.text for r in reqs):
            raise ValueError("cannot parse request " + "x" * 500)
        return [fair(r) for r in reqs]

    slept: list[float] = []
    with pytest.warns(DataDroppedWarning, match=r"error .*ValueError: cannot parse request") as rec:
        run = probes.collect(make_items(12), probes.CallableJudge(batched, name="b", batched=True, batch_size=16),
                             PROBES, progress=False, retry=probes.Retry(max_attempts=3, sleep=slept.append))
    msg = str(rec[0].message)
    assert len(msg) < 800  # the exception's message is clipped
    bad = run.cells.filter(pl.col("abstained").is_not_null())
    assert set(bad["item"]) == {"q5"} and set(bad["abstained"]) == {"error"}
    assert bad["detail"].str.len_chars().max() <= 205
    good = run.cells.filter(pl.col("abstained").is_null())
    assert good.height == run.cells.height - bad.height and (good["item"] != "q5").all()
    # 3 attempts: 2 growing waits per batch that held a failing request (retried together)
    assert slept and len(slept) % 2 == 0
    assert all(0.25 <= a < 0.3125 and 0.5 <= b < 0.625 for a, b in zip(slept[::2], slept[1::2], strict=True))


def test_an_always_failing_judge_finishes_with_every_request_an_abstention_and_a_warning():
    calls = []

    def down(r):
        calls.append(1)
        raise TimeoutError("judge server unreachable")

    slept: list[float] = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rep = probes.run(make_items(30), probes.CallableJudge(down, name="down", batch_size=8), PROBES,
                         progress=False, retry=probes.Retry(max_consecutive_failures=8, sleep=slept.append))
    msgs = [str(w.message) for w in rec if issubclass(w.category, DataDroppedWarning)]
    assert len(msgs) == 1 and "no usable verdict" in msgs[0] and "TimeoutError: judge server unreachable" in msgs[0]
    cells = rep.run.cells
    assert cells["abstained"].null_count() == 0
    assert set(cells["abstained"]) == {"error", "not_sent"}
    assert len(calls) == 8 * 5  # one batch of 8, tried 5 times; then the judge is taken to be down
    assert len(slept) == 4
    assert rep.table["rate"].is_nan().all()
    assert set(rep.abstentions["reason"]) == {"error", "not_sent"}


def test_failures_are_not_cached_and_are_tried_again_on_the_next_run(tmp_path):
    state = {"up": False}

    def sometimes(r):
        if not state["up"] and "Fact" not in r.text and u(r.text) < 0.3:
            raise OSError("busy")
        return fair(r)

    judge = probes.CallableJudge(sometimes, name="s")
    with pytest.warns(DataDroppedWarning):
        first = probes.collect(make_items(10), judge, PROBES, cache=tmp_path, progress=False,
                               retry=probes.Retry(max_attempts=1))
    n_failed = first.cells["abstained"].drop_nulls().len()
    assert n_failed > 0
    state["up"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataDroppedWarning)
        second = probes.collect(make_items(10), judge, PROBES, cache=tmp_path, progress=False)
    assert second.cells["abstained"].null_count() == second.cells.height
    assert 0 < second.n_calls <= n_failed


def test_a_setup_error_stops_the_run():
    def needs_setup(r):
        raise probes.JudgeSetupError("the judge needs `reference` on every item")

    with pytest.raises(probes.JudgeSetupError, match="reference"):
        probes.collect(make_items(3), probes.CallableJudge(needs_setup), PROBES, progress=False)


# ----------------------------------------------------------------------- identity
def _module(folder: Path, name: str, body: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(body)
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_same_function_name_in_two_modules_does_not_share_the_cache(tmp_path):
    a = _module(tmp_path / "a", "judges_a", "def judge(r):\n    return float('nan')\n")
    b = _module(tmp_path / "b", "judges_b", "def judge(r):\n    return 0.9\n")
    ja, jb = probes.CallableJudge(a.judge, name="judge"), probes.CallableJudge(b.judge, name="judge")
    assert ja.fingerprint() != jb.fingerprint()
    cache = tmp_path / "cache"
    with pytest.warns(DataDroppedWarning):
        probes.collect(make_items(5), ja, PROBES, cache=cache, progress=False)
    run = probes.collect(make_items(5), jb, PROBES, cache=cache, progress=False)
    assert run.cells["abstained"].null_count() == run.cells.height and run.n_calls > 0  # no stale NaN reused
    assert (run.cells.filter(pl.col("order") == "a")["outcome"] == "a").all()


def test_editing_a_judge_invalidates_its_cache(tmp_path):
    folder = tmp_path / "m"
    v1 = _module(folder, "myjudge", "def judge(r):\n    return 0.9\n")
    j1 = probes.CallableJudge(v1.judge, name="judge")
    cache = tmp_path / "cache"
    probes.collect(make_items(4), j1, PROBES, cache=cache, progress=False)
    again = probes.collect(make_items(4), probes.CallableJudge(v1.judge, name="renamed"), PROBES, cache=cache,
                           progress=False)
    assert again.n_calls == 0  # the same function: everything from the cache (the name only labels it)
    v2 = _module(folder, "myjudge", "def judge(r):\n    return 0.1\n")
    j2 = probes.CallableJudge(v2.judge, name="judge")
    assert j2.fingerprint() != j1.fingerprint()
    run = probes.collect(make_items(4), j2, PROBES, cache=cache, progress=False)
    assert run.n_calls > 0 and (run.cells.filter(pl.col("order") == "a")["outcome"] == "b").all()
    # a helper of the module, a constant it reads and a value it closes over are part of the identity
    h1 = _module(folder, "helped", "K = 1\ndef helper(x):\n    return x\ndef judge(r):\n    return helper(0.5) * K\n")
    h2 = _module(folder, "helped",
                 "K = 1\ndef helper(x):\n    return 1 - x\ndef judge(r):\n    return helper(0.5) * K\n")
    h3 = _module(folder, "helped", "K = 2\ndef helper(x):\n    return x\ndef judge(r):\n    return helper(0.5) * K\n")
    ids = {probes.function_identity(m.judge) for m in (h1, h2, h3)}
    assert len(ids) == 3

    def closing(c):
        return lambda r: c

    assert probes.function_identity(closing(0.1)) != probes.function_identity(closing(0.9))
    assert probes.function_identity(closing(0.1)) == probes.function_identity(closing(0.1))
    state = {"n": 0}

    def counts(r):
        state["n"] += 1
        return 0.5

    before = probes.function_identity(counts)
    counts(None)
    assert probes.function_identity(counts) == before  # mutable state is not identity


def test_a_function_identity_is_the_same_in_another_process(tmp_path):
    body = "import math\nLABELS = frozenset({'A', 'B', 'C'})\ndef judge(r):\n    return math.cos(0) / len(LABELS)\n"
    here = probes.function_identity(_module(tmp_path, "stable_judge", body).judge)
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import stable_judge; from metaeval.probes import "
            "function_identity as f; print(f(stable_judge.judge))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.strip()
    assert there == here and here.startswith("stable_judge.judge:")


def test_request_keys_carry_the_prompt_builder_version(monkeypatch):
    r = probes.Request("pair", "t", ("x", "y"), "q")
    k = r.key("judge")
    monkeypatch.setattr(probes.judges, "PROMPT_BUILDER_VERSION", probes.PROMPT_BUILDER_VERSION + 1)
    assert r.key("judge") != k


def test_model_judges_are_identified_by_their_files_and_settings(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    p1 = probes.build_tiny_judge(tmp_path / "one", seed=0)
    p2 = probes.build_tiny_judge(tmp_path / "two", seed=1)
    f1 = probes.CausalLMJudge.from_pretrained(p1, device="cpu", name="tiny").fingerprint()
    assert f1 == probes.CausalLMJudge.from_pretrained(p1, device="cpu", name="other").fingerprint()
    assert f1 != probes.CausalLMJudge.from_pretrained(p2, device="cpu", name="tiny").fingerprint()
    assert f1 != probes.CausalLMJudge.from_pretrained(p1, device="cpu", name="tiny", max_length=64).fingerprint()
    cfg = json.loads((p1 / "config.json").read_text())
    (p1 / "config.json").write_text(json.dumps({**cfg, "note": "a new revision"}))
    assert f1 != probes.CausalLMJudge.from_pretrained(p1, device="cpu", name="tiny").fingerprint()
    h = probes.HTTPJudge("http://127.0.0.1:9/v1", "m")
    assert h.fingerprint() != probes.HTTPJudge("http://127.0.0.1:9/v1", "m", top_logprobs=5).fingerprint()
    assert h.fingerprint() != probes.HTTPJudge("http://127.0.0.1:9/v1", "m2").fingerprint()


# --------------------------------------------------------------------------- cache file
def _line(key: str, value: float) -> str:
    return json.dumps({"key": key, "value": value}) + "\n"


def test_a_torn_last_line_is_cut_off_once_and_stays_repaired(tmp_path):
    f = tmp_path / "verdicts.jsonl"
    f.write_bytes((_line("k1", 0.1) + _line("k2", 0.2)).encode() + b'{"key": "k3", "val')
    with pytest.warns(DataDroppedWarning, match=r"verdicts.jsonl: line 3 was cut short by a killed write"):
        c = Cache(f)
    assert dict(c.values) == {"k1": 0.1, "k2": 0.2}
    assert f.read_text() == _line("k1", 0.1) + _line("k2", 0.2)
    c.add(["k3"], [0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: the next resume reads every line, with no warning
        again = Cache(f)
    assert again.values == {"k1": 0.1, "k2": 0.2, "k3": 0.3}
    # a last line that lost only its newline is kept and completed
    f.write_bytes(_line("k1", 0.1).encode() + _line("k2", 0.2).encode().rstrip(b"\n"))
    c = Cache(f)
    assert c.values == {"k1": 0.1, "k2": 0.2}
    c.add(["k3"], [0.3])
    assert Cache(f).values == {"k1": 0.1, "k2": 0.2, "k3": 0.3}


def test_a_kill_mid_write_never_loses_the_next_verdict(tmp_path):
    """The old cache appended after a torn line, gluing the next record to it: lost on every resume."""
    cache = tmp_path / "c"
    items = make_items(4)
    judge = probes.CallableJudge(fair, name="fair")
    probes.collect(items, judge, PROBES, cache=cache, progress=False)
    f = cache / "verdicts.jsonl"
    lines = f.read_bytes().split(b"\n")[:-1]
    f.write_bytes(b"\n".join(lines[:-2]) + b"\n" + lines[-2][:17])  # lose the last verdict, tear the one before
    with pytest.warns(DataDroppedWarning, match="cut short"):
        run = probes.collect(items, judge, PROBES, cache=cache, progress=False)
    assert run.n_calls > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = probes.collect(items, judge, PROBES, cache=cache, progress=False)
    assert again.n_calls == 0 and again.cells.equals(run.cells)
    assert len(f.read_text().splitlines()) == run.n_requests


def test_invalid_utf8_in_the_cache_is_named_and_skipped(tmp_path):
    f = tmp_path / "verdicts.jsonl"
    f.write_bytes(_line("k1", 0.1).encode() + b'{"key": "k2", "value": 0.\xff\xfe}\n' + _line("k3", 0.3).encode()
                  + b"not json\n" + b"\xc3\x28\n")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        c = Cache(f)
    msgs = [str(w.message) for w in rec]
    assert all(issubclass(w.category, DataDroppedWarning) for w in rec)
    assert any("2 lines are not valid UTF-8 (lines 2, 5)" in m and str(f) in m for m in msgs)
    assert any("1 line is not a verdict record" in m and "line 4" in m for m in msgs)
    assert c.values == {"k1": 0.1, "k3": 0.3}
    # a torn last line with a broken UTF-8 sequence is a torn line
    f.write_bytes(_line("k1", 0.1).encode() + b'{"key": "k2", "value": "\xe2\x82')
    with pytest.warns(DataDroppedWarning, match="line 2 was cut short"):
        assert Cache(f).values == {"k1": 0.1}


def test_non_finite_and_non_numeric_answers_round_trip_through_the_cache_as_strict_json(tmp_path):
    c = Cache(tmp_path)
    c.add(["a", "b", "c", "d"], [float("nan"), float("-inf"), "'A'", 0.5])
    text = (tmp_path / "verdicts.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = Cache(tmp_path).values
    assert math.isnan(back["a"]) and back["b"] == -math.inf and back["c"] == "'A'" and back["d"] == 0.5


def test_a_claim_by_a_dead_process_is_not_waited_for(tmp_path):
    c = Cache(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claims = Path(f"{c.path}.claims")
    claims.write_text('{"generation": 1}\n'
                      + json.dumps({"id": "x", "host": c._host, "pid": dead.pid, "t": 0, "keys": ["k1"]}) + "\n"
                      + json.dumps({"id": "y", "host": c._host, "pid": os.getppid(), "t": 0, "keys": ["k2"]}) + "\n")
    with c.locked():
        assert c.claimed_by_others() == {"k2"}
    claims.write_text('{"generation": 2}\n'
                      + json.dumps({"id": "x", "host": c._host, "pid": dead.pid, "t": 0, "keys": ["k1"]}) + "\n")
    with c.locked():
        assert c.claimed_by_others() == set()
    assert len(claims.read_text().splitlines()) == 1  # no live claim: a new, empty generation
    # a run that read an older generation starts over, even when the new one has grown past its offset
    other = Cache(tmp_path)
    with other.locked():
        other.claim(["a"] * 50)
    with c.locked():
        assert c.claimed_by_others() == {"a"}
    claims.write_text('{"generation": 3}\n' + json.dumps({"id": "z", "host": c._host, "pid": os.getppid(), "t": 0,
                                                           "keys": ["k3"] * 200}) + "\n")
    with c.locked():
        assert c.claimed_by_others() == {"k3"}


# ------------------------------------------------------------------------ concurrency
CONCURRENT_JUDGE = """
import os, time
def judge(r):
    fd = os.open(os.environ["PROBE_CALLS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{os.getpid()}\\n".encode())
    os.close(fd)
    time.sleep(0.008)
    a, b = (len(x) for x in r.responses)
    return a / (a + b)
"""


def _concurrent_run(args):
    folder, cache, calls, barrier = args
    os.environ["PROBE_CALLS"] = calls
    sys.path.insert(0, folder)
    sys.path.insert(0, str(Path(__file__).parent))
    from concurrent_judge import judge
    from test_probes_faults import PROBES, make_items

    barrier.wait()
    run = probes.collect(make_items(24), probes.CallableJudge(judge, name="c", batch_size=8), PROBES, cache=cache,
                         progress=False)
    return run.cells.write_json(), run.n_requests, run.n_calls


def test_concurrent_runs_on_one_cache_make_each_call_once(tmp_path):
    (tmp_path / "concurrent_judge.py").write_text(CONCURRENT_JUDGE)
    calls = tmp_path / "calls.txt"
    ctx = mp.get_context("spawn")
    n = 3
    barrier = ctx.Manager().Barrier(n)
    args = [(str(tmp_path), str(tmp_path / "cache"), str(calls), barrier)] * n
    with ctx.Pool(n) as pool:
        out = pool.map(_concurrent_run, args)
    tables = {t for t, _, _ in out}
    n_requests = out[0][1]
    pids = calls.read_text().split()
    stored = [json.loads(line)["key"] for line in (tmp_path / "cache" / "verdicts.jsonl").read_text().splitlines()]
    assert len(tables) == 1  # identical verdict tables
    assert len(pids) == n_requests == len(stored) == len(set(stored))  # each request judged once among the runs
    assert len(set(pids)) >= 2  # the work was shared
