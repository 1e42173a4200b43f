"""An async OpenAI-compatible judge: bounded concurrency, retry with backoff, rate limits.

:class:`AsyncHTTPJudge` talks to any server with the OpenAI ``/v1/chat/completions`` API — vLLM
``serve``, TGI, Ollama, llama.cpp's server and hosted APIs. It renders each request through a
judge prompt (:mod:`metaeval.probes.prompts`), sends up to ``concurrency`` requests at once
(httpx, asyncio), and reads the verdict either from the generated text with the prompt's parser
(``mode="generate"``) or from the first token's log-probabilities (``mode="logprobs"``, the
cheap path; the server must return ``top_logprobs``).

Failures are handled per request, never per batch:

- 429 and 5xx answers, timeouts and dropped connections are retried with exponential backoff
  and deterministic jitter (``Retry-After`` is honoured), up to ``max_retries`` times;
- any other 4xx answer, an answer without a verdict, and a request whose retries are spent
  become an **abstention**: value nan, with the reason in :attr:`AsyncHTTPJudge.verdicts`.

``requests_per_second`` and ``tokens_per_minute`` are token buckets shared by all in-flight
requests (bursts of at most one request, and one second's tokens). A request counts as a quarter
of the characters it sends plus its ``max_tokens``.

httpx is an optional dependency (``pip install metaeval[http]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Literal, TypeVar

import numpy as np

from metaeval.errors import MetaevalError, ParameterError, clip
from metaeval.probes.judges import PROMPT_BUILDER_VERSION, Request
from metaeval.probes.parsers import Verdict, parse
from metaeval.probes.prompts import JudgePrompt, PromptedJudge, preset

__all__ = ["AsyncHTTPJudge"]

T = TypeVar("T")
_POOL = 8  # keep-alive connections per httpx client (see AsyncHTTPJudge._all)
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also from inside a running event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="metaeval-http-judge")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Bucket:
    """A token bucket: ``rate`` units per second, bursts up to ``capacity``."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.level = capacity
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        amount = min(amount, self.capacity)
        async with self.lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


