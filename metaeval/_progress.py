"""One progress display for long work, on a terminal and in a notebook.

Every long step in metaeval (bootstraps, game rankers, juries, calibration studies, report
building, the examples) reports through this module. The display

- appears only where someone is watching: when stderr is a terminal (a rich bar on stderr) or
  in a Jupyter / Colab / VS Code notebook (the same bar, redrawn in one output area); piped
  output, log files, CI and ``--json`` stay clean. ``METAEVAL_PROGRESS=0`` turns it off,
  ``METAEVAL_PROGRESS=1`` forces it on;
- appears only for work that lasts: a step that ends within :data:`DELAY` seconds never shows;
- is transient: it is cleared when the work ends, so what is left is the results;
- nests: a step inside another (a bootstrap inside a report) adds a row to the display that is
  already running, and the outermost step decides whether anything is shown at all (so the
  command line's ``--json`` silences every step below it with :func:`quiet`).

>>> with task("resampling", total=3, enabled=False) as t:
...     for _ in range(3):
...         t.advance()
>>> sum(track(range(4), "summing", enabled=False))
6
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["DELAY", "displaying", "in_notebook", "progress", "quiet", "should_show", "task", "track"]

T = TypeVar("T")

#: Seconds a step must last before the display appears.
DELAY = 1.0
#: Seconds between two redraws in a notebook.
NOTEBOOK_REFRESH = 0.25

_LOCK = threading.RLock()
_STACK: list[_Display] = []


def in_notebook() -> bool:
    """Whether this runs in a notebook kernel (Jupyter, Colab, VS Code), where stderr is no
    terminal but the output area can show a live display.

    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    if shell is None:
        return False
    kind = type(shell)
    return (kind.__name__ == "ZMQInteractiveShell" or "google.colab" in kind.__module__
            or bool(os.environ.get("DATABRICKS_RUNTIME_VERSION")))


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


def should_show(enabled: bool | None = None) -> bool:
    """Whether a step started now would be displayed.

    Inside a running step the outermost one decides (a silenced step silences everything
    below it); ``enabled=False`` always hides. Otherwise ``enabled=True`` shows, and ``None``
    follows ``METAEVAL_PROGRESS`` (``0``/``1``) or else shows on a terminal or in a notebook.

    >>> should_show(False)
    False
    >>> with quiet():
    ...     should_show(True)
    False
    """
    if enabled is False:
        return False
    with _LOCK:
        if _STACK:
            return _STACK[0].show
    env = os.environ.get("METAEVAL_PROGRESS", "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if enabled or env in ("1", "true", "yes", "on"):
        return True
    return _stderr_is_terminal() or in_notebook()


def displaying() -> bool:
    """Whether a step that shows progress is running (a display is up or about to come up).

    >>> displaying()
    False
    """
    with _LOCK:
        return bool(_STACK) and _STACK[0].show


class _NullBar:
    """The display when nothing is shown: the calls of ``rich.progress.Progress`` that metaeval
    uses, doing nothing."""

    tasks: tuple[()] = ()

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        return 0

    def update(self, task_id: int, **fields: Any) -> None:
        return None

    def advance(self, task_id: int, advance: float = 1) -> None:
        return None

    def remove_task(self, task_id: int) -> None:
        return None


class _Display:
    """The one live display of the outermost step: a ``rich.progress.Progress`` started after
    :data:`DELAY` seconds, on stderr or in the notebook's output area."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.bar: Any = _NullBar()
        self._timer: threading.Timer | None = None
        self._started = False
        self._notebook: _NotebookView | None = None
        if not show:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Bar(Progress):
            """Rows of inner steps show once they have run for :data:`DELAY` seconds, so that
            thousands of short inner steps (the bootstraps of a calibration study) do not flicker."""

            def get_renderables(self) -> Iterator[Any]:
                now = time.monotonic()
                yield self.make_tasks_table([t for t in self.tasks if now - t.fields.get("since", -DELAY) >= DELAY])

        class Count(MofNCompleteColumn):
            """``done/total`` for counted work, nothing for open-ended work."""

            def render(self, task: Any) -> Any:
                return super().render(task) if task.total is not None else Text("")

        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Count(),
                   TimeElapsedColumn(), TimeRemainingColumn())
        if in_notebook():
            # rich's own notebook display needs ipywidgets; this one redraws an IPython display handle
            self.bar = Bar(*columns, disable=True)
            self._notebook = _NotebookView(self.bar)
        else:
            self.bar = Bar(*columns, console=Console(stderr=True), transient=True)
        self._timer = threading.Timer(DELAY, self._start)
        self._timer.daemon = True
        self._timer.start()

    def _start(self) -> None:
        with _LOCK:
            if self._started or self._timer is None:
                return
            self._started = True
            if self._notebook is not None:
                self._notebook.start()
            else:
                self.bar.start()

    def close(self) -> None:
        with _LOCK:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._started:
                if self._notebook is not None:
                    self._notebook.stop()
                else:
                    self.bar.stop()
                self._started = False


class _NotebookView:
    """A progress display in a notebook: the bar rendered to HTML by rich, redrawn in place in one
    output area (an IPython display handle) and cleared at the end."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self._handle: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _html(self) -> dict[str, str]:
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), record=True, width=100, force_terminal=True, force_jupyter=False,
                          color_system="truecolor")
        console.print(self.bar.get_renderable())
        text = console.export_text(clear=False).rstrip()
        html = console.export_html(inline_styles=True, code_format='<pre style="margin:0;line-height:1.3;'
                                   'font-family:monospace">{code}</pre>')
        return {"text/plain": text, "text/html": html}

    def start(self) -> None:
        from IPython.display import display

        self._handle = display(self._html(), raw=True, display_id=True)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(NOTEBOOK_REFRESH):
            self._handle.update(self._html(), raw=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)


