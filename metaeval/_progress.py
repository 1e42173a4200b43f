"""One progress display for long work: a rich bar on stderr, shown only on a terminal (or when
asked), transient, so that piped and JSON output stay clean."""

from __future__ import annotations

import sys
from typing import Any


def progress(enabled: bool | None = None) -> Any:
    """A ``rich.progress.Progress`` context: a spinner and description for open-ended steps
    (``total=None``), plus a bar, count and time left for counted ones. ``enabled=None``: show
    it when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

    show = sys.stderr.isatty() if enabled is None else enabled
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=not show, transient=True)
