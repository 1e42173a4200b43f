"""Scale of the probe backends, as ratios measured in one run:

- **HTTP**: :class:`~metaeval.probes.AsyncHTTPJudge` against a local OpenAI-compatible stub
  server that answers after 50 ms, with concurrency 32: throughput as a share of the ideal
  (concurrency / latency = 640 requests/s). The stub is an asyncio server in its own process (a
  thread-per-connection ``http.server`` could not serve 640 requests/s on two shared cores); a
  trivial client (raw keep-alive sockets, no HTTP library) measures what the stub itself can
  serve, so the judge's share can be read against the stub's. Also measured: one httpx client
  with a single 32-connection pool (what the judge did before it split its connections over
  clients of 8), and a loop of blocking calls (:class:`~metaeval.probes.HTTPJudge`, what
  people write without a concurrent client).
- **CPU generation**: :class:`~metaeval.probes.GenerativeJudge` generating for 32 judge
  prompts (the MT-Bench pairwise preset, ~480 tokens each with the tiny model's byte-level
  tokenizer) in one left-padded batch, against the same 32 prompts one at a time; tiny random
  GPT-2, greedy, 64 new tokens (a judge writes its reasoning before its verdict: MT-Bench
  judgments run to a few hundred tokens), KV cache on,
  one torch thread (intra-op threads only contend on a tiny model and a shared 2-core machine).
  Best of 3 for both.
- **Ray**: :func:`~metaeval.probes.distributed.run_judge_ray` with 2 local workers against 1,
  on a CPU-bound judge (a pure-Python loop of ~40 ms per request, 64 requests in batches of 4).
  The actors are started and have loaded the judge before the clock starts
  (:class:`~metaeval.probes.distributed.WorkerPool`), as they are for a long study; dispatch,
  result transfer and the driver's cache writes are timed.

Read the load average printed first: the machine is shared, and the ratios need two idle cores.

Run: ``python benchmarks/bench_probes_scale.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _timing import timed

from metaeval.probes import Cache, CallableJudge, HTTPJudge, Request, build_tiny_judge

_BODY = json.dumps({"choices": [{"message": {"content": "Fine.\n[[A]]"}}]}).encode()
_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
             + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


def _serve_async(latency: float, port: Any) -> None:
    """An OpenAI-compatible stub on asyncio: reads each request, waits ``latency``, answers; keep-alive."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        n = int(line[15:])
                if n:
                    await reader.readexactly(n)
                await asyncio.sleep(latency)
                writer.write(_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port.value = srv.sockets[0].getsockname()[1]
        await srv.serve_forever()

    asyncio.run(main())


async def _trivial_client(port: int, n: int, concurrency: int) -> None:
    """The least a client can do: fixed request bytes over ``concurrency`` keep-alive sockets."""
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: stub\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2\r\n\r\n{}")
    left = [n]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(req)
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(len(_BODY))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _one_pool_httpx(url: str, n: int, concurrency: int) -> float:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        async def one(i: int) -> None:
            async with sem:
                (await client.post(url, json={"model": "stub", "messages": [{"role": "user", "content": f"q{i}"}]}
                                   )).json()

        await asyncio.gather(*(one(i) for i in range(concurrency)))  # open the connections
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - t0


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


def bench_http(n: int = 1280, latency: float = 0.05, concurrency: int = 32) -> None:
    """The stub server runs in its own process, so it does not share the client's GIL."""
    import multiprocessing as mp

    from metaeval.probes.http import AsyncHTTPJudge

    port = mp.Value("i", 0)
    proc = mp.get_context("fork").Process(target=_serve_async, args=(latency, port), daemon=True)
    proc.start()
    while not port.value:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port.value}/v1"
    ideal = concurrency / latency
    asyncio.run(_trivial_client(port.value, concurrency, concurrency))  # warm up
    wall_t, _ = timed(lambda: asyncio.run(_trivial_client(port.value, n, concurrency)))
    wall_p = min(asyncio.run(_one_pool_httpx(url + "/chat/completions", n, concurrency)) for _ in range(3))
    reqs = [Request("pair", "", (f"a{i}", f"b{i}"), f"q{i}") for i in range(n)]
    judge = AsyncHTTPJudge(url, "stub", concurrency=concurrency)
    judge(reqs[:concurrency])  # warm up
    wall, out = timed(lambda: judge(reqs))
    assert (out == 1).all()
    blocking = HTTPJudge(url, "stub", batch_size=1)
    m = 40
    wall_b, _ = timed(lambda: blocking(reqs[:m]), repeat=1)
    proc.terminate()
    tport = mp.Value("i", 0)
    tproc = mp.get_context("fork").Process(target=_serve, args=(latency, tport), daemon=True)
    tproc.start()
    while not tport.value:
        time.sleep(0.01)
    wall_th, _ = timed(lambda: asyncio.run(_trivial_client(tport.value, n // 2, concurrency)), repeat=2)
    tproc.terminate()
    print(f"HTTP (stub {latency * 1000:.0f} ms, concurrency {concurrency}, {n} requests; ideal {ideal:.0f} req/s):")
    print(f"  thread-per-connection stub (http.server) with the trivial client: {n / 2 / wall_th:.0f} req/s = "
          f"{n / 2 / wall_th / ideal:.2f} x ideal (not used below)")
    print(f"  stub with a trivial socket client: {n / wall_t:.0f} req/s = {n / wall_t / ideal:.2f} x ideal")
    print(f"  AsyncHTTPJudge:                    {n / wall:.0f} req/s = {n / wall / ideal:.2f} x ideal "
          f"({n / wall / (n / wall_t):.2f} x the trivial client)")
    print(f"  httpx, one 32-connection pool:     {n / wall_p:.0f} req/s = {n / wall_p / ideal:.2f} x ideal")
    print(f"  blocking loop (HTTPJudge):         {m / wall_b:.1f} req/s; AsyncHTTPJudge is "
          f"{(n / wall) / (m / wall_b):.1f}x that")


def bench_generation(n: int = 32, new_tokens: int = 64) -> None:
    import torch

    from metaeval.probes.generate import GenerativeJudge

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            judge = GenerativeJudge.from_pretrained(build_tiny_judge(tmp, seed=0), prompt="mt-bench-pair",
                                                    max_new_tokens=new_tokens, batch_size=n, device="cpu")
            reqs = [Request("pair", "", (f"Answer {i}: " + "word " * (5 + i % 7), f"Other {i}"), f"Question {i}?")
                    for i in range(n)]
            texts = [judge.text(r) for r in reqs]
            judge.generate(texts[:2])  # warm up
            batched, out_b = timed(lambda: judge.generate(texts))
            single, out_s = timed(lambda: [judge.generate([t])[0] for t in texts])
            same = sum(a == b for a, b in zip(out_b, out_s, strict=True))
    finally:
        torch.set_num_threads(threads)
    print(f"CPU generation ({n} prompts, {new_tokens} new tokens, tiny GPT-2, 1 torch thread): batched "
          f"{n / batched:.1f} prompts/s, one at a time {n / single:.1f} prompts/s; ratio {single / batched:.1f}x "
          f"({same}/{n} texts identical)")


def _busy(r: Request) -> float:
    x = 0
    for i in range(1_000_000):
        x += i % 7
    return float(x % 2)


def bench_ray(n: int = 64, batch_size: int = 4) -> None:
    import ray.cloudpickle

    from metaeval.engine import ray_session
    from metaeval.probes.distributed import WorkerPool, run_judge_ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this script
    reqs = [Request("pair", f"q{i}", (f"a{i}", f"b{i}"), f"q{i}") for i in range(n)]
    t0 = time.perf_counter()
    _busy(reqs[0])
    per_request = time.perf_counter() - t0
    with ray_session(num_cpus=2):
        walls = {}
        for workers in (1, 2):
            with WorkerPool(CallableJudge(_busy, name=f"busy-{workers}"), workers=workers) as pool:
                run_judge_ray(pool, reqs[:2 * workers], cache=Cache(None), batch_size=1, show=False)  # warm up
                walls[workers], _ = timed(lambda pool=pool: run_judge_ray(pool, reqs, cache=Cache(None),
                                                                            batch_size=batch_size, show=False),
                                          repeat=2)
    print(f"Ray, CPU-bound judge ({n} requests of {per_request * 1000:.0f} ms, batches of {batch_size}, actors "
          f"started before timing): 1 worker {walls[1]:.2f} s, 2 workers {walls[2]:.2f} s; "
          f"ratio {walls[1] / walls[2]:.2f}x (serial work {n * per_request:.2f} s)")


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} cores")
    bench_http()
    bench_generation()
    bench_ray()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
