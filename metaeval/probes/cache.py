"""The probe runner's verdict cache: an append-only JSON-lines file of (key, answer) that several
runs can share.

- **Durable**: every batch is appended and synced as it is answered, so a killed run loses at
  most the batch in flight. A last line cut short by a killed write is cut off (with a
  :class:`~metaeval.errors.DataDroppedWarning`) so the next append starts on a line of its own
  and the repair holds on every later resume.
- **Damaged lines**: a line in the middle of the file that is not valid UTF-8 or not a
  verdict record is left out with a :class:`~metaeval.errors.DataDroppedWarning` naming the
  file and its line numbers; its verdict is computed again. The cache holds nothing that
  cannot be recomputed, so a damaged line costs one judge call, never a wrong number, and
  refusing to run would make the user delete every good verdict with the bad one.
- **Shared**: runs on one cache folder coordinate through an exclusive ``fcntl`` lock on
  ``<cache>.lock`` (held only while reading or appending, never while the judge works) and a
  claims file ``<cache>.claims``: a run claims a batch before judging it, and the others skip
  claimed keys and wait for their answers. A claim dies with its process (the claimer's pid is
  checked), so a killed run's batch is taken up by another. N runs make each call once. When
  no claim is open the claims file starts a new generation (its first line), so it stays small.

Answers are stored as the judge gave them (a number, or the text of whatever else it returned):
whether an answer is a valid verdict is decided when it is read (:mod:`metaeval.probes.runner`),
so a stored NaN stays an abstention and never turns into a tie.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from metaeval.errors import DataDroppedWarning, MetaevalError, warn

__all__ = ["Cache"]

try:  # POSIX; elsewhere a cache is not shared between concurrent runs
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

Answer = float | str  # a number the judge returned (maybe nan / inf), or the repr of whatever else it returned


def encode(answer: Answer) -> dict[str, Any]:
    """The JSON fields of an answer: a finite number as ``value``; NaN, ±inf and non-numbers as
    ``value: null`` with their text in ``raw`` (strict JSON has no NaN)."""
    if isinstance(answer, float) and math.isfinite(answer):
        return {"value": answer}
    return {"value": None, "raw": repr(answer) if isinstance(answer, float) else str(answer)}


def decode(rec: dict[str, Any]) -> Answer:
    value = rec["value"]
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("value is not a number")
        return float(value)
    raw = rec.get("raw", "nan")  # caches written before 'raw' stored every non-finite value as null
    if not isinstance(raw, str):
        raise TypeError("raw is not text")
    return float(raw) if raw in ("nan", "inf", "-inf") else raw


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Cache:
    """An append-only JSON-lines file of (key, answer), safe to share between concurrent runs.

    ``path`` is a folder (the file is ``verdicts.jsonl`` in it), a ``.jsonl`` file, or None for a
    cache in memory only. ``stale_after`` (seconds): a claim made on another host counts as
    abandoned after this long (claims on this host end with their process).

    Examples
    --------
    >>> import tempfile
    >>> c = Cache(tempfile.mkdtemp())
    >>> c.add(["k1", "k2"], [0.25, float("nan")])
    >>> [Cache(c.path)[k] for k in ("k1", "k2")]
    [0.25, nan]
    """

    def __init__(self, path: str | Path | None, *, stale_after: float = 3600.0) -> None:
        self.path = None if path is None else Path(path)
        self.values: dict[str, Answer] = {}
        self.stale_after = stale_after
        self._offset = 0  # bytes of the file read so far (always at a line end)
        self._line = 0  # lines read so far
        self._lock_depth = 0
        self._lock_fh: Any = None
        self._claims = 0
        self._mine: dict[str, list[str]] = {}
        self._open: dict[str, dict[str, Any]] = {}  # open claims read from the claims file
        self._claims_offset = 0
        self._claims_head = b""  # the first line of the claims file as last read (its generation)
        self._host = socket.gethostname()
        if self.path is not None:
            if self.path.is_dir() or (not self.path.suffix and not self.path.exists()):
                self.path.mkdir(parents=True, exist_ok=True)
                self.path = self.path / "verdicts.jsonl"
            elif not self.path.parent.exists():
                raise MetaevalError(f"the cache's folder {self.path.parent} does not exist")
            with self.locked():
                self.refresh()

    # ------------------------------------------------------------------ reading
    def __contains__(self, key: str) -> bool:
        return key in self.values

    def __getitem__(self, key: str) -> Answer:
        return self.values[key]

    def __len__(self) -> int:
        return len(self.values)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock on the cache (re-entrant; a no-op for a cache in memory or
        where ``fcntl`` is missing)."""
        if self.path is None or fcntl is None:
            yield
            return
        if self._lock_depth == 0:
            fh = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 - held across the block
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            except OSError as exc:  # a file system without locks: go on, uncoordinated
                fh.close()
                warn(f"cache {self.path}: the file system does not support locks ({exc}); concurrent runs on this "
                     "cache may judge the same requests twice", DataDroppedWarning)
                self._lock_fh = None
            else:
                self._lock_fh = fh
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock_fh is not None:
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
                self._lock_fh.close()
                self._lock_fh = None

    def refresh(self) -> int:
        """Read what was appended since the last read (by this run or another); repair a last line
        cut short by a killed write. Returns how many answers were read. Call under :meth:`locked`
        when the cache is shared."""
        if self.path is None or not self.path.exists():
            return 0
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        complete, tail = data[:end], data[end:]
        n_read, not_utf8, not_json = 0, [], []
        for raw in complete.split(b"\n")[:-1]:
            self._line += 1
            try:
                rec = json.loads(raw.decode("utf-8"))
                key, answer = rec["key"], decode(rec)
                if not isinstance(key, str):
                    raise TypeError("key is not text")
            except UnicodeDecodeError:
                not_utf8.append(self._line)
                continue
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError):
                if raw.strip():
                    not_json.append(self._line)
                continue
            self.values[key] = answer
            n_read += 1
        self._offset += end
        for lines, what in ((not_utf8, "not valid UTF-8"), (not_json, "not a verdict record (JSON with `key` and "
                                                                       "`value`)")):
            if lines:
                shown = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
                many = len(lines) > 1
                warn(f"cache {self.path}: {len(lines)} line{'s' * many} {'are' if many else 'is'} {what} "
                     f"(line{'s' * many} {shown}); left out, their verdicts are computed again", DataDroppedWarning)
        if tail:
            # under the lock no write is in flight: a line without its newline was cut short by a kill
            try:
                rec = json.loads(tail.decode("utf-8"))
                key, answer = rec["key"], decode(rec)
                if not isinstance(key, str):
                    raise TypeError("key is not text")
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError):
                with self.path.open("r+b") as fh:
                    fh.truncate(self._offset)
                    fh.flush()
                    os.fsync(fh.fileno())
                warn(f"cache {self.path}: line {self._line + 1} was cut short by a killed write ({len(tail)} bytes); "
                     "removed it, its verdict is computed again", DataDroppedWarning)
            else:  # only the newline was lost: complete the line
                self._append(b"\n")
                self.values[key] = answer
                n_read += 1
                self._line += 1
                self._offset += len(tail) + 1
        return n_read

    # ------------------------------------------------------------------ writing
    def _append(self, data: bytes) -> None:
        assert self.path is not None
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def add(self, keys: Sequence[str], answers: Sequence[Answer]) -> None:
        """Store answers (appended and synced to the file under the lock)."""
        keys, answers = list(keys), list(answers)
        if len(keys) != len(answers):
            raise MetaevalError(f"{len(keys)} keys but {len(answers)} answers")
        if not keys:
            return
        if self.path is None:
            self.values.update(zip(keys, answers, strict=True))
            return
        data = "".join(json.dumps({"key": k, **encode(a)}, ensure_ascii=True) + "\n"
                       for k, a in zip(keys, answers, strict=True)).encode("ascii")
        with self.locked():
            self.refresh()  # so the offset stays at our own lines' end
            self._append(data)
            self.refresh()

    # ------------------------------------------------------------------- claims
    @property
    def _claims_path(self) -> Path:
        assert self.path is not None
        return Path(f"{self.path}.claims")

    def _new_claims_file(self) -> None:
        """Start the claims file afresh: its first line names this generation of it, so a run
        that read an older generation starts over instead of reading on from a stale offset."""
        head = json.dumps({"generation": f"{self._host}:{os.getpid()}:{time.time_ns()}"}).encode() + b"\n"
        self._claims_path.write_bytes(head)

    def _read_claims(self) -> dict[str, dict[str, Any]]:
        """The open claims: id → record (released ones dropped). Reads only what was appended
        since the last look (from the start when the file is of a new generation)."""
        p = self._claims_path
        if not p.exists():
            self._claims_head, self._claims_offset, self._open = b"", 0, {}
            return self._open
        with p.open("rb") as fh:
            head = fh.readline()
            if head != self._claims_head or not head.endswith(b"\n"):
                self._claims_head, self._claims_offset, self._open = head, len(head), {}
            fh.seek(self._claims_offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        self._claims_offset += end
        for raw in data[:end].split(b"\n")[:-1]:
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                continue  # a torn claim: its keys are simply free
            if not isinstance(rec, dict):
                continue
            if "release" in rec:
                self._open.pop(str(rec["release"]), None)
            elif isinstance(rec.get("keys"), list) and "id" in rec:
                self._open[str(rec["id"])] = rec
        return self._open

    def _live(self, rec: dict[str, Any]) -> bool:
        if rec.get("host") == self._host:
            return isinstance(rec.get("pid"), int) and _alive(rec["pid"])
        return time.time() - float(rec.get("t", 0)) < self.stale_after

    def claimed_by_others(self) -> set[str]:
        """Keys that another live run has claimed and not yet answered. Call under :meth:`locked`.
        When no claim is open the claims file is emptied."""
        if self.path is None:
            return set()
        claims = self._read_claims()
        keys: set[str] = set()
        live = False
        for cid, rec in claims.items():
            if cid in self._mine:
                live = True
                continue
            if self._live(rec):
                live = True
                keys.update(str(k) for k in rec["keys"])
        if not live and self._claims_path.exists() and self._claims_path.stat().st_size > len(self._claims_head):
            self._new_claims_file()
        return keys

    def claim(self, keys: Iterable[str]) -> str:
        """Claim keys for this run (under :meth:`locked`); returns the claim's id."""
        keys = list(keys)
        self._claims += 1
        cid = f"{self._host}:{os.getpid()}:{id(self)}:{self._claims}"
        self._mine[cid] = keys
        if self.path is not None:
            rec = {"id": cid, "host": self._host, "pid": os.getpid(), "t": time.time(), "keys": keys}
            p = self._claims_path
            if not p.exists() or not p.read_bytes()[:1]:
                self._new_claims_file()
            with p.open("ab") as fh:
                fh.write(json.dumps(rec).encode() + b"\n")
        return cid

    def release(self, cid: str) -> None:
        """End a claim (its answered keys are in the cache; the others are free again)."""
        if self._mine.pop(cid, None) is not None and self.path is not None:
            with self.locked(), self._claims_path.open("ab") as fh:
                fh.write(json.dumps({"release": cid}).encode() + b"\n")

    def release_all(self) -> None:
        """End every claim of this run; the last run out empties the claims file."""
        for cid in list(self._mine):
            self.release(cid)
        if self.path is not None:
            with self.locked():
                self.claimed_by_others()
