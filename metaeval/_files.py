"""Atomic output: one file, or a whole folder, appears complete or not at all.

A file is written to a temporary file beside it and renamed over it (:func:`atomic_path`). A
folder of files that belong together (a report: pages, figures, the data behind its tables) is
written into a temporary sibling folder that is swapped in whole (:func:`atomic_folder`), so a
reader, a second writer or a ``kill -9`` never leaves figures of one table next to the data of
another, or the ``data/*.csv`` of an older report next to a newer one.

The swap, on Linux, is one ``renameat2(RENAME_EXCHANGE)`` call: the target path always holds
either the old folder or the new one. Elsewhere (or on a file system without that call) it is
the classic dance: rename the old folder aside, rename the new one in, remove the old. Between the
two renames (microseconds) the target path does not exist; a process killed in exactly that
window leaves no folder at the target and both complete copies beside it, under our scratch names,
and the next write into that target cleans them up.

Scratch names are ``.<name>.tmp-<pid>-<random>`` (being written) and ``.<name>.old-<pid>-<random>``
(being removed). Each write first removes the scratch entries of its own target that a killed
writer left behind: only names with those prefixes, and only when their process is gone or they
are older than :data:`STALE_AFTER_S` seconds.

Before any computing, :func:`check_output_folder` / :func:`check_output_file` say whether the
target can be written, naming the target (not a temporary file).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metaeval.errors import ImportFormatError, MetaevalError, ParameterError

__all__ = ["STALE_AFTER_S", "atomic_folder", "atomic_path", "atomic_write_text", "check_file", "check_output_file",
           "check_output_folder", "check_writable_folder", "clean_orphans", "decode_utf8", "timestamp"]

#: scratch entries of a target older than this (seconds) are removed even when their process
#: seems alive (its pid may have been reused, or it runs on another host of a shared file system)
STALE_AFTER_S = 600.0

#: the files a metaeval report folder holds (a folder holding anything else is not replaced)
_REPORT_FILES = frozenset({"index.html", "index.md", "report.tex", "tables.tex", "references.bib"})
_TOP_SUFFIXES = frozenset({".svg", ".png", ".parquet"})
#: what compiling report.tex (pdflatex, bibtex, latexmk) or a file browser adds to the folder
_TOP_PREFIXES = ("report.",)
_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_SUBFOLDER_SUFFIXES = {"data": frozenset({".csv", ".parquet"}), "figures": frozenset({".svg", ".png", ".pdf"})}


def _error(message: str) -> Exception:

    return MetaevalError(message)


def _scratch(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def clean_orphans(target: str | os.PathLike[str], *, stale_after: float = STALE_AFTER_S) -> list[Path]:
    """Remove the scratch files and folders of ``target`` left by writers that were killed.

    Only entries named ``.<name>.tmp-<pid>-<random>`` or ``.<name>.old-<pid>-<random>`` beside
    ``target`` are considered, and only those whose process is gone, or that are older than
    ``stale_after`` seconds, are removed. Returns what was removed.

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / ".report.tmp-999999999-ab12").mkdir()   # no such process
    >>> (d / ".other.tmp-999999999-ab12").mkdir()    # another target's: left alone
    >>> [p.name for p in clean_orphans(d / "report")]
    ['.report.tmp-999999999-ab12']
    """
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:tmp|old)-(\d+)-[0-9a-z_]+$", re.IGNORECASE)
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if not match:
            continue
        try:
            age = now - entry.lstat().st_mtime
        except OSError:
            continue
        pid = int(match.group(1))
        if (pid != os.getpid() and not _pid_alive(pid)) or age > stale_after:
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
            except OSError:
                continue
    return removed


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent(target: Path, what: str, base: Path | None = None) -> None:
    """The folder that will hold ``target`` (``base``, default its parent) exists or can be
    created, and can be written."""
    base = _nearest_existing(target.parent if base is None else base)
    if not base.is_dir():
        raise _error(f"cannot write {what} {str(target)!r}: {str(base)!r} is a file, not a folder")
    where = "it is" if base == target else f"the folder {str(base)!r} is"
    if not os.access(base, os.W_OK | os.X_OK):
        raise _error(f"cannot write {what} {str(target)!r}: {where} not writable")
    try:  # os.access can say yes where the file system says no (read-only mounts, ACLs)
        probe = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=base))
        probe.rmdir()
    except OSError as exc:
        raise _error(f"cannot write {what} {str(target)!r}: {where} not writable ({exc.strerror or exc})"
                     ) from None


def _foreign_file(folder: Path, top: bool = True) -> Path | None:
    """The first file under ``folder`` that a metaeval report does not write (None: all are ours)."""
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:  # replaced by another writer just now
        return None
    for entry in entries:
        try:
            mode = entry.lstat().st_mode
        except FileNotFoundError:  # replaced by another writer between the listing and now
            continue
        if stat.S_ISLNK(mode):
            return entry
        if stat.S_ISDIR(mode):
            allowed = _SUBFOLDER_SUFFIXES.get(entry.name)
            if allowed is not None:
                for f in sorted(entry.rglob("*")):
                    if f.is_symlink() or f.is_dir() or (f.suffix.lower() not in allowed and f.name not in _LITTER):
                        return f
            elif top:  # a report's own sub-reports (the demo's workflow folders)
                bad = _foreign_file(entry, top=False)
                if bad is not None:
                    return bad
            else:
                return entry
        elif not (entry.name in _REPORT_FILES or entry.name in _LITTER or entry.suffix.lower() in _TOP_SUFFIXES
                  or entry.name.startswith(_TOP_PREFIXES)):
            return entry
    return None


def _is_file(target: Path) -> bool:
    """``target`` exists and is not a folder, read with one ``stat`` (two calls, ``exists()`` then
    ``is_dir()``, would call a folder that another writer moves aside in between a file)."""
    try:
        return not stat.S_ISDIR(os.stat(target).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Fail now, naming ``path``, if a folder of output cannot be written there: its parent is a
    file or not writable, it is a file, it is read-only, or it holds files a metaeval report does
    not write (the whole folder is replaced, so nothing else may live in it). Missing parent
    folders are fine (they are created, as ``mkdir -p`` does). Returns the path.

    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> check_output_folder(d / "new" / "report").name
    'report'
    >>> try:
    ...     check_output_folder(d / "notes.txt" / "report")
    ... except Exception as exc:
    ...     print(str(exc).replace(str(d), "D"))
    cannot write the folder 'D/notes.txt/report': 'D/notes.txt' is a file, not a folder
    """
    target = Path(path)
    if _is_file(target):
        raise _error(f"cannot write the folder {str(target)!r}: it is a file")
    _check_parent(target, "the folder")
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK) and target.is_dir():  # (gone just now: another writer's swap)
            raise _error(f"cannot write the folder {str(target)!r}: it is read-only")
        for _ in range(20):  # another writer may swap the folder while we look: look again
            try:
                bad = _foreign_file(target)
                break
            except FileNotFoundError:
                continue
        else:
            bad = None
        if bad is not None:
            raise _error(f"will not replace the folder {str(target)!r}: it holds {str(bad.relative_to(target))!r}, "
                         "which metaeval did not write (a report replaces its whole folder); choose a new or "
                         "empty folder")
    return target


