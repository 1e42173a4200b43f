"""Are the bias audit's flags calibrated? The null-calibration study of every probe it runs.

Runs :func:`metaeval.bias.study.calibration_study`: for each scenario of
:data:`metaeval.bias.study.SCENARIOS` (judges sharper or noisier than the humans, a length
effect without a position effect and the reverse, 12 and 6 items, ties, clustered items, a
judge agreeing with itself by chance, pointwise grades, planted effects), 500 seeded simulated
studies; per probe the false-positive rate of its test at 5 % (or its power where an effect is
planted) and the coverage of its 95 % interval, each with its Monte Carlo standard error.

Prints the table and writes it to ``build/examples/calibration/bias.md`` (and the numbers to
``bias.csv``; ``--refresh``: the committed copy in ``reports/calibration/``). Run:
``python examples/calibration_bias.py [--replicates N] [--refresh]`` (about five minutes for 500
on two cores).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_path, atomic_write_text
from metaeval._random import same_bytes
from metaeval.bias.study import SCENARIOS, calibration_study, markdown_table
from metaeval.calibration import CalibrationStudy

ROOT = Path(__file__).resolve().parents[1]
OUT = default_folder(ROOT, "calibration")


def render(res: CalibrationStudy, n_replicates: int) -> str:
    """The report page of a finished study."""
    table = markdown_table(res)
    scenarios = "\n".join(f"- **{name}** — {sc.description}" for name, sc in SCENARIOS.items())
    failing = res.table.filter(~res.table["ok"])
    limit = 100 * (0.05 + 2 * (0.05 * 0.95 / n_replicates) ** 0.5)
    verdict = ("Every row is within tolerance." if failing.height == 0 else
               f"{failing.height} rows are outside tolerance: "
               + "; ".join(f"{r['scenario']} / {r['test']}" for r in failing.iter_rows(named=True)))
    return f"""# Null calibration of the bias probes

{n_replicates} seeded replicates per scenario (`metaeval.bias.study.calibration_study`, seed 0).
Per scenario and probe: the rejection rate of the probe's test at 5 %
— the **false-positive rate** (FPR) in null scenarios, **power** where an effect is planted — and
the **coverage** of its 95 % interval of the true value, each ± one Monte Carlo standard error.
`rows` counts probe rows (one per model judge; style pools the judges). Tolerance: FPR at most
5 % + 2 Monte Carlo standard errors of a test at exactly 5 % ({limit:.1f} %), coverage within
93–97 %. The position test with both orders is exact (binomial test, Clopper–Pearson interval)
and conservative by construction, so only the lower end of the coverage band applies to it.
`declared` is the share of replicates in which the probe itself warned that its test is
approximate on those data (`ApproximationWarning`: fewer than 12 items — 20 for the calibration
probe — or grades piled at a bounded scale's ends); a row outside tolerance is acceptable only
when it is declared.

{verdict}

{table}

## Scenarios

Pairwise scenarios: five models of five families, two model judges (`judge-atlas`,
`judge-borealis`) and two humans, 60 items, every pair on every item, judges as noisy as the
humans unless said otherwise; position runs on a table with both presentation orders and on
one with one random order per pair, every other probe on the latter. Pointwise scenarios: the
same models and judges grading every output (1–10 unless said otherwise).

{scenarios}
"""


def main(n_replicates: int = 500, out: Path = OUT) -> str:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the probes' own warnings are counted in `declared`
        res = calibration_study(n_replicates, rng=0)
    text = render(res, n_replicates)
    atomic_write_text(out / "bias.md", text)
    with atomic_path(out / "bias.csv") as tmp:  # the run time differs on every run: printed, not written
        res.table.drop("seconds").write_csv(tmp)
    print(text)
    print(f"\n{(time.perf_counter() - t0) / 60:.1f} minutes; wrote {out / 'bias.md'}")
    return text


if __name__ == "__main__":
    args = arguments(__doc__, extra=[(("--replicates",), {"type": int, "default": 500,
                                                         "help": "replicates per scenario (default 500)"})])
    with same_bytes():
        main(args.replicates, out=output_folder(ROOT, "calibration", refresh=args.refresh, out=args.out))
