"""Perturb the evaluated model's benchmark, not the judge: multiple-choice robustness.

"When Benchmarks are Targets" (Alzahrani et al. 2024) and PromptBench (Zhu et al. 2023) show
that leaderboards built on multiple-choice benchmarks move when only the presentation moves:
the order of the choices, the symbols that label them, or how the answer is scored. This module
re-scores each model with torch under such variants and reports how the leaderboard changes.

Variants (each declares that an unaffected model keeps its accuracy):

=================  ==========================================================================
``original``       choices as given, labelled A, B, C…; the model's pick is the label with the
                   highest log-likelihood after ``Answer:`` (MMLU-style)
``shuffled``       the choices in another order (seeded per item), same labels
``symbols``        labels 1, 2, 3… instead of letters
``rare_symbols``   labels $, &, #, @… (Alzahrani et al.'s uncommon symbols)
``cloze``          no list; the pick is the choice text with the highest log-likelihood as the
                   answer's continuation (lm-eval-harness ``acc``)
``cloze_norm``     the same, per byte of the choice text (lm-eval-harness ``acc_norm``)
=================  ==========================================================================

Per model and variant: accuracy with a Wilson interval, the change from ``original`` with the
Bonett–Price interval for paired proportions (the same items), the rank with a bootstrap
interval over items, and Kendall's τ between each variant's leaderboard and the original one
(with a bootstrap interval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from metaeval._random import as_generator
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError
from metaeval.probes.judges import load_local_lm
from metaeval.results import Result, RunInfo
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.paired import bonett_price_interval
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, percentile_interval, resample_indices

__all__ = ["MC_VARIANTS", "MCItem", "MCRobustness", "loglikelihood", "mc_robustness", "read_mc", "score_mc"]

MC_VARIANTS: tuple[str, ...] = ("original", "shuffled", "symbols", "rare_symbols", "cloze", "cloze_norm")
_LETTERS = tuple("ABCDEFGHIJ")
_DIGITS = tuple("123456789")
_RARE = ("$", "&", "#", "@", "%", "^", "~", "*", "+")


@dataclass(frozen=True)
class MCItem:
    """One multiple-choice item: ``choices`` in their original order, ``answer`` the index of the right one."""

    id: str
    question: str
    choices: tuple[str, ...]
    answer: int


def read_mc(rows: Sequence[Mapping[str, Any]]) -> list[MCItem]:
    """Items from mappings with ``id``, ``question``, ``choices`` (a list) and ``answer`` (an index or a letter).

    >>> read_mc([{"id": "1", "question": "2+2?", "choices": ["3", "4"], "answer": "B"}])[0].answer
    1
    """
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise MetaevalError(f"item {i} must be a mapping; got {type(row).__name__}")
        for k in ("question", "choices", "answer"):
            if k not in row or row[k] is None:
                raise MetaevalError(f"item {i}: no `{k}`; a multiple-choice item needs question, choices and answer")
        choices = row["choices"]
        if not isinstance(choices, (list, tuple)) or not 2 <= len(choices) <= len(_DIGITS) or \
                not all(isinstance(c, str) and c.strip() for c in choices):
            raise MetaevalError(f"item {i}: `choices` must be a list of 2 to {len(_DIGITS)} non-empty texts")
        ans = row["answer"]
        if isinstance(ans, str) and len(ans) == 1 and ans.upper() in _LETTERS[: len(choices)]:
            idx = _LETTERS.index(ans.upper())
        elif isinstance(ans, (int, np.integer)) and not isinstance(ans, bool) and 0 <= int(ans) < len(choices):
            idx = int(ans)
        else:
            raise MetaevalError(f"item {i}: `answer` must be a choice index 0–{len(choices) - 1} or a letter "
                                f"A–{_LETTERS[len(choices) - 1]}; got {ans!r}")
        out.append(MCItem(str(row.get("id", i)), str(row["question"]), tuple(choices), idx))
    if len({it.id for it in out}) != len(out):
        raise MetaevalError("item ids must be unique")
    return out


@validate_params({"batch_size": [Interval(Integral, 1, None, closed="left")]})
def loglikelihood(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], *, batch_size: int = 16,
                  device: str | None = None) -> np.ndarray:
    """Σ log p(continuation tokens | context) for each (context, continuation), batched.

    The context and continuation are tokenised separately and joined (as lm-eval-harness does);
    rows are left-padded with explicit position ids, so a pair gets the same number alone or in
    a batch.
    """
    import torch

    dev = device or next(model.parameters()).device
    out = np.empty(len(pairs))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        seqs, conts = [], []
        for ctx, cont in chunk:
            c_ids = tokenizer.encode(ctx, add_special_tokens=False)
            k_ids = tokenizer.encode(cont, add_special_tokens=False)
            if not k_ids:
                raise MetaevalError(f"the continuation {cont!r} has no tokens")
            seqs.append(c_ids + k_ids)
            conts.append(len(k_ids))
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, width - len(s):] = torch.tensor(s)
            mask[r, width - len(s):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev)).logits
        logp = torch.log_softmax(logits.float(), dim=-1).cpu()
        for r, n in enumerate(conts):
            target = ids[r, width - n:]
            pred = logp[r, width - n - 1: width - 1]
            out[start + r] = float(pred.gather(1, target[:, None]).sum())
    return out


def _layout(item: MCItem, variant: str, rng: np.random.Generator) -> tuple[list[int], tuple[str, ...]]:
    k = len(item.choices)
    order = list(range(k))
    if variant == "shuffled":
        order = [int(i) for i in rng.permutation(k)]
        if order == list(range(k)):
            order = order[1:] + order[:1]
    symbols = _DIGITS[:k] if variant == "symbols" else _RARE[:k] if variant == "rare_symbols" else _LETTERS[:k]
    return order, symbols


def _prompt(item: MCItem, order: list[int], symbols: tuple[str, ...]) -> str:
    lines = [f"Question: {item.question.strip()}"]
    lines += [f"{s}. {item.choices[j].strip()}" for s, j in zip(symbols, order, strict=True)]
    return "\n".join(lines) + "\nAnswer:"


@validate_params({
    "variant": [Options(str, MC_VARIANTS)],
    "rng": ["rng"],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
})
def score_mc(model: Any, tokenizer: Any, items: Sequence[MCItem], variant: str = "original", *, rng: Any = 0,
             batch_size: int = 16) -> np.ndarray:
    """Whether the model picks the right choice of each item under a variant (a boolean array).

    >>> import tempfile
    >>> from transformers import AutoModelForCausalLM, AutoTokenizer
    >>> from metaeval.probes import build_tiny_judge
    >>> path = build_tiny_judge(tempfile.mkdtemp(), seed=0)
    >>> model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    >>> items = read_mc([{"id": "1", "question": "2+2?", "choices": ["3", "4", "5"], "answer": 1}])
    >>> score_mc(model, tok, items, "cloze").dtype
    dtype('bool')
    """
    if variant not in MC_VARIANTS:
        raise MetaevalError(f"unknown variant {variant!r}; variants: {', '.join(MC_VARIANTS)}")
    gen, _ = as_generator(rng)
    seeds = gen.integers(0, 2**32, size=len(items))  # one stream per item: the same layout whatever the model
    pairs: list[tuple[str, str]] = []
    spans, answers, norms = [], [], []
    for it, seed in zip(items, seeds, strict=True):
        order, symbols = _layout(it, variant, np.random.default_rng(int(seed)))
        if variant in ("cloze", "cloze_norm"):
            ctx = f"Question: {it.question.strip()}\nAnswer:"
            conts = [" " + c.strip() for c in it.choices]
            answers.append(it.answer)
        else:
            ctx = _prompt(it, order, symbols)
            conts = [" " + s for s in symbols]
            answers.append(order.index(it.answer))
        spans.append((len(pairs), len(conts)))
        norms.append([len(c.strip().encode()) for c in conts])
        pairs += [(ctx, c) for c in conts]
    ll = loglikelihood(model, tokenizer, pairs, batch_size=batch_size)
    out = np.empty(len(items), dtype=bool)
    for i, ((s, n), ans) in enumerate(zip(spans, answers, strict=True)):
        scores = ll[s:s + n]
        if variant == "cloze_norm":
            scores = scores / np.asarray(norms[i], float)
        out[i] = int(np.argmax(scores)) == ans
    return out


@dataclass(frozen=True)
class MCRobustness(Result):
    """Accuracy and rank of each model under each variant, and how the leaderboard moves."""

    table: pl.DataFrame
    agreement: pl.DataFrame
    correct: pl.DataFrame
    run_info: RunInfo
    title: str = "multiple-choice robustness of the leaderboard"


def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def summarise(correct: Mapping[tuple[str, str], np.ndarray], *, confidence_level: float = 0.95,
              n_resamples: int = DEFAULT_N_RESAMPLES, rng: Any = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tables of :class:`MCRobustness` from per-item correctness of each (model, variant)."""
    models = sorted({m for m, _ in correct})
    variants = [v for v in MC_VARIANTS if any((m, v) == key for key in correct for m in models)]
    if "original" not in variants:
        raise MetaevalError("the variants must include 'original' (the leaderboard the others are compared with)")
    n = len(next(iter(correct.values())))
    if any(len(v) != n for v in correct.values()):
        raise MetaevalError("every (model, variant) must be scored on the same items")
    if n < 2:
        raise InsufficientDataError("a leaderboard comparison needs at least 2 items")
    gen, _ = as_generator(rng)
    acc = {k: v.astype(float) for k, v in correct.items()}
    boot = {k: np.empty(n_resamples) for k in acc}  # each resample's accuracy
    for start, idx in resample_indices(n, n_resamples, gen):
        for k, v in acc.items():
            boot[k][start:start + len(idx)] = v[idx].mean(axis=1)
    alpha = 1 - confidence_level

    def ranks(values: np.ndarray) -> np.ndarray:  # rank 1 = best; ties share the best rank
        return rankdata(-values, method="min", axis=-1)

    rows, agree = [], []
    for v in variants:
        point = np.array([acc[(m, v)].mean() for m in models])
        draws = np.stack([boot[(m, v)] for m in models], axis=1)  # resamples × models
        r_point, r_draws = ranks(point), ranks(draws)
        orig_point = np.array([acc[(m, "original")].mean() for m in models])
        for j, m in enumerate(models):
            c, o = correct[(m, v)], correct[(m, "original")]
            lo, hi = proportion_interval(int(c.sum()), n, confidence_level=confidence_level)
            if v == "original":
                d_lo = d_hi = 0.0
            else:
                n10, n01 = int((c & ~o).sum()), int((~c & o).sum())
                d_lo, d_hi = bonett_price_interval(n10, n01, n, confidence_level=confidence_level)
            rows.append({"model": m, "variant": v, "accuracy": float(point[j]), "ci_low": float(lo),
                         "ci_high": float(hi), "change": float(point[j] - orig_point[j]), "change_low": float(d_lo),
                         "change_high": float(d_hi), "rank": int(r_point[j]),
                         "rank_low": int(np.quantile(r_draws[:, j], alpha / 2, method="lower")),
                         "rank_high": int(np.quantile(r_draws[:, j], 1 - alpha / 2, method="higher")),
                         "rank_original": int(ranks(orig_point)[j])})
        if v != "original" and len(models) >= 2:
            orig_draws = np.stack([boot[(m, "original")] for m in models], axis=1)
            taus = np.array([_kendall(orig_draws[b], draws[b]) for b in range(n_resamples)])
            taus = taus[np.isfinite(taus)]
            agree.append({"variant": v, "kendall_tau": _kendall(orig_point, point),
                          **dict(zip(("ci_low", "ci_high"), percentile_interval(taus, confidence_level, axis=None),
                                     strict=True)),
                          "winner_changed": bool(models[int(np.argmax(point))] != models[int(np.argmax(orig_point))])})
    table = pl.DataFrame(rows).with_columns((pl.col("rank") - pl.col("rank_original")).alias("rank_shift"))
    return table, pl.DataFrame(agree) if agree else pl.DataFrame(schema={"variant": pl.Utf8})


