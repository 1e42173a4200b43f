"""Verdicts from generated text: one parser per published output format.

A parser reads a judge's generation (reasoning first is fine: the verdict is the **last**
well-formed verdict in the text) and returns a :class:`Verdict`. For a pair, ``value`` is how
much the answer shown first wins: 1 (first), 0 (second), 0.5 only when the judge *says* tie;
graded scales keep their strength in ``strength``. For a score, ``value`` is the rating. Text
that holds no verdict, or conflicting verdicts on its last verdict line, is an **abstention**
(``value`` is nan, ``status`` is ``"abstain"``, ``reason`` says why and ``raw`` keeps the text)
— never a tie.

========================  =====================================================  ==========
parser                    reads                                                   kind
========================  =====================================================  ==========
``choice``                ``[[A]]`` / ``[[B]]`` / ``[[C]]`` (tie)                 pair
``arena``                 ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``,     pair
                          ``[[B>>A]]``
``identifier``            the bare label (AlpacaEval ``m`` / ``M``)                pair
``pandalm``               first line ``1``, ``2`` or ``Tie``                      pair
``judgelm``               first line two scores ``8 6``                           pair
``json``                  ``{"winner": "A"|"B"|"tie"}`` or ``{"score": 7}``         both
``rating``                ``Rating: [[7]]`` / ``[[7]]``                           score
``number``                the last number in the text                              score
========================  =====================================================  ==========

>>> from metaeval.probes.parsers import parse
>>> parse("choice", "A is more accurate. [[A]]").value
1.0
>>> v = parse("choice", "I cannot decide.")
>>> v.status, v.reason
('abstain', 'no [[A]], [[B]] or [[C]] verdict in the text')
>>> parse("rating", "Good answer. Rating: [[8]]", scale=(1, 10)).value
8.0
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from metaeval.errors import MetaevalError

__all__ = ["PARSERS", "Verdict", "parse"]


@dataclass(frozen=True)
class Verdict:
    """One parsed judge output.

    ``value``: P(first shown wins) coded 1 / 0 / 0.5 (tie) for a pair, the rating for a score;
    nan on abstention. ``strength``: a graded pair scale's strength (``A>>B`` is 2, ``A>B`` 1,
    ``A=B`` 0, negative for the second answer), else nan. ``status``: ``"ok"`` or ``"abstain"``.
    ``label``: the verdict token as written. ``raw``: the whole text.
    """

    value: float
    status: Literal["ok", "abstain"]
    raw: str
    label: str | None = None
    reason: str | None = None
    strength: float = math.nan

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _abstain(raw: str, reason: str) -> Verdict:
    return Verdict(math.nan, "abstain", raw, None, reason)


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    hits = list(pattern.finditer(text))
    return hits[-1] if hits else None


def _choice_pattern(labels: tuple[str, str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(x) for x in (labels[0], labels[1], "C", "tie", "Tie"))
    return re.compile(r"\[\[\s*(" + alts + r")\s*\]\]")


def _choice(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    pattern = _choice_pattern(labels)
    hit = _last(pattern, text)
    if hit is None:
        return _abstain(text, f"no [[{labels[0]}]], [[{labels[1]}]] or [[C]] verdict in the text")
    tag = hit.group(1)
    line = text[text.rfind("\n", 0, hit.start()) + 1:]
    line = line.split("\n", 1)[0]
    if len(set(pattern.findall(line))) > 1:
        return _abstain(text, f"conflicting verdicts on the last verdict line: {line.strip()[:120]!r}")
    value = 1.0 if tag == labels[0] else 0.0 if tag == labels[1] else 0.5
    return Verdict(value, "ok", text, f"[[{tag}]]")


def _arena(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    side = "|".join(re.escape(x) for x in labels)
    pattern = re.compile(r"\[\[\s*(" + side + r")\s*(>>|>|=)\s*(" + side + r")\s*\]\]")
    hit = _last(pattern, text)
    if hit is None:
        a, b = labels
        return _abstain(text, f"no [[{a}>>{b}]] … [[{b}>>{a}]] verdict in the text")
    left, op, right = hit.groups()
    if left == right:
        return _abstain(text, f"malformed verdict {hit.group(0)!r}")
    size = {">>": 2.0, ">": 1.0, "=": 0.0}[op]
    strength = size if left == labels[0] else -size
    value = 0.5 if size == 0 else (1.0 if strength > 0 else 0.0)
    return Verdict(value, "ok", text, hit.group(0), strength=strength)


def _identifier(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    token = text.strip().strip("\"'`.*:").strip()
    first = token.split()[0] if token.split() else ""
    for i, lab in enumerate(labels):
        if first == lab:  # case matters: AlpacaEval's identifiers are m and M
            return Verdict(1.0 - i, "ok", text, lab)
    return _abstain(text, f"the output does not start with an identifier {labels[0]!r} or {labels[1]!r}")


def _pandalm(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return _abstain(text, "empty output")
    head = lines[0].strip("#*: .").lower()
    if head in ("1", "response 1"):
        return Verdict(1.0, "ok", text, "1")
    if head in ("2", "response 2"):
        return Verdict(0.0, "ok", text, "2")
    if head == "tie":
        return Verdict(0.5, "ok", text, "Tie")
    return _abstain(text, f"the first line is not 1, 2 or Tie: {lines[0][:80]!r}")


_TWO = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")


def _judgelm(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    first = text.strip().split("\n", 1)[0] if text.strip() else ""
    hit = _TWO.match(first)
    if hit is None:
        return _abstain(text, f"the first line is not two scores: {first[:80]!r}")
    a, b = float(hit.group(1)), float(hit.group(2))
    if not (scale[0] <= a <= scale[1] and scale[0] <= b <= scale[1]):
        return _abstain(text, f"scores {a:g} and {b:g} are outside {scale[0]}–{scale[1]}")
    value = 0.5 if a == b else float(a > b)
    return Verdict(value, "ok", text, first.strip(), strength=a - b)


_JSON = re.compile(r"\{[^{}]*\}")


def _json(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    blocks = _JSON.findall(text)
    for block in reversed(blocks):
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        for key in ("winner", "verdict", "better", "preferred"):
            if key in data:
                w = str(data[key]).strip().strip("[]").strip()
                if w in (labels[0], "A", "1"):
                    return Verdict(1.0, "ok", text, w)
                if w in (labels[1], "B", "2"):
                    return Verdict(0.0, "ok", text, w)
                if w.lower() in ("tie", "c", "equal", "a=b"):
                    return Verdict(0.5, "ok", text, w)
                return _abstain(text, f"JSON {key!r} is {data[key]!r}, not {labels[0]}, {labels[1]} or tie")
        for key in ("score", "rating"):
            if key in data:
                return _score_value(text, data[key], scale, label=str(data[key]))
    return _abstain(text, "no JSON object with a winner or score in the text")


def _score_value(text: str, value: object, scale: tuple[int, int], *, label: str) -> Verdict:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _abstain(text, f"the rating {value!r} is not a number")
    if not math.isfinite(v) or not scale[0] <= v <= scale[1]:
        return _abstain(text, f"the rating {label} is outside the scale {scale[0]}–{scale[1]}")
    return Verdict(v, "ok", text, label)


_RATING = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _rating(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    hit = _last(_RATING, text)
    if hit is None:
        return _abstain(text, "no [[rating]] in the text")
    return _score_value(text, hit.group(1), scale, label=hit.group(0))


def _number(text: str, labels: tuple[str, str], scale: tuple[int, int]) -> Verdict:
    hit = _last(_NUMBER, text)
    if hit is None:
        return _abstain(text, "no number in the text")
    return _score_value(text, hit.group(0), scale, label=hit.group(0))


PARSERS: dict[str, Callable[[str, tuple[str, str], tuple[int, int]], Verdict]] = {
    "choice": _choice,
    "arena": _arena,
    "identifier": _identifier,
    "pandalm": _pandalm,
    "judgelm": _judgelm,
    "json": _json,
    "rating": _rating,
    "number": _number,
}


def parse(parser: str, text: str, *, labels: tuple[str, str] = ("A", "B"), scale: tuple[int, int] = (1, 10)) -> Verdict:
    """Read a verdict from a judge's generated text with the named parser.

    Parameters
    ----------
    parser : str
        One of :data:`PARSERS`.
    text : str
        The generation (reasoning may come first).
    labels : (str, str)
        The labels of the answers shown first and second (the ``identifier`` parser reads these).
    scale : (int, int)
        A rating's allowed range; a rating outside it is an abstention.

    Returns
    -------
    Verdict
        ``value`` (for a pair, the first answer's win coded 1 / 0 / 0.5; for a score, the rating;
        ``nan`` for an abstention), ``status`` (``"ok"`` or ``"abstain"``, with the ``reason``),
        ``label`` (the verdict token as written), ``raw`` and ``strength`` (a graded pair
        scale's signed strength, else ``nan``).

    Examples
    --------
    >>> parse("arena", "My own answer... Verdict: [[B>>A]]").strength
    -2.0
    >>> parse("identifier", "M", labels=("m", "M")).value
    0.0
    """
    try:
        fn = PARSERS[parser]
    except KeyError:
        raise MetaevalError(f"unknown verdict parser {parser!r}; parsers: {', '.join(PARSERS)}") from None
    if not isinstance(text, str):
        return _abstain(str(text), f"the judge returned {type(text).__name__}, not text")
    return fn(text, (str(labels[0]), str(labels[1])), (int(scale[0]), int(scale[1])))
