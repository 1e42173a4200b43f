"""Judge prompts as data: named presets, custom Jinja templates, chat templates.

A :class:`JudgePrompt` is what a generating judge is asked: an optional system message, a user
message written as a Jinja template with named slots, the output format its parser reads, and
the source it follows. Presets follow the structure and output format of the published judge
prompts; the wording is ours (each cites its source):

========================  ======  ===========================================================
preset                    kind    verdict format (parser)
========================  ======  ===========================================================
``mt-bench-single``       score   ``Rating: [[7]]`` on 1–10 (``rating``)
``mt-bench-single-ref``   score   same, with a reference answer
``mt-bench-pair``         pair    ``[[A]]``, ``[[B]]`` or ``[[C]]`` for a tie (``choice``)
``mt-bench-pair-ref``     pair    same, with a reference answer
``alpaca-eval``           pair    the identifier of the better output, ``m`` or ``M`` (``identifier``)
``arena-hard``            pair    ``[[A>>B]]`` … ``[[B>>A]]`` after the judge's own answer (``arena``)
``pandalm``               pair    first line ``1``, ``2`` or ``Tie`` then a reason (``pandalm``)
``judgelm``               pair    first line two scores ``8 6`` then a reason (``judgelm``)
========================  ======  ===========================================================

Sources: Zheng et al. 2023, *Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena* (FastChat
``judge_prompts.jsonl``: single-v1, single-math-v1, pair-v2, pair-math-v1); Li et al. 2023 /
Dubois et al. 2024, AlpacaEval (``weighted_alpaca_eval_gpt4_turbo``: the better output's
identifier, read from one token); Li et al. 2024, *From Crowdsourced Data to High-Quality
Benchmarks: Arena-Hard and BenchBuilder* (the five-level ``[[A>>B]]`` scale, own answer first);
Wang et al. 2024, *PandaLM* (``1``/``2``/``Tie`` on the first line); Zhu et al. 2023, *JudgeLM*
(two 1–10 scores on the first line).

Slots every template may use: ``question``, ``answer`` (score prompts), ``answer_a`` and
``answer_b`` (pair prompts), ``reference``, ``label_a`` and ``label_b``, ``low`` and ``high``
(the score scale). A template that uses a slot the request does not fill is an error naming the
slot, not an empty string in the prompt.

>>> from metaeval.probes.prompts import preset
>>> p = preset("mt-bench-pair")
>>> msgs = p.messages(question="2+2?", answer_a="4", answer_b="5")
>>> [m["role"] for m in msgs]
['system', 'user']
>>> "[The Start of Assistant A's Answer]\\n4" in msgs[1]["content"]
True
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from metaeval._validate import Options, validate_params
from metaeval.errors import MetaevalError, ParameterError
from metaeval.probes.judges import PROMPT_BUILDER_VERSION
from metaeval.probes.parsers import PARSERS

__all__ = ["PRESETS", "JudgePrompt", "PromptedJudge", "preset", "render_chat", "template"]

# the version of how prompts are built, part of every cache key (bump it in judges.py when that changes)

_PAIR_SYSTEM = (
    "You are a careful, impartial judge. You will see a user question and the answers of two AI "
    "assistants. Decide which assistant answered the question better, considering how helpful, "
    "relevant, accurate and detailed each answer is{ref_clause}. The order in which the answers "
    "appear, their length and the assistants' names must not influence you. First explain your "
    "comparison briefly. Then give your final verdict in exactly this format: \"[[A]]\" if "
    "assistant A is better, \"[[B]]\" if assistant B is better, \"[[C]]\" for a tie."
)
_SINGLE_SYSTEM = (
    "You are a careful, impartial judge. You will see a user question and one AI assistant's "
    "answer. Judge the answer's helpfulness, relevance, accuracy, depth and level of detail"
    "{ref_clause}. First explain your assessment briefly. Then rate the answer from {{{{ low }}}} to "
    "{{{{ high }}}} in exactly this format: \"[[rating]]\", for example \"Rating: [[5]]\"."
)
_REF_CLAUSE = ", comparing each answer with the reference answer and correcting any mistake you find"

_PAIR_USER = (
    "[User Question]\n{{ question }}\n\n"
    "{% if reference is defined and reference %}[The Start of Reference Answer]\n{{ reference }}\n"
    "[The End of Reference Answer]\n\n{% endif %}"
    "[The Start of Assistant {{ label_a }}'s Answer]\n{{ answer_a }}\n[The End of Assistant {{ label_a }}'s Answer]\n\n"
    "[The Start of Assistant {{ label_b }}'s Answer]\n{{ answer_b }}\n[The End of Assistant {{ label_b }}'s Answer]"
)
_SINGLE_USER = (
    "[Question]\n{{ question }}\n\n"
    "{% if reference is defined and reference %}[The Start of Reference Answer]\n{{ reference }}\n"
    "[The End of Reference Answer]\n\n{% endif %}"
    "[The Start of Assistant's Answer]\n{{ answer }}\n[The End of Assistant's Answer]"
)

_ALPACA_SYSTEM = (
    "You are an efficient assistant who compares large language models by the quality of their "
    "answers to an instruction, as a thoughtful human reader would."
)
_ALPACA_USER = (
    "I am building a leaderboard of language models. Below is an instruction given to two models and "
    "what each one wrote. Pick the model whose output a human would prefer.\n\n"
    "## Instruction\n\n{\n    \"instruction\": {{ question | tojson }}\n}\n\n"
    "## Model outputs\n\n{\n    {\n        \"model_identifier\": \"{{ label_a }}\",\n"
    "        \"output\": {{ answer_a | tojson }}\n    },\n    {\n"
    "        \"model_identifier\": \"{{ label_b }}\",\n        \"output\": {{ answer_b | tojson }}\n    }\n}\n\n"
    "## Task\n\nJudge the outputs by their quality and relevance to the instruction, then answer with "
    "the identifier of the better model and nothing else: {{ label_a }} or {{ label_b }}.\n\n"
    "## Best model identifier"
)

_ARENA_SYSTEM = (
    "You are an impartial judge of two AI assistants' answers to a user prompt. Before you judge, "
    "write your own answer to the prompt. Then compare both assistants' answers with yours: point out "
    "mistakes and inaccuracies, and consider whether each answer is helpful, relevant and concise, and "
    "what important information it misses. Finally give exactly one of these verdicts, with its label:\n"
    "1. Assistant A is significantly better: [[A>>B]]\n2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n"
    "For example: \"My final verdict is tie: [[A=B]]\"."
)
_ARENA_USER = (
    "<|User Prompt|>\n{{ question }}\n\n<|The Start of Assistant A's Answer|>\n{{ answer_a }}\n"
    "<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{{ answer_b }}\n"
    "<|The End of Assistant B's Answer|>"
)

_PANDALM_USER = (
    "Below are two responses to the same task. Say which response is better. On the first line "
    "write only 1, 2 or Tie; on the next lines give your reason, and a reference response if you "
    "can.\n\n### Instruction:\n{{ question }}\n\n### Response 1:\n{{ answer_a }}\n\n"
    "### Response 2:\n{{ answer_b }}\n\n### Evaluation:\n"
)

_JUDGELM_SYSTEM = "You are a helpful and precise assistant for checking the quality of answers."
_JUDGELM_USER = (
    "[Question]\n{{ question }}\n\n[The Start of Assistant 1's Answer]\n{{ answer_a }}\n"
    "[The End of Assistant 1's Answer]\n\n[The Start of Assistant 2's Answer]\n{{ answer_b }}\n"
    "[The End of Assistant 2's Answer]\n\n[System]\nPlease rate the helpfulness, relevance, accuracy and "
    "level of detail of the two answers. Give each assistant an overall score from 1 to 10; higher is "
    "better. On the first line write only the two scores, for Assistant 1 and Assistant 2, separated by "
    "a space. From the second line on, explain your evaluation, avoiding bias from the order of the "
    "answers."
)


@dataclass(frozen=True)
class JudgePrompt:
    """A judge prompt: system message, user template (Jinja), output format and source.

    ``kind`` is ``"pair"`` or ``"score"``; ``parser`` names the verdict format in
    :mod:`metaeval.probes.parsers`; ``labels`` are the two answers' labels a pair prompt shows
    (they must match what the parser reads); ``scale`` is a score prompt's range.

    >>> p = template("Q: {{ question }}\\nA: {{ answer }}\\nScore 1-5:", kind="score", parser="number",
    ...              scale=(1, 5))
    >>> p.messages(question="hi", answer="hello")[-1]["content"]
    'Q: hi\\nA: hello\\nScore 1-5:'
    """

    name: str
    kind: Literal["pair", "score"]
    user: str
    parser: str
    system: str | None = None
    labels: tuple[str, str] = ("A", "B")
    scale: tuple[int, int] = (1, 10)
    needs_reference: bool = False
    source: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("pair", "score"):
            raise MetaevalError(f"prompt {self.name!r}: `kind` must be 'pair' or 'score'; got {self.kind!r}")
        _compile(self.user, self.name)
        if self.system:
            _compile(self.system, self.name)

    def fingerprint(self) -> str:
        """A short hash of everything that shapes the prompt text and its reading."""
        payload = json.dumps([PROMPT_BUILDER_VERSION, self.kind, self.user, self.system, self.parser,
                              list(self.labels), list(self.scale), self.needs_reference,
                              sorted((str(k), repr(v)) for k, v in self.options.items())])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_labels(self, a: str, b: str) -> JudgePrompt:
        """The same prompt with other labels for the two answers."""
        return replace(self, labels=(a, b))

    def messages(self, *, question: str, answer: str | None = None, answer_a: str | None = None,
                 answer_b: str | None = None, reference: str | None = None) -> list[dict[str, str]]:
        """Render the chat messages (``system`` first when the prompt has one, then ``user``)."""
        if self.kind == "pair" and (answer_a is None or answer_b is None):
            raise MetaevalError(f"prompt {self.name!r} compares two answers: give `answer_a` and `answer_b`")
        if self.kind == "score" and answer is None:
            raise MetaevalError(f"prompt {self.name!r} rates one answer: give `answer`")
        if self.needs_reference and not reference:
            raise MetaevalError(f"prompt {self.name!r} needs a reference answer; the item has none")
        slots: dict[str, Any] = {"question": question, "label_a": self.labels[0], "label_b": self.labels[1],
                                 "low": self.scale[0], "high": self.scale[1]}
        for key, value in (("answer", answer), ("answer_a", answer_a), ("answer_b", answer_b),
                           ("reference", reference)):
            if value is not None:
                slots[key] = value
        out = []
        if self.system:
            out.append({"role": "system", "content": _render(self.system, slots, self.name)})
        out.append({"role": "user", "content": _render(self.user, slots, self.name)})
        return out


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    # a JSON string as a model reads it (Jinja's own tojson escapes <, > and & for HTML)
    env.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


@functools.lru_cache(maxsize=256)
def _compile(source: str, name: str) -> Any:
    import jinja2

    try:
        return _env().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise MetaevalError(f"prompt {name!r}: the Jinja template does not parse (line {exc.lineno}: "
                            f"{exc.message})") from None


def _render(source: str, slots: Mapping[str, Any], name: str) -> str:
    import jinja2

    try:
        return str(_compile(source, name).render(**slots))
    except jinja2.UndefinedError as exc:
        raise MetaevalError(f"prompt {name!r}: the template uses a slot the request does not fill ({exc.message}); "
                            f"slots given: {', '.join(sorted(slots))}") from None


def _pair(name: str, ref: bool, source: str) -> JudgePrompt:
    return JudgePrompt(name=name, kind="pair", parser="choice",
                       system=_PAIR_SYSTEM.format(ref_clause=_REF_CLAUSE if ref else ""), user=_PAIR_USER,
                       needs_reference=ref, source=source)


def _single(name: str, ref: bool, source: str) -> JudgePrompt:
    return JudgePrompt(name=name, kind="score", parser="rating",
                       system=_SINGLE_SYSTEM.format(ref_clause=_REF_CLAUSE if ref else ""), user=_SINGLE_USER,
                       scale=(1, 10), needs_reference=ref, source=source)


_MT = "Zheng et al. 2023, Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena (FastChat judge_prompts.jsonl, "

PRESETS: dict[str, JudgePrompt] = {
    "mt-bench-single": _single("mt-bench-single", False, _MT + "single-v1)"),
    "mt-bench-single-ref": _single("mt-bench-single-ref", True, _MT + "single-math-v1)"),
    "mt-bench-pair": _pair("mt-bench-pair", False, _MT + "pair-v2)"),
    "mt-bench-pair-ref": _pair("mt-bench-pair-ref", True, _MT + "pair-math-v1)"),
    "alpaca-eval": JudgePrompt(name="alpaca-eval", kind="pair", parser="identifier", system=_ALPACA_SYSTEM,
                               user=_ALPACA_USER, labels=("m", "M"),
                               source="Dubois et al. 2024, Length-Controlled AlpacaEval "
                                      "(weighted_alpaca_eval_gpt4_turbo ranking prompt)"),
    "arena-hard": JudgePrompt(name="arena-hard", kind="pair", parser="arena", system=_ARENA_SYSTEM, user=_ARENA_USER,
                              source="Li et al. 2024, From Crowdsourced Data to High-Quality Benchmarks: "
                                     "Arena-Hard and BenchBuilder (arena-hard-auto judge prompt)"),
    "pandalm": JudgePrompt(name="pandalm", kind="pair", parser="pandalm", user=_PANDALM_USER, labels=("1", "2"),
                           source="Wang et al. 2024, PandaLM: An Automatic Evaluation Benchmark for LLM "
                                  "Instruction Tuning Optimization"),
    "judgelm": JudgePrompt(name="judgelm", kind="pair", parser="judgelm", system=_JUDGELM_SYSTEM, user=_JUDGELM_USER,
                           labels=("1", "2"),
                           source="Zhu et al. 2023, JudgeLM: Fine-tuned Large Language Models are Scalable Judges"),
}


def preset(name: str) -> JudgePrompt:
    """A named judge prompt (see :data:`PRESETS`).

    Parameters
    ----------
    name : str
        One of :data:`PRESETS` (``"mt-bench-single"``, ``"mt-bench-pair"``, ``"alpaca-eval"``,
        ``"arena-hard"``, …).

    Returns
    -------
    JudgePrompt
        The prompt, with its verdict parser and source.

    Raises
    ------
    ParameterError
        For an unknown name (the message lists the presets).

    Examples
    --------
    >>> preset("arena-hard").parser
    'arena'
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ParameterError(f"unknown judge prompt preset {name!r}; presets: {', '.join(PRESETS)}") from None


