"""Judge-template sensitivity: the same pairs under N judge prompts.

Each pairwise item is judged under every template, in both presentation orders; the item's
verdict under a template is the order-averaged probability that response A wins (so position
bias does not pass for template sensitivity). The study reports:

- per template: the share of items A wins, abstentions, and the position consistency (both
  orders agree);
- the **flip rate**: the share of items whose decided verdict (A or B) is not the same under
  every template, with a Wilson interval; and a **noise floor** — the same share between two
  repeats of the first template (``rep`` 0 and 1), which a sampling judge does not reach zero
  on; for a deterministic judge it is 0;
- every pair of templates: the share of items they decide alike, with its interval;
- when items name their models (``model_a``, ``model_b``): each model's win rate and rank under
  each template, and how far its rank moves across templates.

A verdict within ``tie_band`` of ½ is undecided; an abstention under any template removes the
item from the flip rate (it is counted in the table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import InsufficientDataError, MetaevalError, ParameterError
from metaeval.probes.judges import Request
from metaeval.probes.prompts import JudgePrompt, preset
from metaeval.probes.runner import Cache, run_judge
from metaeval.results import ConfidenceInterval, Estimate, Result, RunInfo
from metaeval.stats.intervals import proportion_interval

__all__ = ["TemplateSensitivity", "template_sensitivity"]


@dataclass(frozen=True)
class TemplateSensitivity(Result):
    """What changes when only the judge's prompt changes (see the module docstring)."""

    table: pl.DataFrame
    flip_rate: Estimate
    noise_floor: Estimate
    pairwise: pl.DataFrame
    items: pl.DataFrame
    ranking: pl.DataFrame | None
    run_info: RunInfo
    title: str = "judge-template sensitivity"


class _Salted:
    """A judge whose cache identity also names the template it was built for (a judge built from
    a closure may not show the template in its own fingerprint)."""

    def __init__(self, judge: Any, prompt: JudgePrompt) -> None:
        self.judge, self.prompt = judge, prompt
        self.name = getattr(judge, "name", prompt.name)
        self.batch_size = getattr(judge, "batch_size", 16)

    def fingerprint(self) -> str:
        return f"{self.judge.fingerprint()}|template={self.prompt.fingerprint()}"

    def __call__(self, requests: Any) -> Any:
        return self.judge(requests)


def _decide(p: float, band: float) -> str:
    if not math.isfinite(p):
        return "abstain"
    if p > 0.5 + band:
        return "A"
    if p < 0.5 - band:
        return "B"
    return "tie"