class _Scoped:
    """The display as one step sees it: the tasks it adds are removed when the step ends, so an
    inner step leaves no row behind in the outer step's display."""

    def __init__(self, bar: Any, nested: bool) -> None:
        self._bar = bar
        self._nested = nested
        self._mine: list[Any] = []

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> Any:
        if self._nested:
            fields.setdefault("since", time.monotonic())
        tid = self._bar.add_task(description, total=total, **fields)
        self._mine.append(tid)
        return tid

    def update(self, task_id: Any, **fields: Any) -> None:
        self._bar.update(task_id, **fields)

    def advance(self, task_id: Any, advance: float = 1) -> None:
        self._bar.advance(task_id, advance)

    def remove_task(self, task_id: Any) -> None:
        if task_id in self._mine:
            self._mine.remove(task_id)
            self._bar.remove_task(task_id)

    def _close(self) -> None:
        for tid in self._mine:
            with contextlib.suppress(KeyError):
                self._bar.remove_task(tid)
        self._mine.clear()


def _pop(display: _Display) -> None:
    """Take ``display`` off the stack (its last entry: a generator that was not run to its end
    can close after a later step)."""
    for k in range(len(_STACK) - 1, -1, -1):
        if _STACK[k] is display:
            del _STACK[k]
            return


@contextlib.contextmanager
def progress(enabled: bool | None = None) -> Iterator[Any]:
    """The display for one step, with the calls of ``rich.progress.Progress`` (``add_task``,
    ``update``, ``advance``, ``remove_task``): a spinner and description for open-ended work
    (``total=None``), plus a bar, count, elapsed and remaining time for counted work.

    ``enabled``: ``None`` shows it where someone watches (see :func:`should_show`), ``False``
    never. Inside another step it adds rows to that step's display.
    """
    show = should_show(enabled)
    with _LOCK:
        outer = _STACK[-1] if _STACK else None
        if outer is not None and not show:
            display = _Display(False)
        elif outer is not None:
            display = outer
        else:
            display = _Display(show)
        _STACK.append(display)
    scoped = _Scoped(display.bar, nested=display is outer)
    try:
        yield scoped
    finally:
        scoped._close()
        with _LOCK:
            _pop(display)
            if display is not outer:
                display.close()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No progress display for anything inside (the command line's ``--json``).

    >>> with quiet():
    ...     with progress() as bar:
    ...         type(bar._bar).__name__
    '_NullBar'
    """
    with _LOCK:
        display = _Display(False)
        _STACK.append(display)
    try:
        yield
    finally:
        with _LOCK:
            _pop(display)


class Task:
    """One row of the display: ``advance()`` after each unit of work, ``update(description=…)``
    to say what runs now."""

    def __init__(self, bar: Any, task_id: Any) -> None:
        self._bar = bar
        self._id = task_id

    def advance(self, n: float = 1) -> None:
        self._bar.advance(self._id, n)

    def update(self, description: str | None = None, *, total: float | None = None,
               completed: float | None = None) -> None:
        fields: dict[str, Any] = {}
        if description is not None:
            fields["description"] = description
        if total is not None:
            fields["total"] = total
        if completed is not None:
            fields["completed"] = completed
        self._bar.update(self._id, **fields)


@contextlib.contextmanager
def task(description: str, total: float | None = None, *, enabled: bool | None = None) -> Iterator[Task]:
    """A step with one row in the display: counted (``total``) or open-ended (``None``).

    The row appears once the outermost step has run for :data:`DELAY` seconds and goes away when
    the step ends.
    """
    with progress(enabled) as bar:
        yield Task(bar, bar.add_task(description, total=total))


def track(items: Iterable[T], description: str, total: float | None = None, *,
          enabled: bool | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a counted row in the display (``total`` defaults to
    ``len(items)`` where it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total, enabled=enabled) as t:
        for x in items:
            yield x
            t.advance()
