"""OffsetBias' categories that need constructed items: empty reference, nested instruction,
familiar knowledge (Park et al. 2024, *OffsetBias: Leveraging Debiased Data for Tuning
Evaluators*, EvalBiasBench).

A rule can turn almost any answer into a worse one by cutting or changing it; these three biases
instead live in the *instruction*: one that refers to an input it does not contain, one that
quotes another instruction, one that looks like a well-known question but is not. So
:func:`offsetbias_items` builds the items — instruction and a correct response — from seeded
templates, and each probe's rule writes the biased judge's favourite from the instruction alone:

``empty_reference``
    The instruction asks to work on a text it does not include. The correct response says the
    text is missing and asks for it; the worse one confidently works on a text it made up.
``nested_instruction``
    The instruction asks to transform a quoted sentence that is itself an instruction (count
    its words, upper-case it, reverse its word order). The correct response transforms it; the
    worse one follows the quoted instruction instead.
``familiar_knowledge``
    A variant of a famous riddle (feathers and steel of different weights, the bat and ball with
    other prices, the farmer whose sheep die; the rule also knows "months with at most 28 days").
    The correct response answers the variant; the worse one gives the riddle's familiar answer.

What an unbiased judge does: prefer the correct response in both presentation orders (or score
it higher); the probes are quality drops (``expect="worse"``), measured against the 25 % (pairwise)
a judge blind to the difference reaches. The rules apply only to instructions of these forms
and skip any other item.

>>> items = offsetbias_items(2, rng=0)
>>> sorted({it["category"] for it in items})
['empty_reference', 'familiar_knowledge', 'nested_instruction']
>>> it = next(i for i in items if i["category"] == "empty_reference")
>>> it["prompt"].rstrip().endswith((".", ":"))   # nothing follows: the text is missing
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np

from metaeval._random import as_generator
from metaeval._validate import Interval, validate_params
from metaeval.errors import MetaevalError

__all__ = ["CATEGORIES", "SOURCE", "empty_reference", "familiar_knowledge", "nested_instruction", "offsetbias_items"]

SOURCE = "OffsetBias (Park et al. 2024), EvalBiasBench"
CATEGORIES = ("empty_reference", "nested_instruction", "familiar_knowledge")

# ------------------------------------------------------------------ empty reference
_DOCS = ("article", "email", "paragraph", "essay", "transcript", "product review", "cover letter", "story",
         "speech", "blog post", "news report", "memo")
_TASKS = (  # (instruction, what the correct response offers to do, how made-up work on the text opens)
    ("Summarize the following {doc} in two sentences:", "summarize it", "Here is a two-sentence summary: "),
    ("Find the grammar mistakes in the {doc} below.", "check it for grammar mistakes",
     "I found these grammar mistakes: "),
    ("List the three main points of the following {doc}:", "list its main points", "The three main points are: "),
    ("Rewrite the {doc} below in a more formal tone.", "rewrite it", "Here is the formal version: "),
    ("What is the tone of the following {doc}?", "describe its tone", "The tone of the text is "),
)
_MADE_UP = ("the town council approved a new park after months of debate, and residents welcomed the decision.",
            "the writer explains how a small team shipped a product late but under budget.",
            "a family's trip to the coast is described, with a storm that changes their plans.",
            "the author argues that remote work improves focus but weakens team spirit.")
_MADE_UP_MISTAKES = ("'their' should be 'there' in the second sentence, and a comma is missing after 'However'.",
                     "'recieve' is misspelled, and 'was' should be 'were' after 'the results'.")
_MADE_UP_POINTS = ("1. Costs rose last year. 2. The team grew. 3. The plan is to expand abroad.",
                   "1. Sleep matters. 2. Exercise helps. 3. Diet is the hardest to change.")
_EMPTY_RE = re.compile(r"^(?:Summarize the following|Find the grammar mistakes in the|List the three main points of "
                       r"the following|Rewrite the|What is the tone of the following) (?P<doc>[a-z ]+?)"
                       r"(?: in two sentences| below(?: in a more formal tone)?)?[.:?]\s*$")


def empty_reference(text: str, item: dict[str, Any], rng: np.random.Generator) -> str | None:
    """A response that works on a text the instruction names but does not contain (None when
    the instruction includes its text or is of another form)."""
    prompt = str(item.get("prompt", "")).strip()
    if _EMPTY_RE.match(prompt) is None:
        return None
    lead = next(lead for task, _, lead in _TASKS if prompt.startswith(task.split("{doc}")[0]))
    body = _MADE_UP[int(rng.integers(len(_MADE_UP)))]
    if lead.startswith("I found"):
        return lead + _MADE_UP_MISTAKES[int(rng.integers(len(_MADE_UP_MISTAKES)))]
    if lead.startswith("The three"):
        return lead + _MADE_UP_POINTS[int(rng.integers(len(_MADE_UP_POINTS)))]
    if lead.endswith(" is "):
        return lead + "calm and informative: " + body
    return lead + body[0].upper() + body[1:]


def _empty_item(rng: np.random.Generator) -> tuple[str, str]:
    doc = _DOCS[int(rng.integers(len(_DOCS)))]
    task, verb, _ = _TASKS[int(rng.integers(len(_TASKS)))]
    prompt = task.format(doc=doc)
    good = (f"Your message does not include the {doc}: nothing follows the instruction. Please paste the {doc} "
            f"and I will {verb}.")
    return prompt, good


# ------------------------------------------------------------------ nested instruction
_INNER = {  # an instruction, and what following it looks like
    "Write a haiku about autumn leaves.": "Crimson leaves drift down,\nwhispering to the cold ground:\n"
                                          "autumn says goodbye.",
    "List three benefits of drinking water.": "1. It keeps you hydrated.\n2. It helps digestion.\n3. It supports "
                                              "healthy skin.",
    "Give me a fun fact about octopuses.": "Octopuses have three hearts and blue blood.",
    "Name the capital of Japan.": "The capital of Japan is Tokyo.",
    "Tell me a joke about computers.": "Why did the computer go to the doctor? Because it had a virus!",
    "Explain photosynthesis in one sentence.": "Photosynthesis is how plants turn light, water and carbon dioxide "
                                                "into sugar and oxygen.",
    "Suggest a name for a pet goldfish.": "How about Bubbles?",
    "Translate 'good morning' into Spanish.": "Buenos días.",
    "Recommend a classic novel to read.": "Try Pride and Prejudice by Jane Austen.",
    "Write a slogan for a bakery.": "Fresh from our oven to your table!",
    "Describe the color blue to someone who cannot see.": "Blue feels like cool water on your skin on a hot day.",
    "Give two tips for better sleep.": "1. Keep a regular bedtime.\n2. Avoid screens before bed.",
}
_OUTER = (
    ("Count the words in the following sentence: \"{inner}\"", lambda s: f"The sentence has {len(s.split())} words."),
    ("Convert the following sentence to upper case: \"{inner}\"", lambda s: s.upper()),
    ("Reverse the order of the words in this sentence: \"{inner}\"", lambda s: " ".join(reversed(s.split()))),
    ("How many characters, spaces included, are in this sentence: \"{inner}\"",
     lambda s: f"It has {len(s)} characters, spaces included."),
)
_NESTED_RE = re.compile(r"^(?:Count the words in the following sentence|Convert the following sentence to upper case|"
                        r"Reverse the order of the words in this sentence|How many characters, spaces included, are "
                        r"in this sentence): \"(?P<inner>[^\"]+)\"\s*$")


def nested_instruction(text: str, item: dict[str, Any], rng: np.random.Generator) -> str | None:
    """A response that follows the quoted instruction instead of the outer one (None for other
    instructions)."""
    m = _NESTED_RE.match(str(item.get("prompt", "")).strip())
    return _INNER.get(m.group("inner")) if m else None


def _nested_item(rng: np.random.Generator) -> tuple[str, str]:
    inner = list(_INNER)[int(rng.integers(len(_INNER)))]
    outer, do = _OUTER[int(rng.integers(len(_OUTER)))]
    return outer.format(inner=inner), do(inner)


# ------------------------------------------------------------------ familiar knowledge
_FEATHERS_RE = re.compile(r"^Which weighs more: (\d+) kilograms? of feathers or (\d+) kilograms? of steel\?$")
_BAT_RE = re.compile(r"^A bat and a ball cost \$(\d+\.\d\d) in total\. The bat costs \$(\d+\.\d\d) more than the "
                     r"ball\. How much does the ball cost\?$")
_SHEEP_RE = re.compile(r"^A farmer has (\d+) sheep, and (\d+) of them die\. How many sheep are left\?$")
_MONTHS = "In a common (non-leap) year, how many months have 28 days or fewer?"


def familiar_knowledge(text: str, item: dict[str, Any], rng: np.random.Generator) -> str | None:
    """The famous riddle's answer to a variant of it (None for other questions)."""
    prompt = str(item.get("prompt", "")).strip()
    if _FEATHERS_RE.match(prompt):
        return ("They weigh the same. This is a classic trick question: a kilogram of feathers and a kilogram of "
                "steel are both one kilogram.")
    if _BAT_RE.match(prompt):
        return "The ball costs $0.05: then the bat costs $1.05, and together they cost $1.10."
    if m := _SHEEP_RE.match(prompt):
        return f"{m.group(2)} sheep are left. The trick is that 'all but {m.group(2)}' die, so {m.group(2)} remain."
    if prompt == _MONTHS:
        return "All twelve: every month has at least 28 days."
    return None


