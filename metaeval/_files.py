"""Atomic output: write to a temporary file beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text", "timestamp"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``.

    On error the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def timestamp() -> str:
    """The time a file is created, for a report's provenance: now (local time), or the time in
    the ``SOURCE_DATE_EPOCH`` environment variable (seconds since 1970, shown in UTC) when it is
    set, as reproducible builds do, so that two runs write the same bytes.

    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "0"
    >>> timestamp()
    '1970-01-01 00:00:00 UTC'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    import time

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(epoch)))
        except ValueError:
            from metaeval.errors import MetaevalError

            raise MetaevalError(f"`SOURCE_DATE_EPOCH` must be whole seconds since 1970; got {epoch!r}") from None
    return time.strftime("%Y-%m-%d %H:%M:%S")
