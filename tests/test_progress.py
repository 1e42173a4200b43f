"""The one progress display (metaeval._progress): shown on a terminal and in a notebook, never in
a log, a pipe or --json output; nested steps share one display and leave no rows behind."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from metaeval import _progress
from metaeval._progress import in_notebook, progress, quiet, should_show, task, track


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("METAEVAL_PROGRESS", raising=False)


def test_nothing_is_shown_where_nobody_watches(capsys):
    assert not sys.stderr.isatty() and not in_notebook()
    assert should_show() is False
    with task("work", 3) as t:
        for _ in range(3):
            t.advance()
    assert sum(track(range(5), "summing")) == 10
    assert capsys.readouterr().err == ""


def test_the_environment_variable_and_quiet_decide(monkeypatch):
    monkeypatch.setenv("METAEVAL_PROGRESS", "1")
    assert should_show() is True and should_show(False) is False
    with quiet():
        assert should_show() is False and should_show(True) is False
        with progress() as bar:
            assert type(bar._bar).__name__ == "_NullBar"
    monkeypatch.setenv("METAEVAL_PROGRESS", "0")
    assert should_show(True) is False


def test_on_a_terminal_the_bar_appears_after_the_delay_and_is_cleared(monkeypatch):
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(_progress, "DELAY", 0.05)
    import rich.console

    monkeypatch.setattr(rich.console, "Console", lambda **kw: Console(file=buffer, force_terminal=True, width=100))
    with progress() as bar:
        outer = bar.add_task("outer step", total=None)
        for _ in track(range(3), "inner loop"):
            time.sleep(0.15)
        rows = {t.description for t in bar._bar.tasks}
        assert rows == {"outer step"}  # the inner step's row is gone once it ends
        bar.update(outer, description="outer step: done")
        time.sleep(0.15)
    text = buffer.getvalue()
    assert "outer step" in text and "inner loop" in text and ("2/3" in text or "3/3" in text)
    assert not _progress._STACK  # every step closed


def test_short_work_shows_nothing_even_on_a_terminal(monkeypatch):
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)
    import rich.console

    monkeypatch.setattr(rich.console, "Console", lambda **kw: Console(file=buffer, force_terminal=True, width=100))
    with task("quick", 2) as t:
        t.advance(2)
    assert buffer.getvalue() == ""


def test_in_a_notebook_the_bar_is_redrawn_in_one_output_area_and_cleared(monkeypatch):
    """A notebook has no terminal: the display renders the rich bar and updates one IPython
    display handle (no ipywidgets needed), then clears it."""
    shown: list[dict[str, str]] = []

    class Handle:
        def update(self, data, raw=False):
            shown.append(data)

    def display(data, raw=False, display_id=False):
        shown.append(data)
        return Handle()

    fake_display = types.ModuleType("IPython.display")
    fake_display.display = display  # type: ignore[attr-defined]
    fake_ipython = types.ModuleType("IPython")
    fake_ipython.display = fake_display  # type: ignore[attr-defined]

    class ZMQInteractiveShell:  # the kernel's shell class name is what marks a notebook
        pass

    fake_ipython.get_ipython = lambda: ZMQInteractiveShell()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", fake_display)
    monkeypatch.setattr(_progress, "DELAY", 0.05)
    monkeypatch.setattr(_progress, "NOTEBOOK_REFRESH", 0.05)
    assert in_notebook() and should_show()
    with task("bootstrap", 4) as t:
        for _ in range(4):
            time.sleep(0.1)
            t.advance()
    texts = [d.get("text/plain", "") for d in shown]
    assert any("bootstrap" in x for x in texts)
    assert any("text/html" in d and "bootstrap" in d["text/html"] for d in shown)
    assert texts[-1] == ""  # cleared at the end


def test_json_output_has_no_progress_even_when_forced(tmp_path):
    import metaeval

    table = tmp_path / "jury.parquet"
    metaeval.simulate.jury(300, rng=0).judgments.write_parquet(table)
    env = {**os.environ, "METAEVAL_PROGRESS": "1"}
    command = str(Path(sys.executable).parent / "metaeval")
    res = subprocess.run([command, "select-judge", str(table), "--reference", "gold", "--n-resamples", "300",
                          "--seed", "0", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.lstrip().startswith("{")
    for stream in (res.stdout, res.stderr):
        assert "━" not in stream and "\x1b[" not in stream