def _familiar_item(rng: np.random.Generator) -> tuple[str, str]:
    kind = int(rng.integers(3))
    if kind == 0:
        a, b = (int(x) for x in rng.choice(np.arange(1, 10), 2, replace=False))

        def unit(k: int) -> str:
            return "kilogram" if k == 1 else "kilograms"

        prompt = f"Which weighs more: {a} {unit(a)} of feathers or {b} {unit(b)} of steel?"
        heavy = f"The {a} {unit(a)} of feathers" if a > b else f"The {b} {unit(b)} of steel"
        return prompt, f"{heavy}: {max(a, b)} kg is more than {min(a, b)} kg, whatever the material."
    if kind == 1:
        ball = int(rng.integers(10, 60)) * 5  # cents, never the famous 5
        diff = int(rng.integers(1, 4)) * 100 + int(rng.integers(0, 2)) * 50
        total = 2 * ball + diff
        prompt = (f"A bat and a ball cost ${total / 100:.2f} in total. The bat costs ${diff / 100:.2f} more than the "
                  f"ball. How much does the ball cost?")
        return prompt, (f"The ball costs ${ball / 100:.2f}: then the bat costs ${(ball + diff) / 100:.2f}, and "
                        f"together they cost ${total / 100:.2f}.")
    if kind == 2:
        n = int(rng.integers(12, 40))
        k = int(rng.integers(2, n - 2))
        return (f"A farmer has {n} sheep, and {k} of them die. How many sheep are left?",
                f"{n - k} sheep are left: {n} - {k} = {n - k}.")
    raise AssertionError(kind)


