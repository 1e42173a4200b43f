"""Judge bias probes on recorded judgments, and the debiased numbers.

Each probe returns a :class:`BiasProbe`: an effect size with an interval and a test per judge,
a plain-language finding, further tables in ``details`` and an effect chart.
:func:`audit` runs every probe that the table's columns allow.

=============================  ======================================================
probe                          needs
=============================  ======================================================
:func:`position_bias`          pairwise verdicts with ``shown_first``
:func:`length_bias`            ``len_a`` / ``len_b`` (pairwise) or ``length`` (pointwise)
:func:`length_controlled_win_rate`  pairwise verdicts against one baseline, with lengths
:func:`style_bias`             response texts (in ``extra``) or style-count columns
:func:`self_preference`        judges and models of known families (``families=`` or
                               :data:`~metaeval.bias.families.KNOWN_FAMILIES`)
:func:`intra_model_bias`       a reference judge (humans) beside the model judges
:func:`self_consistency`       repeats (``rep``) of the same verdicts
:func:`calibration`            pointwise scores of a judge and of the reference
=============================  ======================================================

:func:`metaeval.bias.study.calibration_study` checks every probe's false-positive rate and
interval coverage on simulated nulls (``examples/calibration_bias.py`` prints the table).
"""

import importlib
from typing import Any

from metaeval.bias._common import BiasProbe
from metaeval.bias.audit import Audit, audit
from metaeval.bias.consistency import calibration, self_consistency
from metaeval.bias.families import KNOWN_FAMILIES, family_of, known_family, resolve_families
from metaeval.bias.length import LengthControlled, length_bias, length_controlled_win_rate, wildbench_tie_rule
from metaeval.bias.position import balanced_position_calibration, position_bias
from metaeval.bias.self_preference import intra_model_bias, self_preference
from metaeval.bias.style import STYLE_FEATURES, style_bias, style_features

__all__ = [
    "KNOWN_FAMILIES",
    "STYLE_FEATURES",
    "Audit",
    "BiasProbe",
    "LengthControlled",
    "audit",
    "balanced_position_calibration",
    "calibration",
    "family_of",
    "intra_model_bias",
    "known_family",
    "length_bias",
    "length_controlled_win_rate",
    "position_bias",
    "resolve_families",
    "self_consistency",
    "self_preference",
    "study",
    "style_bias",
    "style_features",
    "wildbench_tie_rule",
]


def __getattr__(name: str) -> Any:
    # the null-calibration study of every probe sits above them (it runs them all): loaded on first use
    if name == "study":
        return importlib.import_module("metaeval.bias.study")
    raise AttributeError(f"module 'metaeval.bias' has no attribute {name!r}")
