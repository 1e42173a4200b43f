"""Agreement and judge meta-evaluation: every coefficient people report, each with an interval.

Table-level functions take a :class:`~metaeval.Judgments` table; array kernels live in
``metaeval.agreement.kernels`` (Gwet's family, Cohen's κ, correlations, pairwise accuracy,
Kendall's W, CAPA), ``.krippendorff`` and ``.icc``.

>>> import metaeval
>>> from metaeval import agreement
>>> sim = metaeval.simulate.pointwise(n_models=3, n_items=60, n_humans=2, rng=0)
>>> agreement.krippendorff_alpha(sim.judgments, "interval", n_resamples=100, rng=0).coefficient
"Krippendorff's alpha (interval)"
"""

from metaeval.agreement.api import (
    Against,
    Agreement,
    AgreementMatrix,
    ICCResult,
    RatingMatrix,
    TwoOrder,
    against,
    brennan_prediger,
    cohen_kappa,
    correlation,
    fleiss_kappa,
    gwet_ac,
    icc,
    krippendorff_alpha,
    matrix,
    percent_agreement,
    rating_matrix,
    scott_pi,
    two_order,
)
from metaeval.agreement.confusion import ConfusionMatrix, confusion_matrix
from metaeval.agreement.graded import Reliability, reliability
from metaeval.agreement.kernels import capa, error_consistency, kendalls_w, pairwise_accuracy

__all__ = [
    "Against",
    "Agreement",
    "AgreementMatrix",
    "ConfusionMatrix",
    "ICCResult",
    "RatingMatrix",
    "Reliability",
    "TwoOrder",
    "against",
    "brennan_prediger",
    "capa",
    "cohen_kappa",
    "confusion_matrix",
    "correlation",
    "error_consistency",
    "fleiss_kappa",
    "gwet_ac",
    "icc",
    "kendalls_w",
    "krippendorff_alpha",
    "matrix",
    "pairwise_accuracy",
    "percent_agreement",
    "rating_matrix",
    "reliability",
    "scott_pi",
    "two_order",
]