@validate_params({
    "confidence_level": [LEVEL],
    "n_resamples": [N_RESAMPLES],
    "rng": ["rng"],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
})
def mc_robustness(models: Mapping[str, Any], items: Sequence[MCItem | Mapping[str, Any]], *,
                  variants: Sequence[str] = MC_VARIANTS, confidence_level: float = 0.95,
                  n_resamples: int = DEFAULT_N_RESAMPLES, rng: Any = 0, batch_size: int = 16) -> MCRobustness:
    """Re-score each model on the items under each variant; report how the leaderboard moves.

    Parameters
    ----------
    models
        Name → a local model folder, or a ``(model, tokenizer)`` pair (transformers causal LMs).
    items
        :class:`MCItem` objects or mappings for :func:`read_mc`.
    variants
        Which presentations to score (``"original"`` is always included).
    confidence_level
        Coverage of the intervals.
    n_resamples
        Bootstrap resamples over items. Default: the package default, 1000 (see
        :mod:`metaeval.stats.resampling`).
    rng
        Seeds the shuffled orders (the same for every model) and the bootstrap.

    Returns
    -------
    MCRobustness
        ``table``: one row per model and variant (accuracy with its interval, the change from
        the original with its interval, the rank with its interval and its shift);
        ``agreement``: per variant, Kendall's τ between its leaderboard and the original's, with
        an interval, and whether the winner changed; ``correct``: per-item correctness.

    Examples
    --------
    >>> import tempfile
    >>> from metaeval.probes import build_tiny_judge
    >>> paths = {f"m{s}": build_tiny_judge(tempfile.mkdtemp(), seed=s) for s in (0, 1)}
    >>> rows = [{"id": str(i), "question": f"{i}+1?", "choices": [str(i), str(i + 1), str(i + 2)], "answer": 1}
    ...         for i in range(12)]
    >>> res = mc_robustness(paths, rows, variants=["original", "shuffled"], n_resamples=50)
    >>> sorted(res.table["variant"].unique())
    ['original', 'shuffled']
    """
    if not models:
        raise MetaevalError("give at least one model")
    bad = [v for v in variants if v not in MC_VARIANTS]
    if bad:
        raise MetaevalError(f"unknown variant {bad[0]!r}; variants: {', '.join(MC_VARIANTS)}")
    chosen = ["original", *[v for v in dict.fromkeys(variants) if v != "original"]]
    if all(isinstance(it, MCItem) for it in items):
        data = list(items)
    elif any(isinstance(it, MCItem) for it in items):
        raise MetaevalError("give items either all as MCItem or all as mappings")
    else:
        data = read_mc(items)  # type: ignore[arg-type]
    gen, seed = as_generator(rng)
    layout_seed = int(gen.integers(0, 2**32))
    correct: dict[tuple[str, str], np.ndarray] = {}
    for name, spec in models.items():
        model, tok = _load(spec, name)
        for v in chosen:
            correct[(str(name), v)] = score_mc(model, tok, data, v, rng=layout_seed, batch_size=batch_size)
    table, agree = summarise(correct, confidence_level=confidence_level, n_resamples=n_resamples, rng=gen)
    long = pl.DataFrame([{"model": m, "variant": v, "id": it.id, "correct": bool(c)}
                         for (m, v), arr in correct.items() for it, c in zip(data, arr, strict=True)])
    return MCRobustness(table, agree, long, RunInfo("mc_robustness", {"variants": chosen,
                                                                       "confidence_level": confidence_level,
                                                                       "n_resamples": n_resamples}, seed=seed,
                                                    n_items=len(data)))


def _load(spec: Any, name: str) -> tuple[Any, Any]:
    if isinstance(spec, (str, Path)):
        if not Path(spec).exists():
            raise MetaevalError(f"model {name!r}: no model folder at {spec}")
        model, tok, _ = load_local_lm(spec)
        return model.eval(), tok
    if isinstance(spec, tuple) and len(spec) == 2:
        return spec[0].eval(), spec[1]
    raise MetaevalError(f"model {name!r} must be a model folder or a (model, tokenizer) pair")

