"""metaeval: the statistics of evaluating language models.

Import result tables (judge verdicts, human labels, per-item benchmark results,
leaderboards) and answer, with intervals and the right tests: can I trust this judge,
is this ranking real, and what goes in the paper.

>>> import metaeval
>>> sim = metaeval.simulate.pairwise(n_models=4, n_items=20, rng=1)
>>> sim.judgments.kind
'pairwise'

Heavy dependencies are imported lazily, so ``import metaeval`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metaeval._version import __version__
from metaeval.errors import (
    ConvergenceError,
    ImportFormatError,
    InsufficientDataError,
    MetaevalError,
    MetaevalWarning,
    SchemaError,
)
from metaeval.results import ConfidenceInterval, Estimate, RunInfo
from metaeval.tables import Judgments, PairwiseCounts, Profile, ScoreMatrix

if TYPE_CHECKING:
    from metaeval import active, agreement, battles, bias, io, juries, probes, report, simulate, validity
    from metaeval.battles import scan
    from metaeval.io import read, read_leaderboard
    from metaeval.rankers import rank
    from metaeval.stats import compare

__all__ = [
    "ConfidenceInterval",
    "ConvergenceError",
    "Estimate",
    "ImportFormatError",
    "InsufficientDataError",
    "Judgments",
    "MetaevalError",
    "MetaevalWarning",
    "PairwiseCounts",
    "Profile",
    "RunInfo",
    "SchemaError",
    "ScoreMatrix",
    "__version__",
    "active",
    "agreement",
    "battles",
    "bias",
    "compare",
    "io",
    "juries",
    "probes",
    "rank",
    "read",
    "read_leaderboard",
    "report",
    "scan",
    "simulate",
    "validity",
]

_LAZY_MODULES = {"active", "agreement", "battles", "bias", "io", "juries", "probes", "rankers", "report", "simulate",
                 "stats", "validity"}
_LAZY_ATTRS = {
    "read": "metaeval.io",
    "read_leaderboard": "metaeval.io",
    "rank": "metaeval.rankers",
    "compare": "metaeval.stats",
    "scan": "metaeval.battles",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"metaeval.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    raise AttributeError(f"module 'metaeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_ATTRS))