@validate_params({
    "kind": [Options(str, ("pair", "score"))],
    "needs_reference": ["boolean"],
})
def template(user: str, *, kind: Literal["pair", "score"], parser: str, system: str | None = None,
             name: str = "custom", labels: Sequence[str] = ("A", "B"), scale: tuple[int, int] = (1, 10),
             needs_reference: bool = False) -> JudgePrompt:
    """A custom judge prompt from a Jinja template with named slots.

    Parameters
    ----------
    user, system : str
        Jinja templates of the user and (optional) system message; slots ``question``,
        ``answer`` or ``answer_a``/``answer_b``, ``reference``, ``label_a``/``label_b``,
        ``low``/``high``.
    kind : {"pair", "score"}
        Whether the prompt compares two answers or rates one.
    parser : str
        The verdict format (:data:`metaeval.probes.parsers.PARSERS`).

    Returns
    -------
    JudgePrompt
        The prompt: ``messages(**slots)`` fills it; ``parser`` names the format its answers are read with.

    Examples
    --------
    >>> p = template("{{ question }}\\n(A) {{ answer_a }}\\n(B) {{ answer_b }}\\nBetter: [[A]] or [[B]]?",
    ...              kind="pair", parser="choice")
    >>> p.messages(question="q", answer_a="x", answer_b="y")[0]["content"].splitlines()[1]
    '(A) x'
    """
    if parser not in PARSERS:
        raise MetaevalError(f"unknown verdict parser {parser!r}; parsers: {', '.join(PARSERS)}")
    if len(labels) != 2:
        raise ParameterError(f"`labels` must be two labels; got {list(labels)!r}")
    return JudgePrompt(name=name, kind=kind, user=user, parser=parser, system=system,
                       labels=(str(labels[0]), str(labels[1])), scale=(int(scale[0]), int(scale[1])),
                       needs_reference=needs_reference)


