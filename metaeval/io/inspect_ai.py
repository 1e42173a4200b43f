"""inspect_ai evaluation logs, ``.eval`` (zip) and ``.json``, read with the standard library.

A ``.eval`` log is a zip archive with ``header.json`` (the ``eval`` spec: task, model …)
and one ``samples/<id>_epoch_<n>.json`` per sample and epoch; a ``.json`` log holds the
same under ``eval`` and ``samples``. Each score of each sample becomes a pointwise row:
``item`` = sample id, ``model`` = ``eval.model``, ``judge`` = the scorer (``scorer/key``
for dictionary values), ``rep`` = epoch, ``task`` = ``eval.task``. Inspect's letter grades
map to numbers as Inspect does (C = 1, I = 0, P = 0.5, N = 0); other text values go to
``label``; a list value is kept as JSON text in ``label``. Answers and explanations are kept
in ``extra``.

What inspect writes is checked field by field (inspect's ``EvalLog``: ``eval`` an object with
text ``task`` and ``model``; ``samples`` a list of objects with an ``id`` that is text or an
integer, an integer ``epoch`` and ``scores`` an object of ``Score`` objects whose ``value`` is
a scalar, a list of scalars or an object of scalars); anything else is one
:class:`~metaeval.errors.ImportFormatError` naming the file, the sample and the field.

A ``.eval`` archive is read defensively, since a zip file can claim anything about itself:
members are read through a bounded stream (their declared sizes are not trusted), and the
archive is refused when it has more than ``max_members`` members, when one member decompresses
to more than ``max_member_bytes`` or all of them to more than ``max_total_bytes`` (a zip bomb),
when a member's name is a path (absolute, ``..``, a backslash or a drive letter) or when a
member is itself a zip archive. The limits (:data:`MAX_MEMBERS`, :data:`MAX_MEMBER_BYTES`,
:data:`MAX_TOTAL_BYTES`) are generous for real logs and can be raised by keyword.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from metaeval.errors import ImportFormatError, MetaevalError
from metaeval.io._common import PathLike, check_file, decode_utf8, load_json, to_judgments
from metaeval.tables import Judgments

__all__ = ["MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "read_inspect"]

#: Most members a ``.eval`` archive may have (one per sample and epoch, plus a few).
MAX_MEMBERS = 200_000
#: Most bytes one member may decompress to (one sample with its whole transcript).
MAX_MEMBER_BYTES = 128 * 2**20
#: Most bytes all the members read may decompress to together.
MAX_TOTAL_BYTES = 4 * 2**30

_CHUNK = 2**20
_LETTERS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_TRUE = {"yes", "true", "correct"}
_FALSE = {"no", "false", "incorrect"}
_SCALAR = (str, int, float, bool)


def _score_value(value: Any) -> tuple[float | None, str | None]:
    if value is None:  # no score: an abstention
        return None, None
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, (int, float)):
        return float(value), None
    if isinstance(value, str):
        if value in _LETTERS:
            return _LETTERS[value], None
        low = value.strip().lower()
        if low in _TRUE:
            return 1.0, None
        if low in _FALSE:
            return 0.0, None
        try:
            return float(value), None
        except ValueError:
            return None, value
    return None, json.dumps(value)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _text_field(spec: dict[str, Any], key: str, path: Path, where: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise ImportFormatError(f"must be text ({where}); got {_type_name(value)}", path=str(path), field=key)
    return value


def _spec(obj: Any, path: Path, where: str) -> dict[str, Any]:
    """The ``eval`` spec (task, model), checked."""
    if not isinstance(obj, dict):
        raise ImportFormatError(f"must be an object with the task and model ({where}); got {_type_name(obj)}",
                                path=str(path), field="eval")
    _text_field(obj, "task", path, f"{where}, `eval`")
    _text_field(obj, "model", path, f"{where}, `eval`")
    return obj


def _rows_for_sample(sample: Any, spec: dict[str, Any], path: Path, where: str) -> list[dict[str, Any]]:
    if not isinstance(sample, dict):
        raise ImportFormatError(f"a sample must be an object ({where}); got {_type_name(sample)}", path=str(path),
                                field="samples")
    sid = sample.get("id")
    if sid is None:
        raise ImportFormatError(f"a sample has no `id` ({where})", path=str(path), field="id")
    if isinstance(sid, bool) or not isinstance(sid, (str, int)):
        raise ImportFormatError(f"a sample id must be text or an integer ({where}); got {_type_name(sid)}",
                                path=str(path), field="id")
    epoch = sample.get("epoch", 1)
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise ImportFormatError(f"must be an integer ({where}); got {epoch!r}", path=str(path), field="epoch")
    scores = sample.get("scores")
    if scores is None:
        scores = {}
    if not isinstance(scores, dict):
        raise ImportFormatError(f"must be an object of scorer → score ({where}); got {_type_name(scores)}",
                                path=str(path), field="scores")
    target = sample.get("target")
    rows = []
    for scorer, score in scores.items():
        field = f"scores.{scorer}"
        if isinstance(score, dict):
            value = score.get("value")
        elif score is None or isinstance(score, _SCALAR):
            value = score
        else:
            raise ImportFormatError(f"a score must be an object with a `value` ({where}); got {_type_name(score)}",
                                    path=str(path), field=field)
        if isinstance(value, dict):
            parts = list(value.items())
        else:
            parts = [(None, value)]
        for key, v in parts:
            if isinstance(v, list):
                bad = next((x for x in v if x is not None and not isinstance(x, _SCALAR)), None)
            else:
                bad = v if v is not None and not isinstance(v, _SCALAR) else None
            if bad is not None:
                raise ImportFormatError(f"a score value must be a number, text, a boolean or a list of them "
                                        f"({where}); got {_type_name(bad)}", path=str(path),
                                        field=field if key is None else f"{field}.value.{key}")
            num, label = _score_value(v)
            answer = score.get("answer") if isinstance(score, dict) else None
            explanation = score.get("explanation") if isinstance(score, dict) else None
            rows.append({
                "item": str(sid),
                "judge": scorer if key is None else f"{scorer}/{key}",
                "model": spec.get("model"),
                "score": num,
                "label": label,
                "rep": epoch,
                "task": spec.get("task"),
                "answer": answer if answer is None or isinstance(answer, str) else json.dumps(answer),
                "explanation": (explanation if explanation is None or isinstance(explanation, str)
                                else json.dumps(explanation)),
                "target": json.dumps(target) if target is not None else None,
            })
    return rows


def _check_limit(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MetaevalError(f"`{name}` must be a positive integer; got {value!r}")
    return value


def read_inspect(path: PathLike, *, max_members: int = MAX_MEMBERS, max_member_bytes: int = MAX_MEMBER_BYTES,
                 max_total_bytes: int = MAX_TOTAL_BYTES) -> Judgments:
    """Read an inspect_ai log (``.eval`` zip or ``.json``).

    Parameters
    ----------
    path
        The log file.
    max_members, max_member_bytes, max_total_bytes
        For ``.eval`` archives: the most members, the most decompressed bytes of one member
        and of all the members read (defaults :data:`MAX_MEMBERS`, :data:`MAX_MEMBER_BYTES`,
        :data:`MAX_TOTAL_BYTES`). Raise them for a log that legitimately exceeds them.

    Raises
    ------
    ImportFormatError
        Naming the file, the sample (or archive member) and the field that is not what
        inspect writes; or the limit an archive exceeds.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from metaeval.io.inspect_ai import read_inspect
    >>> path = os.path.join(tempfile.mkdtemp(), "log.json")
    >>> log = {"eval": {"task": "t", "model": "m"}, "samples": [
    ...     {"id": 1, "epoch": 1, "scores": {"match": {"value": "C"}}},
    ...     {"id": 2, "epoch": 1, "scores": {"match": {"value": "I"}}}]}
    >>> _ = open(path, "w").write(json.dumps(log))
    >>> read_inspect(path).frame["score"].to_list()
    [1.0, 0.0]
    """
    p = check_file(path)
    rows: list[dict[str, Any]] = []
    if p.suffix.lower() == ".eval":
        limits = (_check_limit("max_members", max_members), _check_limit("max_member_bytes", max_member_bytes),
                  _check_limit("max_total_bytes", max_total_bytes))
        spec = _read_eval_archive(p, rows, *limits)
    else:
        log = load_json(p)
        if not isinstance(log, dict) or "eval" not in log:
            got = _type_name(log) if not isinstance(log, dict) else "an object without `eval`"
            raise ImportFormatError(f"not an inspect log: the log must be an object with an `eval` object; got {got}",
                                    path=str(p), field="eval")
        spec = _spec(log["eval"], p, "the log")
        samples = log.get("samples")
        if samples is None or samples == []:
            raise ImportFormatError("the log holds no samples (was it written with samples?)", path=str(p),
                                    field="samples")
        if not isinstance(samples, list):
            raise ImportFormatError(f"must be a list of samples; got {_type_name(samples)}", path=str(p),
                                    field="samples")
        for i, sample in enumerate(samples):
            rows.extend(_rows_for_sample(sample, spec, p, f"sample {i}"))
    if not rows:
        raise ImportFormatError("no scores were found in the samples", path=str(p))
    prov = {"format": "inspect", "files": str(p), "task": spec.get("task"), "model": spec.get("model")}
    if all(r["label"] is None for r in rows):
        for r in rows:
            del r["label"]
    return to_judgments(rows, kind="pointwise", path=p, provenance=prov)


_DRIVE = re.compile(r"^[A-Za-z]:")


def _read_eval_archive(p: Path, rows: list[dict[str, Any]], max_members: int, max_member_bytes: int,
                       max_total_bytes: int) -> dict[str, Any]:
    """Read the header and the samples of a ``.eval`` archive into ``rows``; returns the spec."""
    if not zipfile.is_zipfile(p):
        raise ImportFormatError("not an inspect .eval log: the file is not a zip archive", path=str(p))
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise ImportFormatError(f"not a readable zip archive: {exc}", path=str(p)) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise ImportFormatError(f"the archive has {len(infos):,} members, more than `max_members` = "
                                    f"{max_members:,}; refused (raise `max_members` if the log is genuine)",
                                    path=str(p))
        for info in infos:
            name = info.filename
            if (name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name)
                    or ".." in name.split("/") or "\x00" in name):
                raise ImportFormatError(f"member {name!r} has a path-like name (absolute, `..`, a backslash or a "
                                        "drive); an inspect log never does: refused", path=str(p))
        names = [i.filename for i in infos]
        budget = [max_total_bytes]
        header_name = "header.json" if "header.json" in names else "_journal/start.json"
        if header_name not in names:
            raise ImportFormatError("not an inspect .eval log: no header.json inside", path=str(p))
        header = _zip_json(zf, header_name, p, max_member_bytes, budget)
        if not isinstance(header, dict):
            raise ImportFormatError(f"member {header_name!r} must be an object with an `eval` object; got "
                                    f"{_type_name(header)}", path=str(p), field="eval")
        spec = _spec(header.get("eval"), p, f"member {header_name!r}")
        sample_names = sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))
        if not sample_names:
            raise ImportFormatError("the log holds no samples (was it written with samples?)", path=str(p))
        for name in sample_names:
            rows.extend(_rows_for_sample(_zip_json(zf, name, p, max_member_bytes, budget), spec, p,
                                         f"member {name!r}"))
    return spec


def _read_member(zf: zipfile.ZipFile, name: str, path: Path, max_member_bytes: int, budget: list[int]) -> bytes:
    """A member's bytes, read through a bounded stream: stop (and refuse) as soon as it passes
    ``max_member_bytes`` or the archive's remaining budget, whatever its header claims."""
    if name.lower().endswith((".zip", ".eval", ".gz", ".bz2", ".xz", ".7z", ".tar")):
        raise ImportFormatError(f"member {name!r} is itself an archive; an inspect log holds JSON: refused",
                                path=str(path))
    limit = min(max_member_bytes, budget[0])
    chunks: list[bytes] = []
    size = 0
    try:
        with zf.open(name) as fh:
            while True:
                chunk = fh.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                if not size and chunk[:4] == b"PK\x03\x04":
                    raise ImportFormatError(f"member {name!r} is itself a zip archive; an inspect log holds JSON: "
                                            "refused", path=str(path))
                size += len(chunk)
                if size > limit:
                    what = "`max_member_bytes`" if limit == max_member_bytes else \
                        "what is left of `max_total_bytes` for the whole archive"
                    raise ImportFormatError(
                        f"member {name!r} decompresses to more than {what} ({limit:,} bytes): a zip bomb, or a log "
                        "larger than the limits; refused (raise the limit if the log is genuine)", path=str(path))
                chunks.append(chunk)
    except ImportFormatError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise ImportFormatError(f"member {name!r} cannot be read from the archive: {exc}", path=str(path)) from None
    budget[0] -= size
    return b"".join(chunks)


def _zip_json(zf: zipfile.ZipFile, name: str, path: Path, max_member_bytes: int, budget: list[int]) -> Any:
    raw = _read_member(zf, name, path, max_member_bytes, budget)
    try:
        return json.loads(decode_utf8(raw, f"{path}, member {name!r}"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"invalid JSON in member {name!r}: {exc.msg} (column {exc.colno})", path=str(path),
                                line=exc.lineno) from None
