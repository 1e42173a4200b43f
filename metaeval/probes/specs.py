"""Judge specs: one string names a judge, keyword options set it up.

================================  =========================================================  ===================
spec                              judge                                                      options it takes
================================  =========================================================  ===================
``hf:MODEL_DIR``                  :class:`~metaeval.probes.CausalLMJudge` (log-probabilities) device, batch_size
``gen:MODEL_DIR``                 :class:`~metaeval.probes.GenerativeJudge` (transformers)    see below
``openai:BASE_URL#MODEL``         :class:`~metaeval.probes.AsyncHTTPJudge` (async, chat API)  see below
``vllm:MODEL``                    :class:`~metaeval.probes.vllm.VLLMJudge` (GPU)              see below
``http:BASE_URL#MODEL``           :class:`~metaeval.probes.HTTPJudge` (blocking, logprobs)    batch_size,
                                                                                             requests_per_second,
                                                                                             api_key
``embedding[:MODEL_DIR]``         :class:`~metaeval.probes.EmbeddingJudge`                    device, batch_size
``python:module:function``        :class:`~metaeval.probes.CallableJudge`                     batch_size
================================  =========================================================  ===================

The generating judges (``gen``, ``openai``, ``vllm``) take ``prompt`` (a preset name of
:data:`~metaeval.probes.PRESETS` or the path of a Jinja template file), ``parser``,
``system_prompt``, ``max_new_tokens``, ``temperature``, ``seed`` and ``batch_size``;
``gen`` also ``device``; ``openai`` and ``vllm`` also ``logprobs`` (read the verdict from the
first token's log-probabilities); ``openai`` also ``concurrency``, ``requests_per_second``,
``tokens_per_minute``, ``timeout``, ``max_retries`` and ``api_key``. An option a spec does not
take is an error naming it, never silently ignored.

A template file's kind follows from its slots: ``answer_a``/``answer_b`` make a pair prompt,
``answer`` a score prompt; its ``parser`` must be given.

>>> parse_spec("openai:http://127.0.0.1:8000/v1#judge")
('openai', 'http://127.0.0.1:8000/v1', 'judge')
>>> check_options("hf", {"prompt": "mt-bench-pair"})
Traceback (most recent call last):
...
metaeval.errors.MetaevalError: judge kind 'hf' does not take `prompt`; it takes: batch_size, device
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any, Literal

from metaeval._validate import Interval, validate_params
from metaeval.errors import MetaevalError, ParameterError
from metaeval.probes.generate import GenerativeJudge
from metaeval.probes.http import AsyncHTTPJudge
from metaeval.probes.judges import CallableJudge, CausalLMJudge, EmbeddingJudge, HTTPJudge
from metaeval.probes.parsers import PARSERS
from metaeval.probes.prompts import PRESETS, JudgePrompt, _env, template
from metaeval.probes.vllm import VLLMJudge

__all__ = ["JUDGE_OPTIONS", "JudgeSpec", "check_options", "load_judge", "parse_spec", "resolve_prompt"]

_GENERATING = frozenset({"prompt", "parser", "system_prompt", "max_new_tokens", "temperature", "seed", "batch_size"})

#: The keyword options each judge kind takes.
JUDGE_OPTIONS: dict[str, frozenset[str]] = {
    "hf": frozenset({"device", "batch_size"}),
    "embedding": frozenset({"device", "batch_size"}),
    "http": frozenset({"batch_size", "requests_per_second", "api_key"}),
    "python": frozenset({"batch_size"}),
    "gen": _GENERATING | {"device"},
    "openai": _GENERATING | {"logprobs", "concurrency", "requests_per_second", "tokens_per_minute", "timeout",
                             "max_retries", "api_key"},
    "vllm": _GENERATING | {"logprobs"},
}

_FORMS = ("hf:MODEL_DIR, gen:MODEL_DIR, openai:BASE_URL#MODEL, vllm:MODEL, http:BASE_URL#MODEL, "
          "embedding[:MODEL_DIR] or python:module:function")


def parse_spec(spec: str) -> tuple[str, str, str]:
    """Split a judge spec into (kind, target, model); ``model`` is empty except for HTTP specs.

    Raises :class:`~metaeval.errors.MetaevalError` naming the spec and the accepted forms."""
    if not isinstance(spec, str) or not spec.strip():
        raise MetaevalError(f"a judge spec must be a non-empty string ({_FORMS}); got {spec!r}")
    kind, _, rest = spec.strip().partition(":")
    if kind not in JUDGE_OPTIONS:
        raise MetaevalError(f"unknown judge spec {spec!r}: use {_FORMS}")
    if kind in ("http", "openai"):
        url, _, model = rest.partition("#")
        if not url or not model:
            raise MetaevalError(f"judge spec {spec!r}: an HTTP judge is `{kind}:BASE_URL#MODEL`, e.g. "
                                f"{kind}:http://127.0.0.1:8000/v1#my-model")
        if not url.startswith(("http://", "https://")):
            raise MetaevalError(f"judge spec {spec!r}: the base URL must start with http:// or https://; got {url!r}")
        return kind, url, model
    if kind == "python":
        module, _, attr = rest.rpartition(":")
        if not module or not attr:
            raise MetaevalError(f"judge spec {spec!r}: a Python judge is `python:module:function`")
        return kind, rest, ""
    if kind in ("hf", "gen", "vllm") and not rest:
        raise MetaevalError(f"judge spec {spec!r}: give the model after the colon, e.g. {kind}:./my-model")
    return kind, rest, ""


def check_options(kind: str, options: dict[str, Any]) -> None:
    """Refuse an option the judge kind does not take (``None`` values count as not given)."""
    allowed = JUDGE_OPTIONS[kind]
    for key, value in options.items():
        if value is not None and key not in allowed:
            raise MetaevalError(f"judge kind {kind!r} does not take `{key}`; it takes: {', '.join(sorted(allowed))}")


def resolve_prompt(prompt: Any, parser: str | None = None) -> Any:
    """A :class:`~metaeval.probes.JudgePrompt` from a preset name, a template file path or a prompt.

    A template file's kind is read from its slots (``answer_a`` and ``answer_b``: pair;
    ``answer``: score), and it needs ``parser``."""
    if parser is not None and parser not in PARSERS:
        raise MetaevalError(f"unknown verdict parser {parser!r}; parsers: {', '.join(PARSERS)}")
    if prompt is None or isinstance(prompt, JudgePrompt):
        return prompt
    if not isinstance(prompt, (str, os.PathLike)):
        raise ParameterError(f"`prompt` must be a preset name, a template file or a JudgePrompt; got {prompt!r}")
    if isinstance(prompt, str) and prompt in PRESETS:
        return PRESETS[prompt]
    path = Path(prompt)
    if not path.is_file():
        raise MetaevalError(f"prompt {str(prompt)!r} is neither a preset ({', '.join(PRESETS)}) nor a template file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetaevalError(f"{path}: cannot read the prompt template ({exc})") from None
    slots = _slots(text, str(path))
    kind: Literal["pair", "score"]
    if {"answer_a", "answer_b"} <= slots:
        kind = "pair"
    elif "answer" in slots:
        kind = "score"
    else:
        raise MetaevalError(f"{path}: a judge template must show the answers: the slots `answer_a` and `answer_b` "
                            f"(pair) or `answer` (score); it uses {', '.join(sorted(slots)) or 'no slot'}")
    if parser is None:
        raise MetaevalError(f"{path}: a template file needs its verdict parser (--parser / `parser`): "
                            f"{', '.join(PARSERS)}")
    return template(text, kind=kind, parser=parser, name=path.name)


def _slots(text: str, name: str) -> set[str]:
    import jinja2
    from jinja2 import meta

    try:
        return set(meta.find_undeclared_variables(_env().parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise MetaevalError(f"{name}: the Jinja template does not parse (line {exc.lineno}: {exc.message})") from None


def build(spec: str, **options: Any) -> Any:
    """The judge a spec and its options name (see the module docstring)."""
    kind, target, model = parse_spec(spec)
    check_options(kind, options)
    opts = {k: v for k, v in options.items() if v is not None}
    if "prompt" in opts or "parser" in opts:
        prompt = resolve_prompt(opts.pop("prompt", None) or _default_prompt(kind), opts.get("parser"))
        opts["prompt"] = prompt
    if opts.pop("logprobs", False):
        opts["mode"] = "logprobs"
    if kind == "gen":
        return GenerativeJudge.from_pretrained(target, **opts)
    if kind == "openai":
        if "max_new_tokens" in opts:
            opts["max_tokens"] = opts.pop("max_new_tokens")
        opts.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or None)
        return AsyncHTTPJudge(target, model, **opts)
    if kind == "vllm":
        if "max_new_tokens" in opts:
            opts["max_tokens"] = opts.pop("max_new_tokens")
        return VLLMJudge(target, **opts)
    raise AssertionError(kind)  # the other kinds are built by load_judge


def _default_prompt(kind: str) -> str:
    return "mt-bench-pair"


@dataclass(frozen=True)
class JudgeSpec:
    """A judge to be built where it runs: a spec and its options, picklable, called with no
    arguments (what :func:`~metaeval.probes.distributed.run_judge_ray` gives each Ray actor, so
    that every actor loads its own model).

    >>> JudgeSpec("gen:./tiny", {"prompt": "arena-hard"}).name
    'tiny'
    """

    spec: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind, _, _ = parse_spec(self.spec)
        check_options(kind, self.options)
        if self.options.get("prompt") is not None or self.options.get("parser") is not None:
            # a template file is read here, once: the workers get the prompt itself, not the path
            prompt = resolve_prompt(self.options.get("prompt") or _default_prompt(kind), self.options.get("parser"))
            object.__setattr__(self, "options", {**self.options, "prompt": prompt})

    @property
    def name(self) -> str:
        """The name the built judge will have (the verdict table's ``judge``)."""
        kind, target, model = parse_spec(self.spec)
        if kind in ("openai", "http"):
            return model
        if kind == "python":
            return target.rpartition(":")[2]
        if kind == "embedding":
            return "semscore"
        return target.rstrip("/").rsplit("/", 1)[-1]

    @property
    def batch_size(self) -> int | None:
        return self.options.get("batch_size")

    def __call__(self) -> Any:
        return load_judge(self.spec, **self.options)


@validate_params({"batch_size": [Interval(Integral, 1, None, closed="left"), None]})
def load_judge(spec: str, *, device: str | None = None, batch_size: int | None = None, **options: Any) -> Any:
    """A judge from a spec string and its options (:mod:`metaeval.probes.specs`).

    ``hf:PATH`` (a local model folder read from log-probabilities), ``gen:PATH`` (the same model
    generating under a judge prompt), ``openai:URL#MODEL`` (an async OpenAI-compatible client),
    ``vllm:MODEL``, ``http:URL#MODEL`` (blocking, log-probabilities), ``embedding`` or
    ``embedding:PATH``, or ``python:module:function``. Options a kind does not take are an error.

    Parameters
    ----------
    spec : str
        The judge spec, as above.
    device : str, optional
        The torch device of a local model (default: :func:`~metaeval.probes.judges.auto_device`).
    batch_size : int, optional
        Requests per judge call (default: the judge kind's own).
    **options
        The options of the judge kind (``prompt``, ``parser``, ``max_new_tokens``,
        ``temperature``, ``concurrency`` …; :func:`check_options` says which a kind takes).

    Returns
    -------
    Judge
        The judge, ready for :func:`metaeval.probes.run`.

    Raises
    ------
    MetaevalError
        For a spec that names no judge kind, a module or function that cannot be imported, or
        an option the kind does not take.

    Examples
    --------
    >>> load_judge("gen:./nowhere", concurrency=4)
    Traceback (most recent call last):
    ...
    metaeval.errors.MetaevalError: judge kind 'gen' does not take `concurrency`; it takes: batch_size, device, \
max_new_tokens, parser, prompt, seed, system_prompt, temperature
    """
    kind, target, model = parse_spec(spec)
    check_options(kind, {"device": device, "batch_size": batch_size, **options})
    kw: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    if kind in ("gen", "openai", "vllm"):
        return build(spec, device=device, **kw, **options)
    kw.update({k: v for k, v in options.items() if v is not None})
    if kind == "hf":
        return CausalLMJudge.from_pretrained(target, device=device, **kw)
    if kind == "embedding":
        return EmbeddingJudge(target or None, device=device, **kw)
    if kind == "http":
        return HTTPJudge(target, model, **kw)
    import importlib

    module, _, attr = target.rpartition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise MetaevalError(f"judge {spec!r}: cannot import module {module!r} ({exc})") from None
    except AttributeError:
        raise MetaevalError(f"judge {spec!r}: module {module!r} has no {attr!r}") from None
    if not callable(fn):
        raise MetaevalError(f"judge {spec!r}: {module}.{attr} is not callable; got {type(fn).__name__}")
    return fn if hasattr(fn, "fingerprint") else CallableJudge(fn, name=attr, **kw)
