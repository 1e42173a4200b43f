"""Same input, same seed, same bytes: a report (and the demo) built twice, in two processes that
differ in everything that must not matter — Python's string-hash seed (set and dict order), the
number of polars and BLAS threads, the folder they write to — are identical file for file.
Nothing is excluded: the report's creation time comes from ``SOURCE_DATE_EPOCH`` (reproducible
builds), and the demo writes none."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import metaeval

METAEVAL = str(Path(sys.executable).parent / "metaeval")
VARIANTS = ({"PYTHONHASHSEED": "1", "POLARS_MAX_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            {"PYTHONHASHSEED": "2", "POLARS_MAX_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"})


def _run_twice(args: list[str], base: Path, extra_env: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Run ``metaeval ARGS -o <dir>`` in two processes at once, one per variant."""
    outs, procs = [], []
    for k, variant in enumerate(VARIANTS):
        out = base / f"run{k}"
        env = {**os.environ, **variant, **(extra_env or {}), "METAEVAL_PROGRESS": "0"}
        procs.append(subprocess.Popen([METAEVAL, *args, "-o", str(out)], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        outs.append(out)
    for p in procs:
        _, stderr = p.communicate(timeout=900)
        assert p.returncode == 0, stderr[-3000:]
    return outs[0], outs[1]


def _differences(a: Path, b: Path) -> list[str]:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert files_a, "nothing was written"
    return [f for f in files_a if not filecmp.cmp(a / f, b / f, shallow=False)]


def test_a_report_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    """Every section of a judge study's report (agreement, the bias audit, juries, ratings, win
    rates, length control …), its figures, LaTeX and data, written twice."""
    epoch = "1700000000"
    study = tmp_path / "study.parquet"
    metaeval.simulate.pairwise(n_models=4, n_items=15, judges=("judge-atlas", "judge-borealis"), n_humans=1,
                               both_orders=True, position_bias=1.0, length_bias=0.6, self_preference=1.5,
                               tie_threshold=0.2, rng=13).judgments.write_parquet(study)
    a, b = _run_twice(["report", str(study), "--reference", "human",
                       "--n-resamples", "50", "--seed", "3", "--figures", "svg"], tmp_path,
                      {"SOURCE_DATE_EPOCH": epoch})
    assert _differences(a, b) == []
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(epoch)))
    assert f"created: {created}" in (a / "index.md").read_text(encoding="utf-8")
    assert len(list(a.rglob("*.svg"))) >= 3 and len(list(a.rglob("*.csv"))) >= 5


@pytest.mark.slow
def test_the_demo_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    """``metaeval demo`` (``make demo``) twice: the committed ``reports/demo`` regenerates unchanged."""
    a, b = _run_twice(["demo"], tmp_path)
    assert _differences(a, b) == []
    assert "created" not in (a / "audit-judge" / "index.md").read_text(encoding="utf-8")
