"""Judge throughput of the probe runner: batched (length-sorted, left-padded) against the naive
loop people write — one prompt at a time through the same model — on a tiny random GPT-2 judge
built on the spot. Runs unchanged on a GPU (the device is chosen automatically; bf16 there) and
reports prompts and tokens per second.

Run: ``python benchmarks/bench_probes.py [N_ITEMS]``.
"""

from __future__ import annotations

import sys
import tempfile
import time

from metaeval import probes
from metaeval.probes.runner import run_judge
from metaeval.probes.study import build


def main(n_items: int = 40) -> None:
    items = [{"id": f"q{i}", "prompt": f"Question {i}: explain why the sky is blue in two sentences.",
              "response_a": "Sunlight scatters off air molecules. Blue light scatters most, so the sky looks blue. "
                            * (1 + i % 3),
              "response_b": f"Because of Rayleigh scattering, which grows as the inverse fourth power of wavelength. "
                            f"It is {i} times more visible at noon." * (1 + i % 2)} for i in range(n_items)]
    plist = [probes.PERTURBATIONS[n] for n in ("repeat", "order_swap", "authority", "verbosity", "negation")]
    requests, _, _ = build(items, plist, mode=None, scale=(1, 5), seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        judge = probes.CausalLMJudge.from_pretrained(probes.build_tiny_judge(tmp, seed=0), batch_size=32)
        n_tokens = sum(len(judge.tokenizer(r.text)["input_ids"]) for r in requests)
        judge([requests[0]])  # warm up
        t0 = time.perf_counter()
        run_judge(judge, requests, batch_size=32, show=False)
        batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        for r in requests:
            judge([r])
        naive = time.perf_counter() - t0
    n = len(requests)
    print(f"device {judge.device} ({judge.dtype}); {n} prompts, {n_tokens:,} tokens")
    print(f"batched runner: {n / batched:.1f} prompts/s, {n_tokens / batched:,.0f} tokens/s ({batched:.2f} s)")
    print(f"one prompt at a time: {n / naive:.1f} prompts/s, {n_tokens / naive:,.0f} tokens/s ({naive:.2f} s)")
    print(f"ratio {naive / batched:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
