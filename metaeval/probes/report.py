"""From judged cells to a probe report: per probe its rate with an interval, the noise floor, a
test, and whether the judge is flagged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._format import table_text
from metaeval._validate import LEVEL, N_RESAMPLES, Interval, Options, validate_params
from metaeval.errors import EstimationWarning, warn
from metaeval.probes.judges import Judge
from metaeval.probes.perturb import PERTURBATIONS, Perturbation, get
from metaeval.probes.runner import Retry
from metaeval.probes.study import ProbeRun, collect, read_items
from metaeval.results import Result, RunInfo
from metaeval.stats.intervals import proportion_interval
from metaeval.stats.multiple import adjust_pvalues
from metaeval.stats.paired import sign_flip_test
from metaeval.stats.resampling import DEFAULT_N_TEST_RESAMPLES
from metaeval.tables import Judgments

__all__ = ["ProbeReport", "analyse", "run"]

CHANCE = {"pairwise": 0.25, "pointwise": 0.5}


@dataclass(frozen=True)
class ProbeReport(Result):
    """One row per probe: what an unbiased judge should do (``expect``), the rate (flip rate for
    invariant probes, detection rate for quality drops) with a Wilson interval over items, the
    floor it is tested against, the p-value (Holm-adjusted across probes), the mean shift of the
    judge's number, and ``flagged``: sensitive to a change that should not matter, or blind to
    one that should.

    Answers that are not verdicts (NaN, ±inf, out of range, not a number, a failed call) are
    abstentions: rates use valid verdicts only. Per probe, ``n_items`` counts the items with
    the valid verdicts the rate needs, ``n_valid`` the probe's valid verdicts, ``n_abstained``
    its abstentions (for ``order_swap``: the originals') and ``abstained_items`` the items left
    out for want of a verdict; :attr:`abstentions` counts them per probe and reason."""

    table: pl.DataFrame
    findings: tuple[str, ...]
    run: ProbeRun
    run_info: RunInfo
    title: str = "perturbation probes"
    abstentions: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"probe": pl.String, "mode": pl.String, "reason": pl.String, "n": pl.UInt32, "example": pl.String}))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["abstentions"] = self.abstentions.to_dicts()
        return out

    def judgments(self) -> Judgments:
        """The verdicts as a metaeval table (``variant`` = probe) for :mod:`metaeval.bias` and
        :mod:`metaeval.agreement`."""
        return self.run.judgments()

    def summary(self) -> str:
        cols = ["probe", "expect", "mode", "n_items", "rate", "ci_low", "ci_high", "floor", "p_adjusted", "mean_shift",
                "flagged"]

        if self.abstentions.height:
            cols.insert(4, "n_abstained")
        text = table_text(self.table.select(cols), title=self.title)
        if self.abstentions.height:
            text += "\n\n" + table_text(self.abstentions, title="abstentions: answers that are not verdicts (left out "
                                                                  "of every rate)")
        return text + ("\n" + "\n".join(f"- {f}" for f in self.findings) if self.findings else "")

    def chart(self) -> Any:
        """Rates with intervals per probe, coloured by what an unbiased judge should do; ticks mark
        the floors."""
        import altair as alt

        data = self.table.select("probe", "expect", "rate", "ci_low", "ci_high", "floor").to_dicts()
        base = alt.Chart(alt.Data(values=data)).encode(y=alt.Y("probe:N", sort=None, title=None))
        bars = base.mark_bar().encode(x=alt.X("rate:Q", title="flip rate / detection rate",
                                              scale=alt.Scale(domain=[0, 1])),
                                      color=alt.Color("expect:N", title="an unbiased judge is"),
                                      tooltip=["probe:N", alt.Tooltip("rate:Q", format=".3f")])
        err = base.mark_rule().encode(x="ci_low:Q", x2="ci_high:Q")
        floor = base.mark_tick(color="black", thickness=2).encode(x="floor:Q")
        return (bars + err + floor).properties(title=f"{self.title}: {self.run.judge}", width=380)


def _per_item(cells: pl.DataFrame, probe: str, expect: str, mode: str) -> pl.DataFrame:
    """Per item: x (flip share or detection), shift (mean change of the judge's number), from
    valid verdicts only: an item enters when the verdicts its comparison needs are all valid."""
    cells = cells.filter(pl.col("abstained").is_null())
    base = cells.filter(pl.col("probe") == "original").select("item", "order", pl.col("outcome").alias("o0"),
                                                              pl.col("value").alias("v0"), pl.col("p_a").alias("p0"))
    if probe == "order_swap":
        o = base.pivot(on="order", index="item", values=["o0", "v0"])
        if not {"o0_a", "o0_b"} <= set(o.columns):  # no item has a valid verdict in one of the orders
            return pl.DataFrame(schema={"item": pl.String, "x": pl.Float64, "shift": pl.Float64})
        return o.select("item", (pl.col("o0_a") != pl.col("o0_b")).cast(pl.Float64).alias("x"),
                        ((pl.col("v0_a") + pl.col("v0_b")) / 2 - 0.5).alias("shift")).drop_nulls()
    p = cells.filter(pl.col("probe") == probe)
    if expect == "worse":
        if mode == "pairwise":
            g = p.group_by("item", maintain_order=True).agg(
                (pl.col("outcome") == "a").all().cast(pl.Float64).alias("x"),
                (pl.col("p_a") - 0.5).mean().alias("shift"), pl.col("order").n_unique().alias("n_orders"))
            return g.filter(pl.col("n_orders") == 2).drop("n_orders")  # detection needs both orders
        j = p.join(base, on=["item", "order"], maintain_order="left")
        return j.select("item", (pl.col("value") < pl.col("v0")).cast(pl.Float64).alias("x"),
                        (pl.col("value") - pl.col("v0")).alias("shift"))
    j = p.join(base, on=["item", "order"], maintain_order="left")
    if mode == "pairwise":
        j = j.with_columns((pl.col("outcome") != pl.col("o0")).cast(pl.Float64).alias("flip"),
                           (pl.col("p_a") - pl.col("p0")).alias("d"))
    else:
        j = j.with_columns((pl.col("value").round(0) != pl.col("v0").round(0)).cast(pl.Float64).alias("flip"),
                           (pl.col("value") - pl.col("v0")).alias("d"))
    return j.group_by("item", maintain_order=True).agg(pl.col("flip").mean().alias("x"),
                                                       pl.col("d").mean().alias("shift"))


@validate_params({
    "confidence_level": [LEVEL],
    "n_resamples": [N_RESAMPLES],
    "seed": [Interval(Integral, 0, None, closed="left")],
})
def analyse(run: ProbeRun, *, confidence_level: float = 0.95, n_resamples: int = DEFAULT_N_TEST_RESAMPLES,
            seed: int = 0) -> ProbeReport:
    """The probe report of judged cells: per probe its rate with a Wilson interval over items,
    the floor it is tested against, the Holm-adjusted p-value and whether it is flagged (see
    :class:`ProbeReport`). :func:`run` is :func:`~metaeval.probes.study.collect` and then this.

    Parameters
    ----------
    run : ProbeRun
        The judged cells, from :func:`~metaeval.probes.study.collect`.
    confidence_level : float, default 0.95
        Coverage of the rates' Wilson intervals.
    n_resamples : int, default 10000
        Sign flips of the paired test of an invariant probe against the noise floor of plain
        repeats (each probe's Monte Carlo p-value, Holm-adjusted across probes); default: the
        package default for Monte Carlo p-values (``DEFAULT_N_TEST_RESAMPLES``, see
        :mod:`metaeval.stats.resampling`).
    seed : int, default 0
        Seed of those sign flips.

    Returns
    -------
    ProbeReport
        One row per probe (and mode), with the abstentions counted.

    Examples
    --------
    >>> from metaeval import probes
    >>> from metaeval.probes.study import collect
    >>> items = [{"id": str(i), "prompt": "Name a prime.", "response_a": f"{2 * i + 3} is prime, I think.",
    ...           "response_b": "Seven is a prime number."} for i in range(20)]
    >>> cells = collect(items, probes.CallableJudge(lambda r: 0.9, name="first-slot"), ["order_swap"],
    ...                 progress=False)
    >>> analyse(cells).table.select("probe", "rate", "flagged").rows()  # it always prefers the first slot
    [('repeat', 0.0, False), ('order_swap', 1.0, True)]
    """
    cells = run.cells
    rows = []
    modes = cells["mode"].unique(maintain_order=True).to_list()

    def counts(mc: pl.DataFrame, probe: str) -> dict[str, int]:
        own = mc.filter(pl.col("probe") == ("original" if probe == "order_swap" else probe))
        bad = int(own["abstained"].is_not_null().sum())
        return {"n_valid": own.height - bad, "n_abstained": bad, "n_all_items": int(own["item"].n_unique())}

    for mode in sorted(modes):
        mc = cells.filter(pl.col("mode") == mode)
        floor_items = _per_item(mc, "repeat", "invariant", mode) if "repeat" in mc["probe"].to_list() else None
        for probe in run.probes:
            p = get(probe)
            if probe == "order_swap" and mode != "pairwise":
                continue
            if probe != "order_swap" and mc.filter(pl.col("probe") == probe).height == 0:
                if probe in run.skipped:
                    rows.append({"probe": probe, "expect": p.expect, "mode": mode, "n_items": 0, "n_valid": 0,
                                 "n_abstained": 0, "abstained_items": 0,
                                 "skipped": run.skipped.get(probe, 0), "rate": np.nan, "ci_low": np.nan,
                                 "ci_high": np.nan, "floor": np.nan, "pvalue": np.nan, "mean_shift": np.nan})
                continue
            per = _per_item(mc, probe, p.expect, mode)
            n = per.height
            c = counts(mc, probe)
            if n == 0 and c["n_all_items"]:
                warn(f"probe `{probe}` ({mode}): no item has the valid verdicts its rate needs ({c['n_abstained']} "
                     "abstentions); its rate is nan", EstimationWarning)
            x = per["x"].to_numpy()
            rate = float(x.mean()) if n else np.nan
            lo, hi = proportion_interval(float(x.sum()), n, confidence_level=confidence_level) if n else (np.nan,
                                                                                                          np.nan)
            if p.expect == "worse":
                floor = CHANCE[mode]
                k = int(np.round(x.sum()))
                pval = float(st.binomtest(k, n, floor, alternative="greater").pvalue) if n else np.nan
            elif probe == "repeat":
                floor, pval = np.nan, np.nan
            elif floor_items is not None:
                both = per.join(floor_items.select("item", pl.col("x").alias("x0")), on="item", maintain_order="left")
                floor = float(both["x0"].mean()) if both.height else np.nan
                d = (both["x"] - both["x0"]).to_numpy()
                pval = sign_flip_test(d, n_resamples=n_resamples, alternative="greater", rng=seed) if d.size else np.nan
            else:
                floor, pval = np.nan, np.nan
            rows.append({"probe": probe, "expect": p.expect, "mode": mode, "n_items": n, "n_valid": c["n_valid"],
                         "n_abstained": c["n_abstained"], "abstained_items": c["n_all_items"] - n,
                         "skipped": run.skipped.get(probe, 0), "rate": rate,
                         "ci_low": max(0.0, float(lo)) if n else np.nan,
                         "ci_high": min(1.0, float(hi)) if n else np.nan,
                         "floor": floor, "pvalue": pval, "mean_shift": float(per["shift"].mean()) if n else np.nan})
    table = pl.DataFrame(rows)
    pv = table["pvalue"].to_numpy().astype(float)
    adj = np.full(pv.size, np.nan)
    ok = np.isfinite(pv)
    if ok.any():
        adj[ok] = adjust_pvalues(pv[ok], "holm")
    alpha = 1 - confidence_level
    flagged, findings = [], []
    for r, pa in zip(table.iter_rows(named=True), adj, strict=True):
        if r["probe"] == "repeat" or not np.isfinite(pa):
            flagged.append(False)
            if r["probe"] == "repeat" and r["n_items"]:
                findings.append(f"noise floor ({r['mode']}): the verdict moves on {r['rate']:.1%} of repeats")
            continue
        if r["expect"] == "invariant":
            bad = bool(pa < alpha and r["rate"] > r["floor"])
            if bad:
                what = "position" if r["probe"] == "order_swap" else r["probe"]
                findings.append(f"{what} ({r['mode']}): verdict moves on {r['rate']:.1%} [{r['ci_low']:.1%}, "
                                f"{r['ci_high']:.1%}] of items vs {r['floor']:.1%} on a plain repeat "
                                f"(Holm p = {pa:.2g}) — {PERTURBATIONS[r['probe']].description}"
                                if r["probe"] in PERTURBATIONS else f"{what}: rate {r['rate']:.1%}")
        else:
            bad = not bool(pa < alpha and r["rate"] > r["floor"])
            if bad:
                findings.append(f"blind spot, {r['probe']} ({r['mode']}): detected on {r['rate']:.1%} "
                                f"[{r['ci_low']:.1%}, {r['ci_high']:.1%}] of items, not above the "
                                f"{r['floor']:.0%} a judge blind to the change reaches (Holm p = {pa:.2g})")
        flagged.append(bad)
    table = table.with_columns(pl.Series("p_adjusted", adj), pl.Series("flagged", flagged))
    abstentions = run.abstentions()
    if abstentions.height:
        total = int(abstentions["n"].sum())
        by = abstentions.group_by("reason", maintain_order=True).agg(pl.col("n").sum())
        parts = ", ".join(f"{r} {k}" for r, k in by.iter_rows())
        findings.append(f"abstentions: {total} of {cells.height} judged cells have no verdict ({parts}); they are "
                        "left out, and each rate uses only the items whose verdicts are valid (`n_items`)")
    info = RunInfo("probes.run", {"judge": run.judge, "probes": list(run.probes), "confidence_level": confidence_level},
                   run.seed, None, int(cells["item"].n_unique()), run.n_requests)
    return ProbeReport(table, tuple(findings), run, info, abstentions=abstentions)


@validate_params({
    "mode": [Options(str, ("pairwise", "pointwise")), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
    "progress": ["boolean", None],
    "engine": [Options(str, ("local", "ray"))],
    "workers": [Interval(Integral, 1, None, closed="left"), None],
})
def run(items: Sequence[Mapping[str, Any]] | str | Path, judge: Judge,
        probes: Sequence[str | Perturbation] | None = None, *, mode: str | None = None,
        scale: tuple[int, int] = (1, 5), cache: str | Path | None = None, batch_size: int | None = None,
        confidence_level: float = 0.95, rng: Any = 0, progress: bool | None = None,
        retry: Retry | None = None, engine: str = "local", workers: int | None = None,
        address: str | None = None) -> ProbeReport:
    """Perturb the items, re-run the judge on every perturbed input (and the originals, in both
    orders for pairs) and measure how the verdicts move.

    Parameters
    ----------
    items
        A JSON-lines file or a list of mappings with ``id``, ``prompt`` and ``response_a`` /
        ``response_b`` (pairwise) or ``response`` (pointwise); optional ``reference``,
        ``model_a`` / ``model_b``, ``options``, ``answer``.
    judge
        A :class:`CausalLMJudge`, :class:`EmbeddingJudge`, :class:`HTTPJudge`,
        :class:`CallableJudge` or anything with ``name``, ``fingerprint()`` and a batch call.
    probes
        Probe names (default: all); the plain repeat (noise floor) is always added.
    mode
        ``"pairwise"`` or ``"pointwise"`` (default: from each item). Quality drops on pointwise
        items can also be judged pairwise (original against perturbed).
    cache
        A folder (or ``.jsonl`` file): verdicts are stored there as they come, so a killed run
        resumes where it stopped, with no verdict lost or computed twice. Runs sharing a cache
        folder at the same time share the work: each request is judged once among them.
        The key of a verdict is the judge's identity (:meth:`fingerprint`), the prompt builder's
        version and the request.
    rng
        Seeds the perturbations (and the sign-flip tests, and the retries' jitter).
    retry
        How requests the judge fails on are retried (:class:`~metaeval.probes.Retry`: 4
        attempts with exponential backoff by default). What still fails is an abstention.
    engine, workers, address
        ``"ray"`` shards the requests over ``workers`` Ray actors (a local Ray, the session open
        in this process, or the cluster at ``address``); the verdicts equal a single-process run
        (:func:`~metaeval.probes.distributed.run_judge_ray`). Pass a judge factory or a spec
        string so that each actor loads its own model.

    Answers that are not verdicts — NaN, ±inf, a probability outside [0, 1], a score outside
    ``scale``, something that is not a number, a call that failed after every retry — are
    abstentions: never ties, left out of every rate, counted per probe and reason in
    :attr:`ProbeReport.abstentions` and in the findings, with a warning.

    Returns
    -------
    ProbeReport
        ``table``: one row per probe (the flip or detection rate with its Wilson interval, the
        floor it is tested against, the Holm-adjusted p-value, the mean shift, ``flagged``);
        ``findings``: the flagged probes in words; ``run``: every verdict; ``abstentions``:
        counts per probe and reason.

    Examples
    --------
    >>> from metaeval import probes
    >>> items = [{"id": str(i), "prompt": "Name a prime.", "response_a": f"{2 * i + 3} is prime, I think.",
    ...           "response_b": "Seven is a prime number. It has no divisors but 1 and 7."} for i in range(40)]
    >>> first = probes.CallableJudge(lambda r: 0.9, name="first-slot")   # always prefers the first slot
    >>> rep = probes.run(items, first, ["order_swap", "authority"], progress=False)
    >>> rep.table.filter(rep.table["probe"] == "order_swap")["flagged"][0]
    True
    """
    data = read_items(items) if isinstance(items, (str, Path)) else list(items)
    gen_seed = rng if isinstance(rng, int) else 0
    cells = collect(data, judge, probes, mode=mode, scale=scale, cache=cache, batch_size=batch_size, rng=rng,
                    progress=progress, retry=retry, engine=engine, workers=workers, address=address)
    return analyse(cells, confidence_level=confidence_level, seed=gen_seed)