@validate_params({
    "tie_band": [Interval(Real, 0, 0.5, closed="left")],
    "confidence_level": [LEVEL],
    "progress": ["boolean", None],
})
def template_sensitivity(items: Sequence[Mapping[str, Any]], make_judge: Callable[[JudgePrompt], Any],
                         templates: Sequence[JudgePrompt | str], *, cache: str | Path | None = None,
                         tie_band: float = 0.0, confidence_level: float = 0.95,
                         progress: bool | None = None) -> TemplateSensitivity:
    """Judge every pair under every template and measure how the verdicts and ranking move.

    Parameters
    ----------
    items
        Pairwise items (``id``, ``prompt``, ``response_a``, ``response_b``; optional
        ``reference``, ``model_a``, ``model_b``).
    make_judge
        Builds the judge for one template, e.g.
        ``lambda p: GenerativeJudge(model, tok, prompt=p)``.
    templates
        Two or more presets or :class:`~metaeval.probes.prompts.JudgePrompt` objects.
    cache
        A folder shared by all templates (each judge's fingerprint names its template).
    tie_band
        Verdicts within this distance of ½ count as undecided.

    Returns
    -------
    TemplateSensitivity
        ``table``: one row per template (the share of items A wins, abstentions, position
        consistency); ``flip_rate`` with its Wilson interval and the ``noise_floor`` it is read
        against; ``pairwise``: each pair of templates' share of items decided alike, with its
        interval; ``items``: every item's verdict per template; ``ranking``: each model's win
        rate and rank per template (when items name their models).

    Examples
    --------
    >>> from metaeval.probes import CallableJudge
    >>> items = [{"id": str(i), "prompt": "q", "response_a": "a" * (i + 2), "response_b": "bb"} for i in range(30)]
    >>> def make(p):   # a judge that prefers the longer answer, whatever the template
    ...     return CallableJudge(lambda r: float(len(r.responses[0]) > len(r.responses[1])), name=p.name)
    >>> res = template_sensitivity(items, make, ["mt-bench-pair", "arena-hard"], progress=False)
    >>> float(res.flip_rate.estimate)
    0.0
    """
    if not 0 <= tie_band < 0.5:
        raise ParameterError(f"`tie_band` must be in [0, 0.5); got {tie_band!r}")
    if not 0 < confidence_level < 1:
        raise ParameterError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    prompts = [preset(t) if isinstance(t, str) else t for t in templates]
    if len(prompts) < 2:
        raise MetaevalError("template sensitivity needs at least two templates")
    names = [p.name for p in prompts]
    if len(set(names)) != len(names):
        raise MetaevalError(f"templates need distinct names; got {names}")
    for p in prompts:
        if p.kind != "pair":
            raise MetaevalError(f"template {p.name!r} is a {p.kind} prompt; template sensitivity compares pairs")
    data = list(items)
    for i, it in enumerate(data):
        for k in ("id", "prompt", "response_a", "response_b"):
            if not isinstance(it.get(k), str) or not str(it.get(k)).strip():
                raise MetaevalError(f"item {i}: `{k}` must be non-empty text (template sensitivity needs pairs)")
    if len(data) < 2:
        raise InsufficientDataError("template sensitivity needs at least two items")
    store = Cache(cache)

    def requests(rep: int) -> list[Request]:
        out = []
        for it in data:
            a, b, q = str(it["response_a"]), str(it["response_b"]), str(it["prompt"])
            ref = it.get("reference")
            out.append(Request("pair", q, (a, b), q, reference=ref, rep=rep, group=f"{it['id']}:{rep}"))
            out.append(Request("pair", q, (b, a), q, reference=ref, rep=rep, group=f"{it['id']}:{rep}"))
        return out

    verdict: dict[str, np.ndarray] = {}
    consistent: dict[str, np.ndarray] = {}
    floor_p: np.ndarray | None = None
    for k, p in enumerate(prompts):
        judge = _Salted(make_judge(p), p)
        vals = run_judge(judge, requests(0), cache=store, show=progress).values
        ab, ba = vals[0::2], 1 - vals[1::2]
        verdict[p.name] = (ab + ba) / 2
        consistent[p.name] = np.array([_decide(x, tie_band) == _decide(y, tie_band) for x, y in zip(ab, ba,
                                                                                                  strict=True)])
        if k == 0:
            rep = run_judge(judge, requests(1), cache=store, show=progress).values
            floor_p = (rep[0::2] + 1 - rep[1::2]) / 2
    assert floor_p is not None
    decisions = {n: np.array([_decide(float(x), tie_band) for x in v]) for n, v in verdict.items()}
    mat = np.stack([decisions[n] for n in names])  # templates × items
    valid = ~(mat == "abstain").any(axis=0)
    flips = valid & (mat != mat[0]).any(axis=0)
    n_valid = int(valid.sum())

    def share(k: int, n: int, what: str) -> Estimate:
        if n == 0:
            lo = hi = est = float("nan")
        else:
            lo_a, hi_a = proportion_interval(k, n, confidence_level=confidence_level)
            lo, hi, est = float(lo_a), float(hi_a), k / n
        return Estimate(what, est, ConfidenceInterval(lo, hi, confidence_level, "wilson"), None, n,
                        RunInfo("template_sensitivity", {"templates": names, "tie_band": tie_band}))

    flip = share(int(flips.sum()), n_valid, "flip rate across templates")
    first = decisions[names[0]]
    again = np.array([_decide(float(x), tie_band) for x in floor_p])
    ok = (first != "abstain") & (again != "abstain")
    floor = share(int((ok & (first != again)).sum()), int(ok.sum()), "noise floor (repeat of the first template)")

    rows = []
    for n in names:
        d = decisions[n]
        dec = d != "abstain"
        wins = float((d == "A").sum() + 0.5 * (d == "tie").sum())
        lo, hi = proportion_interval(wins, int(dec.sum()), confidence_level=confidence_level) if dec.any() \
            else (float("nan"), float("nan"))
        rows.append({"template": n, "items": len(d), "abstentions": int((~dec).sum()),
                     "a_wins": wins / dec.sum() if dec.any() else float("nan"), "ci_low": float(lo),
                     "ci_high": float(hi), "position_consistency": float(consistent[n][dec].mean()) if dec.any()
                     else float("nan")})
    table = pl.DataFrame(rows)
    pair_rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = decisions[names[i]], decisions[names[j]]
            both = (a != "abstain") & (b != "abstain")
            k, n = int((both & (a == b)).sum()), int(both.sum())
            lo, hi = proportion_interval(k, n, confidence_level=confidence_level) if n else (np.nan, np.nan)
            pair_rows.append({"template_1": names[i], "template_2": names[j], "agreement": k / n if n else np.nan,
                              "ci_low": float(lo), "ci_high": float(hi), "n": n})
    per_item = pl.DataFrame({"id": [str(it["id"]) for it in data] * len(names),
                             "template": [n for n in names for _ in data],
                             "p_a": np.concatenate([verdict[n] for n in names]),
                             "decision": np.concatenate([decisions[n] for n in names])})
    ranking = _ranking(data, decisions, names) if all("model_a" in it and "model_b" in it for it in data) else None
    return TemplateSensitivity(table, flip, floor, pl.DataFrame(pair_rows), per_item, ranking,
                               RunInfo("template_sensitivity", {"templates": names, "tie_band": tie_band},
                                       n_items=len(data)))


def _ranking(data: Sequence[Mapping[str, Any]], decisions: dict[str, np.ndarray], names: list[str]) -> pl.DataFrame:
    models = sorted({str(it["model_a"]) for it in data} | {str(it["model_b"]) for it in data})
    rows = []
    for n in names:
        wins = dict.fromkeys(models, 0.0)
        games = dict.fromkeys(models, 0)
        for it, d in zip(data, decisions[n], strict=True):
            if d == "abstain":
                continue
            a, b = str(it["model_a"]), str(it["model_b"])
            games[a] += 1
            games[b] += 1
            wins[a] += 1.0 if d == "A" else 0.5 if d == "tie" else 0.0
            wins[b] += 1.0 if d == "B" else 0.5 if d == "tie" else 0.0
        rate = {m: wins[m] / games[m] if games[m] else float("nan") for m in models}
        order = sorted(models, key=lambda m: -rate[m] if math.isfinite(rate[m]) else math.inf)
        for m in models:
            rows.append({"model": m, "template": n, "win_rate": rate[m], "rank": order.index(m) + 1})
    df = pl.DataFrame(rows)
    spread = df.group_by("model").agg(pl.col("rank").min().alias("best_rank"), pl.col("rank").max().alias("worst_rank"))
    return df.join(spread, on="model").sort(["template", "rank"])
