"""Battle logs at scale: the out-of-core path (``metaeval.scan``) against the in-memory one.

Generates N simulated battles among M models (Bradley–Terry strengths, 10 % ties, a style effect
on 4 per-battle feature columns) in partitioned Parquet, written chunk by chunk (never all in
memory), with an item column (one prompt per 1.5 battles) and a category column, then measures
on the same files, each step in a fresh process (peak resident memory from ``resource``):

- ``scan``: one streaming scan of the files (polars, counting rows per category): the unit;
- ``scan_all``: what polars alone does with the columns a ranking reads (pair × outcome counts
  and the number of distinct items, streaming): a second, stricter unit;
- ``sandwich_rank``: ``rank(scan(...), ci="sandwich")``: the fit, the item-clustered sandwich and
  rank intervals from ``B`` normal draws (no resampling of the battles);
- ``lazy_rank``: ``metaeval.rank(scan(...), "bradley_terry", n_resamples=B)``: the Bradley–Terry
  fit and the item-clustered Poisson bootstrap with rating and rank intervals (one pass);
- ``style``: style control with the 4 features out of core (``covariates_scan``, with the
  cluster-robust sandwich; one pass per Newton step plus one);
- ``pipeline`` = ``lazy_rank`` + ``style``: its wall time as a multiple of ``scan``;
- where the battles fit in memory (N ≤ ``--in-memory-max``): ``memory_rank``, ``metaeval.rank``
  of the loaded table with ``bootstrap="poisson"`` and the same seed: the ratio, and whether the
  numbers are identical;
- with ``--ray``: ``reduce(engine="ray")`` on a local Ray with 2 CPUs against ``reduce()`` in one
  process (the same resamples), and style control the same way (``covariates_scan(engine="ray")``).

Run: ``python benchmarks/bench_scale.py --battles 1000000 --models 200 --resamples 1000``
(``--battles`` takes several sizes for a scaling curve; ``--folder`` keeps the data there).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

FEATURES = ["style_1", "style_2", "style_3", "style_4"]


def generate(folder: Path, n: int, m: int, rows_per_file: int = 500_000, seed: int = 0) -> None:
    """N battles in files of ``rows_per_file`` rows, each generated and written on its own."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, m)
    beta = np.array([0.3, -0.2, 0.1, 0.0])
    names = np.array([f"model-{i:03d}" for i in range(m)])
    cats = np.array(["coding", "hard prompts", "languages", "math", "creative"])
    folder.mkdir(parents=True, exist_ok=True)
    for k, lo in enumerate(range(0, n, rows_per_file)):
        size = min(rows_per_file, n - lo)
        a = rng.integers(0, m, size)
        b = (a + rng.integers(1, m, size)) % m
        x = rng.normal(0, 1, (size, 4))
        p = 1 / (1 + np.exp(-(theta[a] - theta[b] + x @ beta)))
        winner = np.where(rng.random(size) < 0.1, "tie", np.where(rng.random(size) < p, "model_a", "model_b"))
        item = (lo + np.arange(size)) * 2 // 3
        frame = pl.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner,
                              "question_id": pl.Series(item).cast(pl.String).str.pad_start(10, "0"),
                              "category": cats[item % len(cats)]})
        frame.with_columns([pl.Series(f, x[:, j]) for j, f in enumerate(FEATURES)]).write_parquet(
            folder / f"part-{k:05d}.parquet", row_group_size=250_000)


STEP = r'''
import json, resource, sys, time
import numpy as np, polars as pl
folder, step, resamples, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
FEATURES = ["style_1", "style_2", "style_3", "style_4"]
t0 = time.perf_counter()
extra = {}
if step == "scan":
    pl.scan_parquet(folder + "/*.parquet").group_by("category").len().collect(engine="streaming")
elif step == "scan_all":  # what polars alone does with the columns a ranking reads: pair x outcome counts
    lf = pl.scan_parquet(folder + "/*.parquet")
    lf.group_by("model_a", "model_b", "winner").len().collect(engine="streaming")
    lf.select(pl.col("question_id").n_unique()).collect(engine="streaming")
elif step == "sandwich_rank":
    import metaeval
    from metaeval.battles import scan
    r = metaeval.rank(scan(folder, cluster="question_id"), "bradley_terry", ci="sandwich", n_resamples=resamples,
                      rng=0)
    r.to_polars().write_parquet(out)
elif step == "lazy_rank":
    import metaeval
    from metaeval.battles import scan
    r = metaeval.rank(scan(folder, cluster="question_id"), "bradley_terry", n_resamples=resamples, rng=0)
    r.to_polars().write_parquet(out)
elif step == "style":
    from metaeval.battles import covariates_scan, scan
    fit, order = covariates_scan(scan(folder, cluster="question_id"), FEATURES)
    extra = {"beta": fit.beta.round(4).tolist(), "iterations": fit.n_iter}
elif step in ("style_ray", "style_local2"):
    from metaeval.battles import covariates_scan, scan
    from metaeval.engine import ray_session
    sc = scan(folder, cluster="question_id")
    if step == "style_ray":
        with ray_session(num_cpus=2):
            t0 = time.perf_counter()  # without Ray's start; with its workers' start (cold)
            covariates_scan(sc, FEATURES, engine="ray")
            extra = {"cold": time.perf_counter() - t0}
            t0 = time.perf_counter()  # warm: worker processes up, metaeval imported
            fit, order = covariates_scan(sc, FEATURES, engine="ray")
    else:
        fit, order = covariates_scan(sc, FEATURES)
    np.save(out, np.concatenate([fit.theta, fit.beta, fit.cov_robust.ravel()]))
elif step == "memory_rank":
    import metaeval
    f = pl.read_parquet(folder + "/*.parquet", columns=["question_id", "model_a", "model_b", "winner"])
    j = metaeval.Judgments(f.select(pl.col("question_id").alias("item"), pl.lit("arena").alias("judge"),
        "model_a", "model_b", pl.int_range(pl.len()).alias("rep"),
        pl.col("winner").replace_strict({"model_a": "a", "model_b": "b", "tie": "tie"}).alias("outcome")))
    del f
    t1 = time.perf_counter()
    r = metaeval.rank(j, "bradley_terry", cluster="item", bootstrap="poisson", n_resamples=resamples, rng=0)
    r.to_polars().write_parquet(out)
    extra = {"load": t1 - t0}
elif step in ("local_reduce", "ray_reduce"):
    from metaeval.battles import scan
    sc = scan(folder, cluster="question_id")
    if step == "ray_reduce":
        from metaeval.engine import ray_session
        with ray_session(num_cpus=2):
            t0 = time.perf_counter()  # without Ray's start; with its workers' start (cold)
            sc.reduce(n_resamples=resamples, seed=0, engine="ray")
            extra = {"cold": time.perf_counter() - t0}
            t0 = time.perf_counter()  # warm: the workers are up and have imported metaeval
            st = sc.reduce(n_resamples=resamples, seed=0, engine="ray")
    else:
        st = sc.reduce(n_resamples=resamples, seed=0)
    np.save(out, np.asarray(st.boot).sum(axis=0))
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024} | extra))
'''


