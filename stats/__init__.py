"""Statistics: intervals, resampling, hypothesis tests, power (installed as ``metaeval.stats``).

Pure functions on arrays and tables; no plotting, no I/O (charts are drawn by the result
objects, on demand).
"""

from metaeval.stats.bayes import (
    BayesComparison,
    BetaPosterior,
    bayesian_bootstrap,
    beta_binomial,
    correlated_t_test,
    paired_binary,
    prob_greater,
    signed_rank_test,
    t_posterior,
)
from metaeval.stats.benchmark import accuracy_on_the_line, monotone_in_size, pass_at_k, worst_group_accuracy
from metaeval.stats.comparison import compare
from metaeval.stats.friedman import (
    CriticalDifference,
    Friedman,
    critical_difference,
    critical_difference_value,
    friedman,
)
from metaeval.stats.intervals import correlation_interval, proportion_interval, score_interval
from metaeval.stats.irt import IRTModel
from metaeval.stats.multiple import CORRECTIONS, AllPairs, adjust_pvalues, all_pairs
from metaeval.stats.paired import (
    Comparison,
    PairedMean,
    bonett_price_interval,
    cluster_robust_se,
    hodges_lehmann_interval,
    mcnemar_attained_level,
    mcnemar_test,
    paired_bootstrap,
    paired_mean_interval,
    paired_scores,
    sign_flip_interval,
    sign_flip_test,
    studentized_bootstrap,
)
from metaeval.stats.power import PowerAnalysis, minimum_detectable_effect, power_from_pilot, sample_size
from metaeval.stats.probabilistic import BrierScore, brier, calibration_error, selective_accuracy
from metaeval.stats.tiny import Anchors, PerformanceEstimate, estimate_performance, select_anchors
from metaeval.stats.variance import PromptSensitivity, SeedVariance, monotonicity, prompt_sensitivity, seed_variance
from metaeval.stats.win_rates import WinRates, win_rates

__all__ = [
    "CORRECTIONS",
    "AllPairs",
    "Anchors",
    "BayesComparison",
    "BetaPosterior",
    "BrierScore",
    "Comparison",
    "CriticalDifference",
    "Friedman",
    "IRTModel",
    "PairedMean",
    "PerformanceEstimate",
    "PowerAnalysis",
    "PromptSensitivity",
    "SeedVariance",
    "WinRates",
    "accuracy_on_the_line",
    "adjust_pvalues",
    "all_pairs",
    "bayesian_bootstrap",
    "beta_binomial",
    "bonett_price_interval",
    "brier",
    "calibration_error",
    "cluster_robust_se",
    "compare",
    "correlated_t_test",
    "correlation_interval",
    "critical_difference",
    "critical_difference_value",
    "estimate_performance",
    "friedman",
    "hodges_lehmann_interval",
    "mcnemar_attained_level",
    "mcnemar_test",
    "minimum_detectable_effect",
    "monotone_in_size",
    "monotonicity",
    "paired_binary",
    "paired_bootstrap",
    "paired_mean_interval",
    "paired_scores",
    "pass_at_k",
    "power_from_pilot",
    "prob_greater",
    "prompt_sensitivity",
    "proportion_interval",
    "sample_size",
    "score_interval",
    "seed_variance",
    "select_anchors",
    "selective_accuracy",
    "sign_flip_interval",
    "sign_flip_test",
    "signed_rank_test",
    "studentized_bootstrap",
    "t_posterior",
    "win_rates",
    "worst_group_accuracy",
]
