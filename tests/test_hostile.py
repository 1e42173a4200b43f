"""The hostile-input corpus (issue 20): bad or hostile files, leaderboard cells, parameters and
judges, each driven through the API and the CLI.

Every case is generated here (no committed binaries). For each case and each channel (API, CLI)
the run is classified:

- ``good``: one metaeval error of the expected class (or, for inputs that are valid however odd,
  a correct result), a message under 500 characters that names the file, line and column where
  they exist; on the CLI exit status 2, no traceback, the message on stderr (or, for a valid input,
  exit 0);
- ``unclear``: a metaeval error whose class or message is not what it should be;
- ``crash``: any other exception, a traceback, an ``unexpected …`` CLI message, a wrong exit
  status, memory over 1 GB, or a half-written output;
- ``silent``: no error, but a wrong, ``nan`` or ``inf`` result;
- ``hang``: no answer within the per-case time limit.

The cases run in two helper processes (``python -m tests.test_hostile --drive``) with a per-case
alarm, an address-space limit and a watchdog that restarts a helper after a hang or a hard crash.
``python -m tests.test_hostile --table`` prints the table by category (for the closing note).

A case in a part of the code that another change still has to fix carries ``owner=`` and is an
expected failure with ``strict=True``: when the fix lands, the case passes, the test reports
XPASS as a failure, and the mark must be removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASE_TIMEOUT = 30  # seconds per case and channel
MEMORY_LIMIT = 1 << 30  # bytes a case may add to the helper's address space and resident set
MAX_MESSAGE = 500
CATEGORIES = ("good", "unclear", "crash", "silent", "hang")

#: Expected error classes that do not exist yet on every branch, with the class that stands in for
#: them until they do (the stand-in must also be a ``ValueError``; see :func:`expected_class`).
FALLBACK: dict[str, str] = {}

#: The owners of the parts of issue 20 being fixed elsewhere (cases they still fail are marked).
OWNERS = {
    "params": "(a) validate_params / ParameterError for every parameter range (API and CLI)",
    "probes": "(b) probe runner: NaN / out-of-range verdicts as abstentions, retries, cache",
    "import": "(c) inspect logs, .eval caps, trusted Parquet, provenance, JSONL lines, read_leaderboard CSV, "
              "rank(pandas)",
    "output": "(d) atomic report folders, read-only output checks, ±1e308 numerics, all-ties Davidson",
}


# ----------------------------------------------------------------------------- the case table
@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input.

    ``make(tmp)`` writes the files and returns the context (paths by name, plus anything the
    calls need); ``api(ctx)`` calls the library; ``cli(ctx)`` gives the command-line arguments.
    ``expect`` is the name of the error class in :mod:`metaeval.errors` (``None``: the input is
    valid and ``check(result, ctx)`` must return ``None``; it returns what is wrong otherwise).
    ``names`` are what the message must contain (formatted with the context: ``{name}`` is the
    file's name; ``a|b``: either). ``output`` names a context path that must be absent or
    unchanged after an error. ``expect`` may list classes as ``A|B``. Where a hostile input may
    either be rejected or computed correctly (the issue's "compute stably, or reject with the
    reason"), ``also_ok`` / ``cli_also_ok`` judge the result when no error came.
    """

    id: str
    category: str
    make: Callable[[Path], dict[str, Any]]
    api: Callable[[dict[str, Any]], Any] | None
    cli: Callable[[dict[str, Any]], list[str]] | None
    expect: str | None
    names: tuple[str, ...] = ()
    cli_names: tuple[str, ...] | None = None
    check: Callable[[Any, dict[str, Any]], str | None] | None = None
    cli_check: Callable[[str, dict[str, Any]], str | None] | None = None
    output: str | None = None
    owner: str | None = None
    slow: bool = False
    also_ok: Callable[[Any, dict[str, Any]], str | None] | None = None
    cli_also_ok: Callable[[str, dict[str, Any]], str | None] | None = None


CASES: list[Case] = []


def case(id: str, category: str, make: Callable[[Path], dict[str, Any]], api: Any, cli: Any, expect: str | None,
         names: tuple[str, ...] = (), **kw: Any) -> None:
    assert id not in {c.id for c in CASES}, id
    CASES.append(Case(id, category, make, api, cli, expect, names, **kw))


# ------------------------------------------------------------------------------- data makers
def _rows_pairwise(n_items: int = 24) -> list[tuple[str, str, str, str, str]]:
    import random

    r = random.Random(7)
    models = ("alpha", "beta", "gamma")
    out = []
    for i in range(n_items):
        for a, b in ((0, 1), (1, 2), (0, 2)):
            for judge in ("human:1", "judge-x"):
                out.append((f"q{i}", judge, models[a], models[b], r.choice(("a", "a", "b", "tie"))))
    return out


PAIR_HEADER = "item,judge,model_a,model_b,outcome"


def pairwise_csv(rows: list[tuple[Any, ...]] | None = None, header: str = PAIR_HEADER, nl: str = "\n") -> str:
    rows = _rows_pairwise() if rows is None else rows
    return nl.join([header] + [",".join(str(x) for x in r) for r in rows]) + nl


def pointwise_rows(n_items: int = 24, score: Callable[[int, str, str], Any] | None = None) -> list[tuple[Any, ...]]:
    import random

    r = random.Random(3)
    out = []
    for i in range(n_items):
        for m in ("alpha", "beta"):
            for judge in ("human:1", "judge-x"):
                out.append((f"q{i}", judge, m, score(i, m, judge) if score else r.randint(1, 5)))
    return out


def pointwise_csv(rows: list[tuple[Any, ...]] | None = None, header: str = "item,judge,model,score") -> str:
    rows = pointwise_rows() if rows is None else rows
    return "\n".join([header] + [",".join(str(x) for x in r) for r in rows]) + "\n"


BOARD = "Model,Score,CoLA,MRPC,RTE\nm1,80,70.1,93.9,88.0\nm2,79,60.5,90.0,85.1\nm3,78,55.0,89.2,80.3\n" \
        "m4,70,50.2,85.5,75.0\n"


def files(**spec: str | bytes) -> Callable[[Path], dict[str, Any]]:
    """A maker writing ``name=content`` files (the key's last ``_`` becomes the suffix's dot:
    ``t_csv`` is ``t.csv``); the context maps the key to the path, ``name`` to the first file's
    name and ``path`` to the first file's path."""

    def make(tmp: Path) -> dict[str, Any]:
        ctx: dict[str, Any] = {}
        for key, content in spec.items():
            stem, _, suffix = key.rpartition("_")
            p = tmp / f"{stem}.{suffix}"
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8", newline="")
            ctx[key] = str(p)
            ctx.setdefault("path", str(p))
            ctx.setdefault("name", p.name)
        return ctx

    return make


def with_ctx(make: Callable[[Path], dict[str, Any]], fn: Callable[[Path, dict[str, Any]], None]) -> Callable[
        [Path], dict[str, Any]]:
    def both(tmp: Path) -> dict[str, Any]:
        ctx = make(tmp)
        fn(tmp, ctx)
        return ctx

    return both


def read_api(**kw: Any) -> Callable[[dict[str, Any]], Any]:
    def call(ctx: dict[str, Any]) -> Any:
        import metaeval

        return metaeval.read(ctx["path"], **kw)

    return call


def info_cli(*extra: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda ctx: ["info", ctx["path"], *extra]


def board_api(**kw: Any) -> Callable[[dict[str, Any]], Any]:
    def call(ctx: dict[str, Any]) -> Any:
        import metaeval

        return metaeval.read_leaderboard(ctx["path"], **kw)

    return call


def vote_cli(*extra: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda ctx: ["vote", ctx["path"], *extra]


def finite_result(res: Any, ctx: dict[str, Any]) -> str | None:
    """A result with no nan / inf in its tidy table (the silent-wrong check of valid inputs)."""
    import polars as pl

    frame = res.to_polars() if hasattr(res, "to_polars") else res.frame
    for c in frame.columns:
        if frame.schema[c] in (pl.Float64, pl.Float32):
            col = frame[c].drop_nulls()
            if col.is_nan().any() or col.is_infinite().any():
                return f"column {c!r} holds nan or inf"
    return None


def finite_numbers(res: Any, ctx: dict[str, Any]) -> str | None:
    """An estimate, interval and p-value that are finite numbers (where the result has them)."""
    values = {"estimate": getattr(res, "estimate", None), "pvalue": getattr(res, "pvalue", None)}
    ci = getattr(res, "ci", None)
    if ci is not None:
        values.update(ci_low=ci.low, ci_high=ci.high)
    bad = {k: v for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)}
    return f"not finite: {bad}" if bad else None


def no_nonfinite_text(out: str, ctx: dict[str, Any]) -> str | None:
    """Printed results without ``nan`` or ``inf``."""
    import re

    hit = re.search(r"(?<![A-Za-z])(-?inf|nan)(?![A-Za-z])", out, re.IGNORECASE)
    return f"prints {hit.group(0)!r}: …{out[max(hit.start() - 80, 0):hit.end() + 40]}…" if hit else None


def judgments_like(n: int, kind: str) -> Callable[[Any, dict[str, Any]], str | None]:
    def check(j: Any, ctx: dict[str, Any]) -> str | None:
        if getattr(j, "kind", None) != kind:
            return f"read as {getattr(j, 'kind', type(j).__name__)}, not {kind}"
        if len(j) != n:
            return f"{len(j)} rows read, not {n}"
        bad = [c for c in j.frame.columns if "\ufeff" in c or c.endswith("\r")]
        if bad:
            return f"column names keep a BOM or a carriage return: {bad}"
        if kind == "pairwise" and set(j.frame["outcome"].drop_nulls().to_list()) - {"a", "b", "tie"}:
            return "outcomes other than a, b, tie"
        return None

    return check


def cli_ok_rows(n: int) -> Callable[[str, dict[str, Any]], str | None]:
    def check(out: str, ctx: dict[str, Any]) -> str | None:
        return None if f"{n:,}" in out or str(n) in out else f"the summary does not say {n} rows"

    return check


# ===================================================================== 1. hostile files (generic)
N_PAIR = len(_rows_pairwise())
GOOD_PAIR = pairwise_csv()
GOOD_POINT = pointwise_csv()


def _mk_dir(tmp: Path) -> dict[str, Any]:
    p = tmp / "table.csv"
    p.mkdir()
    return {"path": str(p), "name": p.name}


def _mk_missing(tmp: Path) -> dict[str, Any]:
    p = tmp / "no-such-table.csv"
    return {"path": str(p), "name": p.name}


def _mk_symlink_dir(tmp: Path) -> dict[str, Any]:
    d = tmp / "folder"
    d.mkdir()
    p = tmp / "link.csv"
    p.symlink_to(d)
    return {"path": str(p), "name": p.name}


def _mk_dangling(tmp: Path) -> dict[str, Any]:
    p = tmp / "dangling.csv"
    p.symlink_to(tmp / "gone.csv")
    return {"path": str(p), "name": p.name}


def _mk_fifo(tmp: Path) -> dict[str, Any]:
    p = tmp / "pipe.csv"
    os.mkfifo(p)
    return {"path": str(p), "name": p.name}


def _mk_symlink_good(tmp: Path) -> dict[str, Any]:
    real = tmp / "real.csv"
    real.write_text(GOOD_PAIR)
    p = tmp / "link.csv"
    p.symlink_to(real)
    return {"path": str(p), "name": p.name}


for suffix in ("csv", "tsv", "jsonl", "json", "parquet", "eval"):
    case(f"file/empty.{suffix}", "files", files(**{f"empty_{suffix}": b""}), read_api(), info_cli(),
         "ImportFormatError", ("{name}", "empty"))
    case(f"file/garbage.{suffix}", "files", files(**{f"garbage_{suffix}": bytes(range(256)) * 40 + b"\x00\xff"}),
         read_api(), info_cli(), "ImportFormatError", ("{name}",))
case("file/folder-instead-of-file", "files", _mk_dir, read_api(), info_cli(), "ImportFormatError",
     ("{name}", "folder"), cli_names=("{name}", "directory"))
case("file/nonexistent", "files", _mk_missing, read_api(), info_cli(), "ImportFormatError", ("{name}", "no such"))
case("file/symlink-to-folder", "files", _mk_symlink_dir, read_api(), info_cli(), "ImportFormatError",
     ("{name}", "folder"), cli_names=("{name}", "directory"))
case("file/dangling-symlink", "files", _mk_dangling, read_api(), info_cli(), "ImportFormatError", ("{name}",))
case("file/fifo", "files", _mk_fifo, read_api(), info_cli(), "ImportFormatError", ("{name}",))
case("file/symlink-to-good-file", "files", _mk_symlink_good, read_api(), info_cli(), None,
     check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/unknown-suffix", "files", files(t_xlsx="PK\x03\x04"), read_api(), info_cli(), "ImportFormatError",
     ("{name}", "format"))
case("file/bom-csv", "files", files(t_csv="\ufeff" + GOOD_PAIR), read_api(), info_cli(), None,
     check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/bom-jsonl", "files",
     files(t_jsonl="\ufeff" + "\n".join(json.dumps(dict(zip(PAIR_HEADER.split(","), r, strict=True)))
                                        for r in _rows_pairwise()) + "\n"),
     read_api(), info_cli(), None, check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/bom-json", "files",
     files(t_json="\ufeff" + json.dumps([dict(zip(PAIR_HEADER.split(","), r, strict=True)) for r in _rows_pairwise()])),
     read_api(), info_cli(), None, check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/crlf-csv", "files", files(t_csv=pairwise_csv(nl="\r\n")), read_api(), info_cli(), None,
     check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/bom-crlf-tsv", "files", files(t_tsv="\ufeff" + pairwise_csv(nl="\r\n").replace(",", "\t")), read_api(),
     info_cli(), None, check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/crlf-jsonl", "files",
     files(t_jsonl="\r\n".join(json.dumps(dict(zip(PAIR_HEADER.split(","), r, strict=True))) for r in _rows_pairwise())
           + "\r\n"), read_api(), info_cli(), None, check=judgments_like(N_PAIR, "pairwise"),
     cli_check=cli_ok_rows(N_PAIR))
case("file/invalid-utf8-csv", "files", files(t_csv=GOOD_PAIR.encode().replace(b"judge-x", b"judge-\xff", 1)),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "line 3", "UTF-8"))
case("file/invalid-utf8-jsonl", "files",
     files(t_jsonl=b'{"item":"q1","judge":"h","model":"x","score":1}\n{"item":"q\xc3\x28","judge":"h","model":"y",'
           b'"score":2}\n'), read_api(), info_cli(), "ImportFormatError", ("{name}", "line 2", "UTF-8"))
