"""Statistics: intervals, resampling, hypothesis tests, power (installed as ``metaeval.stats``).

Pure functions on arrays and tables; no plotting, no I/O.
"""
