"""Every public function documents itself the same way (issue 21, step 6): a numpydoc
``Parameters`` section (when it takes any), a ``Returns`` (or ``Yields``) section, and a runnable
example, which the doctest run (``--doctest-modules``) executes.

The public API is the ``__all__`` of every public package and module below; each object is
counted once, under the first name that exports it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest

PUBLIC = ["metaeval", "metaeval.agreement", "metaeval.bias", "metaeval.juries", "metaeval.probes",
          "metaeval.report", "metaeval.io", "metaeval.tables", "metaeval.battles", "metaeval.active",
          "metaeval.validity", "metaeval.simulate", "metaeval.rankers", "metaeval.stats",
          "metaeval.calibration", "metaeval.datasets"]


def public_functions() -> dict[str, Callable[..., Any]]:
    seen: dict[int, tuple[str, Callable[..., Any]]] = {}
    for name in PUBLIC:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if inspect.isfunction(obj):
                seen.setdefault(id(obj), (f"{name}.{attr}", obj))
    return dict(seen.values())


FUNCTIONS = public_functions()


def sections(doc: str) -> set[str]:
    """The numpydoc section titles of a docstring (a title line underlined with dashes)."""
    lines = doc.splitlines()
    return {lines[i].strip() for i in range(len(lines) - 1)
            if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}
            and len(lines[i + 1].strip()) >= len(lines[i].strip())}


def test_the_public_api_is_found():
    assert len(FUNCTIONS) > 140
    assert "metaeval.read" in FUNCTIONS and "metaeval.agreement.cohen_kappa" in FUNCTIONS


def test_sections_reads_numpydoc_titles():
    doc = "Summary.\n\nParameters\n----------\nx : int\n    A number.\n\nReturns\n-------\nint\n"
    assert sections(doc) == {"Parameters", "Returns"}
    assert sections("Summary.\n\nParameters: none\n") == set()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_public_function_has_parameters_returns_and_an_example(name):
    fn = FUNCTIONS[name]
    doc = inspect.getdoc(fn) or ""
    found = sections(doc)
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = []
    if params and "Parameters" not in found:
        missing.append("a Parameters section")
    if not found & {"Returns", "Yields"}:
        missing.append("a Returns section")
    if ">>>" not in doc:
        missing.append("an example (>>>)")
    assert not missing, f"{name}'s docstring lacks {', '.join(missing)}"