def render_chat(messages: Sequence[Mapping[str, str]], tokenizer: Any = None, *, system_prompt: str | None = None,
                assistant_prefix: str = "") -> str:
    """The text a causal LM reads for these chat messages.

    With a tokenizer that has a chat template, its own template renders the messages (with the
    generation prompt). Without one, a plain transcript: the system message, then ``User:`` …
    ``Assistant:``. ``system_prompt`` replaces (or adds) the system message; ``assistant_prefix``
    is appended after the generation prompt (e.g. ``"[["`` to start the verdict).

    Parameters
    ----------
    messages : sequence of mappings
        Chat messages, each with ``role`` (``"system"``, ``"user"``, ``"assistant"``) and
        ``content``.
    tokenizer : transformers tokenizer, optional
        Its chat template renders the messages where it has one.
    system_prompt : str, optional
        Replaces the system message (or adds one).
    assistant_prefix : str, default ""
        Text appended after the generation prompt.

    Returns
    -------
    str
        The prompt text.

    Examples
    --------
    >>> render_chat([{"role": "user", "content": "hi"}], system_prompt="Be brief.")
    'Be brief.\\n\\nUser: hi\\nAssistant: '
    """
    msgs = [dict(m) for m in messages]
    if system_prompt is not None:
        msgs = [m for m in msgs if m.get("role") != "system"]
        msgs.insert(0, {"role": "system", "content": system_prompt})
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        try:
            text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # templates that reject a system role (e.g. some Gemma versions)
            if msgs and msgs[0]["role"] == "system" and "system" in str(exc).lower():
                first = msgs[0]["content"]
                rest = msgs[1:]
                rest[0] = {**rest[0], "content": first + "\n\n" + rest[0]["content"]}
                text = tokenizer.apply_chat_template(rest, tokenize=False, add_generation_prompt=True)
            else:
                raise MetaevalError(f"the tokenizer's chat template failed: {exc}") from exc
        return str(text) + assistant_prefix
    parts = []
    for m in msgs:
        role = m.get("role")
        if role == "system":
            parts.append(m["content"] + "\n\n")
        elif role == "user":
            parts.append(f"User: {m['content']}\n")
        elif role == "assistant":
            parts.append(f"Assistant: {m['content']}\n")
        else:
            raise MetaevalError(f"a chat message's role must be system, user or assistant; got {role!r}")
    return "".join(parts) + "Assistant: " + assistant_prefix


