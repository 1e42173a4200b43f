"""Scale of the probe backends, as ratios measured in one run:

- **HTTP**: :class:`~metaeval.probes.AsyncHTTPJudge` against a local OpenAI-compatible stub
  server that answers after 50 ms, with concurrency 32: throughput as a share of the ideal
  (concurrency / latency). The tool people use today is a loop of blocking calls (our
  :class:`~metaeval.probes.HTTPJudge`), measured too.
- **CPU generation**: :class:`~metaeval.probes.GenerativeJudge` batched against one prompt at a
  time, on a tiny random GPT-2 (greedy, 16 new tokens).
- **Ray**: :func:`~metaeval.probes.distributed.run_judge_ray` with 2 local workers against 1, on
  a CPU-bound judge (a pure-Python loop per request).

Run: ``python benchmarks/bench_probes_scale.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from metaeval.probes import Cache, CallableJudge, HTTPJudge, Request, build_tiny_judge


def _stub(latency: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(latency)
            raw = json.dumps({"choices": [{"message": {"content": "Fine.\n[[A]]"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _serve(latency: float, port: Any) -> None:
    srv = _stub(latency)
    port.value = srv.server_address[1]
    threading.Event().wait()


def bench_http(n: int = 640, latency: float = 0.05, concurrency: int = 32) -> None:
    """The stub server runs in its own process, so it does not share the client's GIL."""
    import multiprocessing as mp

    from metaeval.probes.http import AsyncHTTPJudge

    port = mp.Value("i", 0)
    proc = mp.get_context("fork").Process(target=_serve, args=(latency, port), daemon=True)
    proc.start()
    while not port.value:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port.value}/v1"
    reqs = [Request("pair", "", (f"a{i}", f"b{i}"), f"q{i}") for i in range(n)]
    judge = AsyncHTTPJudge(url, "stub", concurrency=concurrency)
    judge(reqs[:concurrency])  # warm up the connections
    t0 = time.perf_counter()
    out = judge(reqs)
    wall = time.perf_counter() - t0
    assert (out == 1).all()
    ideal = concurrency / latency
    blocking = HTTPJudge(url, "stub", batch_size=1)
    m = 40
    t0 = time.perf_counter()
    blocking(reqs[:m])
    wall_b = time.perf_counter() - t0
    print(f"HTTP (stub, {latency * 1000:.0f} ms latency): async concurrency {concurrency}: {n / wall:.0f} req/s = "
          f"{n / wall / ideal:.2f} x the ideal {ideal:.0f} req/s; blocking loop: {m / wall_b:.1f} req/s; "
          f"ratio {(n / wall) / (m / wall_b):.1f}x")
    proc.terminate()


def bench_generation(n: int = 32, new_tokens: int = 16) -> None:
    from metaeval.probes.generate import GenerativeJudge

    with tempfile.TemporaryDirectory() as tmp:
        judge = GenerativeJudge.from_pretrained(build_tiny_judge(tmp, seed=0), prompt="mt-bench-pair",
                                                max_new_tokens=new_tokens, batch_size=n, device="cpu")
        reqs = [Request("pair", "", (f"Answer {i}: " + "word " * (5 + i % 7), f"Other {i}"), f"Question {i}?")
                for i in range(n)]
        texts = [judge.text(r) for r in reqs]
        judge.generate(texts[:2])  # warm up
        t0 = time.perf_counter()
        judge.generate(texts)
        batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in texts:
            judge.generate([t])
        single = time.perf_counter() - t0
    print(f"CPU generation ({n} prompts, {new_tokens} new tokens, tiny GPT-2): batched {n / batched:.1f} prompts/s, "
          f"one at a time {n / single:.1f} prompts/s; ratio {single / batched:.1f}x")


def _busy(r: Request) -> float:
    x = 0
    for i in range(300_000):
        x += i % 7
    return float(x % 2)


def bench_ray(n: int = 64) -> None:
    import ray.cloudpickle

    from metaeval.engine import ray_session
    from metaeval.probes.distributed import run_judge_ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this script
    reqs = [Request("pair", f"q{i}", (f"a{i}", f"b{i}"), f"q{i}") for i in range(n)]
    with ray_session(num_cpus=2):
        walls = {}
        for workers in (1, 2):
            judge = CallableJudge(_busy, name=f"busy-{workers}")
            run_judge_ray(judge, reqs[:4], cache=Cache(None), batch_size=2, workers=workers, show=False)  # warm up
            t0 = time.perf_counter()
            run_judge_ray(CallableJudge(_busy, name=f"busy-{workers}-run"), reqs, cache=Cache(None), batch_size=4,
                          workers=workers, show=False)
            walls[workers] = time.perf_counter() - t0
    print(f"Ray, CPU-bound judge ({n} requests): 1 worker {walls[1]:.2f} s, 2 workers {walls[2]:.2f} s; "
          f"ratio {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    bench_http()
    bench_generation()
    bench_ray()
