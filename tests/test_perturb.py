"""The rule-based perturbations: FBI's 22 quality-drop categories, OffsetBias and CALM cues."""

from __future__ import annotations

import re

import numpy as np
import pytest

from metaeval.probes.perturb import PERTURBATIONS

ANSWER = ("Paris is the capital of France. It has about 2 million inhabitants. The Seine runs through Paris. "
          "London is the capital of England.")
CODE = "def add(total, step):\n    result = total + step\n    return result\n\nprint(add(2, 3))"
ITEM = {"prompt": "What is the capital of France, and how many people live there? And how many hours are in 365 "
                  "days of 24 hours?", "answer": "2"}

FBI = {  # the 22 categories of Doddapaneni et al. 2024 (Table 1) → our probe
    "long-form: coherence": "coherence", "long-form: comprehensiveness": "removed_point",
    "long-form: consistency": "contradiction", "long-form: grammar": "grammar",
    "long-form: chronology": "chronology", "long-form: spelling": "spelling",
    "factual: contextual": "contextual", "factual: entity": "swapped_entity",
    "factual: incorrect fact": "incorrect_fact", "factual: number errors": "changed_number",
    "factual: opposite fact": "negation", "factual: remove fact": "removed_sentence",
    "instruction following: assumptions": "assumption", "instruction following: do less": "do_less",
    "instruction following: do more": "do_more", "instruction following: ignore format": "ignore_format",
    "instruction following: sequence errors": "shuffled_steps", "reasoning: calculation": "calculation",
    "reasoning: copying numbers": "copying_numbers", "reasoning: final errors": "wrong_answer",
    "reasoning: incorrect units": "incorrect_units", "reasoning: wrong formula": "wrong_formula",
}


def _text(name: str) -> str:
    p = PERTURBATIONS[name]
    if p.example:
        return p.example
    return CODE if name in ("code_rename", "misleading_comment", "dead_code") else ANSWER


def test_all_22_fbi_categories_are_covered_by_quality_drops():
    assert len(FBI) == 22
    for cat, name in FBI.items():
        assert PERTURBATIONS[name].expect == "worse", cat


@pytest.mark.parametrize("name", [n for n, p in PERTURBATIONS.items() if p.apply is not None])
def test_every_text_perturbation_applies_to_its_example_deterministically(name):
    p = PERTURBATIONS[name]
    item = {**ITEM, "prompt": p.example_prompt} if p.example_prompt else dict(ITEM)
    a = p.apply(_text(name), dict(item), np.random.default_rng(5))
    b = p.apply(_text(name), dict(item), np.random.default_rng(5))
    assert a == b and a is not None and a != _text(name)
    assert p.description


@pytest.mark.parametrize(("name", "text", "check"), [
    ("grammar", "The cat is here and the dogs are there.", lambda t: "cat are" in t or "dogs is" in t),
    ("chronology", "Born in 1900, married in 1925, died in 1980.",
     lambda t: sorted(re.findall(r"\d{4}", t)) == ["1900", "1925", "1980"] and re.findall(r"\d{4}", t) != ["1900",
                                                                                                         "1925",
                                                                                                         "1980"]),
    ("contradiction", "Water is wet. Ice is cold.", lambda t: t.startswith("Water is wet. Ice is cold. However, ")
     and "is not" in t),
    ("calculation", "So 7 * 6 = 42.", lambda t: "7 * 6 = 42" not in t and "7 * 6 = " in t),
    ("incorrect_units", "It weighs 5 kg.", lambda t: t == "It weighs 5 lb."),
    ("incorrect_units", "It is 30°C today.", lambda t: t == "It is 30°F today."),
    ("wrong_formula", "F = m * a, so F = 2 * 3.", lambda t: "+" in t),
    ("do_less", "Two items:\n- apples\n- pears", lambda t: t == "Two items:\n- apples"),
    ("ignore_format", '{"name": "Ada", "born": 1815}', lambda t: t == "The name is Ada. The born is 1815."),
    ("removed_point", "- a\n- b\n- c", lambda t: len(t.split("\n")) == 2),
    ("incorrect_fact", "Prices rose faster after 2020.", lambda t: "slower" in t or "before" in t),
])
def test_quality_drops_change_what_they_claim(name, text, check):
    out = PERTURBATIONS[name].apply(text, dict(ITEM), np.random.default_rng(0))
    assert out is not None and check(out), out


@pytest.mark.parametrize(("name", "text"), [
    ("chronology", "No dates or order words here."), ("calculation", "No sums here."),
    ("incorrect_units", "Five apples."), ("wrong_formula", "Just words, no formula."),
    ("removed_point", "A single paragraph."), ("ignore_format", "Plain prose only."),
    ("copying_numbers", "No numbers from the question."), ("contextual", "nothing shared"),
    ("incorrect_fact", "Cats purr."),
])
def test_rules_that_do_not_fit_return_none(name, text):
    assert PERTURBATIONS[name].apply(text, dict(ITEM), np.random.default_rng(0)) is None


def test_contextual_and_copying_change_what_the_question_gave():
    item = {"prompt": "A train leaves Berlin at 14:30 and travels 385 km."}
    out = PERTURBATIONS["copying_numbers"].apply("It covers 385 km in total.", item, np.random.default_rng(0))
    assert "385" not in out and sorted(re.findall(r"\d", out)) == sorted("385")
    ctx = PERTURBATIONS["contextual"].apply("Leaving Berlin, it reaches Munich.", item, np.random.default_rng(0))
    assert "Berlin" not in ctx


def test_cue_probes_keep_the_answer_and_names_keep_their_case():
    for name in ("sentiment", "reverse_authority", "misleading_task", "false_concreteness"):
        out = PERTURBATIONS[name].apply(ANSWER, dict(ITEM), np.random.default_rng(1))
        assert ANSWER.strip() in out, name
    out = PERTURBATIONS["contradiction"].apply("London is big.", {}, np.random.default_rng(0))
    assert out == "London is big. However, London is not big."
    out = PERTURBATIONS["assumption"].apply("It depends.", {}, np.random.default_rng(0))
    assert out.endswith(" it depends.")


def test_every_probe_declares_its_expectation_and_new_ones_cite_a_source():
    for p in PERTURBATIONS.values():
        assert p.expect in ("invariant", "worse") and p.description
    for name in (*FBI.values(), "content_continuation", "false_concreteness", "sentiment", "reverse_authority",
                 "misleading_task", "empty_reference", "nested_instruction", "familiar_knowledge"):
        if name not in ("spelling", "swapped_entity", "changed_number", "negation", "removed_sentence",
                        "shuffled_steps"):
            assert PERTURBATIONS[name].source, name
