"""Rankers: paired-comparison, social-choice and game-theoretic (installed as ``metaeval.rankers``).

Kernels take the labelled intermediates of :mod:`metaeval.tables` (``PairwiseCounts``,
``ScoreMatrix``, ``Profile``); uncertainty comes from :mod:`metaeval.stats`.
"""
