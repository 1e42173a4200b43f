"""Model families for the self-preference probes: an explicit mapping, or a table of known providers.

A family is the provider whose models a judge might favour (OpenAI, Anthropic, Google …).
:func:`self_preference` and :func:`intra_model_bias` take ``families=`` — a mapping
``name → family`` or a function — and otherwise use :data:`KNOWN_FAMILIES`: a name belongs to a
family when one of the family's patterns matches whole *tokens* of the name (lower-cased, split
at every character that is not a letter or a digit). So ``alpaca_eval_gpt4`` (tokens ``alpaca``,
``eval``, ``gpt4``) is OpenAI, ``bedrock_claude`` is Anthropic, ``OpenHermes-2.5-Mistral-7B``
is Mistral, while ``llama-2-7b-gptq`` is Meta only (``gptq`` is not the token ``gpt``). A
third-party fine-tune that is named after its base model or its teacher (``claude2-alpaca-13b``,
``humpback-llama2-70b``) falls into that family; pass ``families=`` where that is wrong. A name
that matches no family, or two, is *unknown*: it is never guessed from a prefix, and the probes
leave it out with a warning that lists it. Humans and references (``human…``, ``gold…``,
``reference…``) have no family and are not listed.

=============  ==================================================================
family         tokens
=============  ==================================================================
openai         ``gpt``, ``gpt4``, ``gpt35``, ``gpt4o`` …, ``chatgpt``, ``davinci``,
               ``o1`` / ``o3`` / ``o4``
anthropic      ``claude``, ``claude2``, ``claude3`` …
google         ``gemini``, ``gemma``, ``palm``, ``palm2``, ``bard``
meta           ``llama``, ``llama2``, ``llama3``, ``llama7b`` …, ``codellama``
mistral        ``mistral``, ``mixtral``, ``codestral``, ``ministral``, ``pixtral``
alibaba        ``qwen``, ``qwen2`` …, ``qwq``
deepseek       ``deepseek``
microsoft      ``phi``, ``phi2``, ``phi3`` …
cohere         ``cohere``, ``command-r``
01-ai          ``yi``
tii            ``falcon``
zhipu          ``glm``, ``chatglm``, ``chatglm2`` …
xai            ``grok``
ai21           ``jamba``, ``jurassic``
nvidia         ``nemotron``
simulated      ``atlas``, ``borealis``, ``cirrus``, ``draco``, ``electra``, ``fornax``,
               ``hydra`` — the fictional providers of :mod:`metaeval.simulate` (each its
               own family; its ``gemini`` models are Google's)
=============  ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["KNOWN_FAMILIES", "FamilyMap", "known_family", "resolve_families"]

#: Family → regular expressions, each matched against whole tokens of the lower-cased name
#: (tokens joined by ``-``, so a pattern may span tokens, as ``command-r`` does).
KNOWN_FAMILIES: dict[str, tuple[str, ...]] = {
    "openai": (r"(?:chat)?gpt(?:\d+[a-z]?)?", r"davinci", r"o[134]"),
    "anthropic": (r"claude\d*",),
    "google": (r"gemini", r"gemma\d*", r"palm\d*", r"bard"),
    "meta": (r"(?:code)?llama\d*b?",),
    "mistral": (r"mistral", r"mixtral", r"codestral", r"ministral", r"pixtral"),
    "alibaba": (r"qwen\d*", r"qwq"),
    "deepseek": (r"deepseek",),
    "microsoft": (r"phi\d*",),
    "cohere": (r"cohere", r"command-r"),
    "01-ai": (r"yi",),
    "tii": (r"falcon",),
    "zhipu": (r"(?:chat)?glm\d*",),
    "xai": (r"grok",),
    "ai21": (r"jamba", r"jurassic"),
    "nvidia": (r"nemotron",),
    # metaeval.simulate's fictional providers (its "gemini" models fall under google above).
    "atlas": (r"atlas",),
    "borealis": (r"borealis",),
    "cirrus": (r"cirrus",),
    "draco": (r"draco",),
    "electra": (r"electra",),
    "fornax": (r"fornax",),
    "hydra": (r"hydra",),
}

_PATTERNS = {fam: re.compile("|".join(f"(?:^|-)(?:{p})(?=-|$)" for p in pats))
             for fam, pats in KNOWN_FAMILIES.items()}
_SPLIT = re.compile(r"[^a-z0-9]+")
_NO_FAMILY = ("human", "gold", "reference")


def _is_reference(name: str) -> bool:
    low = name.lower()
    return any(low == p or low.startswith(p + ":") or low.startswith(p + "-") or low.startswith(p + "_")
               for p in _NO_FAMILY)


def _matches(name: str) -> list[str]:
    norm = "-".join(t for t in _SPLIT.split(name.lower()) if t)
    return [fam for fam, pat in _PATTERNS.items() if pat.search(norm)]


def known_family(name: str) -> str | None:
    """The family of ``name`` from :data:`KNOWN_FAMILIES`.

    Parameters
    ----------
    name : str
        A model or judge name; it is split into tokens, which are matched against each provider's
        known tokens.

    Returns
    -------
    str or None
        The provider, or None when no family (or more than one) matches, or the name is a human /
        gold / reference judge.

    Examples
    --------
    >>> [known_family(n) for n in ("alpaca_eval_gpt4", "bedrock_claude", "Mixtral-8x7B-Instruct-v0.1",
    ...                            "text_davinci_003", "alpaca-7b", "llama-2-7b-gptq", "human:3")]
    ['openai', 'anthropic', 'mistral', 'openai', None, 'meta', None]
    """
    if _is_reference(name):
        return None
    found = _matches(name)
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class FamilyMap:
    """Families resolved for a set of names: ``family`` (name → family, only the known ones),
    ``unknown`` (names that match no family), ``ambiguous`` (name → the families it matches)
    and ``source`` (``"mapping"``, ``"function"`` or ``"known providers"``)."""

    family: dict[str, str]
    unknown: tuple[str, ...]
    ambiguous: dict[str, tuple[str, ...]]
    source: str

    def __call__(self, name: str) -> str | None:
        return self.family.get(name)

    def problems(self) -> str:
        """One sentence naming every unknown and ambiguous name ('' when there are none)."""
        parts = []
        if self.unknown:
            parts.append(f"no known family for {len(self.unknown)} name{'s' if len(self.unknown) != 1 else ''}: "
                         + ", ".join(self.unknown))
        if self.ambiguous:
            parts.append("more than one family for " + ", ".join(f"{n} ({' / '.join(f)})"
                                                                 for n, f in self.ambiguous.items()))
        return "; ".join(parts)


def resolve_families(names: Iterable[str],
                     families: Mapping[str, str] | Callable[[str], str | None] | None = None) -> FamilyMap:
    """Resolve the family of every name, from ``families`` when given, else from :data:`KNOWN_FAMILIES`.

    Human / gold / reference judges are never listed as unknown.

    Parameters
    ----------
    names : iterable of str
        Model and judge names.
    families : mapping or callable, optional
        Name → family, as a mapping or a function returning the family or None. Default: the
        known providers (:func:`known_family`).

    Returns
    -------
    FamilyMap
        ``family`` (name → family, known ones only), ``unknown`` (names with no family),
        ``ambiguous`` (name → the families it matches) and ``source`` (``"mapping"``,
        ``"function"`` or ``"known providers"``); calling it on a name gives the family or None.

    Examples
    --------
    >>> fm = resolve_families(["alpaca_eval_gpt4", "claude-2", "vicuna-13b", "human:1"])
    >>> fm.family, fm.unknown
    ({'alpaca_eval_gpt4': 'openai', 'claude-2': 'anthropic'}, ('vicuna-13b',))
    >>> resolve_families(["judge-x", "x-1"], {"judge-x": "x", "x-1": "x"}).family
    {'judge-x': 'x', 'x-1': 'x'}
    """
    names = list(dict.fromkeys(names))
    family: dict[str, str] = {}
    unknown: list[str] = []
    ambiguous: dict[str, tuple[str, ...]] = {}
    if families is None:
        source = "known providers"
        for n in names:
            if _is_reference(n):
                continue
            found = _matches(n)
            if len(found) == 1:
                family[n] = found[0]
            elif found:
                ambiguous[n] = tuple(found)
            else:
                unknown.append(n)
    else:
        get: Callable[[str], str | None]
        if callable(families) and not isinstance(families, Mapping):
            source, get = "function", families
        else:
            source, get = "mapping", dict(families).get
        for n in names:
            f = get(n)
            if f is not None and str(f) != "":
                family[n] = str(f)
            elif not _is_reference(n):
                unknown.append(n)
    return FamilyMap(family, tuple(unknown), ambiguous, source)


_FAMILY_RE = re.compile(r"[a-z]+")


def family_of(name: str) -> str | None:
    """A name's leading letters, lower-cased, after a ``judge-`` prefix.

    ``gpt-4o`` → ``gpt``, ``claude-3-opus`` → ``claude``, ``judge-atlas`` → ``atlas``; humans
    (``human…``) have none. A grouping key for the juries' panel diversity only: the
    self-preference probes never guess a family from a prefix — they use
    :func:`metaeval.bias.families.resolve_families`.

    Parameters
    ----------
    name : str
        A model or judge name.

    Returns
    -------
    str or None
        The prefix family, or None for a human judge.

    Examples
    --------
    >>> family_of("gpt4_1106_preview"), family_of("Claude-2.1"), family_of("human:3")
    ('gpt', 'claude', None)
    """
    low = name.lower().removeprefix("judge-").removeprefix("judge:")
    if low.startswith("human"):
        return None
    m = _FAMILY_RE.match(low)
    return m.group(0) if m else None


def family_function(families: Mapping[str, str] | Callable[[str], str | None] | None) -> Callable[[str], str | None]:
    if families is None:
        return family_of
    if callable(families):
        return families
    mapping = dict(families)
    return lambda name: mapping.get(name)
