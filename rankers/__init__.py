"""Rankers: paired-comparison, social-choice and game-theoretic (installed as ``metaeval.rankers``).

Kernels take the labelled intermediates of :mod:`metaeval.tables` (``PairwiseCounts``,
``ScoreMatrix``, ``Profile``) or plain arrays; :func:`rank` is the entry point that adds
intervals, rank intervals and P(best); it looks the method up in :data:`RANKERS`, the registry of
every paired-comparison and game-theoretic ranker.
"""

from metaeval.rankers.api import GAME_METHODS, METHODS, RANKERS, RankerSpec, Ranking, rank
from metaeval.rankers.presets import PRESETS, Preset
from metaeval.rankers.social_choice import RULES, RuleResult, apply_rule, condorcet_winner, smith_set
from metaeval.rankers.vote import compare_rules, robustness, winning_weights

__all__ = [
    "GAME_METHODS",
    "METHODS",
    "PRESETS",
    "RANKERS",
    "RULES",
    "Preset",
    "RankerSpec",
    "Ranking",
    "RuleResult",
    "apply_rule",
    "compare_rules",
    "condorcet_winner",
    "rank",
    "robustness",
    "smith_set",
    "winning_weights",
]
