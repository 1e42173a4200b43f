"""Shared paired-comparison cases with the expected answer of every ranker.

Each case is a win matrix (``wins[i, j]`` = times i beat j) and a tie matrix, with what every
ranker must do on it: the expected order, or the error it must raise. Rankers are checked by
looping over all cases (``tests/test_rankers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    models: tuple[str, ...]
    wins: np.ndarray
    ties: np.ndarray
    order: tuple[str, ...] | None = None  # expected best-first order (strict), or None
    all_equal: bool = False  # every rating equal
    connected: bool = True  # strongly connected: maximum-likelihood ratings exist
    source: str = ""
    reference_logit: dict[str, float] = field(default_factory=dict)  # published values (relative)
    order_methods: tuple[str, ...] | None = None  # methods held to `order` (None: all)


def _m(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=float)


# Agresti, Categorical Data Analysis (2nd ed., 2002), Table 10.10: American League baseball 1987,
# wins of the row team over the column team; Section 10.6 gives the Bradley–Terry estimates relative
# to Baltimore: 1.58, 1.44, 1.29, 1.25, 1.11, 0.68, 0.
AGRESTI = Case(
    "agresti_baseball_1987",
    ("Milwaukee", "Detroit", "Toronto", "New York", "Boston", "Cleveland", "Baltimore"),
    _m([[0, 7, 9, 7, 7, 9, 11], [6, 0, 7, 5, 11, 9, 9], [4, 6, 0, 7, 7, 8, 12], [6, 8, 6, 0, 6, 7, 10],
        [6, 2, 6, 7, 0, 7, 12], [4, 4, 5, 6, 6, 0, 6], [2, 4, 1, 3, 1, 7, 0]]),
    np.zeros((7, 7)),
    order=("Milwaukee", "Detroit", "Toronto", "New York", "Boston", "Cleveland", "Baltimore"),
    source="Agresti (2002) Table 10.10 and Section 10.6",
    # Rank Centrality is not the likelihood estimate: it swaps the close pair Toronto / New York.
    order_methods=("bradley_terry", "davidson", "rao_kupper"),
    reference_logit={"Milwaukee": 1.58, "Detroit": 1.44, "Toronto": 1.29, "New York": 1.25, "Boston": 1.11,
                     "Cleveland": 0.68, "Baltimore": 0.0},
)

CYCLE = Case(
    "three_cycle", ("a", "b", "c"), _m([[0, 6, 2], [2, 0, 6], [6, 2, 0]]), np.zeros((3, 3)), all_equal=True,
    source="a beats b, b beats c, c beats a, each 6-2: by symmetry every rating is equal",
)

CONDORCET = Case(
    "condorcet_winner", ("w", "x", "y", "z"),
    _m([[0, 6, 7, 8], [4, 0, 6, 7], [3, 4, 0, 6], [2, 3, 4, 0]]), np.zeros((4, 4)), order=("w", "x", "y", "z"),
    source="w beats every other model head to head; a transitive ladder below it",
)

TIES_ONLY = Case(
    "ties_only", ("a", "b", "c"), np.zeros((3, 3)), _m([[0, 5, 5], [5, 0, 5], [5, 5, 0]]), all_equal=True,
    source="every comparison a tie",
)

DISCONNECTED = Case(
    "disconnected", ("a", "b", "c", "d"), _m([[0, 3, 0, 0], [2, 0, 0, 0], [0, 0, 0, 4], [0, 0, 1, 0]]),
    np.zeros((4, 4)), connected=False, source="{a, b} never meet {c, d}",
)

NEVER_LOSES = Case(
    "never_loses", ("champ", "b", "c"), _m([[0, 5, 5], [0, 0, 3], [0, 2, 0]]), np.zeros((3, 3)), connected=False,
    source="champ wins every game: its maximum-likelihood strength is infinite",
)

WITH_TIES = Case(
    "ladder_with_ties", ("p", "q", "r"), _m([[0, 6, 8], [3, 0, 6], [1, 3, 0]]), _m([[0, 3, 1], [3, 0, 3], [1, 3, 0]]),
    order=("p", "q", "r"), source="a transitive ladder with ties",
)

CASES = (AGRESTI, CYCLE, CONDORCET, TIES_ONLY, DISCONNECTED, NEVER_LOSES, WITH_TIES)
