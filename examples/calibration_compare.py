"""Does every test `metaeval.compare` can choose hold its level, and does its interval cover?

Runs the null-calibration study of :func:`metaeval.compare` (:mod:`metaeval.stats.paired_calibration`):
two models scored on the same items under null scenarios (binary, Gaussian, heavy-tailed,
skewed, graded with many ties, judges sharper or noisier, a length effect that does not differ
between the models, small n, clustered items with few or many clusters and equal or unequal
sizes) and under planted differences (power), 500 seeded replicates each. Every replicate builds
a `Judgments` table and runs `compare` as a user would: `test="auto"`, each explicit test and
`method="bayes"`. Prints the table and writes ``build/examples/calibration/compare.md``
(``--refresh``: the committed copy in ``reports/calibration/``).

Run::

    python examples/calibration_compare.py            # 500 replicates, 6-14 minutes on 2 busy cores
    python examples/calibration_compare.py --replicates 100
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import polars as pl

from metaeval._examples import arguments, default_folder, output_folder
from metaeval._files import atomic_write_text
from metaeval._format import table_markdown, table_text
from metaeval._random import same_bytes
from metaeval.stats.paired import CLT_MIN_ITEMS
from metaeval.stats.paired_calibration import NULL_SCENARIOS, POWER_SCENARIOS, compare_study, study_table

ROOT = Path(__file__).resolve().parents[1]
OUT = default_folder(ROOT, "calibration") / "compare.md"

INTRO = f"""# Calibration of `metaeval.compare`

Every test `compare` can run, under null scenarios (no difference between the two models: the
rejection rate is the false-positive rate at 5 %) and under planted differences (the rejection rate
is the power), with the coverage of its 95 % interval of the true mean difference A − B. Each row is
{{reps}} seeded replicates (`metaeval.stats.paired_calibration.compare_study(rng={{seed}})`;
{{resamples:,}} resamples per bootstrap or sign-flip test), each a `Judgments` table run through `compare`
as a user would. `± x` is the Monte Carlo standard error.

A row is within tolerance when the false-positive rate is at most 5 % plus two Monte Carlo standard
errors of a test at exactly 5 % (0.05 + 2·√(0.05·0.95/{{reps}}) = {{limit:.3f}}) and the coverage lies in
93–97 %. With some 160 rows, a few calibrated rows fall outside two Monte Carlo standard errors by
chance: a row outside tolerance is run again on {{confirm:,}} fresh replicates (seed {{seed}} + 1) and
reported from that run (the note gives the first run's numbers); a miscalibrated test fails again.
"documented" rows are outside tolerance and most of their `Comparison`s said why: a `SmallSampleWarning`
that the test cannot hold its level (and its `reason`), or a `reason` saying that exact inference on these
discrete differences is conservative (false-positive rate below 5 %, coverage above 95 %). The column
"result says" gives the share of the row's results that said so.

**Test names.** `auto: X` is what `test="auto"` chose (it is also the explicit test X on that
scenario, which is not run twice). `mcnemar` (exact) and `mcnemar_midp` come with the paired t
(Wald) interval from {CLT_MIN_ITEMS} items on and the Bonett–Price interval below; `paired_t` is the
t interval (with clusters: CR2 standard error, Bell–McCaffrey degrees of freedom); `permutation` is
the sign-flip test and the interval that inverts it; `bootstrap` is the studentised bootstrap
(bootstrap-t interval and the test it inverts); `wilcoxon (pseudo-median)` is the signed-rank test
with the Hodges–Lehmann interval, both about the pseudo-median of the differences, so its coverage is
of the pseudo-median; `bayes: …` is `method="bayes"`, whose "rejection" is the decision
P(A > B) > 0.975 or P(B > A) > 0.975 and whose interval is the 95 % credible interval.
"""

SCENARIOS = """## Scenarios

- `binary`: right/wrong, accuracy 0.7 for both, the two models' errors correlated through the item
  (latent probit with a shared item effect); `3 % discordant`: the models agree on 97 % of items.
- `gaussian`, `heavy-tailed t3` (Student t, 3 df), `skewed mean 0` (centred exponential differences:
  mean 0, median −0.31, pseudo-median −0.16): the per-item difference on top of a shared item quality.
- `graded 1-5, ties`: one latent grade per item, each model a step up or down on 20 % of items (about
  70 % zero differences; the models are exchangeable).
- `sharp judge` / `noisy judge`: 1–10 grades by a judge with noise sd 0.3 / 2.5 around each output's
  quality (the sharp judge gives mostly equal grades).
- `length effect, equal lengths`: the judge rewards longer outputs (0.8 sd per sd of log length), both
  models' lengths from one distribution: the effect is present but is not the one tested.
- `clusters G=…`: items in G clusters (tasks) with a shared cluster effect of intra-cluster correlation
  0.3–0.5; `unequal`: cluster sizes from a log-normal (a few big tasks, many small ones). All
  clustered runs pass `cluster="task"`.
- `power: …`: A better by the stated amount (accuracy points, or sd of the per-item difference).
"""


def main(n_replicates: int = 500, n_resamples: int = 1000, confirm: int = 2000, seed: int = 0,
         out: Path = OUT) -> pl.DataFrame:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compare_study(None, n_replicates=n_replicates, n_resamples=n_resamples, confirm=confirm, rng=seed)
    minutes = (time.perf_counter() - t0) / 60
    table = study_table(result)
    null_names, power_names = set(NULL_SCENARIOS), set(POWER_SCENARIOS)
    null_rows = table.filter(pl.col("scenario").is_in(null_names))
    power_rows = table.filter(pl.col("scenario").is_in(power_names)).rename({"rejects (FPR or power)": "power"})
    limit = 0.05 + 2 * (0.05 * 0.95 / n_replicates) ** 0.5
    bad = table.filter(pl.col("ok") == "NO")
    text = [
        INTRO.format(reps=n_replicates, seed=seed, resamples=n_resamples, limit=limit, confirm=confirm),
        f"**Result:** {table.height} rows, {int((table['ok'] == 'yes').sum())} within tolerance, "
        f"{int((table['ok'] == 'documented').sum())} documented, {bad.height} outside tolerance.\n",
        "## Null scenarios: false-positive rate and coverage\n",
        table_markdown(null_rows),
        "\n## Planted differences: power and coverage\n",
        table_markdown(power_rows),
        "\n" + SCENARIOS,
        "Regenerate with `python examples/calibration_compare.py`; the slow test "
        "`tests/test_calibration_compare.py::test_full_study_every_row_within_tolerance` runs the same study.\n",
    ]
    atomic_write_text(out, "\n".join(text))
    with pl.Config(tbl_rows=-1, fmt_str_lengths=80, tbl_width_chars=220):
        print(table_text(table))
    print(f"\n{table.height} rows; outside tolerance: {bad.height}; {minutes:.1f} minutes; written to {out}")
    return table


if __name__ == "__main__":
    args = arguments(__doc__, extra=[(("--replicates",), {"type": int, "default": 500}),
                                     (("--resamples",), {"type": int, "default": 1000}),
                                     (("--seed",), {"type": int, "default": 0})])
    folder = output_folder(ROOT, "calibration", refresh=args.refresh, out=args.out)
    with same_bytes():
        main(args.replicates, args.resamples, seed=args.seed, out=folder / "compare.md")
