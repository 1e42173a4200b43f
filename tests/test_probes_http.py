"""AsyncHTTPJudge against a real local OpenAI-compatible server (threads, real sockets)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from metaeval.errors import MetaevalError
from metaeval.probes import Request

pytest.importorskip("httpx")

from metaeval.probes.http import AsyncHTTPJudge


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: Counter[str] = Counter()
        self.starts: list[float] = []
        self.bodies: list[dict] = []


def _server(delay: float = 0.03):
    state = _State()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, code: int, body: dict | str, headers: dict | None = None) -> None:
            raw = (json.dumps(body) if isinstance(body, dict) else body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "\n".join(m["content"] for m in body["messages"])
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.starts.append(time.monotonic())
                state.bodies.append(body)
                key = text
                state.attempts[key] += 1
                n = state.attempts[key]
            try:
                time.sleep(delay)
                if "FAIL2" in text and n <= 2:
                    return self._send(503, {"error": "busy"}, {"Retry-After": "0"})
                if "RATE" in text and n <= 1:
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "0.05"})
                if "BAD" in text:
                    return self._send(400, {"error": "bad request"})
                if "DEAD" in text:
                    return self._send(500, {"error": "down"})
                if "NOTJSON" in text:
                    return self._send(200, "<html>oops</html>")
                if body.get("logprobs"):
                    top = [{"token": "A", "logprob": math.log(0.6)}, {"token": " B", "logprob": math.log(0.2)},
                           {"token": "x", "logprob": math.log(0.2)}]
                    return self._send(200, {"choices": [{"message": {"content": "A"},
                                                         "logprobs": {"content": [{"token": "A",
                                                                                   "top_logprobs": top}]}}]})
                verdict = "no idea" if "NOVERDICT" in text else ("[[A]]" if "long answer" in text.split(
                    "Assistant B")[0] else "[[B]]")
                return self._send(200, {"choices": [{"message": {"content": f"Thinking it over.\n{verdict}"}}]})
            finally:
                with state.lock:
                    state.in_flight -= 1

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, state


@pytest.fixture()
def server():
    srv, state = _server()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1", state
    srv.shutdown()
    srv.server_close()


def _req(q: str, a: str = "long answer", b: str = "short", rep: int = 0) -> Request:
    return Request("pair", "", (a, b), q, rep=rep)


def test_concurrency_is_bounded_and_used(server):
    url, state = server
    judge = AsyncHTTPJudge(url, "m", concurrency=4)
    out = judge([_req(f"q{i}") for i in range(20)])
    np.testing.assert_array_equal(out, np.ones(20))
    assert 2 <= state.max_in_flight <= 4
    assert judge.calls == 20 and all(v.ok for v in judge.verdicts)


def test_concurrency_split_over_connection_pools_is_bounded_and_used(server):
    # 12 in flight are two httpx clients of 6 connections: both are used, the bound is the sum
    url, state = server
    judge = AsyncHTTPJudge(url, "m", concurrency=12)
    out = judge([_req(f"q{i}") for i in range(60)])
    np.testing.assert_array_equal(out, np.ones(60))
    assert 7 <= state.max_in_flight <= 12
    assert judge.calls == 60


def test_each_request_fails_alone_retries_and_becomes_an_abstention_with_its_reason(server):
    url, state = server
    judge = AsyncHTTPJudge(url, "m", concurrency=3, max_retries=3, backoff=0.01)
    reqs = [_req("FAIL2 q"), _req("RATE q"), _req("BAD q"), _req("DEAD q"), _req("NOVERDICT q"),
            _req("NOTJSON q"), _req("plain", "short", "long answer")]
    out = judge(reqs)
    assert out[0] == 1.0 and out[1] == 1.0 and out[6] == 0.0  # retried and recovered; others untouched
    assert np.isnan(out[2:6]).all()
    reasons = [v.reason for v in judge.verdicts]
    assert "refused the request (HTTP 400" in reasons[2]
    assert "failed after 4 attempts (HTTP 500" in reasons[3]
    assert "no [[A]], [[B]] or [[C]] verdict" in reasons[4] and "no idea" in judge.verdicts[4].raw
    assert "not JSON" in reasons[5]
    assert [state.attempts[k] for k in sorted(state.attempts) if "BAD" in k] == [1]  # a 400 is not retried
    assert [state.attempts[k] for k in sorted(state.attempts) if "DEAD" in k] == [4]


def test_requests_per_second_spaces_the_calls(server):
    url, _state = server
    judge = AsyncHTTPJudge(url, "m", concurrency=8, requests_per_second=20)
    t0 = time.monotonic()
    judge([_req(f"q{i}") for i in range(8)])
    # 8 calls at 20 per second cannot take less than 7/20 s (a lower bound: the limiter works)
    assert time.monotonic() - t0 >= 7 / 20


def test_tokens_per_minute_limits_throughput(server):
    url, _state = server
    probe = AsyncHTTPJudge(url, "m", max_tokens=100)
    per = sum(len(m["content"]) for m in probe.messages(_req("r10"))) / 4 + 100  # tokens one request is counted as
    # 10 requests' tokens per second: a second's worth goes at once, the other 15 follow at 0.1 s each
    judge = AsyncHTTPJudge(url, "m", concurrency=8, max_tokens=100, tokens_per_minute=per * 10 * 60)
    t0 = time.monotonic()
    judge([_req(f"r{i + 10}") for i in range(25)])
    assert time.monotonic() - t0 >= 1.5  # a lower bound: the limiter works


def test_logprob_mode_reads_the_label_probabilities(server):
    url, state = server
    judge = AsyncHTTPJudge(url, "m", mode="logprobs", prompt=None)
    out = judge([Request("pair", "Which? Answer:", ("x", "y"), "q")])
    assert out[0] == pytest.approx(0.75)  # 0.6 / (0.6 + 0.2)
    assert state.bodies[-1]["max_tokens"] == 1 and state.bodies[-1]["top_logprobs"] == 20


def test_payload_carries_prompt_preset_seed_and_rep(server):
    url, state = server
    judge = AsyncHTTPJudge(url, "m", prompt="arena-hard", seed=5, temperature=0.3)
    judge([_req("q", rep=2)])
    body = state.bodies[-1]
    assert body["messages"][0]["role"] == "system" and "[[A>>B]]" in body["messages"][0]["content"]
    assert body["seed"] == 7 and body["temperature"] == 0.3
    assert "<|User Prompt|>\nq" in body["messages"][1]["content"]


def test_unreachable_server_is_an_abstention_not_a_crash():
    judge = AsyncHTTPJudge("http://127.0.0.1:1/v1", "m", max_retries=1, backoff=0.01, timeout=1)
    out = judge([_req("q")])
    assert np.isnan(out[0]) and "failed after 2 attempts (ConnectError" in judge.verdicts[0].reason


def test_works_inside_a_running_event_loop(server):
    import asyncio

    url, _ = server

    async def main():
        return AsyncHTTPJudge(url, "m")([_req("q")])

    assert asyncio.run(main())[0] == 1.0


def test_bad_settings_and_prompt_mismatch_are_errors_before_any_call(server):
    url, state = server
    for kw, msg in (({"concurrency": 0}, "concurrency"), ({"mode": "x"}, "mode"),
                    ({"requests_per_second": float("nan")}, "requests_per_second"), ({"backoff": -1}, "backoff")):
        with pytest.raises(MetaevalError, match=msg):
            AsyncHTTPJudge(url, "m", **kw)
    judge = AsyncHTTPJudge(url, "m", prompt="mt-bench-single")
    with pytest.raises(MetaevalError, match="score prompt; the request is a pair request"):
        judge([_req("q")])
    assert state.attempts == Counter()


def test_fingerprint_identifies_endpoint_prompt_and_decoding():
    a = AsyncHTTPJudge("http://h/v1", "m")
    assert a.fingerprint() == AsyncHTTPJudge("http://h/v1", "m").fingerprint()
    for kw in ({"prompt": "pandalm"}, {"temperature": 0.5}, {"seed": 3}, {"mode": "logprobs"},
               {"revision": "2024-05"}, {"extra_body": {"top_k": 5}}):
        assert AsyncHTTPJudge("http://h/v1", "m", **kw).fingerprint() != a.fingerprint(), kw
    assert AsyncHTTPJudge("http://h/v1", "m2").fingerprint() != a.fingerprint()
