"""Statistics: intervals, resampling, hypothesis tests, power (installed as ``metaeval.stats``).

Pure functions on arrays and tables; no plotting, no I/O.
"""

from metaeval.stats.intervals import proportion_interval
from metaeval.stats.win_rates import WinRates, win_rates

__all__ = ["WinRates", "proportion_interval", "win_rates"]
