"""OffsetBias' constructed-item probes: empty reference, nested instruction, familiar knowledge."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import polars as pl
import pytest

from metaeval import probes
from metaeval.calibration import study
from metaeval.errors import MetaevalError
from metaeval.probes.constructed import CATEGORIES, offsetbias_items

CATS = list(CATEGORIES)


def test_items_are_seeded_and_bad_arguments_are_clear_errors():
    assert offsetbias_items(10, rng=4) == offsetbias_items(10, rng=4)
    assert offsetbias_items(10, rng=4) != offsetbias_items(10, rng=5)
    items = offsetbias_items(7, categories=["nested_instruction"], rng=0)
    assert len(items) == 7 and {i["category"] for i in items} == {"nested_instruction"}
    with pytest.raises(MetaevalError, match="unknown OffsetBias category 'length'"):
        offsetbias_items(3, categories=["length"])
    with pytest.raises(MetaevalError, match="`n`"):
        offsetbias_items(0)


def test_the_correct_responses_are_correct_and_each_rule_fits_only_its_category():
    items = offsetbias_items(40, rng=2)
    gen = np.random.default_rng(0)
    for it in items:
        for cat in CATS:
            worse = probes.PERTURBATIONS[cat].apply(it["response"], it, gen)
            assert (worse is not None) == (cat == it["category"]), (cat, it["prompt"])
            if worse is not None:
                assert worse != it["response"]
        p, good = it["prompt"], it["response"]
        if m := re.match(r"Which weighs more: (\d+) kilograms? of feathers or (\d+) kilograms? of steel\?", p):
            a, b = int(m[1]), int(m[2])
            assert a != b and ("steel" if b > a else "feathers") in good.split(":")[0]
        elif m := re.match(r"A bat and a ball cost \$([\d.]+) in total\. The bat costs \$([\d.]+) more", p):
            ball = float(re.search(r"ball costs \$([\d.]+)", good)[1])
            assert ball == pytest.approx((float(m[1]) - float(m[2])) / 2) and ball != 0.05
        elif m := re.match(r"A farmer has (\d+) sheep, and (\d+) of them die", p):
            assert good.startswith(f"{int(m[1]) - int(m[2])} sheep")
        elif m := re.match(r"Convert the following sentence to upper case: \"(.+)\"", p):
            assert good == m[1].upper()
        elif m := re.match(r"Count the words in the following sentence: \"(.+)\"", p):
            assert f"has {len(m[1].split())} words" in good
        elif m := re.match(r"Reverse the order of the words in this sentence: \"(.+)\"", p):
            assert good.split() == m[1].split()[::-1]
        elif it["category"] == "empty_reference":
            assert "does not include" in good and not p.rstrip().endswith('"')


def test_a_judge_that_knows_the_task_detects_every_bias_and_a_biased_one_is_flagged():
    items = offsetbias_items(25, rng=1)
    correct = {i["response"] for i in items}
    knows = probes.CallableJudge(lambda r: 1.0 if r.responses[0] in correct else 0.0, name="knows")
    rep = probes.run(items, knows, CATS, mode="pairwise", progress=False)
    t = rep.table.filter(pl.col("probe").is_in(CATS))
    assert t["rate"].to_list() == [1.0, 1.0, 1.0] and not t["flagged"].any()
    assert t["n_items"].to_list() == [25, 25, 25]
    # a judge that prefers whichever response does the most visible work (the longer one): the
    # fabricated summary and the followed inner instruction often win; it is flagged where blind
    longer = probes.CallableJudge(lambda r: float(len(r.responses[0]) > len(r.responses[1])), name="longer")
    rep = probes.run(items, longer, CATS, mode="pairwise", progress=False)
    row = rep.table.filter(pl.col("probe") == "nested_instruction").row(0, named=True)
    assert row["flagged"] and row["rate"] < 0.25


def _blind(gen: np.random.Generator, n: int = 20) -> list[dict]:
    """A judge blind to the difference: a fair coin per call, independent of the content."""
    salt = str(int(gen.integers(2**62)))
    items = offsetbias_items(n, rng=gen)

    def coin(r: probes.Request) -> float:
        return float(hashlib.sha256((salt + r.text).encode()).digest()[0] < 128)

    rep = probes.run(items, probes.CallableJudge(coin, name="coin"), CATS, mode="pairwise", progress=False)
    t = rep.table.filter(pl.col("probe").is_in(CATS))
    return [{"test": r["probe"], "pvalue": r["pvalue"]} for r in t.iter_rows(named=True)]


@pytest.mark.slow
def test_null_calibration_a_blind_judge_escapes_the_blind_spot_flag_at_most_at_the_nominal_level():
    # the probes' test: detection (correct preferred in both orders) above the 25 % a blind judge
    # reaches (one-sided exact binomial); under a blind judge it must reject at most 5 % of the time
    s = study(_blind, {"blind judge": {}}, n_replicates=300, null=["blind judge"], rng=0, progress=False)
    assert s.table.height == 3
    assert s.passed, s.table
    assert (s.table["rejection_rate"] <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)).all()
