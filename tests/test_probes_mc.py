"""Multiple-choice robustness of the evaluated models (torch, tiny models saved by the test)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from metaeval.errors import MetaevalError  # noqa: E402
from metaeval.probes import build_tiny_judge  # noqa: E402
from metaeval.probes.mc import _layout, _prompt, loglikelihood, mc_robustness, read_mc, score_mc, summarise  # noqa: E402

ROWS = [{"id": str(i), "question": f"What is {i} plus one?", "choices": [str(i), str(i + 1), str(i + 2), "none"],
         "answer": 1} for i in range(16)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_judge(tmp_path_factory.mktemp("mc"), seed=4)
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path), path


def _manual(model, tok, ctx, cont):
    c, k = tok.encode(ctx, add_special_tokens=False), tok.encode(cont, add_special_tokens=False)
    ids = torch.tensor([c + k])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    return float(sum(logp[len(c) + j - 1, t] for j, t in enumerate(k)))


def test_loglikelihood_matches_a_plain_forward_pass_alone_or_batched(tiny):
    model, tok, _ = tiny
    pairs = [("Question: 2+2?\nAnswer:", " 4"), ("Q", " a longer continuation here"), ("Answer:", " B")]
    batched = loglikelihood(model, tok, pairs, batch_size=3)
    single = np.array([loglikelihood(model, tok, [p], batch_size=1)[0] for p in pairs])
    manual = np.array([_manual(model, tok, *p) for p in pairs])
    np.testing.assert_allclose(batched, manual, atol=1e-4)
    np.testing.assert_allclose(single, manual, atol=1e-4)


def test_score_mc_picks_the_highest_likelihood_choice(tiny):
    model, tok, _ = tiny
    items = read_mc(ROWS[:6])
    for variant in ("original", "symbols", "cloze"):
        got = score_mc(model, tok, items, variant)
        for it, ok in zip(items, got, strict=True):
            order, symbols = _layout(it, variant, np.random.default_rng(0))
            if variant == "cloze":
                lls = [_manual(model, tok, f"Question: {it.question}\nAnswer:", " " + c) for c in it.choices]
                pick = int(np.argmax(lls))
            else:
                lls = [_manual(model, tok, _prompt(it, order, symbols), " " + s) for s in symbols]
                pick = order[int(np.argmax(lls))]
            assert ok == (pick == it.answer)


def test_shuffled_layout_is_seeded_and_the_same_for_every_model(tiny):
    model, tok, _ = tiny
    items = read_mc(ROWS)
    a = score_mc(model, tok, items, "shuffled", rng=3)
    b = score_mc(model, tok, items, "shuffled", rng=3)
    np.testing.assert_array_equal(a, b)
    for it in items:
        order, _ = _layout(it, "shuffled", np.random.default_rng(1))
        assert sorted(order) == list(range(4)) and order != [0, 1, 2, 3]


def test_summary_reports_rank_moves_and_paired_changes():
    n = 60
    rng = np.random.default_rng(0)
    good, mid, bad = (rng.random(n) < p for p in (0.9, 0.6, 0.3))
    correct = {("a", "original"): good, ("b", "original"): mid, ("c", "original"): bad,
               ("a", "shuffled"): bad, ("b", "shuffled"): mid, ("c", "shuffled"): good}
    table, agree = summarise(correct, n_resamples=200, rng=1)
    row = table.filter((table["model"] == "a") & (table["variant"] == "shuffled")).row(0, named=True)
    assert row["rank"] == 3 and row["rank_original"] == 1 and row["rank_shift"] == 2
    assert row["change_high"] < 0 < 1  # a significant drop (Bonett–Price, paired)
    a = agree.row(0, named=True)
    assert a["winner_changed"] and a["kendall_tau"] == -1.0 and a["ci_high"] < 0


def test_bonett_price_change_interval_covers_at_nominal_level():
    from metaeval.probes.mc import summarise as summ

    rng = np.random.default_rng(5)
    hits, sims, n = 0, 400, 80
    for _ in range(sims):
        base = rng.random(n) < 0.7
        flip = rng.random(n) < 0.15  # the variant flips 15 % of items either way: true change 0.15 * (0.3 − 0.7)
        var = base ^ flip
        table, _ = summ({("m", "original"): base, ("m", "shuffled"): var}, n_resamples=10, rng=0)
        row = table.filter(table["variant"] == "shuffled").row(0, named=True)
        hits += row["change_low"] <= 0.15 * (0.3 - 0.7) <= row["change_high"]
    assert 0.93 <= hits / sims <= 0.985, hits / sims


def test_mc_robustness_end_to_end_on_two_tiny_models(tiny, tmp_path):
    _, _, path = tiny
    other = build_tiny_judge(tmp_path / "m2", seed=9)
    res = mc_robustness({"m4": path, "m9": other}, ROWS, variants=["original", "shuffled", "cloze_norm"],
                        n_resamples=50)
    t = res.table
    assert t.height == 6 and set(t["variant"]) == {"original", "shuffled", "cloze_norm"}
    assert ((t["ci_low"] <= t["accuracy"]) & (t["accuracy"] <= t["ci_high"])).all()
    assert res.correct.height == 2 * 3 * len(ROWS)
    assert res.agreement.height == 2


def test_bad_items_and_variants_are_errors():
    with pytest.raises(MetaevalError, match="item 0: `answer` must be a choice index"):
        read_mc([{"question": "q", "choices": ["a", "b"], "answer": "C"}])
    with pytest.raises(MetaevalError, match="item 0: `choices` must be a list"):
        read_mc([{"question": "q", "choices": "ab", "answer": 0}])
    with pytest.raises(MetaevalError, match="unknown variant 'reversed'"):
        mc_robustness({"m": "x"}, ROWS, variants=["reversed"])
    with pytest.raises(MetaevalError, match="no model folder"):
        mc_robustness({"m": "/nonexistent/model"}, ROWS)
