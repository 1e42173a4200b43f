"""Outputs are written as a set: a report folder is swapped in whole, so a kill, a rerun or
several writers at once never leave files of one run next to files of another; scratch files of
a killed writer are cleaned by the next write; a folder that cannot be written fails before any
computing, naming the folder."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from metaeval import _files
from metaeval._files import atomic_folder, atomic_path, check_output_folder, clean_orphans
from metaeval.cli import cli
from metaeval.errors import MetaevalError
from metaeval.report import Report, Section, Table

METAEVAL = str(Path(sys.executable).parent / "metaeval")


# ---------------------------------------------------------------------------- a report tagged with its run
def tagged_report(run: int) -> Report:
    """A small report whose every file names ``run``; run k has 2 + k % 3 tables, so files left
    over from another run show up as extra or missing names."""
    tables = [Table(f"t{k}", f"table {k} of run {run}", pl.DataFrame({"run": [run] * 3, "x": [1.0, 2.0, 3.0]}))
              for k in range(2 + run % 3)]
    return Report(f"run {run}", [Section(f"section of run {run}", [f"run {run}"], tables)])


def expected_files(run: int) -> set[str]:
    names = {"index.md", "index.html"}
    for k in range(2 + run % 3):
        names |= {f"data/t{k}.csv", f"data/t{k}.parquet"}
    return names


def runs_in(folder: Path) -> tuple[set[int], set[str]]:
    """The run ids that the files of ``folder`` come from, and the file names."""
    runs: set[int] = set()
    names = set()
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        names.add(rel)
        if p.suffix == ".parquet":
            runs |= set(pl.read_parquet(p)["run"].to_list())
        elif p.suffix == ".csv":
            runs |= set(pl.read_csv(p)["run"].to_list())
        else:
            text = p.read_text(encoding="utf-8")
            runs |= {int(t) for t in __import__("re").findall(r"run (\d+)", text)}
    return runs, names


def assert_one_complete_run(folder: Path) -> int:
    runs, names = runs_in(folder)
    assert len(runs) == 1, f"files of several runs in one folder: {sorted(runs)}"
    run = runs.pop()
    assert names == expected_files(run), f"run {run}: {sorted(names ^ expected_files(run))}"
    return run


def scratch_beside(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def _writer(target: str, first: int, repeats: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    for k in range(repeats):
        tagged_report(first + k).write(target, formats=("md", "html"), figure_formats=())


# ---------------------------------------------------------------------------- a rerun replaces the whole set
def test_a_report_written_over_an_older_one_keeps_none_of_its_files(tmp_path):
    out = tmp_path / "report"
    tagged_report(2).write(out, formats=("md", "html"), figure_formats=())  # 4 tables
    assert assert_one_complete_run(out) == 2
    paths = tagged_report(3).write(out, formats=("md", "html"), figure_formats=())  # 2 tables
    assert assert_one_complete_run(out) == 3  # before: data/t2.*, data/t3.* of run 2 stayed
    assert {p.relative_to(out).as_posix() for p in paths} == expected_files(3)
    assert all(p.exists() for p in paths)
    assert scratch_beside(out) == []


def test_a_failed_write_leaves_the_old_report_and_no_scratch(tmp_path):
    out = tmp_path / "report"
    tagged_report(1).write(out, formats=("md",), figure_formats=())
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "index.md").write_text("half")
        raise RuntimeError("killed by a bug")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert scratch_beside(out) == []


@pytest.mark.slow
def test_four_concurrent_writers_leave_one_writers_complete_output(tmp_path):
    """Four processes write different reports into one folder at once, three times each: the
    folder ends as exactly one run's files, all of them, and no scratch folder stays."""
    out = tmp_path / "report"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(str(out), 10 * w, 3, barrier)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    run = assert_one_complete_run(out)
    assert run % 10 == 2  # each writer's last run is the last one it put in place
    assert scratch_beside(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_concurrent_writers_in_threads_leave_one_writers_complete_output(tmp_path, monkeypatch, exchange):
    """Four threads write into one folder five times each, with the atomic exchange (Linux) and
    with the two-rename fallback (elsewhere): one writer's complete output, no scratch left."""
    if not exchange:
        monkeypatch.setattr(_files, "_exchange", lambda a, b: False)
    out = tmp_path / "report"
    errors: list[BaseException] = []

    def write(first: int) -> None:
        try:
            for k in range(5):
                tagged_report(first + k).write(out, formats=("md",), figure_formats=())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(10 * w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs, names = runs_in(out)
    assert len(runs) == 1
    run = runs.pop()
    assert names == expected_files(run) - {"index.html"}
    assert scratch_beside(out) == []


def test_a_folder_moved_aside_while_checked_is_never_called_a_file(tmp_path):
    """A second writer's two-rename swap moves the folder aside and back; checking the folder at
    that moment must not call it a file (it once read ``exists()`` then ``is_dir()``: a folder
    gone between the two calls was "a file", and CI's thread test failed on it)."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.md").write_text("x")
    aside = tmp_path / ".report.old-1-x"
    stop = threading.Event()

    def swapper() -> None:
        while not stop.is_set():
            os.rename(out, aside)
            os.rename(aside, out)

    thread = threading.Thread(target=swapper)
    thread.start()
    errors = []
    try:
        for _ in range(4_000):
            try:
                check_output_folder(out)
            except MetaevalError as exc:
                errors.append(str(exc))
    finally:
        stop.set()
        thread.join()
    assert [e for e in errors if "it is a file" in e] == []


_LOOP = """
import sys
sys.path.insert(0, {tests!r})
from test_outputs import tagged_report
run = 100
while True:
    tagged_report(run).write({out!r}, formats=("md", "html"), figure_formats=())
    print(run, flush=True)
    run += 1
"""


@pytest.mark.parametrize("kills", [pytest.param(2), pytest.param(10, marks=pytest.mark.slow)])
def test_kill_9_mid_write_leaves_the_old_report_or_the_new_one(tmp_path, kills):
    """A writer rewriting a report in a loop is killed with SIGKILL at several moments: each time
    the folder holds one run's complete files; the next write cleans the killed writer's scratch."""
    out = tmp_path / "report"
    tagged_report(1).write(out, formats=("md", "html"), figure_formats=())
    script = _LOOP.format(tests=str(Path(__file__).parent), out=str(out))
    seen = set()
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "100"  # it writes all the time now
        time.sleep(0.011 * k)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
        seen.add(assert_one_complete_run(out))
    assert seen - {1}, "the writer never got to replace the report"
    tagged_report(5).write(out, formats=("md", "html"), figure_formats=())
    assert assert_one_complete_run(out) == 5
    assert scratch_beside(out) == []


# ---------------------------------------------------------------------------- orphans
def test_orphans_of_dead_writers_are_cleaned_and_live_ones_kept(tmp_path):
    target = tmp_path / "report"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (tmp_path / f".report.tmp-{dead_pid}-00ff").mkdir()
    (tmp_path / f".report.old-{dead_pid}-01ff").mkdir()
    (tmp_path / f".index.md.tmp-{dead_pid}-abcd").write_text("half")  # another target's
    live = tmp_path / f".report.tmp-{os.getppid()}-02ff"  # a live process: kept while recent
    live.mkdir()
    old_live = tmp_path / f".report.tmp-{os.getppid()}-03ff"
    old_live.mkdir()
    os.utime(old_live, (time.time() - 2 * _files.STALE_AFTER_S,) * 2)  # ... but not once stale
    mine = tmp_path / "report.tmp-1-aa"  # no leading dot: not ours
    mine.mkdir()
    removed = sorted(p.name for p in clean_orphans(target))
    assert removed == sorted([f".report.tmp-{dead_pid}-00ff", f".report.old-{dead_pid}-01ff", old_live.name])
    assert live.exists() and mine.exists() and (tmp_path / f".index.md.tmp-{dead_pid}-abcd").exists()
    # a single file's scratch is cleaned by the next write of that file
    with atomic_path(tmp_path / "index.md") as tmp:
        tmp.write_text("whole")
    assert not (tmp_path / f".index.md.tmp-{dead_pid}-abcd").exists()


# ---------------------------------------------------------------------------- fail before computing
def test_a_folder_holding_other_files_is_not_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(MetaevalError, match=r"will not replace the folder .*mine.*thesis\.tex"):
        tagged_report(1).write(mine, formats=("md",), figure_formats=())
    assert (mine / "thesis.tex").read_text() == "years of work"
    compiled = tmp_path / "compiled"  # a report whose LaTeX was compiled in place is still a report
    tagged_report(1).write(compiled, formats=("md", "latex"), figure_formats=())
    for name in ("report.pdf", "report.aux", "report.log", "report.bbl", ".DS_Store"):
        (compiled / name).write_text("built")
    tagged_report(2).write(compiled, formats=("md", "html"), figure_formats=())
    assert assert_one_complete_run(compiled) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    tagged_report(1).write(empty, formats=("md",), figure_formats=())  # an empty folder is fine
    assert (empty / "index.md").exists()


@pytest.mark.parametrize("command", [["report"], ["audit-judge"], ["demo"]])
def test_cli_refuses_an_unwritable_output_before_reading_or_computing(tmp_path, command):
    """The input does not even exist: the error is about the output folder, so it was checked
    first (before: the input's 'no such file', or a failure after all the computing that named
    a temporary file)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    target = blocker / "report"
    args = [*command, *([str(tmp_path / "missing.parquet")] if command != ["demo"] else []), "-o", str(target)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert f"cannot write the folder {str(target)!r}" in res.output
    assert "is a file, not a folder" in res.output and ".tmp" not in res.output
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 2 and json.loads(res.output)["error"]["message"].startswith("cannot write the folder")


def test_cli_file_outputs_are_checked_first(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    res = CliRunner().invoke(cli, ["import", str(tmp_path / "missing.csv"), "-o", str(blocker / "t.parquet")])
    assert res.exit_code == 2 and f"cannot write the file {str(blocker / 't.parquet')!r}" in res.output
    res = CliRunner().invoke(cli, ["probe", str(tmp_path / "missing.jsonl"), "--judge", "python:nowhere:f", "-o",
                                   str(blocker / "v.parquet")])
    assert res.exit_code == 2 and f"cannot write the file {str(blocker / 'v.parquet')!r}" in res.output
    res = CliRunner().invoke(cli, ["datasets", "--copy", str(blocker / "sub")])
    assert res.exit_code == 2 and f"cannot write into the folder {str(blocker / 'sub')!r}" in res.output


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders; run as a normal user to test them")
def test_cli_read_only_folder_named_before_computing(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = CliRunner().invoke(cli, ["report", str(tmp_path / "missing.parquet"), "-o", str(ro / "rep")])
        assert res.exit_code == 2 and f"cannot write the folder {str(ro / 'rep')!r}" in res.output
        assert "not writable" in res.output
    finally:
        ro.chmod(0o755)


def test_read_only_folder_message_names_the_target(tmp_path, monkeypatch):
    """As root nothing is read-only to ``os.access``; where the file system still refuses (a
    read-only mount), the probe write's error is reported against the target."""
    real = _files.tempfile.mkdtemp

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(_files.tempfile, "mkdtemp", refuse)
    with pytest.raises(MetaevalError) as err:
        check_output_folder(tmp_path / "rep")
    monkeypatch.setattr(_files.tempfile, "mkdtemp", real)
    assert str(err.value) == (f"cannot write the folder {str(tmp_path / 'rep')!r}: the folder {str(tmp_path)!r} is "
                              "not writable (Read-only file system)")


def test_missing_parent_folders_are_created(tmp_path):
    out = tmp_path / "a" / "b" / "report"
    tagged_report(0).write(out, formats=("md",), figure_formats=())
    assert (out / "index.md").exists() and scratch_beside(out) == []
