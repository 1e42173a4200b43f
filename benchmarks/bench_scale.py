"""Battle logs at scale: the out-of-core path (``metaeval.scan``) against the in-memory one.

Generates N simulated battles among M models (Bradley–Terry strengths, 10 % ties) in partitioned
Parquet with an item column (one prompt per 1.5 battles on average) and a category column, then
measures, in one run and on the same files:

- one streaming scan of the files (polars, counting rows per category): the unit of wall time;
- ``scan(...).reduce()`` with a Poisson item-clustered bootstrap of ``B`` resamples, and the
  Bradley–Terry fit with rating and rank intervals (``rank_scan``);
- the out-of-core cluster-robust sandwich (a second pass);
- where it fits in memory (N ≤ ``--in-memory-max``), ``metaeval.rank`` with the same clustered
  bootstrap and sandwich on the same battles, as the ratio;

and prints wall times and peak memory (resident set, from ``resource``; each measured step runs
in a fresh process so one step's peak does not hide the next one's).

Run: ``python benchmarks/bench_scale.py --battles 2000000 --models 200 --resamples 100``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def generate(folder: Path, n: int, m: int, parts: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, m)
    names = np.array([f"model-{i:03d}" for i in range(m)])
    folder.mkdir(parents=True, exist_ok=True)
    per = -(-n // parts)
    cats = np.array(["coding", "hard prompts", "languages", "math", "creative"])
    for k in range(parts):
        size = min(per, n - k * per)
        if size <= 0:
            break
        a = rng.integers(0, m, size)
        b = (a + rng.integers(1, m, size)) % m
        p = 1 / (1 + np.exp(-(theta[a] - theta[b])))
        u = rng.random(size)
        winner = np.where(u < 0.1, "tie", np.where(rng.random(size) < p, "model_a", "model_b"))
        item = (k * per + np.arange(size)) * 2 // 3
        pl.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner,
                      "question_id": [f"q{i}" for i in item], "category": cats[item % len(cats)]}
                     ).write_parquet(folder / f"part-{k:04d}.parquet", row_group_size=250_000)


STEP = r'''
import json, resource, sys, time
import numpy as np, polars as pl
folder, step, resamples = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
if step == "scan":
    out = pl.scan_parquet(folder + "/*.parquet").group_by("category").len().collect(engine="streaming")
elif step == "reduce":
    from metaeval.battles import scan, rank_scan
    stats = scan(folder, cluster="question_id", category="category").reduce(n_resamples=resamples, seed=0)
    rank_scan(stats)
elif step == "sandwich":
    from metaeval.battles import scan, rank_scan
    sc = scan(folder, cluster="question_id")
    rank_scan(sc.reduce(), sandwich=sc, partitions=4)
elif step in ("memory_bootstrap", "memory_sandwich"):
    import metaeval
    f = pl.read_parquet(folder + "/*.parquet")
    j = metaeval.Judgments(f.select(pl.col("question_id").alias("item"), pl.lit("arena").alias("judge"),
        "model_a", "model_b", pl.int_range(pl.len()).alias("rep"),
        pl.col("winner").replace_strict({"model_a": "a", "model_b": "b", "tie": "tie"}).alias("outcome")))
    if step == "memory_bootstrap":
        metaeval.rank(j, "bradley_terry", cluster="item", n_resamples=resamples, rng=0)
    else:
        metaeval.rank(j, "bradley_terry", ci="sandwich", cluster="item", rng=0)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def run_step(folder: Path, step: str, resamples: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", STEP, str(folder), step, str(resamples)], capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"step {step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--battles", type=int, default=1_000_000)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--resamples", type=int, default=100)
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--in-memory-max", type=int, default=3_000_000)
    ap.add_argument("--folder", type=str, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp) / "battles"
        t0 = time.perf_counter()
        if not folder.exists():
            generate(folder, args.battles, args.models, args.parts)
        print(f"{args.battles:,} battles, {args.models} models, {args.parts} Parquet files "
              f"(generated in {time.perf_counter() - t0:.1f} s)")
        steps = ["scan", "reduce", "sandwich"]
        if args.battles <= args.in_memory_max:
            steps += ["memory_bootstrap", "memory_sandwich"]
        res = {s: run_step(folder, s, args.resamples) for s in steps}
        unit = res["scan"]["wall"]
        for s, r in res.items():
            print(f"{s:18s} {r['wall']:8.1f} s  ({r['wall'] / unit:6.1f} x one streaming scan)  "
                  f"peak {r['peak_mb']:7.0f} MB")
        if "memory_bootstrap" in res:
            boot = res["memory_bootstrap"]["wall"] / res["reduce"]["wall"]
            print(f"out of core vs in memory: bootstrap {boot:.2f}x, "
                  f"sandwich {res['memory_sandwich']['wall'] / res['sandwich']['wall']:.2f}x "
                  f"(>1: out of core is faster); peak memory {res['reduce']['peak_mb']:.0f} vs "
                  f"{res['memory_bootstrap']['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
