"""A judge that writes: batched generation with a causal LM, verdicts read by a parser.

:class:`GenerativeJudge` renders each request through a :class:`~metaeval.probes.prompts.JudgePrompt`
(a preset such as ``"mt-bench-pair"`` or a custom Jinja template), wraps it in the model's own
chat template when the tokenizer has one, generates (greedy by default; sampling is seeded per
request, so a request gets the same text alone or in any batch), and reads the verdict with the
prompt's parser (:mod:`metaeval.probes.parsers`). A generation without a readable verdict is an
abstention: its value is nan and :attr:`GenerativeJudge.verdicts` (the last call's) keeps the
raw text and the reason — it is never counted as a tie.

The log-probability judge (:class:`~metaeval.probes.CausalLMJudge`) stays the cheap path: one
forward pass, no decoding. The two agree where both apply: with generation constrained to the
label tokens (``constrain_labels=True``), greedy decoding picks the label token the
log-probability judge ranks first, and sampling picks label A with the probability it reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaeval.errors import MetaevalError, ParameterError
from metaeval.probes.judges import (
    PROMPT_BUILDER_VERSION,
    Request,
    _label_token_ids,
    _quiet_hf,
    auto_device,
    load_local_lm,
)
from metaeval.probes.parsers import Verdict, parse
from metaeval.probes.prompts import JudgePrompt, PromptedJudge, preset

__all__ = ["GenerativeJudge"]


class _OnlyTokens:
    """A logits processor that allows, per batch row, only some token ids at the first generated
    position."""

    def __init__(self, allowed: Sequence[Sequence[int]], start: int) -> None:
        self.allowed = [sorted({int(t) for t in row}) for row in allowed]
        self.start = start

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if input_ids.shape[1] != self.start:
            return scores
        mask = torch.full_like(scores, float("-inf"))
        for row, ids in enumerate(self.allowed):
            mask[row, ids] = 0.0
        return scores + mask


class GenerativeJudge(PromptedJudge):
    """A Hugging Face causal LM that generates its judgment; a parser reads the verdict.

    Parameters
    ----------
    model, tokenizer
        A transformers causal LM and its tokenizer.
    prompt : JudgePrompt or str or None
        A preset name (:data:`metaeval.probes.prompts.PRESETS`) or a :class:`JudgePrompt`.
        ``None`` sends each request's own text (the runner's built-in template) and reads it
        with ``parser``.
    parser : str, optional
        The verdict parser when ``prompt`` is ``None`` (default ``"identifier"``: the label).
    chat : bool or None
        Wrap the messages in the tokenizer's chat template (``None``: when it has one).
    system_prompt : str, optional
        Replaces the prompt's system message.
    max_new_tokens : int
        Generation budget; a verdict cut off by it is an abstention.
    temperature : float
        0 is greedy decoding; above 0 samples, seeded per request from ``seed``.
    constrain_labels : bool
        Allow only the label tokens as the first generated token (single-token verdicts).

    Examples
    --------
    >>> import tempfile
    >>> from metaeval.probes import Request, build_tiny_judge
    >>> from metaeval.probes.generate import GenerativeJudge
    >>> path = build_tiny_judge(tempfile.mkdtemp(), seed=0)
    >>> judge = GenerativeJudge.from_pretrained(path, prompt="mt-bench-pair", max_new_tokens=8, device="cpu")
    >>> out = judge([Request("pair", "", ("4", "5"), "2+2?")])
    >>> v = judge.verdicts[-1]   # a random tiny model writes no verdict: an abstention, not a tie
    >>> v.status, bool(np.isnan(out[0]))
    ('abstain', True)
    """

    def __init__(self, model: Any, tokenizer: Any, *, prompt: JudgePrompt | str | None = "mt-bench-pair",
                 parser: str | None = None, chat: bool | None = None, system_prompt: str | None = None,
                 max_new_tokens: int = 512, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0,
                 constrain_labels: bool = False, name: str | None = None, device: str | None = None,
                 dtype: Any = None, batch_size: int = 8, revision: str | None = None) -> None:
        import torch

        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ParameterError(f"`max_new_tokens` must be a positive integer; got {max_new_tokens!r}")
        if not (isinstance(temperature, (int, float)) and 0 <= float(temperature) < float("inf")):
            raise ParameterError(f"`temperature` must be a finite number ≥ 0; got {temperature!r}")
        if not (0 < float(top_p) <= 1):
            raise ParameterError(f"`top_p` must be in (0, 1]; got {top_p!r}")
        self.prompt = preset(prompt) if isinstance(prompt, str) else prompt
        self.parser = parser or (self.prompt.parser if self.prompt else "identifier")
        self.device = auto_device(device)
        self.dtype = dtype or (torch.bfloat16 if self.device == "cuda" else torch.float32)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat = bool(getattr(tokenizer, "chat_template", None)) if chat is None else chat
        self.system_prompt = system_prompt
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, float(temperature), float(top_p)
        self.seed, self.constrain_labels, self.batch_size = int(seed), constrain_labels, batch_size
        self.revision = revision
        self.name = name or str(getattr(model.config, "_name_or_path", "") or type(model).__name__)
        self.verdicts: list[Verdict] = []

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> GenerativeJudge:
        """Load a saved model folder (nothing is downloaded)."""
        model, tok, p = load_local_lm(path)
        kwargs.setdefault("name", p.name)
        return cls(model, tok, **kwargs)

    def fingerprint(self) -> str:
        """Model (name, revision, size and a weight probe), prompt, parser, chat template and decoding."""
        n_params = sum(int(p.numel()) for p in self.model.parameters())
        first = next(self.model.parameters())
        probe = float(first.detach().float().flatten()[:16].sum())
        chat_t = hashlib.sha256(str(getattr(self.tokenizer, "chat_template", "") or "").encode()).hexdigest()[:12]
        prompt_fp = self._prompt_fingerprint()
        return (f"gen:{self.name}@{self.revision or '-'}:{type(self.model).__name__}:{n_params}:{probe:.8g}:"
                f"{self.dtype}:prompt={prompt_fp}:parser={self.parser}:chat={int(self.chat)}:{chat_t}:"
                f"sys={hashlib.sha256(str(self.system_prompt).encode()).hexdigest()[:8]}:"
                f"max={self.max_new_tokens}:t={self.temperature:g}:p={self.top_p:g}:seed={self.seed}:"
                f"labels={int(self.constrain_labels)}:builder={PROMPT_BUILDER_VERSION}")

    # ------------------------------------------------------------------ prompts
    # ------------------------------------------------------------------ generation
    def _request_seed(self, text: str, rep: int) -> int:
        return int.from_bytes(hashlib.sha256(f"{self.seed}:{rep}:{text}".encode()).digest()[:8], "little")

    def generate(self, texts: Sequence[str], *, allowed: Sequence[Sequence[str]] | None = None,
                 reps: Sequence[int] | None = None) -> list[str]:
        """Generated continuations (new text only) for prompt texts, in order.

        When sampling, each text is generated alone with a seed drawn from (``seed``, the text,
        its repeat number in ``reps``), so the output does not depend on the batch."""
        return self._generate(texts, allowed=allowed, reps=reps)[0]

    def _generate(self, texts: Sequence[str], *, allowed: Sequence[Sequence[str]] | None = None,
                  reps: Sequence[int] | None = None) -> tuple[list[str], list[int]]:
        import torch
        from transformers import LogitsProcessorList

        if not texts:
            return [], []
        sampling = self.temperature > 0
        groups = [[i] for i in range(len(texts))] if sampling else [list(range(len(texts)))]
        out: list[str] = [""] * len(texts)
        first: list[int] = [-1] * len(texts)
        for idx in groups:
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True)
            ids = enc["input_ids"].to(self.device)
            mask = enc["attention_mask"].to(self.device)
            procs = LogitsProcessorList()
            if self.constrain_labels:
                if allowed is None:
                    raise MetaevalError("constrain_labels needs the labels each request may answer with")
                rows = [[t for ts in _label_token_ids(self.tokenizer, list(allowed[i])) for t in ts] for i in idx]
                procs.append(_OnlyTokens(rows, ids.shape[1]))
            kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": sampling,
                                      "pad_token_id": self.tokenizer.pad_token_id,
                                      "logits_processor": procs}
            if sampling:
                kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=0)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            # the seed is set inside a forked RNG state: the caller's torch RNG is left as it was
            cuda = str(self.device).startswith("cuda")
            with torch.random.fork_rng(devices=None if cuda else []), torch.inference_mode(), _quiet_hf():
                if sampling:
                    torch.manual_seed(self._request_seed(texts[idx[0]], 0 if reps is None else int(reps[idx[0]])))
                gen = self.model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            new = gen[:, ids.shape[1]:]
            for row, i in enumerate(idx):
                out[i] = self.tokenizer.decode(new[row], skip_special_tokens=True)
                first[i] = int(new[row, 0]) if new.shape[1] else -1
        return out, first

    def judge(self, requests: Sequence[Request]) -> list[Verdict]:
        """Generate and parse: one :class:`Verdict` per request (abstentions keep raw text and reason)."""
        texts = [self.text(r) for r in requests]
        labels = [self._labels(r) if r.kind == "pair" else ("A", "B") for r in requests]
        allowed = [lab if r.kind == "pair" else tuple(str(v) for v in range(r.scale[0], r.scale[1] + 1))
                   for r, lab in zip(requests, labels, strict=True)]
        verdicts: list[Verdict] = []
        for start in range(0, len(texts), self.batch_size):
            stop = start + self.batch_size
            gens, first = self._generate(texts[start:stop], allowed=allowed[start:stop],
                                         reps=[r.rep for r in requests[start:stop]])
            for r, lab, ok, g, t in zip(requests[start:stop], labels[start:stop], allowed[start:stop], gens, first,
                                        strict=True):
                scale = (r.scale[0], r.scale[1]) if r.kind == "score" else (1, 10)
                if self.constrain_labels:
                    # the first token decides, by the label whose spellings it starts (as the
                    # log-probability judge counts it), whatever the rest of the text says
                    sets = _label_token_ids(self.tokenizer, list(ok))
                    hit = [name for name, ts in zip(ok, sets, strict=True) if t in ts]
                    g = hit[0] if hit else g
                verdicts.append(parse(self.parser if not self.constrain_labels or r.kind == "pair" else "number",
                                      g, labels=lab, scale=scale))
        return verdicts

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        """P(first shown wins) coded 1 / 0 / ½ per pair, the rating per score; nan = abstention."""
        verdicts = self.judge(requests)
        self.verdicts = verdicts
        return np.array([v.value for v in verdicts], dtype=float)
