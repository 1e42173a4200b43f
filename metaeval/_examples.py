"""What the scripts in ``examples/`` share: where they write, and how they run.

An example writes its report to ``build/examples/<name>/`` (git ignores ``build/``), so running
one never rewrites a tracked file. ``--refresh`` (or the environment variable
``METAEVAL_REFRESH_REPORTS=1``) writes the committed copy under ``reports/<name>/`` instead;
``--out DIR`` writes anywhere. Every example runs inside :func:`metaeval._random.same_bytes`, so
that a refreshed report equals the committed one byte for byte on any number of cores.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metaeval._files import atomic_folder

__all__ = ["arguments", "default_folder", "output_folder", "refresh_requested", "write_folder"]

REFRESH_ENV = "METAEVAL_REFRESH_REPORTS"


def refresh_requested(flag: bool = False) -> bool:
    """Whether to rewrite the committed ``reports/``: ``--refresh`` or ``METAEVAL_REFRESH_REPORTS=1``.

    >>> import os
    >>> os.environ.pop("METAEVAL_REFRESH_REPORTS", None) and None
    >>> refresh_requested(), refresh_requested(True)
    (False, True)
    """
    return flag or os.environ.get(REFRESH_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def default_folder(root: Path, name: str) -> Path:
    """``build/examples/<name>`` under the repository ``root``: ignored by git."""
    return Path(root) / "build" / "examples" / name


def output_folder(root: Path, name: str, *, refresh: bool = False, out: str | Path | None = None) -> Path:
    """Where an example writes: ``out`` if given; ``reports/<name>`` when a refresh is requested;
    else ``build/examples/<name>``.

    >>> from pathlib import Path
    >>> output_folder(Path("repo"), "vote_n_rank").as_posix()
    'repo/build/examples/vote_n_rank'
    >>> output_folder(Path("repo"), "vote_n_rank", refresh=True).as_posix()
    'repo/reports/vote_n_rank'
    """
    if out is not None:
        return Path(out)
    if refresh_requested(refresh):
        return Path(root) / "reports" / name
    return default_folder(root, name)


def arguments(doc: str | None, argv: Sequence[str] | None = None,
              extra: Sequence[tuple[Sequence[str], dict[str, Any]]] = ()) -> argparse.Namespace:
    """The command line of an example: ``--refresh``, ``--out DIR`` and the example's own options
    (``extra``: ``(flags, argparse keyword arguments)`` pairs).

    >>> arguments("An example.", ["--refresh"]).refresh
    True
    """
    first = (doc or "").strip().splitlines()[0] if doc else None
    parser = argparse.ArgumentParser(description=first)
    parser.add_argument("--refresh", action="store_true",
                        help=f"rewrite the committed copy under reports/ (also: {REFRESH_ENV}=1); "
                             "default: write under build/examples/")
    parser.add_argument("--out", default=None, help="write the report to this folder instead")
    for flags, kwargs in extra:
        parser.add_argument(*flags, **kwargs)
    return parser.parse_args(argv)


def write_folder(folder: str | Path, files: dict[str, str]) -> Path:
    """Write an example's report, ``{file name: text}``, as a set: into a temporary folder swapped
    in whole (:func:`metaeval._files.atomic_folder`), so a rerun leaves no file of an older run
    (an SVG the new run did not draw) and a killed run leaves the old report as it was.

    >>> import tempfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "example"
    >>> _ = write_folder(out, {"index.md": "# one\\n", "chart.svg": "<svg/>"})
    >>> _ = write_folder(out, {"index.md": "# two\\n"})
    >>> sorted(p.name for p in out.iterdir())
    ['index.md']
    """
    with atomic_folder(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
    return Path(folder)