class PromptedJudge:
    """What every generating judge shares (transformers, HTTP, vLLM): a request rendered through
    its judge prompt (``prompt``; ``None`` sends the request's own text), with the request's own
    labels when a probe changed them, and the prompt's part of the cache identity."""

    prompt: JudgePrompt | None
    chat: bool = False
    system_prompt: str | None = None
    tokenizer: Any = None

    def _labels(self, r: Any) -> tuple[str, str]:
        if self.prompt is not None and tuple(r.labels) == ("A", "B"):
            return self.prompt.labels
        return (str(r.labels[0]), str(r.labels[1]))

    def _prompt_fingerprint(self) -> str:
        return self.prompt.fingerprint() if self.prompt else "request-text"

    def messages(self, r: Any) -> list[dict[str, str]]:
        """The chat messages for a request."""
        if self.prompt is None:
            return [{"role": "user", "content": r.text}]
        if self.prompt.kind != r.kind:
            raise MetaevalError(f"judge prompt {self.prompt.name!r} is a {self.prompt.kind} prompt; the request is "
                                f"a {r.kind} request")
        if r.kind == "pair":
            return self.prompt.with_labels(*self._labels(r)).messages(
                question=r.prompt, answer_a=r.responses[0], answer_b=r.responses[1], reference=r.reference)
        p = self.prompt
        if r.scale is not None and tuple(r.scale) != tuple(p.scale):
            p = replace(p, scale=(int(r.scale[0]), int(r.scale[1])))  # the scale the answer is read on
        return p.messages(question=r.prompt, answer=r.responses[0], reference=r.reference)

    def api_messages(self, r: Any) -> list[dict[str, str]]:
        """The chat messages sent to an API: :meth:`messages` with ``system_prompt`` replacing
        (or adding) the system message."""
        msgs = self.messages(r)
        if self.system_prompt is None:
            return msgs
        return [{"role": "system", "content": self.system_prompt}, *(m for m in msgs if m["role"] != "system")]

    def text(self, r: Any) -> str:
        """The exact text a local model reads for a request (its chat template when it has one)."""
        messages = self.messages(r)
        if self.chat or self.system_prompt is not None:
            return render_chat(messages, self.tokenizer if self.chat else None, system_prompt=self.system_prompt)
        return "\n\n".join(m["content"] for m in messages)
