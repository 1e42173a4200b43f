"""Issue 2 speed targets, measured side by side in one run.

1. Reading 1,000,000 pairwise rows from Parquet and from CSV into a validated ``Judgments``:
   the ratio to polars reading the same file (target: within 2x). Parquet is measured twice:
   a file written by another tool (every row validated) and one written by metaeval (content
   verified against the recorded fingerprint).
2. ``pairwise_counts()`` on 10,000,000 rows (target: no Python-level loop over rows) with
   the ratio to a plain polars group-by of the same counts.

Run: ``python benchmarks/bench_io.py`` (writes its data under benchmarks/data/, git-ignored).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl

import metaeval

DATA = Path(__file__).resolve().parent / "data"


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_table(n_rows: int, n_models: int = 100, n_items: int = 50_000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_models, n_rows)
    b = (a + rng.integers(1, n_models, n_rows)) % n_models
    models = np.array([f"model-{k:03d}" for k in range(n_models)])
    return pl.DataFrame({
        "item": pl.Series(np.char.add("q", rng.integers(0, n_items, n_rows).astype(str))),
        "judge": pl.Series(np.array(["judge-a", "judge-b", "human:1"])[rng.integers(0, 3, n_rows)]),
        "model_a": models[a],
        "model_b": models[b],
        "outcome": np.array(["a", "b", "tie"])[rng.integers(0, 3, n_rows)],
        "rep": np.arange(n_rows, dtype=np.int64),  # keeps every row distinct
    })


def import_time() -> float:
    """Seconds to ``import metaeval`` in a fresh interpreter (best of 3)."""
    import subprocess
    import sys

    code = "import time; t = time.perf_counter(); import metaeval; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                     .stdout) for _ in range(3))


def main() -> None:
    print(f"import metaeval: {import_time():.3f} s (target < 1 s)")
    DATA.mkdir(exist_ok=True)
    n = 1_000_000
    table = make_table(n)
    pq, csv = DATA / "pairwise_1m.parquet", DATA / "pairwise_1m.csv"
    table.write_parquet(pq)
    table.write_csv(csv)
    print(f"metaeval {metaeval.__version__}, polars {pl.__version__}; {n:,} pairwise rows")
    own = DATA / "pairwise_1m_metaeval.parquet"
    metaeval.Judgments(table).write_parquet(own)
    for label, path, reader in (("parquet (foreign)", pq, pl.read_parquet),
                                ("parquet (metaeval)", own, pl.read_parquet), ("csv", csv, pl.read_csv)):
        t_polars = best_of(lambda p=path, r=reader: r(p))
        t_ours = best_of(lambda p=path: metaeval.read(p))
        print(f"read {label:18s}: polars {t_polars:.3f} s, metaeval.read (validated) {t_ours:.3f} s, "
              f"ratio {t_ours / t_polars:.2f}x (target <= 2)")

    big = pl.concat([table] * 10).with_columns(pl.int_range(pl.len()).alias("rep"))
    j = metaeval.Judgments(big)
    t_counts = best_of(j.pairwise_counts)
    t_groupby = best_of(lambda: big.group_by("model_a", "model_b", "outcome").len())
    pc = j.pairwise_counts()
    assert pc.total == len(big)
    print(f"pairwise_counts on {len(big):,} rows: {t_counts:.3f} s; polars group-by alone {t_groupby:.3f} s, "
          f"ratio {t_counts / t_groupby:.2f}x")


if __name__ == "__main__":
    main()
