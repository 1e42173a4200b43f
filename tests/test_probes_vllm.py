"""VLLMJudge on a real GPU (skips without vLLM and CUDA: vLLM is GPU-only)."""

from __future__ import annotations

import numpy as np
import pytest

vllm = pytest.importorskip("vllm")
torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - CPU machines
    pytest.skip("VLLMJudge needs a CUDA device", allow_module_level=True)

from metaeval.probes import CausalLMJudge, Request, build_tiny_judge  # noqa: E402
from metaeval.probes.vllm import VLLMJudge  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_judge(tmp_path_factory.mktemp("vllm"), arch="llama", seed=2)


def test_logprob_mode_matches_the_torch_judge(tiny):
    judge = VLLMJudge(str(tiny), prompt=None, mode="logprobs", dtype="float32", gpu_memory_utilization=0.2,
                      enforce_eager=True)
    reqs = [Request("pair", f"Question {i}. Which is better, A or B? Answer:", ("x", "y"), "q") for i in range(8)]
    ref = CausalLMJudge.from_pretrained(tiny, device="cuda", dtype=torch.float32)
    got = judge(reqs)
    want = ref([Request(r.kind, judge.text(r), r.responses, r.prompt) for r in reqs])
    ok = np.isfinite(got)
    assert ok.mean() > 0.5  # labels are among the top-20 tokens for most prompts of a random model
    np.testing.assert_allclose(got[ok], want[ok], atol=0.05)


def test_generate_mode_keeps_raw_text_and_abstains_without_a_verdict(tiny):
    judge = VLLMJudge(str(tiny), prompt="mt-bench-pair", max_tokens=8, dtype="float32", gpu_memory_utilization=0.2,
                      enforce_eager=True)
    out = judge([Request("pair", "", ("4", "5"), "2+2?")])
    v = judge.verdicts[0]
    assert isinstance(v.raw, str)
    assert (v.status == "abstain") == bool(np.isnan(out[0]))
    assert "vllm:" in judge.fingerprint() and "mt-bench" not in judge.fingerprint()  # the prompt is hashed
