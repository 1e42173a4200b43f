"""Every code block of the README runs as written.

The blocks are taken from README.md in order. Python blocks share one namespace (a block may use
what an earlier block defined) and run in a temporary folder; shell blocks run with ``bash -e``
in another temporary folder, with the installed ``metaeval`` command (and this interpreter's
``python``) first on the PATH. A block preceded by ``<!-- readme-test: slow -->`` is marked
``slow`` (``make test-slow``). A shell block of ``make`` commands is checked with ``make -n``
(the targets exist and resolve) rather than run: those are the commands that run this suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SLOW_MARK = "<!-- readme-test: slow -->"
LANGUAGES = {"python", "sh"}


@dataclass(frozen=True)
class Block:
    index: int
    lang: str
    code: str
    line: int
    slow: bool

    @property
    def name(self) -> str:
        return f"block{self.index:02d}-{self.lang}-line{self.line}"

    @property
    def make_only(self) -> bool:
        lines = [x.split("#")[0].strip() for x in self.code.splitlines()]
        commands = [x for x in lines if x]
        return self.lang == "sh" and bool(commands) and all(c.startswith("make ") for c in commands)


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order, with their language and marks."""
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise ValueError(f"README.md line {start + 1}: a code block is never closed")
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        slow = k >= 0 and lines[k].strip() == SLOW_MARK
        out.append(Block(len(out), lang, "\n".join(lines[start + 1:j]) + "\n", start + 1, slow))
        i = j + 1
    return out


BLOCKS = blocks(README.read_text(encoding="utf-8"))


class Runner:
    """Runs the README's blocks in order: one Python namespace and one shell folder for the module."""

    def __init__(self, base: Path) -> None:
        self.py_dir = base / "python"
        self.sh_dir = base / "shell"
        self.py_dir.mkdir()
        self.sh_dir.mkdir()
        self.namespace: dict[str, object] = {"__name__": "__readme__"}
        self.done: set[int] = set()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["METAEVAL_PROGRESS"] = "0"
        return env

    def python(self, code: str, label: str) -> None:
        cwd = os.getcwd()
        os.chdir(self.py_dir)
        try:
            exec(compile(code, label, "exec"), self.namespace)  # the README's own code
        finally:
            os.chdir(cwd)

    def shell(self, code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=cwd or self.sh_dir, env=self.env(),
                             capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            raise AssertionError(f"shell block failed with status {res.returncode}:\n{code}\n--- stdout\n"
                                 f"{res.stdout[-4000:]}\n--- stderr\n{res.stderr[-4000:]}")
        return res

    def run(self, block: Block) -> None:
        # the blocks before it, in order (those of its language that a selection may have skipped)
        for earlier in BLOCKS[:block.index]:
            if earlier.index not in self.done and earlier.lang == block.lang and not earlier.slow:
                self._run_one(earlier)
        self._run_one(block)

    def _run_one(self, block: Block) -> None:
        self.done.add(block.index)  # a failed block is not retried by later ones
        if block.lang == "python":
            self.python(block.code, f"README.md:{block.line}")
        elif block.make_only:
            if shutil.which("make") is None:
                pytest.skip("`make` is not installed")
            targets = [c.split("#")[0].split()[1] for c in block.code.splitlines() if c.strip()]
            for t in targets:
                self.shell(f"make -n {t} >/dev/null", cwd=ROOT)
        else:
            self.shell(block.code)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("block", [pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.slow else [])
                                   for b in BLOCKS])
def test_readme_block_runs(block: Block, runner: Runner) -> None:
    runner.run(block)


def test_every_block_is_run_and_the_tour_is_there() -> None:
    """No block in a language the runner would skip, and the tour covers both halves."""
    assert [b.lang for b in BLOCKS if b.lang not in LANGUAGES] == []
    assert sum(b.lang == "python" for b in BLOCKS) >= 8
    assert sum(b.lang == "sh" and not b.make_only for b in BLOCKS) >= 2
    # the README's first two commands are the ones a fresh machine runs
    assert BLOCKS[0].make_only and "make demo" in BLOCKS[0].code and "make test" in BLOCKS[0].code


def test_a_broken_block_fails(tmp_path: Path) -> None:
    """The runner cannot pass a block that breaks: an exception, a failing command, a missing make target."""
    run = Runner(tmp_path)
    with pytest.raises(NameError):
        run.python("print(undefined_name)\n", "broken.py")
    with pytest.raises(AssertionError, match="status 2"):
        run.shell("metaeval winrates no-such-file.parquet\n")
    with pytest.raises(AssertionError):
        run.shell("true\nfalse\ntrue\n")  # a failure mid-block is not hidden by a later success
    if shutil.which("make") is not None:
        with pytest.raises(AssertionError):
            run.shell("make -n no-such-target >/dev/null", cwd=ROOT)


def test_blocks_are_parsed_with_their_marks() -> None:
    text = f"intro\n\n```sh\nmake demo\n```\n\n{SLOW_MARK}\n```python\nx = 1\n```\n"
    got = blocks(text)
    assert [(b.lang, b.slow, b.make_only, b.line) for b in got] == [("sh", False, True, 3), ("python", True, False, 8)]
    with pytest.raises(ValueError, match="never closed"):
        blocks("```python\nx = 1\n")