case("file/invalid-utf8-json", "files", files(t_json=b'[{"item":"q\xff1","judge":"h","model":"x","score":1}]'),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "line 1", "UTF-8"))
case("file/utf16-csv", "files", files(t_csv=GOOD_PAIR.encode("utf-16")), read_api(), info_cli(),
     "ImportFormatError", ("{name}", "UTF-8"))
case("file/huge-field-csv", "files",
     files(t_csv=PAIR_HEADER + "\n" + "q1,h,x,y,a\n" + "q2,h," + "M" * 5_000_000 + ",y,zz\n"), read_api(), info_cli(),
     "SchemaError", ("{name}", "line 3", "outcome"))
case("file/huge-model-name-jsonl", "files",
     files(t_jsonl=json.dumps({"item": "q1", "judge": "h", "model": "N" * 3_000_000, "score": "high"}) + "\n"),
     read_api(), info_cli(), "SchemaError", ("{name}", "score"))
case("file/deep-json", "files", files(t_json="[" * 100_000 + "]" * 100_000), read_api(), info_cli(),
     "ImportFormatError", ("{name}",))
case("file/deep-jsonl", "files", files(t_jsonl='{"item": ' + "[" * 100_000 + "]" * 100_000 + "}\n"), read_api(),
     info_cli(), "ImportFormatError", ("{name}",))
case("file/deep-json-object", "files", files(t_json='{"a":' * 50_000 + "1" + "}" * 50_000), read_api(), info_cli(),
     "ImportFormatError", ("{name}",))
case("file/nul-bytes-csv", "files", files(t_csv=GOOD_PAIR.replace("judge-x", "judge\x00x", 1)), read_api(),
     info_cli(), None, check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/header-only-csv", "files", files(t_csv=PAIR_HEADER + "\n"), read_api(), info_cli(), "SchemaError",
     ("{name}", "no rows"))
case("file/blank-lines-only-jsonl", "files", files(t_jsonl="\n\n  \n"), read_api(), info_cli(), "ImportFormatError",
     ("{name}",))
case("file/json-scalar", "files", files(t_json="42"), read_api(), info_cli(), "ImportFormatError", ("{name}",))
case("file/json-empty-list", "files", files(t_json="[]"), read_api(), info_cli(), "SchemaError", ("{name}", "no rows"))
case("file/jsonl-array-line", "files", files(t_jsonl='{"item":"q1","judge":"h","model":"x","score":1}\n[1,2]\n'),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "line 2"))
case("file/jsonl-truncated-last-line", "files",
     files(t_jsonl='{"item":"q1","judge":"h","model":"x","score":1}\n{"item":"q2","judge":"h","mo'), read_api(),
     info_cli(), "ImportFormatError", ("{name}", "line 2"))
case("file/jsonl-bad-middle-line", "files",
     files(t_jsonl='{"item":"q1","judge":"h","model":"x","score":1}\n{oops}\n{"item":"q3","judge":"h","model":"x",'
           '"score":1}\n'), read_api(), info_cli(), "ImportFormatError", ("{name}", "line 2"))
case("file/jsonl-schema-error-names-line", "files",
     files(t_jsonl='{"item":"q1","judge":"h","model":"x","score":1}\n{"item":"q2","judge":"h","model":"x",'
           '"score":"high"}\n'), read_api(), info_cli(), "SchemaError", ("{name}", "line 2", "score"))
case("file/csv-ragged-row", "files", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,a,extra,more\nq3,h,x,y,b\n"),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "line 3"))
case("file/csv-short-row", "files", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x\nq3,h,x,y,b\n"), read_api(),
     info_cli(), "ImportFormatError", ("{name}", "line 3"))
case("file/csv-duplicate-header", "files", files(t_csv="item,judge,model,score,score\nq1,h,x,1,2\n"), read_api(),
     info_cli(), "ImportFormatError", ("{name}", "line 1", "score"))
case("file/csv-empty-header-name", "files", files(t_csv="item,,model,score\nq1,h,x,1\n"), read_api(), info_cli(),
     "ImportFormatError", ("{name}", "line 1"))
case("file/csv-semicolon", "files", files(t_csv=pairwise_csv().replace(",", ";")), read_api(), info_cli(), None,
     check=judgments_like(N_PAIR, "pairwise"), cli_check=cli_ok_rows(N_PAIR))
case("file/csv-unbalanced-quote", "files", files(t_csv=PAIR_HEADER + '\nq1,h,x,y,a\nq2,"h,x,y,a\nq3,h,x,y,b\n'),
     read_api(), info_cli(), "ImportFormatError", ("{name}",))
case("file/csv-no-known-columns", "files", files(t_csv="foo,bar\n1,2\n"), read_api(), info_cli(), "SchemaError",
     ("{name}",))
case("file/csv-bad-outcome", "files", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,A>B\n"), read_api(),
     info_cli(), "SchemaError", ("{name}", "line 3", "outcome"))
case("file/csv-self-comparison", "files", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,x,a\n"), read_api(),
     info_cli(), "SchemaError", ("{name}", "line 3", "model_a"))
case("file/csv-missing-item", "files", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\n,h,x,y,b\n"), read_api(), info_cli(),
     "SchemaError", ("{name}", "line 3", "item"))
case("file/csv-score-inf", "files", files(t_csv="item,judge,model,score\nq1,h,x,1\nq2,h,x,inf\n"), read_api(),
     info_cli(), "SchemaError", ("{name}", "line 3", "score"))
case("file/csv-score-nan-text", "files", files(t_csv="item,judge,model,score\nq1,h,x,1\nq2,h,x,abc\n"), read_api(),
     info_cli(), "SchemaError", ("{name}", "line 3", "score"))
case("file/csv-negative-length", "files",
     files(t_csv=PAIR_HEADER + ",len_a,len_b\nq1,h,x,y,a,10,20\nq2,h,x,y,b,-500,20\n"), read_api(), info_cli(),
     "SchemaError", ("{name}", "line 3", "len_a"))
case("file/csv-p_a-out-of-range", "files", files(t_csv=PAIR_HEADER + ",p_a\nq1,h,x,y,a,0.9\nq2,h,x,y,b,1.7\n"),
     read_api(), info_cli(), "SchemaError", ("{name}", "line 3", "p_a"))
case("file/csv-both-kinds", "files", files(t_csv="item,judge,model,score,model_a,model_b,outcome\nq1,h,x,1,x,y,a\n"),
     read_api(), info_cli(), "SchemaError", ("{name}",))
case("file/map-to-missing-column", "files", files(t_csv=GOOD_PAIR), read_api(item="question_id"),
     lambda ctx: ["import", ctx["path"], "-o", str(Path(ctx["path"]).with_suffix(".parquet")), "--map",
                  "item=question_id"], "ImportFormatError", ("{name}", "question_id"))
case("file/unknown-format-name", "files", files(t_csv=GOOD_PAIR), read_api(format="excel"),
     info_cli("--format", "excel"), "MetaevalError", ("format", "excel"))


def _mk_many(tmp: Path) -> dict[str, Any]:
    a, b = tmp / "a.csv", tmp / "b.csv"
    a.write_text(GOOD_PAIR)
    b.write_text(GOOD_POINT)
    return {"path": str(a), "name": "b.csv", "a": str(a), "b": str(b)}


def _read_many(ctx: dict[str, Any]) -> Any:
    import metaeval

    return metaeval.read([ctx["a"], ctx["b"]])


case("file/multi-file-mixed-kinds", "files", _mk_many, _read_many,
     lambda ctx: ["import", ctx["a"], ctx["b"], "-o", str(Path(ctx["a"]).with_name("out.parquet"))],
     "MetaevalError", ("pointwise", "pairwise"))


def _mk_import_over_old(tmp: Path) -> dict[str, Any]:
    ctx = files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,A>B\n")(tmp)
    out = tmp / "out.parquet"
    out.write_bytes(b"old content")
    ctx["out"] = str(out)
    return ctx


def _import_api(ctx: dict[str, Any]) -> Any:
    import metaeval

    j = metaeval.read(ctx["path"])
    return j.write_parquet(ctx["out"])


case("output/import-bad-table-keeps-old-output", "output", _mk_import_over_old, _import_api,
     lambda ctx: ["import", ctx["path"], "-o", ctx["out"]], "SchemaError", ("{name}", "line 3", "outcome"),
     output="out")


def _mk_output_under_file(tmp: Path) -> dict[str, Any]:
    ctx = files(t_csv=GOOD_PAIR)(tmp)
    blocker = tmp / "blocker"
    blocker.write_text("a file, not a folder")
    ctx["out"] = str(blocker / "out.parquet")
    return ctx


case("output/import-under-a-file", "output", _mk_output_under_file, _import_api,
     lambda ctx: ["import", ctx["path"], "-o", ctx["out"]], "MetaevalError", ("out.parquet",), output="out")


# =============================================================== 2. trusted / forged Parquet
def _parquet(tmp: Path, name: str, forge: Callable[[Any], Any] | None, fingerprint: str | None = "match",
             kind: str = "pairwise") -> dict[str, Any]:
    import polars as pl

    import metaeval
    from metaeval.tables import Judgments

    src = tmp / "src.csv"
    src.write_text(GOOD_PAIR if kind == "pairwise" else GOOD_POINT)
    j = metaeval.read(src)
    frame = j.all_rows()
    if forge is not None:
        frame = forge(frame)
    fp = Judgments._trusted(frame, kind, {}).fingerprint if fingerprint == "match" else fingerprint
    meta = {"metaeval.kind": kind, "metaeval.version": "0"}
    if fp is not None:
        meta["metaeval.fingerprint"] = fp
    p = tmp / name
    pl.DataFrame(frame).write_parquet(p, metadata=meta)
    src.unlink()
    return {"path": str(p), "name": p.name}


def _forged(forge: Callable[[Any], Any], fingerprint: str | None = "match", kind: str = "pairwise") -> Callable[
        [Path], dict[str, Any]]:
    return lambda tmp: _parquet(tmp, "t.parquet", forge, fingerprint, kind)


def _wins_api(ctx: dict[str, Any]) -> Any:
    import metaeval
    from metaeval.stats import win_rates

    return win_rates(metaeval.read(ctx["path"]), n_resamples=50, rng=0)


def _set(col: str, value: Any, row: int = 0) -> Callable[[Any], Any]:
    import polars as pl

    def forge(frame: Any) -> Any:
        return frame.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, dtype=frame.schema[col]
                                  if value is not None else None)).otherwise(pl.col(col)).alias(col))

    return forge


