"""Judge prompts as data, verdict parsers, and the generating judge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metaeval.errors import MetaevalError
from metaeval.probes import CausalLMJudge, Request, build_tiny_judge
from metaeval.probes.judges import _label_token_ids
from metaeval.probes.parsers import PARSERS, parse
from metaeval.probes.prompts import PRESETS, JudgePrompt, preset, render_chat, template

# ------------------------------------------------------------------------------------------ parsers
CASES = [
    # parser, text, labels, scale, value, status
    ("choice", "Both fine, but A is exact.\n[[A]]", ("A", "B"), (1, 10), 1.0, "ok"),
    ("choice", "Reply \"[[A]]\" if A wins.\nAfter thinking: [[B]]", ("A", "B"), (1, 10), 0.0, "ok"),
    ("choice", "They are equally good. [[C]]", ("A", "B"), (1, 10), 0.5, "ok"),
    ("choice", "Final verdict: [[A]] or [[B]]", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("choice", "No verdict here.", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("choice", "", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("choice", "Response 2 is better: [[2]]", ("1", "2"), (1, 10), 0.0, "ok"),
    ("choice", "[[ A ]]", ("A", "B"), (1, 10), 1.0, "ok"),
    ("arena", "My answer: 4.\nMy final verdict is: [[A>>B]]", ("A", "B"), (1, 10), 1.0, "ok"),
    ("arena", "[[B>A]]", ("A", "B"), (1, 10), 0.0, "ok"),
    ("arena", "tie [[A=B]]", ("A", "B"), (1, 10), 0.5, "ok"),
    ("arena", "[[A>A]]", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("arena", "A is better", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("identifier", "m", ("m", "M"), (1, 10), 1.0, "ok"),
    ("identifier", " M\n", ("m", "M"), (1, 10), 0.0, "ok"),
    ("identifier", "Model M is better", ("m", "M"), (1, 10), math.nan, "abstain"),
    ("identifier", "x", ("m", "M"), (1, 10), math.nan, "abstain"),
    ("pandalm", "2\n\nReason: response 2 is correct.", ("1", "2"), (1, 10), 0.0, "ok"),
    ("pandalm", "Tie\nReason: same", ("1", "2"), (1, 10), 0.5, "ok"),
    ("pandalm", "Both are fine.", ("1", "2"), (1, 10), math.nan, "abstain"),
    ("judgelm", "8 6\nAssistant 1 is more detailed.", ("1", "2"), (1, 10), 1.0, "ok"),
    ("judgelm", "7 7\nSame.", ("1", "2"), (1, 10), 0.5, "ok"),
    ("judgelm", "11 3\n", ("1", "2"), (1, 10), math.nan, "abstain"),
    ("judgelm", "Assistant 1: 8", ("1", "2"), (1, 10), math.nan, "abstain"),
    ("json", 'Thinking... {"winner": "B", "reason": "shorter"}', ("A", "B"), (1, 10), 0.0, "ok"),
    ("json", '{"winner": "tie"}', ("A", "B"), (1, 10), 0.5, "ok"),
    ("json", '{"winner": "D"}', ("A", "B"), (1, 10), math.nan, "abstain"),
    ("json", '{"score": 4}', ("A", "B"), (1, 5), 4.0, "ok"),
    ("json", '{"score": 9}', ("A", "B"), (1, 5), math.nan, "abstain"),
    ("json", "not json {", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("rating", "Helpful and correct. Rating: [[8]]", ("A", "B"), (1, 10), 8.0, "ok"),
    ("rating", "Rating: [[0]]", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("rating", "Rating: [[nan]]", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("rating", "Rating: 8", ("A", "B"), (1, 10), math.nan, "abstain"),
    ("number", "I'd say 4", ("A", "B"), (1, 5), 4.0, "ok"),
    ("number", "I'd say 40", ("A", "B"), (1, 5), math.nan, "abstain"),
]


@pytest.mark.parametrize(("parser", "text", "labels", "scale", "value", "status"), CASES)
def test_parser_reads_the_verdict_or_abstains(parser, text, labels, scale, value, status):
    v = parse(parser, text, labels=labels, scale=scale)
    assert v.status == status
    assert v.raw == text  # the raw text is kept either way
    if status == "ok":
        assert v.value == value and v.reason is None
    else:
        assert math.isnan(v.value) and v.reason  # an abstention is never a tie and says why


def test_every_parser_has_a_case_and_unknown_parser_is_an_error():
    assert {c[0] for c in CASES} == set(PARSERS)
    with pytest.raises(MetaevalError, match="unknown verdict parser 'nope'"):
        parse("nope", "x")
    assert parse("choice", None).status == "abstain"  # type: ignore[arg-type]


def test_arena_strength_keeps_the_graded_scale():
    assert [parse("arena", f"[[{s}]]").strength for s in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == \
        [2.0, 1.0, 0.0, -1.0, -2.0]


# ------------------------------------------------------------------------------------------ prompts
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_renders_its_slots_and_cites_its_source(name):
    p = preset(name)
    assert p.source and p.parser in PARSERS
    kw = {"question": "QQQ", "reference": "RRR" if p.needs_reference else None}
    if p.kind == "pair":
        msgs = p.messages(answer_a="AAA", answer_b="BBB", **kw)
    else:
        msgs = p.messages(answer="AAA", **kw)
    text = "\n".join(m["content"] for m in msgs)
    assert "QQQ" in text and "AAA" in text
    assert ("BBB" in text) == (p.kind == "pair")
    assert ("RRR" in text) == p.needs_reference
    assert "{{" not in text and "{%" not in text  # every slot was filled
    assert msgs[-1]["role"] == "user"


def test_preset_output_formats_match_their_parsers():
    # the format each preset asks for is what its parser reads
    assert "[[A]]" in preset("mt-bench-pair").system and "[[C]]" in preset("mt-bench-pair").system
    assert "Rating: [[5]]" in preset("mt-bench-single").messages(question="q", answer="a")[0]["content"]
    assert "1 to 10" in preset("mt-bench-single").messages(question="q", answer="a")[0]["content"]
    assert "[[A>>B]]" in preset("arena-hard").system and "own answer" in preset("arena-hard").system
    user = preset("alpaca-eval").messages(question="q", answer_a="x", answer_b="y")[-1]["content"]
    assert '"model_identifier": "m"' in user and '"model_identifier": "M"' in user
    assert "1, 2 or Tie" in preset("pandalm").user


def test_prompt_errors_name_what_is_missing():
    with pytest.raises(MetaevalError, match="unknown judge prompt preset 'mt'"):
        preset("mt")
    with pytest.raises(MetaevalError, match="needs a reference answer"):
        preset("mt-bench-pair-ref").messages(question="q", answer_a="a", answer_b="b")
    with pytest.raises(MetaevalError, match="give `answer_a` and `answer_b`"):
        preset("mt-bench-pair").messages(question="q", answer="a")
    p = template("{{ question }} {{ rubric }}", kind="score", parser="rating")
    with pytest.raises(MetaevalError, match="'rubric' is undefined"):
        p.messages(question="q", answer="a")
    with pytest.raises(MetaevalError, match="does not parse"):
        template("{{ question ", kind="score", parser="rating")
    with pytest.raises(MetaevalError, match="unknown verdict parser"):
        template("{{ question }}", kind="score", parser="stars")


def test_prompt_text_is_not_escaped_and_json_slots_are_quoted():
    p = preset("alpaca-eval")
    user = p.messages(question='say "<b>hi</b>"', answer_a="x", answer_b="y")[-1]["content"]
    assert '"say \\"<b>hi</b>\\""' in user  # JSON string, no HTML escaping
    assert "<b>" in preset("mt-bench-pair").messages(question="<b>", answer_a="a", answer_b="b")[-1]["content"]


def test_fingerprint_changes_with_what_shapes_the_prompt():
    p = preset("mt-bench-pair")
    assert p.fingerprint() == preset("mt-bench-pair").fingerprint()
    assert p.fingerprint() != p.with_labels("1", "2").fingerprint()
    assert p.fingerprint() != preset("mt-bench-pair-ref").fingerprint()
    assert isinstance(p, JudgePrompt)


class _ChatTok:
    chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"

    def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
        import jinja2

        assert tokenize is False and add_generation_prompt is True
        return jinja2.Template(self.chat_template).render(messages=msgs)


class _NoSystemTok(_ChatTok):
    def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
        if msgs[0]["role"] == "system":
            raise ValueError("System role not supported")
        return super().apply_chat_template(msgs, tokenize, add_generation_prompt)


def test_render_chat_uses_the_tokenizers_template_and_folds_system_when_refused():
    msgs = preset("mt-bench-pair").messages(question="q", answer_a="a", answer_b="b")
    text = render_chat(msgs, _ChatTok())
    assert text.startswith("<|system|>You are a careful") and text.endswith("<|assistant|>")
    folded = render_chat(msgs, _NoSystemTok())
    assert folded.startswith("<|user|>You are a careful") and "[User Question]" in folded
    assert render_chat(msgs, _ChatTok(), system_prompt="S").startswith("<|system|>S<|user|>")
    plain = render_chat([{"role": "user", "content": "hi"}])
    assert plain == "User: hi\nAssistant: "
    with pytest.raises(MetaevalError, match="role must be"):
        render_chat([{"role": "tool", "content": "x"}])


# ------------------------------------------------------------------------------------------ generation
@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_judge(tmp_path_factory.mktemp("gen"), seed=3)


def _pairs(n: int) -> list[Request]:
    qs = ["2+2?", "Capital of France?", "Name a fox.", "def f(x)?"]
    return [Request("pair", f"Which is better? {qs[i % 4]} {i} Answer: ", (f"x{i}", f"y{i}"), qs[i % 4], rep=0)
            for i in range(n)]


def test_random_model_generations_are_abstentions_with_raw_text(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    judge = GenerativeJudge.from_pretrained(tiny_path, prompt="mt-bench-pair", max_new_tokens=6, device="cpu")
    out = judge(_pairs(3))
    assert np.isnan(out).all()
    assert all(v.status == "abstain" and v.reason and isinstance(v.raw, str) for v in judge.verdicts)


def test_greedy_constrained_generation_picks_the_logprob_judges_top_label(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    gen = GenerativeJudge.from_pretrained(tiny_path, prompt=None, parser="identifier", max_new_tokens=1,
                                          constrain_labels=True, device="cpu", batch_size=4)
    lp = CausalLMJudge.from_pretrained(tiny_path, device="cpu")
    reqs = _pairs(12)
    texts = [gen.text(r) for r in reqs]
    verdicts = gen.judge(reqs)
    logp = lp.next_token_logprobs(texts).numpy()
    ids = _label_token_ids(lp.tokenizer, ["A", "B"])
    for i, v in enumerate(verdicts):
        assert v.ok  # constrained: the first token is always a label
        best = max(((logp[i, t], lab) for lab, ts in zip("AB", ids, strict=True) for t in ts))[1]
        assert v.label == best


def test_sampled_constrained_generation_matches_the_logprob_judges_probability(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    gen = GenerativeJudge.from_pretrained(tiny_path, prompt=None, parser="identifier", max_new_tokens=1,
                                          constrain_labels=True, temperature=1.0, seed=11, device="cpu",
                                          batch_size=64)
    lp = CausalLMJudge.from_pretrained(tiny_path, device="cpu")
    base = _pairs(1)[0]
    n = 400
    reqs = [Request(base.kind, base.text, base.responses, base.prompt, rep=k) for k in range(n)]
    p = float(lp([Request(base.kind, gen.text(base), base.responses, base.prompt)])[0])
    freq = float(np.mean(gen(reqs)))
    assert abs(freq - p) < 4 * math.sqrt(p * (1 - p) / n)
    # deterministic, and a request's sample does not depend on its batch
    again = GenerativeJudge.from_pretrained(tiny_path, prompt=None, parser="identifier", max_new_tokens=1,
                                            constrain_labels=True, temperature=1.0, seed=11, device="cpu",
                                            batch_size=7)
    np.testing.assert_array_equal(again(reqs[::-1])[::-1], gen(reqs))


def test_greedy_batch_equals_one_at_a_time(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    gen = GenerativeJudge.from_pretrained(tiny_path, prompt="mt-bench-pair", max_new_tokens=5, device="cpu",
                                          batch_size=8)
    reqs = _pairs(5)
    texts = [gen.text(r) for r in reqs]
    assert gen.generate(texts) == [gen.generate([t])[0] for t in texts]


def test_generative_fingerprint_identifies_prompt_and_decoding(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    def fp(**kw):
        kw.setdefault("device", "cpu")
        return GenerativeJudge.from_pretrained(tiny_path, **kw).fingerprint()

    base = fp()
    assert base == fp()
    for kw in ({"prompt": "arena-hard"}, {"temperature": 0.7}, {"seed": 1}, {"max_new_tokens": 9},
               {"system_prompt": "Be strict."}, {"revision": "abc123"}):
        assert fp(**kw) != base, kw


def test_generative_judge_rejects_bad_settings_and_mismatched_requests(tiny_path):
    from metaeval.probes.generate import GenerativeJudge

    for kw, msg in (({"max_new_tokens": 0}, "max_new_tokens"), ({"temperature": -1}, "temperature"),
                    ({"top_p": 0}, "top_p")):
        with pytest.raises(MetaevalError, match=msg):
            GenerativeJudge.from_pretrained(tiny_path, device="cpu", **kw)
    gen = GenerativeJudge.from_pretrained(tiny_path, prompt="mt-bench-single", device="cpu")
    with pytest.raises(MetaevalError, match="is a score prompt; the request is a pair request"):
        gen.text(_pairs(1)[0])
