"""vLLM's offline engine as a judge (GPU; ``pip install metaeval[vllm]``).

:class:`VLLMJudge` renders requests like the other generating judges (a judge prompt from
:mod:`metaeval.probes.prompts`, the model's chat template) and sends the whole batch to one
``vllm.LLM`` engine with prefix caching on — judge prompts share their long instructions, so
the cache saves most of the prefill. ``mode="generate"`` reads the verdict from the text with
the prompt's parser; ``mode="logprobs"`` asks for one token and reads the labels' probabilities
from its top log-probabilities (the cheap path). Sampling is seeded per request (``seed`` plus
the request's repeat number), so a request's text does not depend on its batch.

For more GPUs: ``tensor_parallel_size`` splits one engine across GPUs of one machine; for one
engine per GPU (data parallel) run the probes with ``engine="ray"`` and a factory that builds a
``VLLMJudge`` inside each actor (``gpus_per_worker=1``).

Tested only where a CUDA device is present (``tests/test_probes_vllm.py`` skips otherwise).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from metaeval.errors import MetaevalError, ParameterError
from metaeval.probes.judges import PROMPT_BUILDER_VERSION, Request
from metaeval.probes.parsers import Verdict, parse
from metaeval.probes.prompts import JudgePrompt, PromptedJudge, preset

__all__ = ["VLLMJudge"]


class VLLMJudge(PromptedJudge):
    """A judge run on vLLM's offline engine.

    Parameters
    ----------
    model : str
        A local model folder (or a hub name where the machine can reach the hub).
    prompt : JudgePrompt or str or None
        A preset name or prompt; ``None`` sends each request's own text.
    mode : {"generate", "logprobs"}
        Verdict from the generated text, or from the first token's log-probabilities.
    tensor_parallel_size : int
        GPUs one engine spans.
    engine_kwargs
        Passed on to ``vllm.LLM`` (``gpu_memory_utilization``, ``max_model_len``, ``dtype``…).
    """

    def __init__(self, model: str, *, prompt: JudgePrompt | str | None = "mt-bench-pair", parser: str | None = None,
                 mode: Literal["generate", "logprobs"] = "generate", max_tokens: int = 1024,
                 temperature: float = 0.0, top_p: float = 1.0, seed: int = 0, top_logprobs: int = 20,
                 tensor_parallel_size: int = 1, revision: str | None = None, name: str | None = None,
                 batch_size: int = 1024, chat: bool | None = None, system_prompt: str | None = None,
                 **engine_kwargs: Any) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise MetaevalError("VLLMJudge needs vLLM and a GPU: pip install 'metaeval[vllm]'") from exc
        if mode not in ("generate", "logprobs"):
            raise ParameterError(f"`mode` must be 'generate' or 'logprobs'; got {mode!r}")
        self.prompt = preset(prompt) if isinstance(prompt, str) else prompt
        self.parser = parser or (self.prompt.parser if self.prompt else "identifier")
        self.mode, self.max_tokens, self.temperature, self.top_p = mode, max_tokens, float(temperature), float(top_p)
        self.seed, self.top_logprobs, self.batch_size = int(seed), top_logprobs, batch_size
        self.model_path, self.revision = str(model), revision
        self.name = name or str(model).rstrip("/").rsplit("/", 1)[-1]
        self.system_prompt = system_prompt
        self.llm = vllm.LLM(model=str(model), revision=revision, tensor_parallel_size=tensor_parallel_size,
                            enable_prefix_caching=True, seed=self.seed, **engine_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.chat = bool(getattr(self.tokenizer, "chat_template", None)) if chat is None else chat
        self.vllm_version = getattr(vllm, "__version__", "?")
        self.verdicts: list[Verdict] = []

    def fingerprint(self) -> str:
        """Model path and revision, prompt, parser, mode, decoding parameters and the vLLM version."""
        chat_t = hashlib.sha256(str(getattr(self.tokenizer, "chat_template", "") or "").encode()).hexdigest()[:12]
        prompt_fp = self._prompt_fingerprint()
        return (f"vllm:{self.model_path}@{self.revision or '-'}:prompt={prompt_fp}:parser={self.parser}:"
                f"mode={self.mode}:chat={int(self.chat)}:{chat_t}:max={self.max_tokens}:t={self.temperature:g}:"
                f"p={self.top_p:g}:seed={self.seed}:vllm={self.vllm_version}:builder={PROMPT_BUILDER_VERSION}")

    def _params(self, r: Request) -> Any:
        from vllm import SamplingParams

        if self.mode == "logprobs":
            return SamplingParams(max_tokens=1, temperature=0.0, logprobs=self.top_logprobs)
        return SamplingParams(max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
                              seed=self.seed + int(r.rep))

    def _read(self, r: Request, out: Any) -> Verdict:
        gen = out.outputs[0]
        text = str(gen.text)
        scale = (r.scale[0], r.scale[1]) if r.kind == "score" else (1, 10)
        if self.mode == "generate":
            return parse(self.parser, text, labels=self._labels(r), scale=scale)
        names = list(self._labels(r)) if r.kind == "pair" else [str(v) for v in range(r.scale[0], r.scale[1] + 1)]
        probs = dict.fromkeys(names, 0.0)
        first = (gen.logprobs or [{}])[0] or {}
        for entry in first.values():
            tok = str(getattr(entry, "decoded_token", "") or "").strip()
            if tok in probs:
                probs[tok] += math.exp(float(entry.logprob))
        total = sum(probs.values())
        if total <= 0:
            return Verdict(math.nan, "abstain", text, None, "no label among the first token's top log-probabilities")
        if r.kind == "pair":
            return Verdict(probs[names[0]] / total, "ok", text, max(probs, key=probs.__getitem__))
        return Verdict(sum(int(k) * v for k, v in probs.items()) / total, "ok", text, None)

    def judge(self, requests: Sequence[Request]) -> list[Verdict]:
        """One verdict per request (abstentions keep their raw text and reason)."""
        if not requests:
            return []
        texts = [self.text(r) for r in requests]
        outs = self.llm.generate(texts, [self._params(r) for r in requests], use_tqdm=False)
        return [self._read(r, o) for r, o in zip(requests, outs, strict=True)]

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        self.verdicts = self.judge(requests)
        return np.array([v.value for v in self.verdicts], dtype=float)
