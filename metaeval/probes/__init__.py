"""Perturbation probes: perturb judge inputs, re-run a judge, measure how the verdicts move.

Statistical probes only see the biases a table happens to contain; these create the test. Each
perturbation (:data:`PERTURBATIONS`) is rule-based, deterministic given a seed, and declares
what an unbiased judge should do: stay put (order swap, authority cue, padding…: the flip rate
is measured against a plain repeat) or prefer the original (a changed number, a negated fact…:
the detection rate is measured against a judge blind to the change). Judges: a local Hugging
Face causal LM run with torch, read from its next-token log-probabilities (:class:`CausalLMJudge`,
the cheap path) or generating its judgment under a judge prompt (:class:`GenerativeJudge`, with
the MT-Bench, AlpacaEval, Arena-Hard, PandaLM and JudgeLM presets of :mod:`.prompts` and the
verdict parsers of :mod:`.parsers`), an async OpenAI-compatible client with bounded concurrency
(:class:`AsyncHTTPJudge`: vLLM serve, TGI, Ollama, hosted APIs), a reference-based embedding judge
(:class:`EmbeddingJudge`, SemScore), an OpenAI-compatible HTTP endpoint (:class:`HTTPJudge`) or
any Python function (:class:`CallableJudge`). The runner batches, caches on disk, resumes,
shares one cache between concurrent runs, retries failing requests (:class:`Retry`) and records
answers that are not verdicts (NaN, out of range, failed calls) as abstentions, never as ties.

torch and transformers are needed only by the model-backed judges (``pip install metaeval[gpu]``).
"""

from metaeval.probes.constructed import offsetbias_items
from metaeval.probes.generate import GenerativeJudge
from metaeval.probes.http import AsyncHTTPJudge
from metaeval.probes.judges import (
    PROMPT_BUILDER_VERSION,
    CallableJudge,
    CausalLMJudge,
    EmbeddingJudge,
    Failure,
    HTTPJudge,
    JudgeSetupError,
    Request,
    auto_device,
    build_tiny_judge,
    function_identity,
)
from metaeval.probes.mc import MCRobustness, mc_robustness
from metaeval.probes.parsers import PARSERS, Verdict, parse
from metaeval.probes.perturb import PERTURBATIONS, Perturbation, names
from metaeval.probes.prompts import PRESETS, JudgePrompt, preset, render_chat, template
from metaeval.probes.report import ProbeReport, analyse, run
from metaeval.probes.runner import REASONS, Answers, Cache, Retry, run_judge
from metaeval.probes.sensitivity import TemplateSensitivity, template_sensitivity
from metaeval.probes.specs import load_judge
from metaeval.probes.study import ProbeRun, collect, read_items

__all__ = [
    "PARSERS",
    "PERTURBATIONS",
    "PRESETS",
    "PROMPT_BUILDER_VERSION",
    "REASONS",
    "Answers",
    "AsyncHTTPJudge",
    "Cache",
    "CallableJudge",
    "CausalLMJudge",
    "EmbeddingJudge",
    "Failure",
    "GenerativeJudge",
    "HTTPJudge",
    "JudgePrompt",
    "JudgeSetupError",
    "MCRobustness",
    "Perturbation",
    "ProbeReport",
    "ProbeRun",
    "Request",
    "Retry",
    "TemplateSensitivity",
    "Verdict",
    "analyse",
    "auto_device",
    "build_tiny_judge",
    "collect",
    "function_identity",
    "load_judge",
    "mc_robustness",
    "names",
    "offsetbias_items",
    "parse",
    "preset",
    "read_items",
    "render_chat",
    "run",
    "run_judge",
    "template",
    "template_sensitivity",
]