def run_step(folder: Path, step: str, resamples: int, out: Path) -> dict[str, float]:
    res = subprocess.run([sys.executable, "-c", STEP, str(folder), step, str(resamples), str(out)],
                         capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"step {step} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench(folder: Path, n: int, args: argparse.Namespace, scratch: Path) -> dict[str, dict[str, float]]:
    t0 = time.perf_counter()
    if not folder.exists():
        generate(folder, n, args.models)
    size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
    print(f"\n{n:,} battles, {args.models} models, {len(list(folder.glob('*.parquet')))} Parquet files, "
          f"{size:.0f} MB (generated in {time.perf_counter() - t0:.0f} s); B = {args.resamples} resamples")
    steps = ["scan", "scan_all", "lazy_rank", "sandwich_rank", "style"]
    if n <= args.in_memory_max:
        steps.append("memory_rank")
    if args.ray:
        steps += ["local_reduce", "ray_reduce", "style_local2", "style_ray"]
    if args.steps:
        steps = ["scan"] + [s for s in args.steps if s != "scan"]
    res = {s: run_step(folder, s, args.resamples, scratch / f"{s}-{n}.out") for s in steps}
    unit = res["scan"]["wall"]
    if "lazy_rank" in res and "style" in res:
        res["pipeline"] = {"wall": res["lazy_rank"]["wall"] + res["style"]["wall"],
                           "peak_mb": max(res["lazy_rank"]["peak_mb"], res["style"]["peak_mb"])}
    for s, r in res.items():
        more = {k: v for k, v in r.items() if k not in ("wall", "peak_mb")}
        print(f"  {s:13s} {r['wall']:8.1f} s  ({r['wall'] / unit:6.1f} x one streaming scan)  "
              f"peak {r['peak_mb']:7.0f} MB  {json.dumps(more) if more else ''}")
    if "memory_rank" in res:
        lazy = pl.read_parquet(scratch / f"lazy_rank-{n}.out")
        mem = pl.read_parquet(scratch / f"memory_rank-{n}.out")
        same = lazy.equals(mem)
        ratio = res["memory_rank"]["wall"] / res["lazy_rank"]["wall"]
        print(f"  lazy vs in memory (same Poisson resamples): {ratio:.2f}x (>1: lazy faster; without the load: "
              f"{(res['memory_rank']['wall'] - res['memory_rank']['load']) / res['lazy_rank']['wall']:.2f}x); "
              f"identical numbers: {same}")
    if "style_ray" in res:
        a, b = np.load(scratch / f"style_local2-{n}.out.npy"), np.load(scratch / f"style_ray-{n}.out.npy")
        diff = float(np.max(np.abs(a - b)) / np.max(np.abs(a)))  # relative to the largest entry
        ratio = res["style_local2"]["wall"] / res["style_ray"]["wall"]
        print(f"  style on Ray (2 local workers) vs one process: {ratio:.2f}x (>1: Ray faster); "
              f"largest difference {diff:.1e} of the largest entry")
    if "ray_reduce" in res:
        same = np.array_equal(np.load(scratch / f"local_reduce-{n}.out.npy"),
                              np.load(scratch / f"ray_reduce-{n}.out.npy"))
        ratio = res["local_reduce"]["wall"] / res["ray_reduce"]["wall"]
        print(f"  Ray (2 local workers) vs one process: {ratio:.2f}x (>1: Ray faster); identical resamples: {same}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--battles", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--in-memory-max", type=int, default=3_000_000)
    ap.add_argument("--ray", action="store_true")
    ap.add_argument("--folder", type=str, default=None, help="keep the generated data here")
    ap.add_argument("--steps", nargs="+", default=None, help="only these steps (the scan always runs: the unit)")
    args = ap.parse_args()
    root = Path(args.folder or tempfile.mkdtemp(prefix="bench_scale_"))
    scratch = Path(tempfile.mkdtemp(prefix="bench_scale_out_"))
    try:
        for n in args.battles:
            bench(root / f"battles-{n}", n, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.folder is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