def _text_outcome(frame: Any) -> Any:
    import polars as pl

    frame = frame.with_columns(pl.col("outcome").cast(pl.String))
    return _set("outcome", "A>B", row=2)(frame)


def _self_pair(frame: Any) -> Any:
    import polars as pl

    return frame.with_columns(pl.col("model_a").alias("model_b"))


def _dupe(frame: Any) -> Any:
    import polars as pl

    return pl.concat([frame, frame])


def _neg_len(frame: Any) -> Any:
    import polars as pl

    return frame.with_columns(pl.lit(-500, dtype=pl.Int64).alias("len_a"), pl.lit(10, dtype=pl.Int64).alias("len_b"))


def winrates_cli(ctx: dict[str, Any]) -> list[str]:
    return ["winrates", ctx["path"], "--n-resamples", "50", "--seed", "0"]


case("parquet/forged-self-comparison", "parquet", _forged(_self_pair), _wins_api, winrates_cli, "SchemaError",
     ("{name}", "model_a"))
case("parquet/forged-null-item", "parquet", _forged(_set("item", None)), _wins_api, winrates_cli, "SchemaError",
     ("{name}", "item"))
case("parquet/forged-bad-outcome", "parquet", _forged(_text_outcome), _wins_api, winrates_cli,
     "SchemaError", ("{name}", "outcome"))
case("parquet/forged-negative-length", "parquet", _forged(_neg_len), _wins_api, winrates_cli, "SchemaError",
     ("{name}", "len_a"))
case("parquet/forged-duplicate-rows", "parquet", _forged(_dupe), _wins_api, winrates_cli, "SchemaError",
     ("{name}",))
case("parquet/wrong-fingerprint", "parquet", _forged(_self_pair, fingerprint="0123456789abcdef"), _wins_api,
     winrates_cli, "SchemaError", ("{name}", "model_a"))
case("parquet/kind-says-pointwise", "parquet", lambda tmp: _parquet(tmp, "t.parquet", None, "match", "pairwise")
     | _relabel(tmp / "t.parquet", "pointwise"), read_api(), info_cli(), None, check=judgments_like(N_PAIR, "pairwise"),
     cli_check=cli_ok_rows(N_PAIR))
case("parquet/forged-score-inf", "parquet", _forged(_set("score", float("inf")), kind="pointwise"),
     lambda ctx: __import__("metaeval").read(ctx["path"]), info_cli(), "SchemaError", ("{name}", "score"))
case("parquet/truncated", "parquet", lambda tmp: _truncate(_parquet(tmp, "t.parquet", None)), read_api(), info_cli(),
     "ImportFormatError", ("{name}",))


def _relabel(path: Path, kind: str) -> dict[str, Any]:
    import polars as pl

    frame = pl.read_parquet(path)
    meta = pl.read_parquet_metadata(path)
    meta["metaeval.kind"] = kind
    frame.write_parquet(path, metadata=meta)
    return {}


