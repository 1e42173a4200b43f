"""Judge-template sensitivity: flip rate, noise floor, agreement and ranking moves."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.probes import CallableJudge
from metaeval.probes.sensitivity import template_sensitivity


def _items(n: int, models: bool = False) -> list[dict]:
    out = []
    for i in range(n):
        it = {"id": f"i{i}", "prompt": f"question {i}", "response_a": "a" * (2 + i % 5 + (i % 5 >= 2)),
              "response_b": "b" * 4}  # never the same length: no ties
        if models:
            it["model_a"], it["model_b"] = ("m1", "m2") if i % 2 == 0 else ("m2", "m3")
        out.append(it)
    return out


def _u(*parts: object) -> float:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "little") / 2**32


def _judge(flip: float, seed: int):
    """Prefers the longer answer; under any template but the first, flips the item's verdict with
    probability ``flip`` (decided per item, the same in both orders)."""
    def make(p):
        def fn(r):
            first_longer = len(r.responses[0]) >= len(r.responses[1])
            a_is_first = r.responses[0].startswith("a")
            swap = p.name != "mt-bench-pair" and _u(seed, p.name, r.prompt) < flip
            a_wins = (first_longer == a_is_first) != swap
            return float(a_wins == a_is_first)
        return CallableJudge(fn, name=f"{p.name}-{flip}-{seed}")
    return make


def test_a_template_blind_judge_has_no_flips_and_no_noise():
    res = template_sensitivity(_items(30), _judge(0.0, 0), ["mt-bench-pair", "arena-hard", "pandalm"],
                               progress=False)
    assert res.flip_rate.estimate == 0 and res.noise_floor.estimate == 0
    assert res.flip_rate.ci.high < 0.15 and res.flip_rate.n == 30
    assert (res.pairwise["agreement"] == 1).all() and res.pairwise.height == 3
    assert (res.table["position_consistency"] == 1).all()


def test_flip_rate_measures_template_dependence():
    res = template_sensitivity(_items(200), _judge(0.3, 1), ["mt-bench-pair", "arena-hard"], progress=False)
    assert res.flip_rate.ci.contains(0.3)
    assert abs(res.flip_rate.estimate - 0.3) < 0.1


def test_flip_rate_interval_covers_at_nominal_level():
    hits, sims, true = 0, 300, 0.25
    for s in range(sims):
        res = template_sensitivity(_items(40), _judge(true, 100 + s), ["mt-bench-pair", "judgelm"], progress=False)
        # the realised truth for these 40 items is random; coverage is of the per-item flip probability
        hits += res.flip_rate.ci.contains(true)
    assert 0.93 <= hits / sims <= 0.985, hits / sims


def test_ranking_moves_are_reported_per_model():
    res = template_sensitivity(_items(40, models=True), _judge(1.0, 2), ["mt-bench-pair", "arena-hard"],
                               progress=False)
    r = res.ranking
    assert r is not None and set(r["model"]) == {"m1", "m2", "m3"}
    moved = r.filter(r["best_rank"] != r["worst_rank"])
    assert moved.height > 0  # reversing every verdict reorders the models


def test_sampled_judges_have_a_noise_floor():
    def make(p):
        def fn(r):
            return float(_u(p.name, r.prompt, r.rep, r.responses[0]) < 0.5)
        return CallableJudge(fn, name=p.name + "-coin")
    res = template_sensitivity(_items(60), make, ["mt-bench-pair", "arena-hard"], progress=False)
    assert res.noise_floor.estimate > 0.2  # a coin-flip judge moves even under one template


def test_errors_name_what_is_wrong():
    with pytest.raises(MetaevalError, match="at least two templates"):
        template_sensitivity(_items(5), _judge(0, 0), ["mt-bench-pair"])
    with pytest.raises(MetaevalError, match="is a score prompt"):
        template_sensitivity(_items(5), _judge(0, 0), ["mt-bench-pair", "mt-bench-single"])
    with pytest.raises(MetaevalError, match="distinct names"):
        template_sensitivity(_items(5), _judge(0, 0), ["mt-bench-pair", "mt-bench-pair"])
    with pytest.raises(MetaevalError, match="item 0: `response_b` must be non-empty text"):
        template_sensitivity([{"id": "x", "prompt": "q", "response_a": "a"}], _judge(0, 0),
                             ["mt-bench-pair", "arena-hard"])
    with pytest.raises(InsufficientDataError):
        template_sensitivity(_items(1), _judge(0, 0), ["mt-bench-pair", "arena-hard"])
    with pytest.raises(MetaevalError, match="tie_band"):
        template_sensitivity(_items(5), _judge(0, 0), ["mt-bench-pair", "arena-hard"], tie_band=0.5)
    assert np.isfinite(template_sensitivity(_items(5), _judge(0, 0), ["mt-bench-pair", "arena-hard"],
                                            progress=False).flip_rate.estimate)