def check_writable_folder(path: str | os.PathLike[str]) -> Path:
    """Fail now, naming ``path``, if files cannot be added to the folder ``path`` (a cache, a copy
    of the datasets): it is a file, read-only, or its parent is a file or not writable. Unlike
    :func:`check_output_folder` the folder may hold anything (it is added to, not replaced)."""
    target = Path(path)
    if _is_file(target):
        raise _error(f"cannot write into the folder {str(target)!r}: it is a file")
    _check_parent(target, "into the folder", base=target if target.is_dir() else None)
    return target


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Fail now, naming ``path``, if a file cannot be written there (it is a folder, its folder
    is a file or not writable, or the file is read-only). Returns the path."""
    target = Path(path)
    if target.is_dir():
        raise _error(f"cannot write the file {str(target)!r}: it is a folder")
    _check_parent(target, "the file")
    if target.exists() and not os.access(target, os.W_OK):
        raise _error(f"cannot write the file {str(target)!r}: it is read-only")
    return target


def _fsync(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. a folder cannot be opened on Windows: nothing to flush
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync(Path(root) / name)
        _fsync(Path(root), directory=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_LIBC: list[Any] = []


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system cannot (then the caller falls back to two renames)."""
    if not sys.platform.startswith("linux"):
        return False
    if not _LIBC:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
            _LIBC.append(fn)
        except (OSError, AttributeError):
            _LIBC.append(None)
    fn = _LIBC[0]
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # not supported here: fall back
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``, removing what was there."""
    for _ in range(1000):  # a concurrent writer can put its folder in between two of our steps: retry
        if target.is_dir() and not target.is_symlink():
            try:
                if _exchange(tmp, target):  # tmp now holds the old folder
                    shutil.rmtree(tmp, ignore_errors=True)
                    return
            except FileNotFoundError:
                continue  # another writer moved the target aside just now
            old = _scratch(target, "old")
            try:
                os.rename(target, old)
            except FileNotFoundError:
                continue
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    shutil.rmtree(old, ignore_errors=True)
                    continue
                raise
            shutil.rmtree(old, ignore_errors=True)
            return
        try:
            os.rename(tmp, target)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not target.is_dir():
                raise
    raise _error(f"could not put the folder {str(target)!r} in place: other writers keep replacing it")


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success swap it in as ``path`` whole.

    Everything written into the yielded folder appears at ``path`` at once, replacing the folder
    that was there (files of an older report do not survive). On error the temporary folder is
    removed and ``path`` is left as it was. Several writers at once: the folder at ``path`` is one
    writer's complete output. A folder holding files that metaeval did not write is not replaced
    (:func:`check_output_folder`).

    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp()) / "report"
    >>> with atomic_folder(d) as tmp:
    ...     _ = (tmp / "index.md").write_text("first")
    ...     _ = (tmp / "old.svg").write_text("<svg/>")
    >>> with atomic_folder(d) as tmp:
    ...     _ = (tmp / "index.md").write_text("second")
    >>> sorted(p.name for p in d.iterdir()), (d / "index.md").read_text()
    (['index.md'], 'second')
    """
    target = Path(path)
    check_output_folder(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_orphans(target)
    tmp = _scratch(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        _fsync_tree(tmp)
        check_output_folder(target)  # the folder may have changed while we computed
        _swap_in(tmp, target)
        _fsync(target.parent, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``.

    On error the temporary file is removed and ``path`` is left untouched. The temporary file is
    named ``.<name>.tmp-<pid>-<random>``; ones that a killed writer left are removed by the next
    write of the same file (:func:`clean_orphans`).
    """
    target = Path(path)
    check_output_file(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_orphans(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
        _fsync(tmp_path)
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
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(epoch)))
        except ValueError:

            raise ParameterError(f"`SOURCE_DATE_EPOCH` must be whole seconds since 1970; got {epoch!r}") from None
    return time.strftime("%Y-%m-%d %H:%M:%S")


# ----------------------------------------------------------------------- input files
def check_file(path: str | os.PathLike[str]) -> Path:
    """The path as a :class:`Path`, after checking that it is a readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise ImportFormatError("no such file", path=str(p))
    if p.is_dir():
        raise ImportFormatError("is a folder, not a file", path=str(p))
    if p.stat().st_size == 0:
        raise ImportFormatError("the file is empty", path=str(p))
    return p


def decode_utf8(data: bytes, path: str | os.PathLike[str]) -> str:
    """Decode strictly as UTF-8, naming the line and byte of the first bad sequence."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFormatError(
            f"is not valid UTF-8: byte {data[exc.start:exc.start + 1]!r} at column {col}; "
            "re-save the file as UTF-8",
            path=str(path),
            line=line,
        ) from None
    return text.removeprefix("\ufeff")