def _truncate(ctx: dict[str, Any]) -> dict[str, Any]:
    data = Path(ctx["path"]).read_bytes()
    Path(ctx["path"]).write_bytes(data[: len(data) // 2])
    return ctx


# ================================================================ 3. the specialised importers
def lm_sample(doc_id: Any, acc: Any = 1.0) -> dict[str, Any]:
    return {"doc_id": doc_id, "doc": {"q": "x"}, "target": "a", "resps": [["a"]], "filtered_resps": ["a"],
            "acc": acc, "metrics": ["acc"]}


def jl(*objs: Any) -> str:
    return "\n".join(json.dumps(o) for o in objs) + "\n"


def lm_file(content: str) -> Callable[[Path], dict[str, Any]]:
    """An lm-eval samples file named as the harness names it (the task and time in the name)."""
    return files(**{"samples_t_2024-01-01T00-00-00.000_jsonl": content})


def _lm_api(**kw: Any) -> Callable[[dict[str, Any]], Any]:
    return read_api(format="lm_eval", model="m", task="t", **kw)


def lm_cli(ctx: dict[str, Any]) -> list[str]:
    return (["import", ctx["path"], "-o", str(Path(ctx["path"]).with_name("o.parquet")), "--format",
                       "lm_eval", "--model", "m"])
case("lm_eval/no-metrics", "importers", lm_file(jl({"doc_id": 0, "resps": [["a"]]},
                                                                 {"doc_id": 1, "resps": [["b"]]})),
     _lm_api(), lm_cli, "ImportFormatError", ("{name}",))
case("lm_eval/text-metric", "importers", lm_file(jl(lm_sample(0), lm_sample(1, "yes"))), _lm_api(),
     lm_cli, "ImportFormatError", ("{name}", "line 2", "acc"))
case("lm_eval/doc-id-missing", "importers", lm_file(jl(lm_sample(0), {"resps": [], "acc": 1})),
     _lm_api(), lm_cli, "ImportFormatError", ("{name}", "line 2", "doc_id"))
case("lm_eval/line-not-object", "importers", lm_file(jl(lm_sample(0)) + "[1]\n"), _lm_api(), lm_cli,
     "ImportFormatError", ("{name}", "line 2"))
case("lm_eval/metric-inf", "importers", lm_file(jl(lm_sample(0), lm_sample(1, 1e309))), _lm_api(),
     lm_cli, "ImportFormatError", ("{name}", "line 2", "acc"))
case("lm_eval/metric-1e308", "importers", lm_file(jl(lm_sample(0), lm_sample(1, 1e308))), _lm_api(),
     lm_cli, "ImportFormatError|SchemaError", ("{name}", "line 2", "score"), also_ok=judgments_like(2, "pointwise"),
     cli_also_ok=lambda out, ctx: None)
case("lm_eval/results-file-via-read", "importers",
     files(results_json=json.dumps({"results": {"t": {"acc,none": 0.5}}, "config": {}})), read_api(), info_cli(),
     "ImportFormatError", ("{name}", "read_leaderboard"))
case("lm_eval/results-no-results", "importers", files(results_json=json.dumps({"config": {"model": "m"}})),
     board_api(), vote_cli(), "ImportFormatError", ("{name}", "results"))
case("lm_eval/results-text-metric", "importers",
     files(results_json=json.dumps({"results": {"t": {"acc,none": "high"}}, "config": {"model_args": "pretrained=m"}})),
     board_api(), vote_cli(), "ImportFormatError", ("{name}", "acc"))


def inspect_log(samples: Any, **over: Any) -> dict[str, Any]:
    log = {"version": 2, "status": "success", "eval": {"task": "t", "model": "m", "created": "2024-01-01"},
           "samples": samples}
    log.update(over)
    return log


def isample(i: Any, value: Any = "C", epoch: Any = 1) -> dict[str, Any]:
    return {"id": i, "epoch": epoch, "input": "q", "target": "a", "scores": {"match": {"value": value}}}


def eval_zip(tmp: Path, members: dict[str, bytes], name: str = "log.eval", compress: bool = True) -> dict[str, Any]:
    p = tmp / name
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return {"path": str(p), "name": p.name}


def _eval_members(n: int = 3, bad: dict[str, bytes] | None = None) -> dict[str, bytes]:
    head = {"version": 2, "status": "success", "eval": {"task": "t", "model": "m", "created": "2024-01-01"}}
    out = {"header.json": json.dumps(head).encode()}
    for i in range(n):
        out[f"samples/{i}_epoch_1.json"] = json.dumps(isample(i)).encode()
    out.update(bad or {})
    return out


insp_cli = info_cli()
case("inspect/list-header", "importers", files(log_json=json.dumps({"eval": [1, 2], "samples": []})), read_api(),
     insp_cli, "ImportFormatError", ("{name}", "eval"))
case("inspect/eval-is-text", "importers", files(log_json=json.dumps(inspect_log([isample(1)], eval="x"))),
     read_api(), insp_cli, "ImportFormatError", ("{name}", "eval"))
case("inspect/text-epoch", "importers", files(log_json=json.dumps(inspect_log([isample(1, epoch="one")]))),
     read_api(), insp_cli, "ImportFormatError", ("{name}", "epoch"))
case("inspect/samples-not-list", "importers", files(log_json=json.dumps(inspect_log({"a": 1}))), read_api(),
     insp_cli, "ImportFormatError", ("{name}", "samples"))
case("inspect/no-samples", "importers", files(log_json=json.dumps(inspect_log([]))), read_api(), insp_cli,
     "ImportFormatError", ("{name}",))
case("inspect/score-not-object", "importers",
     files(log_json=json.dumps(inspect_log([{"id": 1, "epoch": 1, "scores": [1, 2]}]))), read_api(), insp_cli,
     "ImportFormatError", ("{name}", "scores"))
case("inspect/eval-not-zip", "importers", files(log_eval=b"this is not a zip archive" * 10), read_api(), insp_cli,
     "ImportFormatError", ("{name}", "zip"))
case("inspect/eval-no-header", "importers", lambda tmp: eval_zip(tmp, {"samples/1_epoch_1.json": b"{}"}), read_api(),
     insp_cli, "ImportFormatError", ("{name}",))
case("inspect/eval-bad-member-json", "importers",
     lambda tmp: eval_zip(tmp, _eval_members(2, {"samples/9_epoch_1.json": b"{oops"})), read_api(), insp_cli,
     "ImportFormatError", ("{name}", "9_epoch_1.json"))
def _zip_bomb(tmp: Path) -> dict[str, Any]:
    """A 2 GB sample member that deflates to a few MB, written in chunks (the maker stays small)."""
    ctx = eval_zip(tmp, _eval_members(1))
    with zipfile.ZipFile(ctx["path"], "a", zipfile.ZIP_DEFLATED) as z, \
            z.open("samples/1_epoch_1.json", "w", force_zip64=True) as fh:
        fh.write(b'{"id": 1, "epoch": 1, "pad": "')
        chunk = b" " * (1 << 24)
        for _ in range(128):
            fh.write(chunk)
        fh.write(b'"}')
    return ctx


case("inspect/eval-zip-bomb", "importers", _zip_bomb, read_api(), insp_cli, "ImportFormatError", ("{name}",), slow=True)
case("inspect/eval-many-members", "importers",
     lambda tmp: eval_zip(tmp, {**_eval_members(1), **{f"samples/{i}_epoch_1.json": json.dumps(isample(i)).encode()
                                                       for i in range(1, 120_000)}}, compress=False),
     lambda ctx: __import__("metaeval.io.inspect_ai", fromlist=["x"]).read_inspect(ctx["path"], max_members=50_000),
     None, "ImportFormatError", ("{name}", "max_members"), slow=True)
case("inspect/eval-path-member", "importers",
     lambda tmp: eval_zip(tmp, _eval_members(2, {"../../escape.json": b"{}"})), read_api(), insp_cli,
     "ImportFormatError", ("{name}", "escape.json"))
case("inspect/eval-absolute-member", "importers",
     lambda tmp: eval_zip(tmp, _eval_members(2, {"/etc/evil.json": b"{}"})), read_api(), insp_cli,
     "ImportFormatError", ("{name}", "evil.json"))
case("inspect/eval-deep-json", "importers",
     lambda tmp: eval_zip(tmp, _eval_members(1, {"samples/5_epoch_1.json": b"[" * 100_000 + b"]" * 100_000})),
     read_api(), insp_cli, "ImportFormatError", ("{name}",))

ALPACA = [{"instruction": f"i{i}", "generator_1": "gpt4", "generator_2": "mine", "preference": p,
           "annotator": "weighted_alpaca_eval_gpt4_turbo"} for i, p in enumerate([1.0, 2.0, 1.5, 1.2])]
case("alpaca/preference-text", "importers",
     files(annotations_json=json.dumps([*ALPACA, {**ALPACA[0], "instruction": "x", "preference": "first"}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "preference"))
case("alpaca/preference-out-of-range", "importers",
     files(annotations_json=json.dumps([*ALPACA, {**ALPACA[0], "instruction": "x", "preference": 7.0}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "preference"))
case("alpaca/same-generator", "importers",
     files(annotations_json=json.dumps([{**a, "generator_2": "gpt4"} for a in ALPACA])), read_api(), info_cli(),
     "ImportFormatError", ("{name}", "generator"))
case("alpaca/missing-generator", "importers",
     files(annotations_json=json.dumps([*ALPACA, {k: v for k, v in ALPACA[0].items() if k != "generator_2"}])),
     read_api(format="alpaca_eval"), info_cli("--format", "alpaca_eval"), "ImportFormatError",
     ("{name}", "generator_2"))
case("alpaca/csv-bad-preference", "importers",
     files(annotations_csv="instruction,generator_1,generator_2,preference\ni1,a,b,1\ni2,a,b,zz\n"), read_api(),
     info_cli(), "ImportFormatError", ("{name}", "preference"))
case("alpaca/not-a-list", "importers", files(annotations_json=json.dumps({"generator_1": "a"})),
     read_api(format="alpaca_eval"), info_cli("--format", "alpaca_eval"), "ImportFormatError", ("{name}",))

MT = {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": "model_1",
      "judge": ["gpt-4", "pair-v2"], "turn": 1}
case("mt_bench/unknown-winner", "importers",
     files(judgments_jsonl=jl(MT, {**MT, "question_id": 2, "g1_winner": "banana"})), read_api(), info_cli(),
     "ImportFormatError", ("{name}", "line 2", "g1_winner"))
case("mt_bench/missing-model", "importers",
     files(judgments_jsonl=jl(MT, {k: v for k, v in MT.items() if k != "model_2"})), read_api(format="mt_bench"),
     info_cli("--format", "mt_bench"), "ImportFormatError", ("{name}", "line 2", "model_2"))
case("mt_bench/single-score-text", "importers",
     files(judgments_jsonl=jl({"question_id": 1, "model": "a", "score": 5, "judge": ["gpt-4", "single"], "turn": 1},
                              {"question_id": 2, "model": "a", "score": "ten", "judge": ["gpt-4", "single"],
                               "turn": 1})), read_api(), info_cli(), "ImportFormatError", ("{name}", "line 2", "score"))
case("mt_bench/score-inf", "importers",
     files(judgments_jsonl=jl({"question_id": 1, "model": "a", "score": 5, "judge": ["gpt-4", "single"], "turn": 1})
           + '{"question_id": 2, "model": "a", "score": Infinity, "judge": ["gpt-4", "single"], "turn": 1}\n'),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "line 2", "score"))

ARENA = {"model_a": "x", "model_b": "y", "winner": "model_a", "question_id": "q1", "judge": "arena_user"}
case("arena/unknown-winner", "importers", files(battles_json=json.dumps([ARENA, {**ARENA, "winner": "nobody"}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "winner"))
case("arena/same-model", "importers", files(battles_json=json.dumps([ARENA, {**ARENA, "model_b": "x"}])), read_api(),
     info_cli(), "SchemaError", ("{name}", "model_a"))
case("arena/missing-model", "importers",
     files(battles_jsonl=jl(ARENA, {k: v for k, v in ARENA.items() if k != "model_b"})), read_api(format="arena"),
     info_cli("--format", "arena"), "ImportFormatError", ("{name}", "line 2", "model_b"))
case("arena/winner-list", "importers", files(battles_json=json.dumps([ARENA, {**ARENA, "winner": ["model_a"]}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "winner"))
case("arena/model-not-text", "importers", files(battles_json=json.dumps([ARENA, {**ARENA, "model_a": {"n": 1}}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "model_a"))

HELM = [{"instance_id": "i1", "train_trial_index": 0, "stats": [{"name": {"name": "exact_match"}, "count": 1,
                                                                  "sum": 1.0, "mean": 1.0}]}]
def helm_file(content: str) -> Callable[[Path], dict[str, Any]]:
    """A HELM per-instance file in a run folder that names the model, as HELM writes it."""

    def make(tmp: Path) -> dict[str, Any]:
        run = tmp / "mmlu:subject=anatomy,model=org_m"
        run.mkdir()
        return files(per_instance_stats_json=content)(run)

    return make


case("helm/trial-text", "importers", helm_file(json.dumps([*HELM, {**HELM[0], "train_trial_index": "zero"}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "train_trial_index"))
case("helm/stat-not-object", "importers", helm_file(json.dumps([*HELM, {**HELM[0], "stats": [3]}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "stats"))
case("helm/stats-not-list", "importers", helm_file(json.dumps([*HELM, {**HELM[0], "stats": 3}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "stats"))
case("helm/stat-text", "importers",
     helm_file(json.dumps([*HELM, {"instance_id": "i2", "train_trial_index": 0,
                                                       "stats": [{"name": {"name": "exact_match"}, "mean": "one"}]}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "mean"))
case("helm/no-name", "importers",
     helm_file(json.dumps([*HELM, {"instance_id": "i2", "stats": [{"mean": 1.0}]}])),
     read_api(), info_cli(), "ImportFormatError", ("{name}", "name"))
case("helm/empty-list", "importers", helm_file("[]"), read_api(format="helm", model="m"),
     info_cli("--format", "helm"), "ImportFormatError", ("{name}",))


# ========================================================================= 4. leaderboard cells
def board(rows: list[list[str]], header: str = "Model,CoLA,MRPC,RTE") -> Callable[[Path], dict[str, Any]]:
    return files(board_csv=header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")


OK_ROWS = [["m1", "70.1", "93.9", "88.0"], ["m2", "60.5", "90.0", "85.1"], ["m3", "55.0", "89.2", "80.3"]]


def _cell(value: str, row: int = 1, col: int = 2) -> list[list[str]]:
    rows = [list(r) for r in OK_ROWS]
    rows[row][col] = value
    return rows


def board_ok(n_models: int, n_tasks: int, n_missing: int = 0) -> Callable[[Any, dict[str, Any]], str | None]:
    def check(sm: Any, ctx: dict[str, Any]) -> str | None:
        import numpy as np

        if len(sm.models) != n_models or len(sm.tasks) != n_tasks:
            return f"{len(sm.models)} models × {len(sm.tasks)} tasks, not {n_models} × {n_tasks}"
        if sm.n_missing != n_missing:
            return f"{sm.n_missing} missing scores, not {n_missing}"
        if np.isinf(sm.scores).any():
            return "a score is inf"
        return None

    return check


def _rules_api(ctx: dict[str, Any]) -> Any:
    import metaeval
    from metaeval.rankers import compare_rules

    return compare_rules(metaeval.read_leaderboard(ctx["path"]))


for label, value in (("text", "abc"), ("slash", "3/"), ("inf", "inf"), ("minus-inf", "-inf"), ("plus-inf", "+Infinity"),
                     ("percent-text", "high%"), ("double-dot", "1.2.3"), ("formula", "=1+1")):
    case(f"board/cell-{label}", "leaderboard", board(_cell(value)), board_api(), vote_cli(), "ImportFormatError",
         ("{name}", "line 3", "MRPC"))
for label, value, n_missing in (("empty", "", 1), ("nan", "nan", 1), ("NA", "NA", 1), ("dash", "-", 1)):
    case(f"board/cell-{label}", "leaderboard", board(_cell(value)), board_api(), vote_cli(), None,
         check=board_ok(3, 3, n_missing))
case("board/cell-percent", "leaderboard", board(_cell("91.5%")), board_api(), vote_cli(), None, check=board_ok(3, 3))
case("board/cell-split", "leaderboard", board([[r[0], r[1], "93.9/91.8", r[3]] for r in OK_ROWS]), board_api(),
     vote_cli(), None, check=board_ok(3, 4))
for label, value in (("1e308", "1e308"), ("minus-1e308", "-1e308"), ("two-1e308", "1e308")):
    rows = _cell(value)
    if label == "two-1e308":
        rows[1][3] = "1e308"
    case(f"board/cell-{label}", "leaderboard", board(rows), _rules_api, vote_cli(), "ImportFormatError",
         ("{name}", "line 3", "MRPC"), also_ok=finite_result, cli_also_ok=no_nonfinite_text)
case("board/rules-on-a-good-board", "leaderboard", board(OK_ROWS), _rules_api, vote_cli(), None, check=finite_result,
     cli_check=no_nonfinite_text)
case("board/cell-overflow", "leaderboard", board(_cell("1e999")), board_api(), vote_cli(), "ImportFormatError",
     ("{name}", "line 3", "MRPC"))
case("board/cell-ragged-slash", "leaderboard", board(_cell("93.9/91.8")), board_api(), vote_cli(),
     "ImportFormatError", ("{name}", "line 3", "MRPC"))
case("board/duplicated-model-rows", "leaderboard", board([*OK_ROWS, ["m2", "61", "91", "86"]]), board_api(),
     vote_cli(), None, check=lambda sm, ctx: None if "m2 (2)" in sm.models and any("repeat" in n for n in sm.notes)
     else f"repeated model names not numbered and noted: {sm.models}")  # documented: numbered '(2)', with a warning
case("board/duplicated-columns", "leaderboard", board(OK_ROWS, header="Model,CoLA,MRPC,MRPC"), board_api(),
     vote_cli(), "ImportFormatError", ("{name}", "line 1", "MRPC"))
case("board/single-row", "leaderboard", board(OK_ROWS[:1]),
     lambda ctx: __import__("metaeval").rankers.compare_rules(__import__("metaeval").read_leaderboard(ctx["path"])),
     vote_cli(), "InsufficientDataError", ("model",))
case("board/single-column", "leaderboard", board([r[:2] for r in OK_ROWS], header="Model,CoLA"),
     lambda ctx: __import__("metaeval").rankers.compare_rules(__import__("metaeval").read_leaderboard(ctx["path"])),
     vote_cli(), "InsufficientDataError", ("CoLA",))
case("board/all-missing-column", "leaderboard", board([[r[0], r[1], "", r[3]] for r in OK_ROWS]), board_api(),
     vote_cli(), None, check=board_ok(3, 2))
case("board/all-missing-column-asked", "leaderboard", board([[r[0], r[1], "", r[3]] for r in OK_ROWS]),
     board_api(tasks=["CoLA", "MRPC"]), vote_cli("--tasks", "CoLA,MRPC"), "ImportFormatError", ("{name}", "MRPC"))
case("board/all-text", "leaderboard", board([[r[0], "a", "b", "c"] for r in OK_ROWS]), board_api(), vote_cli(),
     "ImportFormatError", ("{name}", "numeric"))
case("board/header-only", "leaderboard", files(board_csv="Model,CoLA,MRPC\n"), board_api(), vote_cli(),
     "ImportFormatError", ("{name}", "no rows"))
case("board/empty-model-name", "leaderboard", board(_cell("", row=1, col=0)), board_api(), vote_cli(),
     "ImportFormatError", ("{name}", "Model"))
case("board/missing-model-column", "leaderboard", board(OK_ROWS), board_api(model="Team"),
     vote_cli("--model", "Team"), "ImportFormatError", ("{name}", "Team"))
case("board/unknown-task", "leaderboard", board(OK_ROWS), board_api(tasks=["BoolQ"]), vote_cli("--tasks", "BoolQ"),
     "ImportFormatError", ("{name}", "BoolQ"))
case("board/unknown-exclude", "leaderboard", board(OK_ROWS), board_api(exclude=["BoolQ"]),
     vote_cli("--exclude", "BoolQ"), "MetaevalError", ("{name}", "BoolQ"))
case("board/top-zero", "leaderboard", board(OK_ROWS), board_api(top=0), vote_cli("--top", "0"), "ParameterError",
     ("top",))
case("board/top-negative", "leaderboard", board(OK_ROWS), board_api(top=-2), vote_cli("--top", "-2"),
     "ParameterError", ("top",))
case("board/top-text", "leaderboard", board(OK_ROWS), board_api(top="3"), vote_cli("--top", "three"),
     "ParameterError", ("top",))
case("board/unknown-rule", "leaderboard", board(OK_ROWS),
     lambda ctx: __import__("metaeval").rankers.compare_rules(__import__("metaeval").read_leaderboard(ctx["path"]),
                                                              rules=["dictator"]),
     vote_cli("--rules", "dictator"), "MetaevalError", ("dictator",))
case("board/judgments-table", "leaderboard", files(t_csv=GOOD_PAIR), board_api(), vote_cli(), "ImportFormatError",
     ("{name}",))
case("board/tsv-bom-crlf", "leaderboard", files(board_tsv="\ufeffModel\tCoLA\tMRPC\r\nm1\t70\t90\r\nm2\t60\t80\r\n"),
     board_api(), vote_cli(), None, check=board_ok(2, 2))
case("board/lm-eval-two-files-same-model", "leaderboard",
     lambda tmp: {"paths": [str(_lm_results(tmp / "a.json", "m")), str(_lm_results(tmp / "b.json", "m"))],
                  "path": str(tmp / "a.json"), "name": "b.json"},
     lambda ctx: __import__("metaeval").read_leaderboard(ctx["paths"]), None, "ImportFormatError",
     ("{name}", "m"))


def _lm_results(p: Path, model: str) -> Path:
    p.write_text(json.dumps({"results": {"t1": {"acc,none": 0.5}, "t2": {"acc,none": 0.7}},
                             "config": {"model_args": f"pretrained={model}"}}))
    return p


def _rank_pandas(ctx: dict[str, Any]) -> Any:
    import pandas as pd

    import metaeval

    return metaeval.rank(pd.read_csv(ctx["path"]))


case("api/rank-pandas-frame", "importers", files(t_csv=GOOD_PAIR), _rank_pandas, None, None,
     check=lambda res, ctx: None if len(res.to_polars()) == 3 else "not 3 models")


def _read_pandas_bad(ctx: dict[str, Any]) -> Any:
    import pandas as pd

    import metaeval

    frame = pd.read_csv(ctx["path"])
    frame.loc[3, "outcome"] = "A>B"
    return metaeval.read(frame)


case("api/read-pandas-bad-outcome", "importers", files(t_csv=GOOD_PAIR), _read_pandas_bad, None, "SchemaError",
     ("DataFrame", "row 4", "outcome"))


def _read_not_a_table(ctx: dict[str, Any]) -> Any:
    import metaeval

    return metaeval.read(12345)  # type: ignore[arg-type]


case("api/read-an-int", "importers", files(t_csv=GOOD_PAIR), _read_not_a_table, None, "MetaevalError",
     ("source",))


# ======================================================================= 5. parameter ranges
def j_pair(ctx: dict[str, Any]) -> Any:
    import metaeval

    return metaeval.read(ctx["path"])


PAIR = files(t_csv=GOOD_PAIR)
POINT = files(t_csv=GOOD_POINT)
NAN, INF = float("nan"), float("inf")


def _sample_size_call(kw: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    def call(ctx: dict[str, Any]) -> Any:
        from metaeval.stats import sample_size

        return sample_size(**kw)

    return call


ONE_JUDGE = files(t_csv=pointwise_csv([r for r in pointwise_rows() if r[1] == "judge-x"]))
POINT2 = files(t_csv=pointwise_csv([(*r[:3], int(r[3]) % 2) for r in pointwise_rows() if r[1] == "judge-x"]))


def param(fn: str, data: Callable[[Path], dict[str, Any]] | None, kw: dict[str, Any], cli: list[str] | None,
          cli_option: str | None = None, owner: str | None = None, args: tuple[Any, ...] = (),
          expect: str = "ParameterError", slow: bool = False) -> None:
    """A parameter case: ``fn`` (``module:function``) called on the table read from ``data`` (or
    on ``args`` alone when ``data`` is None) with ``kw``; ``cli`` the command line (``{path}``
    filled in). The API message must name the parameter, the CLI message the option."""
    label = ",".join(f"{k}={v!r}" for k, v in kw.items())
    name = next(iter(kw))

    def api(ctx: dict[str, Any]) -> Any:
        import importlib

        import metaeval

        mod, _, attr = fn.partition(":")
        func = getattr(importlib.import_module(mod), attr)
        if data is None:
            return func(*args, **kw)
        return func(metaeval.read(ctx["path"]), *args, **kw)

    command = None if cli is None else (lambda ctx: [a.format(**ctx) for a in cli])
    opt = cli_option or next((a for a in cli or () if a.startswith("--")), None)
    # a range check names the option the user typed; a value not in the table may name either
    cli_names = () if not opt else (opt,) if expect == "ParameterError" else (f"{opt}|{name}",)
    case(f"param/{attr_name(fn)}/{label}", "parameters", data or PAIR, api, command, expect, (name,),
         cli_names=cli_names, owner=owner, slow=slow)


def attr_name(fn: str) -> str:
    return fn.rpartition(":")[2]


LEVELS = ((-0.5, "-0.5"), (0.0, "0"), (1.0, "1"), (1.5, "1.5"), (NAN, "nan"), (INF, "inf"))
RESAMPLES = ((-3, "-3"), (0, "0"), (2.5, "2.5"))

for v, t in LEVELS:
    param("metaeval.stats:win_rates", PAIR, {"confidence_level": v}, ["winrates", "{path}", "--confidence-level", t])
for v, t in RESAMPLES:
    param("metaeval.stats:win_rates", PAIR, {"n_resamples": v}, ["winrates", "{path}", "--n-resamples", t])
param("metaeval.stats:win_rates", PAIR, {"rng": -1}, ["winrates", "{path}", "--seed", "-1"])
param("metaeval.stats:win_rates", PAIR, {"rng": "seed"}, ["winrates", "{path}", "--seed", "abc"])
param("metaeval.stats:win_rates", PAIR, {"tie_value": 2.0}, None)

for v, t in ((1.5, "1.5"), (-0.5, "-0.5"), (NAN, "nan")):
    param("metaeval.stats:compare", ONE_JUDGE, {"confidence_level": v},
          ["compare", "{path}", "alpha", "beta", "--confidence-level", t, "--test", "bootstrap",
           "--n-resamples", "200"],
          args=("alpha", "beta"))
for v, t in RESAMPLES:
    param("metaeval.stats:compare", ONE_JUDGE, {"n_resamples": v, "test": "bootstrap"},
          ["compare", "{path}", "alpha", "beta", "--test", "bootstrap", "--n-resamples", t],
          cli_option="--n-resamples", args=("alpha", "beta"))
param("metaeval.stats:compare", ONE_JUDGE, {"alternative": "sideways"},
      ["compare", "{path}", "alpha", "beta", "--alternative", "sideways"], args=("alpha", "beta"))
param("metaeval.stats:compare", ONE_JUDGE, {"rope": -1.0}, ["compare", "{path}", "alpha", "beta", "--bayes", "--rope",
                                                           "-1"], args=("alpha", "beta"), cli_option="--rope")
case("param/compare/unknown-model", "parameters", ONE_JUDGE,
     lambda ctx: __import__("metaeval").compare(__import__("metaeval").read(ctx["path"]), "alpha", "omega"),
     lambda ctx: ["compare", ctx["path"], "alpha", "omega"], "MetaevalError", ("omega",))

for v, t in ((1.5, "1.5"), (0.0, "0"), (NAN, "nan")):
    param("metaeval.rankers:rank", PAIR, {"confidence_level": v, "n_resamples": 20},
          ["rank", "{path}", "--confidence-level", t, "--n-resamples", "20"], cli_option="--confidence-level")
param("metaeval.rankers:rank", PAIR, {"n_resamples": -3}, ["rank", "{path}", "--n-resamples", "-3"])
param("metaeval.rankers:rank", PAIR, {"prior": -1.0, "ci": "none"}, ["rank", "{path}", "--prior", "-1", "--ci",
                                                                    "none"])
param("metaeval.rankers:rank", PAIR, {"prior": NAN, "ci": "none"}, ["rank", "{path}", "--prior", "nan", "--ci",
                                                                   "none"])
param("metaeval.rankers:rank", PAIR, {"intensity": -1.0, "n_resamples": 20},
      ["rank", "{path}", "--method", "alpha_rank", "--intensity", "-1", "--n-resamples", "20"],
      args=("alpha_rank",), cli_option="--intensity")
param("metaeval.rankers:rank", PAIR, {"intensity": NAN, "n_resamples": 20},
      ["rank", "{path}", "--method", "alpha_rank", "--intensity", "nan", "--n-resamples", "20"],
      args=("alpha_rank",), cli_option="--intensity")
param("metaeval.rankers:rank", PAIR, {"ci": "magic"}, ["rank", "{path}", "--ci", "magic"])
param("metaeval.rankers:rank", PAIR, {"anchor": "omega", "ci": "none"}, ["rank", "{path}", "--anchor", "omega",
                                                                        "--ci", "none"], expect="MetaevalError")
param("metaeval.rankers:rank", PAIR, {"cluster": "nosuch", "n_resamples": 20},
      ["rank", "{path}", "--cluster", "nosuch", "--n-resamples", "20"], expect="MetaevalError")
case("param/rank/unknown-method", "parameters", PAIR,
     lambda ctx: __import__("metaeval").rank(__import__("metaeval").read(ctx["path"]), "copeland2"),
     lambda ctx: ["rank", ctx["path"], "--method", "copeland2"], "MetaevalError", ("copeland2",))

for v, t in ((-0.5, "-0.5"), (1.5, "1.5"), (NAN, "nan")):
    param("metaeval.bias:audit", PAIR, {"confidence_level": v, "n_resamples": 50},
          ["bias", "{path}", "--confidence-level", t, "--n-resamples", "50"], cli_option="--confidence-level")
for v, t in ((-3, "-3"), (2.5, "2.5")):
    param("metaeval.bias:audit", PAIR, {"n_resamples": v}, ["bias", "{path}", "--n-resamples", t])
param("metaeval.bias:audit", PAIR, {"reference": "nobody", "n_resamples": 50},
      ["bias", "{path}", "--reference", "nobody", "--n-resamples", "50"], expect="MetaevalError")

for kw, cli in (({"delta": NAN, "sd": 1.0}, ["--delta", "nan", "--sd", "1"]),
                ({"delta": 0.0, "sd": 1.0}, ["--delta", "0", "--sd", "1"]),
                ({"delta": INF, "sd": 1.0}, ["--delta", "inf", "--sd", "1"]),
                ({"delta": 0.1, "sd": -1.0}, ["--delta", "0.1", "--sd", "-1"]),
                ({"delta": 0.1, "sd": 1.0, "power": 1.5}, ["--delta", "0.1", "--sd", "1", "--power", "1.5"]),
                ({"delta": 0.1, "sd": 1.0, "alpha": 0.0}, ["--delta", "0.1", "--sd", "1", "--alpha", "0"]),
                ({"delta": 0.1, "p_a": 1.5, "p_b": 0.5}, ["--delta", "0.1", "--p-a", "1.5", "--p-b", "0.5"])):
    bad = [k for k in kw if k not in ("sd", "delta")] or ([k for k in kw if k == "sd"] if kw["delta"] == 0.1 else
                                                          ["delta"])
    key = bad[0]
    opt = "--" + key.replace("_", "-")
    label = ",".join(f"{k}={v!r}" for k, v in kw.items())
    case(f"param/sample_size/{label}", "parameters", PAIR,
         _sample_size_call(kw),
         (lambda c: lambda ctx: ["power", *c])(cli), "ParameterError", (key,), cli_names=(opt,))
param("metaeval.stats:power_from_pilot", ONE_JUDGE, {"delta": NAN}, ["power", "{path}", "alpha", "beta", "--delta",
                                                                    "nan"], args=("alpha", "beta"))

for v, t in ((-3, "-3"), (0, "0")):
    param("metaeval.agreement:krippendorff_alpha", POINT, {"n_resamples": v},
          ["agreement", "{path}", "--n-resamples", t])
param("metaeval.agreement:krippendorff_alpha", POINT, {"confidence_level": 2.0}, None)
case("param/krippendorff_alpha/unknown-judge", "parameters", POINT,
     lambda ctx: __import__("metaeval.agreement", fromlist=["x"]).krippendorff_alpha(
         __import__("metaeval").read(ctx["path"]), judges=["nobody", "judge-x"]),
     lambda ctx: ["agreement", ctx["path"], "--judges", "nobody,judge-x"], "MetaevalError", ("nobody",))

for kw, cli in (({"max_size": 0}, ["--max-size", "0"]), ({"holdout": 1.5}, ["--holdout", "1.5"]),
                ({"budget": -1.0}, ["--budget", "-1"]), ({"n_resamples": -3}, ["--n-resamples", "-3"]),
                ({"confidence_level": 1.5}, ["--confidence-level", "1.5"])):
    param("metaeval.juries:select", PAIR, {**kw, "n_resamples": kw.get("n_resamples", 50)},
          ["select-judge", "{path}", *cli, *([] if "n_resamples" in kw else ["--n-resamples", "50"])],
          cli_option=cli[0])


def _report_api(**kw: Any) -> Callable[[dict[str, Any]], Any]:
    def call(ctx: dict[str, Any]) -> Any:
        import metaeval
        from metaeval import report

        rep = report.build(metaeval.read(ctx["path"]), progress=False, **kw)
        return rep.write(ctx["out"], formats=["md"], figure_formats=[])

    return call


def _with_out(make: Callable[[Path], dict[str, Any]], old: bool = True) -> Callable[[Path], dict[str, Any]]:
    def both(tmp: Path) -> dict[str, Any]:
        ctx = make(tmp)
        out = tmp / "report"
        if old:
            (out / "data").mkdir(parents=True)
            (out / "report.md").write_text("old report")
            (out / "data" / "old.csv").write_text("a,b\n1,2\n")
        ctx["out"] = str(out)
        return ctx

    return both


def report_cli(*extra: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda ctx: ["report", ctx["path"], "-o", ctx["out"], "--format", "md", "--figures", "", *extra]


case("param/report/n_resamples=-3", "parameters", _with_out(PAIR), _report_api(n_resamples=-3),
     report_cli("--n-resamples", "-3"), "ParameterError", ("n_resamples",), cli_names=("--n-resamples",),
     output="out")
case("param/report/focus=everything", "parameters", _with_out(PAIR), _report_api(focus="everything"), None,
     "ParameterError", ("focus",), output="out")
case("param/report/format=docx", "parameters", _with_out(PAIR),
     lambda ctx: __import__("metaeval.report", fromlist=["x"]).build(__import__("metaeval").read(ctx["path"]),
                                                                      n_resamples=50, progress=False).write(
         ctx["out"], formats=["docx"], figure_formats=[]),
     lambda ctx: ["report", ctx["path"], "-o", ctx["out"], "--format", "docx", "--figures", "", "--n-resamples", "50"],
     "ParameterError", ("docx",), output="out")
case("cli/json-error-shape", "parameters", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,A>B\n"), None,
     lambda ctx: ["winrates", ctx["path"], "--json"], "SchemaError", ("{name}", "line 3", "outcome"))
case("cli/json-error-unreadable-file", "parameters", _mk_missing, None, lambda ctx: ["info", ctx["path"], "--json"],
     "ImportFormatError", ("{name}", "no such"))
case("cli/unknown-command", "parameters", PAIR, None, lambda ctx: ["frobnicate", ctx["path"]], "MetaevalError",
     ("frobnicate",))
case("cli/unknown-option", "parameters", PAIR, None, lambda ctx: ["winrates", ctx["path"], "--levle", "0.9"],
     "MetaevalError", ("--levle",))
case("cli/missing-argument", "parameters", PAIR, None, lambda ctx: ["compare", ctx["path"]], "MetaevalError",
     ("MODEL_A",))
case("cli/bad-map", "parameters", PAIR, None,
     lambda ctx: ["import", ctx["path"], "-o", ctx["path"] + ".parquet", "--map", "itemquestion"], "MetaevalError",
     ("--map",))
case("cli/bad-value-map", "parameters", PAIR, None,
     lambda ctx: ["import", ctx["path"], "-o", ctx["path"] + ".parquet", "--value", "outcome"], "MetaevalError",
     ("--value",))
case("cli/import-output-not-parquet", "parameters", PAIR, None,
     lambda ctx: ["import", ctx["path"], "-o", ctx["path"] + ".csv"], "MetaevalError", ("--output",))
case("cli/bad-judge-spec", "parameters", files(items_jsonl=jl({"id": "1", "prompt": "p", "response_a": "a",
                                                              "response_b": "b"})), None,
     lambda ctx: ["probe", ctx["path"], "--judge", "carrier-pigeon"], "MetaevalError", ("carrier-pigeon",))
case("cli/judge-module-missing", "parameters", files(items_jsonl=jl({"id": "1", "prompt": "p", "response_a": "a",
                                                                    "response_b": "b"})), None,
     lambda ctx: ["probe", ctx["path"], "--judge", "python:no_such_module_xyz:judge"], "MetaevalError",
     ("no_such_module_xyz",))


# ============================================================================ 6. judge faults
JUDGES_PY = '''
import math, time, zlib

def _h(r):
    return zlib.crc32((r.text + "|" + "|".join(r.responses) + "|" + str(getattr(r, "rep", 0))).encode())

def _p(r):
    return 0.9 if "four" in r.responses[0] else 0.1

def nan_some(r):
    return float("nan") if _h(r) % 3 == 0 else _p(r)

def nan_all(r):
    return float("nan")

def out_of_range(r):
    return 1.7 if _h(r) % 3 == 0 else _p(r)

def negative(r):
    return -0.3 if _h(r) % 3 == 0 else _p(r)

def inf_some(r):
    return float("inf") if _h(r) % 3 == 0 else _p(r)

def raises_some(r):
    if "five" in r.responses[0]:  # every request with the worse answer shown first
        raise RuntimeError("judge backend flaked")
    return _p(r)

def raises_all(r):
    raise RuntimeError("judge backend is down")

def slow(r):
    time.sleep(0.02)
    return _p(r)

def text(r):
    return "maybe"

def none_some(r):
    return None if _h(r) % 3 == 0 else _p(r)
'''

ITEMS = [{"id": f"i{i}", "prompt": "What is two plus two?", "response_a": "It is four. Two and two make four.",
          "response_b": "It is five, I believe. That is the sum."} for i in range(12)]


def _mk_judge(tmp: Path) -> dict[str, Any]:
    mod = f"hostile_judges_{abs(hash(str(tmp))) % 10**8}"
    (tmp / f"{mod}.py").write_text(JUDGES_PY)
    items = tmp / "items.jsonl"
    items.write_text(jl(*ITEMS))
    return {"path": str(items), "name": items.name, "module": mod, "tmp": str(tmp), "sys_path": str(tmp)}


def _probe_api(fn: str) -> Callable[[dict[str, Any]], Any]:
    def call(ctx: dict[str, Any]) -> Any:
        import importlib

        from metaeval import probes

        judge = probes.CallableJudge(getattr(importlib.import_module(ctx["module"]), fn), name=f"{ctx['module']}.{fn}")
        return probes.run(ctx["path"], judge, ["order_swap"], progress=False, rng=0)

    return call


def _probe_cli(fn: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda ctx: ["probe", ctx["path"], "--judge", f"python:{ctx['module']}:{fn}", "--probes", "order_swap"]


def abstentions_counted(rep: Any, ctx: dict[str, Any]) -> str | None:
    """A faulty verdict is an abstention, counted and shown, never a tie (the judge never says ½)."""
    from metaeval.errors import MetaevalError

    try:
        j = rep.judgments()
    except MetaevalError:  # no verdict at all: there is no table of judgments to make
        j = None
    if j is not None:
        frame = j.all_rows() if hasattr(j, "all_rows") else j.frame
        ties = int((frame["outcome"] == "tie").sum())
        if ties:
            return f"{ties} faulty verdicts became ties"
    counted = getattr(rep, "abstentions", None)
    if counted is None or len(counted) == 0:
        return "the faulty verdicts are not counted as abstentions"
    text = rep.summary().lower()
    if "abstain" not in text and "abstention" not in text:
        return "the summary does not show the abstentions"
    return None


def cli_abstentions(out: str, ctx: dict[str, Any]) -> str | None:
    return None if "abstain" in out.lower() or "abstention" in out.lower() else "no abstentions shown"


for fn in ("nan_some", "out_of_range", "negative", "inf_some", "raises_some", "none_some"):
    case(f"judge/{fn}", "judges", _mk_judge, _probe_api(fn), _probe_cli(fn), None, check=abstentions_counted,
         cli_check=cli_abstentions)
for fn in ("nan_all", "raises_all", "text"):  # no usable verdict: the run finishes, every request an abstention
    case(f"judge/{fn}", "judges", _mk_judge, _probe_api(fn), _probe_cli(fn), None, check=abstentions_counted,
         cli_check=cli_abstentions)
case("judge/slow", "judges", _mk_judge, _probe_api("slow"), _probe_cli("slow"), None,
     check=lambda rep, ctx: None if len(rep.table) == 2 else f"{len(rep.table)} probe rows, not 2 (order_swap, repeat)")
case("judge/items-bad-json", "judges",
     with_ctx(_mk_judge, lambda tmp, ctx: Path(ctx["path"]).write_text(jl(*ITEMS[:2]) + "{oops\n")),
     _probe_api("slow"), _probe_cli("slow"), "ImportFormatError", ("{name}", "line 3"))
case("judge/items-missing-field", "judges",
     with_ctx(_mk_judge, lambda tmp, ctx: Path(ctx["path"]).write_text(jl(*ITEMS[:2], {"id": "x", "prompt": "p"}))),
     _probe_api("slow"), _probe_cli("slow"), "ImportFormatError", ("{name}", "3", "response"))
case("judge/items-invalid-utf8", "judges",
     with_ctx(_mk_judge, lambda tmp, ctx: Path(ctx["path"]).write_bytes(jl(*ITEMS[:2]).encode() + b'{"id": "\xff"}\n')),
     _probe_api("slow"), _probe_cli("slow"), "ImportFormatError", ("{name}", "line 3", "UTF-8"))
case("judge/items-missing-file", "judges",
     with_ctx(_mk_judge, lambda tmp, ctx: Path(ctx["path"]).unlink()), _probe_api("slow"), _probe_cli("slow"),
     "ImportFormatError", ("{name}",))
case("judge/batch-size-zero", "judges", _mk_judge,
     lambda ctx: __import__("metaeval.probes", fromlist=["x"]).run(
         ctx["path"], __import__("metaeval.probes", fromlist=["x"]).CallableJudge(lambda r: 0.9), ["order_swap"],
         batch_size=0, progress=False),
     lambda ctx: ["probe", ctx["path"], "--judge", f"python:{ctx['module']}:slow", "--batch-size", "0"],
     "ParameterError", ("batch_size",), cli_names=("--batch-size",))
case("judge/unknown-probe", "judges", _mk_judge,
     lambda ctx: __import__("metaeval.probes", fromlist=["x"]).run(
         ctx["path"], __import__("metaeval.probes", fromlist=["x"]).CallableJudge(lambda r: 0.9), ["telepathy"],
         progress=False),
     lambda ctx: ["probe", ctx["path"], "--judge", f"python:{ctx['module']}:slow", "--probes", "telepathy"],
     "MetaevalError", ("telepathy",))


def _mk_torn_cache(tmp: Path) -> dict[str, Any]:
    ctx = _mk_judge(tmp)
    cache = tmp / "cache"
    cache.mkdir()
    (cache / "verdicts.jsonl").write_bytes(b'{"key": "abc", "value": 0.5}\n{"key": "def", "val\xff')
    ctx["cache"] = str(cache)
    return ctx


case("judge/torn-invalid-utf8-cache", "judges", _mk_torn_cache,
     lambda ctx: __import__("metaeval.probes", fromlist=["x"]).run(
         ctx["path"], __import__("metaeval.probes", fromlist=["x"]).CallableJudge(
             __import__(ctx["module"]).slow, name="slow"), ["order_swap"], cache=ctx["cache"],
         progress=False),
     lambda ctx: ["probe", ctx["path"], "--judge", f"python:{ctx['module']}:slow", "--probes", "order_swap",
                  "--cache", ctx["cache"]], None,
     check=lambda rep, ctx: None if len(rep.table) == 2 else "wrong table")


# ============================================================ 7. outputs: read-only, half-written
def _mk_readonly_out(tmp: Path) -> dict[str, Any]:
    ctx = PAIR(tmp)
    if os.geteuid() == 0:  # root writes through permission bits: use a file system that refuses writes
        ctx["out"] = f"/sys/kernel/metaeval-hostile-{os.getpid()}"
    else:
        ro = tmp / "readonly"
        ro.mkdir()
        ro.chmod(0o555)
        ctx["out"] = str(ro / "report")
    return ctx


def _report_ro_api(ctx: dict[str, Any]) -> Any:
    import metaeval
    from metaeval import report

    started = time.perf_counter()
    try:
        rep = report.build(metaeval.read(ctx["path"]), n_resamples=200, progress=False)
        return rep.write(ctx["out"], formats=["md"], figure_formats=[])
    finally:
        ctx["_seconds"] = time.perf_counter() - started


case("output/report-into-readonly-folder", "output", _mk_readonly_out, _report_ro_api,
     lambda ctx: ["report", ctx["path"], "-o", ctx["out"], "--format", "md", "--figures", "", "--n-resamples", "200"],
     "MetaevalError", ("metaeval-hostile" if os.geteuid() == 0 else "report",), output="out")


def _mk_board_readonly(tmp: Path) -> dict[str, Any]:
    ctx = files(board_csv=BOARD)(tmp)
    ctx["out"] = _mk_readonly_out(tmp)["out"]
    return ctx


case("output/board-report-into-readonly-folder", "output", _mk_board_readonly, None,
     lambda ctx: ["audit-leaderboard", ctx["path"], "-o", ctx["out"], "--format", "md", "--figures", "",
                  "--n-resamples", "50"], "MetaevalError", ("metaeval-hostile" if os.geteuid() == 0 else "report",),
     output="out")
case("output/report-bad-table-keeps-old-report", "output",
     _with_out(files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,A>B\n")), _report_api(n_resamples=50),
     report_cli("--n-resamples", "50"), "SchemaError", ("{name}", "line 3", "outcome"), output="out")


def _report_replaced(res: Any, ctx: dict[str, Any]) -> str | None:
    """A report written over an older one leaves none of the old files behind."""
    out = Path(ctx["out"])
    if (out / "data" / "old.csv").exists():
        return "the old report's data/old.csv is still there, beside the new data"
    if (out / "report.md").exists() and (out / "report.md").read_text(encoding="utf-8") == "old report":
        return "report.md is the old one"
    return None


def _cli_report_replaced(stdout: str, ctx: dict[str, Any]) -> str | None:
    return _report_replaced(None, ctx)


case("output/report-over-an-older-one", "output", _with_out(PAIR), _report_api(n_resamples=50),
     report_cli("--n-resamples", "50"), None, check=_report_replaced, cli_check=_cli_report_replaced)


def _formula_cells(res: Any, ctx: dict[str, Any]) -> str | None:
    """Report CSVs neutralise cells a spreadsheet would run as a formula (OWASP)."""
    import csv

    for f in sorted(Path(ctx["out"]).rglob("*.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                bad = [c for c in row if c[:1] in ("=", "+", "-", "@") and "HYPERLINK" in c]
                if bad:
                    return f"{f.name} keeps the formula {bad[0]!r}"
    return None


case("output/report-formula-cells", "output",
     _with_out(files(t_csv=pairwise_csv([(r[0], r[1], r[2].replace("alpha", '=HYPERLINK("http://x.test")'), r[3], r[4])
                                         for r in _rows_pairwise()]).replace('"', '""').replace(
                                             '=HYPERLINK(""http://x.test"")', '"=HYPERLINK(""http://x.test"")"')),
               old=False),
     _report_api(n_resamples=50), report_cli("--n-resamples", "50"), None, check=_formula_cells,
     cli_check=lambda out, ctx: _formula_cells(None, ctx))


def _mk_probe_out_under_file(tmp: Path) -> dict[str, Any]:
    ctx = _mk_judge(tmp)
    blocker = tmp / "blocker"
    blocker.write_text("x")
    ctx["out"] = str(blocker / "verdicts.parquet")
    return ctx


case("output/probe-output-under-a-file", "output", _mk_probe_out_under_file, None,
     lambda ctx: ["probe", ctx["path"], "--judge", f"python:{ctx['module']}:slow", "--probes", "order_swap", "-o",
                  ctx["out"]], "MetaevalError", ("verdicts.parquet",), output="out")


# ========================================================== 8. numerics that must not go silent
def _scores_file(values: dict[int, float]) -> Callable[[Path], dict[str, Any]]:
    rows = [r for r in pointwise_rows() if r[1] == "judge-x"]
    rows = [(*r[:3], values.get(i, r[3])) for i, r in enumerate(rows)]
    return files(t_csv=pointwise_csv(rows))


for label, vals in (("1e308", {0: 1e308, 2: 1e308}), ("minus-1e308", {0: -1e308, 3: 1e308}),
                    ("1e300-spread", {i: (1e300 if i % 2 else -1e300) for i in range(0, 48, 3)})):
    case(f"numerics/compare-{label}", "numerics", _scores_file(vals),
         lambda ctx: __import__("metaeval").compare(__import__("metaeval").read(ctx["path"]), "alpha", "beta",
                                                    test="paired_t"),
         lambda ctx: ["compare", ctx["path"], "alpha", "beta", "--test", "paired_t"], "SchemaError",
         ("{name}", "score"), also_ok=finite_numbers, cli_also_ok=no_nonfinite_text)
case("numerics/krippendorff-1e308", "numerics",
     files(t_csv=pointwise_csv([(*r[:3], 1e308 if i % 5 == 0 else r[3]) for i, r in enumerate(pointwise_rows())])),
     lambda ctx: __import__("metaeval.agreement", fromlist=["x"]).krippendorff_alpha(
         __import__("metaeval").read(ctx["path"]), "interval", n_resamples=50),
     lambda ctx: ["agreement", ctx["path"], "--scale", "interval", "--n-resamples", "50"], "SchemaError",
     ("{name}", "score"), also_ok=finite_numbers, cli_also_ok=no_nonfinite_text)
case("numerics/all-ties-davidson", "numerics",
     files(t_csv=pairwise_csv([(r[0], r[1], r[2], r[3], "tie") for r in _rows_pairwise()])),
     lambda ctx: _warned(lambda: __import__("metaeval").rank(__import__("metaeval").read(ctx["path"]), "davidson",
                                                             n_resamples=50, rng=0)),
     lambda ctx: ["rank", ctx["path"], "--method", "davidson", "--n-resamples", "50", "--seed", "0"], None,
     check=lambda res, ctx: None if res[1] else "no warning about the all-ties table",
     cli_check=lambda out, ctx: None)
case("numerics/one-item", "numerics", files(t_csv=PAIR_HEADER + "\nq1,h,x,y,a\n"),
     lambda ctx: __import__("metaeval.stats", fromlist=["x"]).win_rates(__import__("metaeval").read(ctx["path"]),
                                                                         n_resamples=50, rng=0),
     lambda ctx: ["winrates", ctx["path"], "--n-resamples", "50", "--seed", "0"], None,
     check=lambda res, ctx: None, cli_check=lambda out, ctx: None)
case("numerics/compare-identical-models", "numerics",
     files(t_csv=pointwise_csv([(*r[:3], 3) for r in pointwise_rows() if r[1] == "judge-x"])),
     lambda ctx: _warned(lambda: __import__("metaeval").compare(__import__("metaeval").read(ctx["path"]), "alpha",
                                                                "beta")),
     lambda ctx: ["compare", ctx["path"], "alpha", "beta"], None,
     check=lambda res, ctx: None if (res[0].pvalue != res[0].pvalue or res[0].pvalue == 1.0) else
     f"p-value {res[0].pvalue} for two identical models")


def _warned(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """The result and the metaeval warnings raised while computing it."""
    from metaeval.errors import MetaevalWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fn()
    return res, [str(w.message) for w in caught if issubclass(w.category, MetaevalWarning)]


# =============================================================================== the classifier
class _Timeout(BaseException):
    """Raised by the per-case alarm (a BaseException, so that no ``except Exception`` eats it)."""


def expected_class(name: str) -> tuple[type[BaseException], ...]:
    """The classes an error must be an instance of: the named class of :mod:`metaeval.errors`,
    or, while it does not exist yet, its stand-in of :data:`FALLBACK` together with ``ValueError``."""
    from metaeval import errors

    cls = getattr(errors, name, None)
    if cls is not None:
        return (cls,)
    return (getattr(errors, FALLBACK[name]), ValueError)


def _is_expected(exc: BaseException, expect: str) -> bool:
    return any(all(isinstance(exc, k) for k in expected_class(name)) for name in expect.split("|"))


def _missing_names(message: str, names: tuple[str, ...], ctx: dict[str, Any]) -> list[str]:
    wanted = [n.format(**ctx) for n in names]
    return [w for w in wanted if not any(alt.lower() in message.lower() for alt in w.split("|"))]


def classify_api(c: Case, ctx: dict[str, Any], result: Any, exc: BaseException | None) -> tuple[str, str]:
    from metaeval.errors import MetaevalError

    if isinstance(exc, _Timeout):
        return "hang", f"no answer in {CASE_TIMEOUT} s"
    if isinstance(exc, MemoryError):
        return "crash", "memory: MemoryError (over the 1 GB limit)"
    if exc is not None and not isinstance(exc, MetaevalError):
        return "crash", f"{type(exc).__name__}: {str(exc)[:300]}"
    if exc is not None:
        msg = str(exc)
        if c.expect is None:
            return "unclear", f"error on a valid input: {type(exc).__name__}: {msg[:300]}"
        if not _is_expected(exc, c.expect):
            return "unclear", f"{type(exc).__name__}, expected {c.expect}: {msg[:300]}"
        if len(msg) >= MAX_MESSAGE:
            return "unclear", f"message of {len(msg)} characters: {msg[:200]}…"
        missing = _missing_names(msg, c.names, ctx)
        if missing:
            return "unclear", f"message does not name {missing}: {msg[:300]}"
        return "good", msg
    judge = c.check if c.expect is None else c.also_ok
    if judge is None:
        return "silent", f"no error (expected {c.expect}); got {type(result).__name__}"
    try:
        problem = judge(result, ctx)
    except Exception as e:  # the result cannot even be looked at
        return "crash", f"the result is unusable: {type(e).__name__}: {str(e)[:300]}"
    return ("silent", problem) if problem else ("good", "computed correctly")


def classify_cli(c: Case, ctx: dict[str, Any], code: int | None, out: str, err: str,
                 exc: BaseException | None) -> tuple[str, str]:
    if isinstance(exc, _Timeout):
        return "hang", f"no answer in {CASE_TIMEOUT} s"
    if isinstance(exc, MemoryError):
        return "crash", "memory: MemoryError (over the 1 GB limit)"
    if exc is not None:
        return "crash", f"traceback: {type(exc).__name__}: {str(exc)[:300]}"
    both = out + err
    if "Traceback (most recent call last)" in both:
        return "crash", "traceback printed"
    text = err.strip() or out.strip()
    if c.expect is not None and code == 2 and text.startswith("{"):  # --json: the error as a JSON object
        try:
            error = json.loads(text)["error"]
        except (ValueError, KeyError, TypeError):
            return "unclear", f"--json error is not a JSON object with `error`: {text[:300]}"
        from metaeval import errors

        cls = getattr(errors, str(error.get("type")), None)
        if cls is None or not _is_expected(cls.__new__(cls), c.expect):
            return "unclear", f"--json error type {error.get('type')!r}, expected {c.expect}"
        text = f"error: {error.get('message')}"
    if c.expect is not None:
        if code == 0 and c.cli_also_ok is not None:
            problem = c.cli_also_ok(out, ctx)
            return ("silent", problem) if problem else ("good", "computed correctly")
        if code == 0:
            return "silent", f"exit 0 (expected {c.expect}): {out.strip()[:200]}"
        if code != 2:
            return "crash", f"exit status {code}: {text[:300]}"
        if "unexpected " in text:
            return "crash", text[:300]
        if "error" not in text.lower():
            return "unclear", f"no error message: {text[:300]}"
        if len(text) >= MAX_MESSAGE:
            return "unclear", f"message of {len(text)} characters: {text[:200]}…"
        names = c.cli_names if c.cli_names is not None else c.names
        missing = _missing_names(text, names, ctx)
        if missing:
            return "unclear", f"message does not name {missing}: {text[:300]}"
        return "good", text
    if code != 0:
        kind = "unclear" if code == 2 and "unexpected " not in text else "crash"
        return kind, f"exit status {code} on a valid input: {text[:300]}"
    problem = c.cli_check(out, ctx) if c.cli_check is not None else None
    return ("silent", problem) if problem else ("good", "valid input read correctly")


def _snapshot(path: str | None) -> Any:
    """What is at ``path`` (a file's bytes, a folder's files), and the temporary files beside it."""
    if path is None:
        return None
    p = Path(path)
    try:
        if p.is_dir():
            content: Any = {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}
        elif p.is_file():
            content = p.read_bytes()
        else:
            content = None
        beside = sorted(x.name for x in p.parent.iterdir() if x.name != p.name) if p.parent.is_dir() else []
    except OSError:
        return ("unreadable", None)
    return content, beside


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_channel(c: Case, channel: str, base: Path) -> dict[str, Any]:
    """Run one case through one channel (``api`` or ``cli``) in this process and classify it."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{channel}-", dir=base))
    started = time.perf_counter()
    rss0 = _rss()
    ctx: dict[str, Any] = {"tmp": str(tmp)}
    try:
        ctx.update(c.make(tmp))
    except Exception as exc:  # the corpus itself is broken: say so loudly
        return {"category": "crash", "reason": f"making the case failed: {type(exc).__name__}: {exc}",
                "seconds": 0.0}
    if "sys_path" in ctx and ctx["sys_path"] not in sys.path:
        sys.path.insert(0, ctx["sys_path"])
    before = _snapshot(ctx.get(c.output)) if c.output else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if channel == "api":
            result, exc = None, None
            try:
                with _alarm(CASE_TIMEOUT):
                    result = c.api(ctx)  # type: ignore[misc]
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                exc = e
            category, reason = classify_api(c, ctx, result, exc)
        else:
            from metaeval.cli import main

            out, err = io.StringIO(), io.StringIO()
            code: int | None = None
            exc = None
            try:
                with _alarm(CASE_TIMEOUT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    main(c.cli(ctx))  # type: ignore[misc]
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, (int, type(None))):
                    err.write(str(e.code))
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                exc = e
                if not isinstance(e, _Timeout):
                    err.write(traceback.format_exc())
            category, reason = classify_cli(c, ctx, code, out.getvalue(), err.getvalue(), exc)
    grown = _rss() - max(rss0, BASELINE_RSS)
    if grown > MEMORY_LIMIT and category != "hang":
        category, reason = "crash", f"memory: resident set grew by {grown / 2**30:.1f} GB; {reason}"
    if c.output and c.expect is not None and category != "hang":
        after = _snapshot(ctx.get(c.output))
        if after != before:
            category, reason = "crash", f"half-written output at {ctx[c.output]}; {reason}"
    _remove(tmp)
    return {"category": category, "reason": reason[:600], "seconds": round(time.perf_counter() - started, 2)}


BASELINE_RSS = 0


def _remove(folder: Path) -> None:
    """Remove a case's folder, read-only parts included."""
    import shutil

    for p in [folder, *folder.rglob("*")]:
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def drive() -> None:
    """The helper process: read case ids on stdin, answer one JSON line per case and channel."""
    global BASELINE_RSS
    import metaeval.cli
    import metaeval.io
    import metaeval.stats  # noqa: F401

    BASELINE_RSS = _rss()
    with open("/proc/self/status") as fh:
        vm = next(int(x.split()[1]) * 1024 for x in fh if x.startswith("VmSize:"))
    limit = vm + MEMORY_LIMIT + (512 << 20)  # room for lazily imported modules and thread stacks
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    by_id = {c.id: c for c in CASES}
    base = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        for line in sys.stdin:
            cid, channel = json.loads(line)
            sys.__stdout__.write(json.dumps({"start": [cid, channel]}) + "\n")
            sys.__stdout__.flush()
            res = run_channel(by_id[cid], channel, base)
            sys.__stdout__.write(json.dumps({"done": [cid, channel], **res}) + "\n")
            sys.__stdout__.flush()
    finally:
        _remove(base)


def _read_lines(stream: Any, lines: list[str]) -> None:
    lines.extend(iter(stream.readline, ""))


def _worker(jobs: list[tuple[str, str]], results: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Run ``jobs`` in a helper process; restart it after a hang or a hard crash."""
    pending = list(jobs)
    while pending:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "POLARS_MAX_THREADS": "2"}
        proc = subprocess.Popen([sys.executable, "-m", "tests.test_hostile", "--drive"], cwd=ROOT, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(j) + "\n" for j in pending))
        proc.stdin.close()
        lines: list[str] = []
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        reader.start()
        current: tuple[str, str] | None = None
        since = time.monotonic()
        seen = 0
        while True:
            reader.join(timeout=0.2)
            while seen < len(lines):
                msg = json.loads(lines[seen])
                seen += 1
                if "start" in msg:
                    current, since = tuple(msg["start"]), time.monotonic()  # type: ignore[assignment]
                else:
                    key = tuple(msg.pop("done"))
                    results[key] = msg  # type: ignore[index]
                    pending.remove(key)  # type: ignore[arg-type]
                    current = None
            if not reader.is_alive():
                proc.wait()
                if current is not None:  # the helper died inside a case
                    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
                    results[current] = {"category": "crash", "reason": f"the process died ({how}; memory limit?)",
                                        "seconds": round(time.monotonic() - since, 2)}
                    pending.remove(current)
                break
            if current is not None and time.monotonic() - since > CASE_TIMEOUT + 20:
                proc.kill()
                proc.wait()
                results[current] = {"category": "hang", "reason": f"no answer in {CASE_TIMEOUT + 20} s (killed)",
                                    "seconds": round(time.monotonic() - since, 2)}
                pending.remove(current)
                break


def run_corpus(cases: list[Case], workers: int = 2) -> dict[tuple[str, str], dict[str, Any]]:
    """Every case through the API and the CLI, in ``workers`` helper processes."""
    jobs = [(c.id, ch) for c in cases for ch, fn in (("api", c.api), ("cli", c.cli)) if fn is not None]
    # spread round-robin, so that a case's API and CLI runs go to different helpers
    chunks = [jobs[i::workers] for i in range(workers)]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    threads = [threading.Thread(target=_worker, args=(chunk, results)) for chunk in chunks if chunk]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ================================================================================== the test
def _params() -> list[Any]:
    out = []
    for c in CASES:
        marks = []
        if c.slow:
            marks.append(pytest.mark.slow)
        if c.owner:
            marks.append(pytest.mark.xfail(strict=True, reason=f"owner {c.owner}: {OWNERS[c.owner]}"))
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


@pytest.fixture(scope="module")
def corpus_results(request: pytest.FixtureRequest) -> dict[tuple[str, str], dict[str, Any]]:
    """Run every selected case once (both channels), in helper processes."""
    selected = {item.callspec.params["c"].id for item in request.session.items
                if getattr(item, "originalname", "") == "test_hostile_case" and hasattr(item, "callspec")}
    return run_corpus([c for c in CASES if c.id in selected])


def test_corpus_is_large_and_distinct() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150, len(CASES)
    assert {c.category for c in CASES} >= {"files", "importers", "leaderboard", "parameters", "judges", "output",
                                           "parquet", "numerics"}
    assert all(c.api is not None or c.cli is not None for c in CASES)


@pytest.mark.parametrize("c", _params())
def test_hostile_case(c: Case, corpus_results: dict[tuple[str, str], dict[str, Any]]) -> None:
    """One error of the right class with a short message naming file, line and column; exit 2 and
    no traceback on the CLI; no hang; memory under 1 GB; nothing half-written."""
    failures = []
    for channel in ("api", "cli"):
        res = corpus_results.get((c.id, channel))
        if res is None:
            continue
        if res["category"] != "good":
            failures.append(f"{channel}: {res['category']}: {res['reason']}")
    assert not failures, "\n".join(failures)


def test_classifier_tells_the_categories_apart(tmp_path: Path) -> None:
    """The classifier itself: a good error, an unclear one, a crash and a silent result."""
    from metaeval.errors import ImportFormatError, MetaevalError, SchemaError

    c = Case("x", "files", files(t_csv="a"), None, None, "SchemaError", ("{name}", "line 3"))
    ctx = {"name": "t.csv"}
    assert classify_api(c, ctx, None, SchemaError(["bad outcome on line 3"], source="t.csv"))[0] == "good"
    assert classify_api(c, ctx, None, SchemaError(["bad outcome"], source="t.csv"))[0] == "unclear"
    assert classify_api(c, ctx, None, ImportFormatError("line 3", path="t.csv"))[0] == "unclear"
    assert classify_api(c, ctx, None, SchemaError(["bad " * 150 + "line 3"], source="t.csv"))[0] == "unclear"
    assert classify_api(c, ctx, None, IndexError("index 3"))[0] == "crash"
    assert classify_api(c, ctx, None, _Timeout())[0] == "hang"
    assert classify_api(c, ctx, 1.0, None)[0] == "silent"
    assert classify_cli(c, ctx, 2, "", "metaeval: error: t.csv, line 3: bad", None)[0] == "good"
    assert classify_cli(c, ctx, 2, "", "metaeval: error: unexpected IndexError: 3 t.csv line 3", None)[0] == "crash"
    assert classify_cli(c, ctx, 1, "", "Traceback (most recent call last):\n", None)[0] == "crash"
    assert classify_cli(c, ctx, 0, "mean inf", "", None)[0] == "silent"
    p = Case("p", "parameters", files(t_csv="a"), None, None, "ParameterError", ("level",))
    plain = MetaevalError("`level` must be in (0, 1); got 1.5")
    ok = classify_api(p, ctx, None, plain)[0]
    param_error = getattr(__import__("metaeval.errors", fromlist=["x"]), "ParameterError", None)
    assert ok == ("unclear" if param_error is None or not isinstance(plain, param_error) else "good")


def test_cli_script_prints_no_traceback(tmp_path: Path) -> None:
    """The installed console script (not the in-process driver) on a few corpus inputs: exit 2,
    one ``metaeval: error:`` line, no traceback."""
    import shutil

    script = shutil.which("metaeval", path=str(Path(sys.executable).parent)) or shutil.which("metaeval")
    if script is None:
        pytest.skip("the metaeval console script is not installed")
    bad = tmp_path / "t.csv"
    bad.write_text(PAIR_HEADER + "\nq1,h,x,y,a\nq2,h,x,y,A>B\n")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for args in (["info", str(bad)], ["info", str(tmp_path / "deep.json")], ["info", str(tmp_path / "none.csv")],
                 ["winrates", str(bad), "--level", "abc"]):
        proc = subprocess.run([script, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr
        assert "error" in proc.stderr.lower() and len(proc.stderr) < MAX_MESSAGE


# ================================================================================= the table
def table(results: dict[tuple[str, str], dict[str, Any]], cases: list[Case]) -> str:
    """The corpus tabulated by category: counts of good / unclear / crash / silent / hang over
    every case and channel, then every run that is not good."""
    by_cat: dict[str, dict[str, int]] = {}
    lines = []
    for c in cases:
        for channel in ("api", "cli"):
            res = results.get((c.id, channel))
            if res is None:
                continue
            counts = by_cat.setdefault(c.category, dict.fromkeys(CATEGORIES, 0))
            counts[res["category"]] += 1
            if res["category"] != "good":
                owner = f" [owner {c.owner}]" if c.owner else " [UNOWNED]"
                lines.append(f"  {res['category']:8s} {c.id} ({channel}){owner}: {res['reason'][:240]}")
    head = f"{'category':12s} " + " ".join(f"{k:>8s}" for k in CATEGORIES) + f" {'runs':>6s}"
    rows = [head]
    total = dict.fromkeys(CATEGORIES, 0)
    for cat, counts in sorted(by_cat.items()):
        rows.append(f"{cat:12s} " + " ".join(f"{counts[k]:8d}" for k in CATEGORIES) + f" {sum(counts.values()):6d}")
        for k in CATEGORIES:
            total[k] += counts[k]
    rows.append(f"{'all':12s} " + " ".join(f"{total[k]:8d}" for k in CATEGORIES) + f" {sum(total.values()):6d}")
    n_cases = len({c.id for c in cases})
    return "\n".join([f"hostile corpus: {n_cases} cases, {sum(total.values())} runs (API + CLI)", *rows,
                      "", "not good:", *lines])


def main(argv: list[str]) -> int:
    if "--drive" in argv:
        drive()
        return 0
    if "--table" in argv:
        selected = [c for c in CASES if "--fast" not in argv or not c.slow]
        only = [a.partition("=")[2] for a in argv if a.startswith("--only=")]
        if only:
            selected = [c for c in selected if any(c.id.startswith(o) for o in only)]
        t0 = time.perf_counter()
        results = run_corpus(selected)
        print(table(results, selected))
        print(f"\n{time.perf_counter() - t0:.0f} s")
        return 0
    print("usage: python -m tests.test_hostile --table [--fast] [--only=PREFIX]")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
