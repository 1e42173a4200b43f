"""Juries: which judge or panel of judges to use, for how much money, with what agreement.

- :func:`evaluate_panels` scores every panel of up to k judges against a reference (accuracy,
  Cohen's κ, Krippendorff's α with bootstrap intervals over items), with its cost, family
  diversity and how alike its members think; :func:`select` picks the judge or jury within a
  budget, draws the cost–agreement frontier and tests the best panel against the best judge.
- :func:`pool` turns a panel's verdicts into one verdict per unit (majority vote, weighted
  vote, probability averaging, mean / median).
- :func:`frontier` builds the cost–agreement frontier from a table of judges (a leaderboard of
  evaluators, such as AlpacaEval's).
- :func:`similarity`, :func:`affinity_bias`: how alike judges and models think (CAPA) and
  whether a judge favours models that think like it.
- :func:`intra_model_bias`: PoLL's per-model view of each judge.
- :func:`peer_review`: PiCO — models review each other, no reference needed.

>>> import metaeval
>>> from metaeval import juries
>>> sim = metaeval.simulate.jury(n_items=300, accuracies=(0.8, 0.7, 0.7), rng=0)
>>> sorted(juries.select(sim.judgments, "gold", n_resamples=100, rng=0).members)
['judge-1', 'judge-2', 'judge-3']
"""

from metaeval.juries.frontier import Frontier, frontier
from metaeval.juries.intra import IntraModel, intra_model_bias
from metaeval.juries.panels import JurySelection, PanelTable, evaluate_panels, pareto_front, select
from metaeval.juries.peer import PeerReview, peer_review
from metaeval.juries.pool import pool
from metaeval.juries.similarity import AffinityBias, Similarity, affinity_bias, partial_correlation, similarity

__all__ = [
    "AffinityBias",
    "Frontier",
    "IntraModel",
    "JurySelection",
    "PanelTable",
    "PeerReview",
    "Similarity",
    "affinity_bias",
    "evaluate_panels",
    "frontier",
    "intra_model_bias",
    "pareto_front",
    "partial_correlation",
    "peer_review",
    "pool",
    "select",
    "similarity",
]
