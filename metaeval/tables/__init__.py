"""The judgments table and the labelled intermediates that feed the numeric kernels.

One tidy long table of judgments, backed by polars and validated once at the door:
one row is one verdict by one judge (human or model) on one item. A table is either
*pointwise* (``model`` + ``score`` or ``label``) or *pairwise* (``model_a``, ``model_b``,
``outcome``). The columns (:data:`COLUMNS` holds their types; ``*`` marks the required ones):
==================  =========  =========  ==========================================================
column              type       kind       meaning
==================  =========  =========  ==========================================================
``item`` *          str        both       the prompt / question id (the cluster for resampling)
``judge`` *         str        both       who judged: ``human:<id>``, a judge model, a metric
``model`` *         str        pointwise  the system whose output was judged
``score``           f64        pointwise  the grade (numeric or ordinal codes)
``label``           str        pointwise  a categorical verdict (``score`` or ``label`` is required)
``length``          int        pointwise  output length in characters
``model_a`` *       str        pairwise   the first system compared
``model_b`` *       str        pairwise   the second system compared
``outcome`` *       enum       pairwise   the verdict: ``a``, ``b`` or ``tie``
``p_a``             f64        pairwise   probability that ``a`` is preferred (graded annotators)
``shown_first``     enum       pairwise   which output the judge saw first, ``a`` or ``b`` (position bias)
``len_a``           int        pairwise   length of a's output (characters)
``len_b``           int        pairwise   length of b's output (characters)
``rep``             int        both       repeat / seed / epoch (0 when absent)
``variant``         str        both       prompt template or perturbation
``task``            str        both       benchmark or category
``cost``            f64        both       price of the verdict (jury budgets)
``missing_reason``  str        both       why a verdict is missing (an abstention)
``extra``           struct     both       every other column an importer found, kept intact
==================  =========  =========  ==========================================================

A row without a verdict (no ``outcome``; no ``score`` or ``label``) is an abstention: it stays
in the table (:attr:`Judgments.abstentions`) and the judge metrics count it by their ``missing=``
policy. Parquet is the on-disk format (``extra`` survives it); CSV is an export.

Smaller labelled intermediates are built from it by explicit methods:
:meth:`Judgments.pairwise_counts` (:class:`PairwiseCounts`), :meth:`Judgments.to_pairwise`,
:meth:`Judgments.score_matrix` (:class:`ScoreMatrix`) and :meth:`ScoreMatrix.to_profile`
(:class:`Profile`).

The package's modules: :mod:`~metaeval.tables.schema` (the columns and the validation),
:mod:`~metaeval.tables.table` (:class:`Judgments`), :mod:`~metaeval.tables.intermediates` (the
intermediates) and :mod:`~metaeval.tables.conversions` (the conversions every analysis shares).
Import from the package: it re-exports them all.
"""

from __future__ import annotations

# The public names (``__all__``), and, as ``X as X``, the others the package's modules and tests import from
# here: every name that ``from metaeval.tables import X`` gave before the module became a package.
from metaeval.tables.conversions import ABSTAINED as ABSTAINED
from metaeval.tables.conversions import MISSING_POLICIES as MISSING_POLICIES
from metaeval.tables.conversions import UNIT_KEYS as UNIT_KEYS
from metaeval.tables.conversions import (
    auto_reference,
    canonical,
    column_or_extra,
    common_baseline,
    majority,
    model_codes,
    outcome_score,
    preference,
    reference_members,
)
from metaeval.tables.conversions import broadcast_units as broadcast_units
from metaeval.tables.conversions import check_missing as check_missing
from metaeval.tables.intermediates import Battles, PairwiseCounts, Profile, ScoreMatrix
from metaeval.tables.schema import COLUMNS, OUTCOMES
from metaeval.tables.schema import OUTCOME_DTYPE as OUTCOME_DTYPE
from metaeval.tables.schema import SIDE_DTYPE as SIDE_DTYPE
from metaeval.tables.schema import Kind as Kind
from metaeval.tables.schema import RowNumbers as RowNumbers
from metaeval.tables.schema import _canonical_schema as _canonical_schema
from metaeval.tables.table import Judgments, as_judgments, split_kinds
from metaeval.tables.table import TableInfo as TableInfo
from metaeval.tables.table import frame_input as frame_input

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "Battles",
    "Judgments",
    "PairwiseCounts",
    "Profile",
    "ScoreMatrix",
    "as_judgments",
    "auto_reference",
    "canonical",
    "column_or_extra",
    "common_baseline",
    "majority",
    "model_codes",
    "outcome_score",
    "preference",
    "reference_members",
    "split_kinds",
]