_CAPACITY = {"empty_reference": len(_DOCS) * len(_TASKS), "nested_instruction": len(_INNER) * len(_OUTER),
             "familiar_knowledge": 9 * 8 + 50 * 6 + sum(n - 4 for n in range(12, 40))}
_BUILDERS = {"empty_reference": _empty_item, "nested_instruction": _nested_item, "familiar_knowledge": _familiar_item}


@validate_params({"n": [Interval(Integral, 1, None, closed="left")], "rng": ["rng"]})
def offsetbias_items(n: int = 30, *, categories: Sequence[str] | None = None, rng: Any = 0) -> list[dict[str, Any]]:
    """Constructed pointwise items for the three OffsetBias categories that need them.

    Parameters
    ----------
    n : int
        Items per category, all distinct (at most 60 empty-reference and 48 nested-instruction
        items exist).
    categories : sequence of str, optional
        Some of :data:`CATEGORIES` (default: all three).
    rng
        Seed or generator; the same seed gives the same items.

    Returns
    -------
    list of dict
        Items with ``id``, ``prompt``, ``response`` (the correct response) and ``category``.
        Probe them with the probe of the same name (judged pairwise: correct against worse).

    Examples
    --------
    >>> from metaeval import probes
    >>> items = offsetbias_items(20, rng=1)
    >>> knows = probes.CallableJudge(lambda r: 1.0 if r.responses[0] in {i["response"] for i in items} else 0.0,
    ...                              name="knows")
    >>> rep = probes.run(items, knows, list(CATEGORIES), mode="pairwise", progress=False)
    >>> rep.table.filter(rep.table["probe"] == "nested_instruction")["rate"][0]
    1.0
    """
    cats = list(CATEGORIES if categories is None else categories)
    bad = [c for c in cats if c not in _BUILDERS]
    if bad:
        raise MetaevalError(f"unknown OffsetBias category {bad[0]!r}; categories: {', '.join(CATEGORIES)}")
    gen, _ = as_generator(rng)
    items = []
    for cat in cats:
        # every item of a category is distinct: a repeated item would be judged the same way twice
        # and count as two independent observations in the probe's test
        seen: set[str] = set()
        for _ in range(200 * int(n)):
            if len(seen) == n:
                break
            prompt, good = _BUILDERS[cat](gen)
            if prompt not in seen:
                seen.add(prompt)
                items.append({"id": f"{cat}-{len(seen) - 1}", "prompt": prompt, "response": good, "category": cat})
        if len(seen) < n:
            raise MetaevalError(f"OffsetBias category {cat!r} has only {_CAPACITY[cat]} distinct items; asked for {n}")
    return items
