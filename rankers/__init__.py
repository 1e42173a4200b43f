"""Rankers: paired-comparison, social-choice and game-theoretic (installed as ``metaeval.rankers``).

Kernels take the labelled intermediates of :mod:`metaeval.tables` (``PairwiseCounts``,
``ScoreMatrix``, ``Profile``) or plain arrays; :func:`rank` is the entry point that adds
intervals, rank intervals and P(best).
"""

from metaeval.rankers.api import METHODS, Ranking, rank

__all__ = ["METHODS", "Ranking", "rank"]
