"""Perturbation probes: perturb judge inputs, re-run a judge, measure how the verdicts move.

Statistical probes only see the biases a table happens to contain; these create the test. Each
perturbation (:data:`PERTURBATIONS`) is rule-based, deterministic given a seed, and declares
what an unbiased judge should do: stay put (order swap, authority cue, padding…: the flip rate
is measured against a plain repeat) or prefer the original (a changed number, a negated fact…:
the detection rate is measured against a judge blind to the change). Judges: a local Hugging
Face causal LM run with torch (:class:`CausalLMJudge`), a reference-based embedding judge
(:class:`EmbeddingJudge`, SemScore), an OpenAI-compatible HTTP endpoint (:class:`HTTPJudge`) or
any Python function (:class:`CallableJudge`). The runner batches, caches on disk and resumes.

torch and transformers are needed only by the model-backed judges (``pip install metaeval[gpu]``).
"""

from metaeval.probes.judges import (
    CallableJudge,
    CausalLMJudge,
    EmbeddingJudge,
    HTTPJudge,
    Request,
    auto_device,
    build_tiny_judge,
    load_judge,
)
from metaeval.probes.perturb import PERTURBATIONS, Perturbation, names
from metaeval.probes.report import ProbeReport, analyse, run
from metaeval.probes.runner import Cache, ProbeRun, collect, read_items, run_judge

__all__ = [
    "PERTURBATIONS",
    "Cache",
    "CallableJudge",
    "CausalLMJudge",
    "EmbeddingJudge",
    "HTTPJudge",
    "Perturbation",
    "ProbeReport",
    "ProbeRun",
    "Request",
    "analyse",
    "auto_device",
    "build_tiny_judge",
    "collect",
    "load_judge",
    "names",
    "read_items",
    "run",
    "run_judge",
]
