"""`metaeval probe` with the generating judges: gen:, openai: and vllm: specs, their options, and
--engine ray. The judges are real: a tiny model saved by the test, a local HTTP server started by
the test, a local Ray with 2 CPUs."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from metaeval import probes
from metaeval.cli import cli
from metaeval.probes import build_tiny_judge

pytest.importorskip("httpx")

from .test_probes_http import _server


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(build_tiny_judge(tmp_path_factory.mktemp("cli-gen"), seed=5))


@pytest.fixture
def items(tmp_path):
    path = tmp_path / "items.jsonl"
    with path.open("w") as fh:
        for i in range(8):
            fh.write(json.dumps({"id": str(i), "prompt": f"What is {i} + 2?",
                                 "response_a": f"It is {i + 2}. This is the long answer, worked out step by step.",
                                 "response_b": f"{i + 3}"}) + "\n")
    return str(path)


@pytest.fixture
def server():
    srv, state = _server(delay=0.02)
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1", state
    srv.shutdown()


def test_openai_judge_from_the_cli_sends_its_options_and_reads_verdicts(items, server, tmp_path):
    url, state = server
    out = tmp_path / "v.parquet"
    res = _cli("probe", items, "--judge", f"openai:{url}#judge-model", "--probes", "order_swap", "--prompt",
               "mt-bench-pair", "--system-prompt", "Judge strictly.", "--max-new-tokens", "64", "--temperature",
               "0.5", "--judge-seed", "7", "--concurrency", "3", "--json", "-o", str(out))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    # the server prefers the answer with "long answer" in it: an order-consistent judge
    row = next(r for r in data["rows"] if r["probe"] == "order_swap")
    assert row["n_items"] == 8 and row["n_abstained"] == 0 and row["rate"] == 0
    assert 1 <= state.max_in_flight <= 3
    body = state.bodies[0]
    assert body["model"] == "judge-model" and body["max_tokens"] == 64 and body["temperature"] == 0.5
    assert body["seed"] in (7, 8)  # the seed plus the request's repeat number
    assert body["messages"][0] == {"role": "system", "content": "Judge strictly."}
    assert sum(m["role"] == "system" for m in body["messages"]) == 1
    cells = pl.read_parquet(out)
    assert cells["p_a"].is_finite().all()


def test_the_cli_cache_key_is_the_judge_identity(items, server, tmp_path):
    url, state = server
    cache = str(tmp_path / "cache")
    base = ["probe", items, "--judge", f"openai:{url}#m", "--probes", "order_swap", "--cache", cache, "--json"]
    assert _cli(*base).exit_code == 0
    first = len(state.bodies)
    assert first == 32  # 8 items × (original, repeat, swap) in both orders, minus shared requests
    assert _cli(*base).exit_code == 0
    assert len(state.bodies) == first  # all from the cache
    assert _cli(*base, "--prompt", "arena-hard").exit_code == 0  # another prompt is another judge
    assert len(state.bodies) == 2 * first
    assert _cli(*base, "--judge-seed", "3").exit_code == 0
    assert len(state.bodies) == 3 * first


def test_gen_judge_from_the_cli_equals_the_api_run(items, tiny, tmp_path):
    template = tmp_path / "judge.jinja"
    template.write_text("{{ question }}\nA: {{ answer_a }}\nB: {{ answer_b }}\nBetter ({{ label_a }}/{{ label_b }}):")
    cache = tmp_path / "cache"
    opts = ["--prompt", str(template), "--parser", "identifier", "--max-new-tokens", "3", "--temperature", "0.7",
            "--judge-seed", "11", "--system-prompt", "Be fair.", "--device", "cpu", "--batch-size", "4"]
    res = _cli("probe", items, "--judge", f"gen:{tiny}", "--probes", "order_swap", *opts, "--cache", str(cache),
               "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    prompt = probes.template(template.read_text(), kind="pair", parser="identifier", name="judge.jinja")
    judge = probes.GenerativeJudge.from_pretrained(tiny, prompt=prompt, max_new_tokens=3, temperature=0.7, seed=11,
                                                   system_prompt="Be fair.", device="cpu", batch_size=4)
    # the same identity: the API judge finds every verdict in the CLI's cache …
    cached = probes.run(items, judge, ["order_swap"], cache=str(cache), progress=False)
    assert cached.run.n_calls == 0
    # … and the CLI's verdicts (read back from it) equal a fresh run of the API judge
    fresh = probes.run(items, judge, ["order_swap"], progress=False)
    assert fresh.run.n_calls > 0
    a, b = cached.run.cells.sort(pl.all()), fresh.run.cells.sort(pl.all())
    assert a.equals(b)
    # a random tiny model writes no verdict: every cell is an abstention, none a tie
    assert a["outcome"].is_null().all() and all(r["n_abstained"] > 0 for r in rows)


@pytest.mark.parametrize("args, needle", [
    (["--judge", "gpt4"], "unknown judge spec 'gpt4'"),
    (["--judge", "openai:http://127.0.0.1:1/v1"], "openai:BASE_URL#MODEL"),
    (["--judge", "openai:localhost:8000#m"], "must start with http://"),
    (["--judge", "gen:"], "give the model after the colon"),
    (["--judge", "hf:./m", "--prompt", "mt-bench-pair"], "--prompt does not apply to a hf: judge"),
    (["--judge", "gen:./m", "--concurrency", "4"], "--concurrency does not apply to a gen: judge"),
    (["--judge", "gen:./m", "--logprobs"], "--logprobs does not apply to a gen: judge"),
    (["--judge", "openai:http://x/v1#m", "--prompt", "no-such-preset"], "neither a preset"),
    (["--judge", "openai:http://x/v1#m", "--parser", "telepathy"], "unknown verdict parser 'telepathy'"),
    (["--judge", "openai:http://x/v1#m", "--concurrency", "0"], "--concurrency"),
    (["--judge", "openai:http://x/v1#m", "--temperature", "-1"], "--temperature"),
    (["--judge", "openai:http://x/v1#m", "--requests-per-second", "0"], "--requests-per-second"),
    (["--judge", "openai:http://x/v1#m", "--max-new-tokens", "1.5"], "--max-new-tokens"),
    (["--judge", "openai:http://x/v1#m", "--workers", "2"], "--workers needs --engine ray"),
    (["--judge", "openai:http://x/v1#m", "--address", "auto"], "--address needs --engine ray"),
    (["--judge", "openai:http://x/v1#m", "--engine", "ray", "--workers", "0"], "--workers"),
])
def test_bad_judge_specs_and_options_are_one_clear_error(items, args, needle):
    res = _cli("probe", items, *args)
    assert res.exit_code == 2
    assert res.stderr.count("metaeval: error:") == 1 and needle in res.stderr, res.stderr
    as_json = json.loads(_cli("probe", items, *args, "--json").stdout)
    assert needle in as_json["error"]["message"]


def test_a_template_file_needs_answer_slots_and_a_parser(items, tmp_path):
    bad = tmp_path / "bad.jinja"
    bad.write_text("Just {{ question }}")
    res = _cli("probe", items, "--judge", "openai:http://x/v1#m", "--prompt", str(bad), "--parser", "choice")
    assert res.exit_code == 2 and "must show the answers" in res.stderr
    good = tmp_path / "good.jinja"
    good.write_text("{{ question }} {{ answer }} 1-5:")
    res = _cli("probe", items, "--judge", "openai:http://x/v1#m", "--prompt", str(good))
    assert res.exit_code == 2 and "needs its verdict parser" in res.stderr
    broken = tmp_path / "broken.jinja"
    broken.write_text("{{ question ")
    res = _cli("probe", items, "--judge", "openai:http://x/v1#m", "--prompt", str(broken), "--parser", "number")
    assert res.exit_code == 2 and "does not parse" in res.stderr


def test_vllm_spec_is_parsed_and_needs_vllm(items):
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
        pytest.skip("vLLM is installed: its run is tested on a GPU in test_probes_vllm.py")
    except ImportError:
        pass
    res = _cli("probe", items, "--judge", "vllm:./model", "--prompt", "arena-hard", "--logprobs")
    assert res.exit_code == 2 and "needs vLLM" in res.stderr
    res = _cli("probe", items, "--judge", "vllm:./model", "--concurrency", "2")
    assert res.exit_code == 2 and "--concurrency does not apply to a vllm: judge" in res.stderr


@pytest.mark.slow
def test_engine_ray_from_the_cli_equals_the_local_run(items, server, tmp_path):
    pytest.importorskip("ray")
    url, state = server
    common = ["probe", items, "--judge", f"openai:{url}#m", "--probes", "order_swap,verbosity", "--prompt",
              "mt-bench-pair", "--concurrency", "2", "--batch-size", "4", "--json"]
    local, remote = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    assert _cli(*common, "-o", str(local)).exit_code == 0
    res = _cli(*common, "--engine", "ray", "--workers", "2", "-o", str(remote))
    assert res.exit_code == 0, res.output
    a, b = pl.read_parquet(local).sort(pl.all()), pl.read_parquet(remote).sort(pl.all())
    assert a.equals(b) and a["p_a"].is_finite().all()
    assert len(state.bodies) == 2 * len({json.dumps(b_, sort_keys=True) for b_ in state.bodies})