class AsyncHTTPJudge(PromptedJudge):
    """An OpenAI-compatible chat-completions endpoint as a judge, many requests at a time.

    Parameters
    ----------
    base_url : str
        The server's API root, e.g. ``http://127.0.0.1:8000/v1``.
    model : str
        The model name the server expects.
    prompt : JudgePrompt or str or None
        A preset name or a :class:`~metaeval.probes.prompts.JudgePrompt`; ``None`` sends each
        request's own text and reads the bare label (``parser``, default ``"identifier"``).
    mode : {"generate", "logprobs"}
        Read the verdict from the generated text, or from the first token's log-probabilities.
    concurrency : int
        Requests in flight at once.
    max_retries : int
        Retries of a 429/5xx/timeout before the request becomes an abstention.
    backoff : float
        First retry delay in seconds; it doubles each time, with ±25 % jitter from ``seed``.
    requests_per_second, tokens_per_minute : float, optional
        Rate limits shared by all requests.

    Examples
    --------
    >>> judge = AsyncHTTPJudge("http://127.0.0.1:1/v1", "m", prompt="mt-bench-pair", max_retries=0, timeout=0.5)
    >>> out = judge([Request("pair", "", ("4", "5"), "2+2?")])   # nothing listens on port 1
    >>> bool(np.isnan(out[0])), judge.verdicts[0].status
    (True, 'abstain')
    """

    def __init__(self, base_url: str, model: str, *, prompt: JudgePrompt | str | None = "mt-bench-pair",
                 parser: str | None = None, mode: Literal["generate", "logprobs"] = "generate",
                 api_key: str | None = None, name: str | None = None, max_tokens: int = 1024,
                 temperature: float = 0.0, seed: int = 0, concurrency: int = 16, max_retries: int = 5,
                 backoff: float = 0.5, max_backoff: float = 60.0, timeout: float = 120.0,
                 requests_per_second: float | None = None, tokens_per_minute: float | None = None,
                 top_logprobs: int = 20, batch_size: int = 256, revision: str | None = None,
                 extra_body: dict[str, Any] | None = None, system_prompt: str | None = None) -> None:
        if mode not in ("generate", "logprobs"):
            raise ParameterError(f"`mode` must be 'generate' or 'logprobs'; got {mode!r}")
        for key, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0),
                                ("max_tokens", max_tokens, 1), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MetaevalError(f"`{key}` must be an integer ≥ {low}; got {value!r}")
        for key, fvalue in (("backoff", backoff), ("timeout", timeout), ("temperature", temperature)):
            if not (isinstance(fvalue, (int, float)) and math.isfinite(fvalue) and fvalue >= 0):
                raise MetaevalError(f"`{key}` must be a finite number ≥ 0; got {fvalue!r}")
        for key, rate in (("requests_per_second", requests_per_second), ("tokens_per_minute", tokens_per_minute)):
            if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
                raise MetaevalError(f"`{key}` must be a positive number or None; got {rate!r}")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url if self.base_url.endswith("/chat/completions") else self.base_url + "/chat/completions"
        self.model, self.api_key, self.revision = model, api_key, revision
        self.prompt = preset(prompt) if isinstance(prompt, str) else prompt
        self.parser = parser or (self.prompt.parser if self.prompt else "identifier")
        self.mode = mode
        self.name = name or model
        self.max_tokens, self.temperature, self.seed = max_tokens, float(temperature), int(seed)
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff, self.max_backoff, self.timeout = float(backoff), float(max_backoff), float(timeout)
        self.requests_per_second, self.tokens_per_minute = requests_per_second, tokens_per_minute
        self.top_logprobs, self.batch_size = top_logprobs, batch_size
        self.extra_body = dict(extra_body or {})
        self.system_prompt = system_prompt
        self.verdicts: list[Verdict] = []
        self.calls = 0

    def fingerprint(self) -> str:
        """Endpoint, model (and revision), prompt, parser, mode and decoding parameters."""
        extra = hashlib.sha256(json.dumps(self.extra_body, sort_keys=True, default=str).encode()).hexdigest()[:8]
        prompt_fp = self._prompt_fingerprint()
        return (f"http-async:{self.base_url}:{self.model}@{self.revision or '-'}:prompt={prompt_fp}:"
                f"parser={self.parser}:mode={self.mode}:max={self.max_tokens}:t={self.temperature:g}:"
                f"seed={self.seed}:extra={extra}:builder={PROMPT_BUILDER_VERSION}" +
                ("" if self.system_prompt is None else
                 f":sys={hashlib.sha256(self.system_prompt.encode()).hexdigest()[:8]}"))

    # ---------------------------------------------------------------- payloads
    def _payload(self, r: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": self.api_messages(r), "temperature": self.temperature,
                                "seed": self.seed + int(r.rep)}
        if self.mode == "logprobs":
            body.update(max_tokens=1, logprobs=True, top_logprobs=self.top_logprobs)
        else:
            body["max_tokens"] = self.max_tokens
        body.update(self.extra_body)
        return body

    def _read(self, r: Request, data: Any) -> Verdict:
        try:
            choice = data["choices"][0]
        except (KeyError, IndexError, TypeError):
            return Verdict(math.nan, "abstain", clip(json.dumps(data, default=str)[:2000]), None,
                           "the server's answer has no choices")
        text = str(((choice.get("message") or {}).get("content")) or "")
        labels = self._labels(r)
        scale = (r.scale[0], r.scale[1]) if r.kind == "score" else (1, 10)
        if self.mode == "generate":
            return parse(self.parser, text, labels=labels, scale=scale)
        names = list(labels) if r.kind == "pair" else [str(v) for v in range(r.scale[0], r.scale[1] + 1)]
        probs = dict.fromkeys(names, 0.0)
        for entry in (((choice.get("logprobs") or {}).get("content") or [{}])[0]).get("top_logprobs", []) or []:
            tok = str(entry.get("token", "")).strip()
            for lab in names:
                if tok == lab or (tok.lower() == lab.lower() and names[0].lower() != names[1].lower()):
                    probs[lab] += math.exp(float(entry.get("logprob", -math.inf)))
        total = sum(probs.values())
        if total <= 0:
            return Verdict(math.nan, "abstain", text, None, "no label among the first token's top log-probabilities")
        if r.kind == "pair":
            return Verdict(probs[names[0]] / total, "ok", text, max(probs, key=probs.__getitem__))
        return Verdict(sum(int(k) * v for k, v in probs.items()) / total, "ok", text, None)

    # ---------------------------------------------------------------- transport
    def _delay(self, attempt: int, key: str, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        jitter = random.Random(f"{self.seed}:{key}:{attempt}").uniform(0.75, 1.25)
        return float(min(self.max_backoff, self.backoff * 2 ** attempt * jitter))

    async def _one(self, client: Any, r: Request, sem: asyncio.Semaphore, req_bucket: _Bucket | None,
                   tok_bucket: _Bucket | None) -> Verdict:
        import httpx

        payload = self._payload(r)
        est_tokens = sum(len(m["content"]) for m in payload["messages"]) / 4 + payload["max_tokens"]
        last = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            async with sem:
                if req_bucket is not None:
                    await req_bucket.take(1)
                if tok_bucket is not None:
                    await tok_bucket.take(est_tokens)
                self.calls += 1
                try:
                    resp = await client.post(self.url, json=payload)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    resp = None
            if resp is not None:
                if resp.status_code == 200:
                    try:
                        data = resp.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        return Verdict(math.nan, "abstain", clip(resp.text[:2000]), None,
                                       "the server's answer is not JSON")
                    return self._read(r, data)
                last = f"HTTP {resp.status_code}: {clip(resp.text[:300])}"
                if resp.status_code not in _RETRY_STATUS:
                    return Verdict(math.nan, "abstain", "", None, f"the server refused the request ({last})")
                retry_after = resp.headers.get("Retry-After")
            if attempt < self.max_retries:
                key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]  # only on retry
                await asyncio.sleep(self._delay(attempt, key, retry_after))
        return Verdict(math.nan, "abstain", "", None,
                       f"failed after {self.max_retries + 1} attempt{'s' if self.max_retries else ''} ({last})")

    async def _all(self, requests: Sequence[Request]) -> list[Verdict]:
        try:
            import httpx
        except ImportError as exc:
            raise MetaevalError("AsyncHTTPJudge needs httpx: pip install 'metaeval[http]'") from exc
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        req_bucket = _Bucket(self.requests_per_second, 1.0) if self.requests_per_second else None
        # a second's worth of tokens may go at once; a request larger than that waits for a full bucket
        tok_bucket = _Bucket(self.tokens_per_minute / 60.0, self.tokens_per_minute / 60.0) \
            if self.tokens_per_minute else None
        # httpcore scans its whole pool for every request it places, so one pool of 32+ connections
        # costs more CPU per request than the request itself: the connections are split over
        # clients of at most _POOL keep-alive connections each, every one with its own bound, so
        # that the requests in flight never exceed `concurrency` and every connection is reused
        sizes = [len(range(i, self.concurrency, -(-self.concurrency // _POOL)))
                 for i in range(-(-self.concurrency // _POOL))]
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(
                timeout=self.timeout, headers=headers,
                limits=httpx.Limits(max_connections=k, max_keepalive_connections=k))) for k in sizes]
            sems = [asyncio.Semaphore(k) for k in sizes]
            n = len(clients)
            return list(await asyncio.gather(*(self._one(clients[i % n], r, sems[i % n], req_bucket, tok_bucket)
                                               for i, r in enumerate(requests))))

    def judge(self, requests: Sequence[Request]) -> list[Verdict]:
        """One :class:`~metaeval.probes.parsers.Verdict` per request, in order."""
        for r in requests:  # prompt errors are the caller's, before any request is sent
            self.api_messages(r)
        return _run(self._all(requests))

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        """P(first shown wins) per pair (1 / 0 / ½ from text, a probability from log-probabilities), the
        rating per score; nan = abstention (see :attr:`verdicts`)."""
        self.verdicts = self.judge(requests)
        return np.array([v.value for v in self.verdicts], dtype=float)
