"""Speed of a full report: 100,000 pairwise judgments among 30 models (the issue's target: under
60 s on 2 cores), everything included — ratings with bootstrap intervals, agreement, bias audit,
juries, and every file written (HTML with the charts inline, Markdown, LaTeX, SVG / PNG / PDF
figures through one vl-convert instance, CSV / Parquet data).

Run: ``python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import tempfile
import time
import warnings

import metaeval
from metaeval import report


def main() -> None:
    sim = metaeval.simulate.pairwise(n_models=30, n_items=2500, judges=("judge-atlas", "judge-borealis"),
                                     n_humans=2, pairs_per_item=10, rng=0)
    j = sim.judgments
    print(f"{len(j):,} judgments, {len(j.models)} models, {len(j.items):,} items")
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as out:
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        rep = report.build(j, n_resamples=1000, seed=0, progress=False)
        built = time.perf_counter() - t0
        files = rep.write(out)
        total = time.perf_counter() - t0
    print(f"report built in {built:.1f} s; with {len(files)} files written {total:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()
