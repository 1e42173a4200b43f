"""Result objects: every public analysis returns one of these, never a bare float or dict.

A result carries its numbers (``estimate``, ``ci``, ``pvalue``), its provenance
(:class:`RunInfo`) and renders itself as a tidy polars table (``to_polars``), text
(``summary``), Markdown, LaTeX and HTML.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import polars as pl

from metaeval._format import format_value, table_html, table_latex, table_markdown, table_text
from metaeval._version import __version__
from metaeval.errors import ParameterError

__all__ = ["ConfidenceInterval", "Estimate", "Result", "RunInfo"]


@dataclass(frozen=True)
class ConfidenceInterval:
    """An interval estimate.

    Parameters
    ----------
    low, high
        The bounds (``nan`` when they could not be estimated).
    level
        The confidence (or credibility) level, e.g. 0.95.
    method
        How the interval was computed, e.g. ``"wilson"`` or ``"cluster bootstrap (items)"``.

    Examples
    --------
    >>> ci = ConfidenceInterval(0.2, 0.4, 0.95, "wilson")
    >>> low, high = ci
    >>> ci.contains(0.3)
    True
    """

    low: float
    high: float
    level: float = 0.95
    method: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise ParameterError(f"`level` must lie in (0, 1); got {self.level!r}")

    def __iter__(self) -> Iterator[float]:
        yield self.low
        yield self.high

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval (False when a bound is nan)."""
        return bool(self.low <= value <= self.high)

    def __str__(self) -> str:
        return f"[{format_value(self.low)}, {format_value(self.high)}] ({self.level:.0%} {self.method})".replace(
            " )", ")"
        )


@dataclass(frozen=True)
class RunInfo:
    """Provenance of a result: what produced it, from which input, with which settings.

    Attributes
    ----------
    method
        The analysis, e.g. ``"krippendorff_alpha"``.
    params
        The settings that change the numbers.
    seed
        The seed of the random generator, when randomness was used and a seed was given.
    fingerprint
        A hash of the input table (stable within one polars version).
    n_items, n_judgments
        Sizes of the input.
    version
        The metaeval version.
    """

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    fingerprint: str | None = None
    n_items: int | None = None
    n_judgments: int | None = None
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dictionary."""
        return {
            "method": self.method,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "seed": self.seed,
            "fingerprint": self.fingerprint,
            "n_items": self.n_items,
            "n_judgments": self.n_judgments,
            "version": self.version,
        }


def check_confidence_level(confidence_level: Any) -> float:
    """``confidence_level`` as a float in (0, 1), or a :class:`~metaeval.errors.ParameterError`
    (for the results' ``confidence_interval(confidence_level)`` methods).

    >>> check_confidence_level(0.9)
    0.9
    """
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, Real) \
            or not 0 < float(confidence_level) < 1:
        raise ParameterError(f"`confidence_level` must lie in (0, 1); got {confidence_level!r}")
    return float(confidence_level)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


class Result:
    """Base of every result object.

    Subclasses are frozen dataclasses that set ``title`` and either keep their tidy table in a
    ``table`` field or implement :meth:`to_polars`; the text, Markdown, LaTeX and HTML forms are
    derived from the tidy table.
    """

    title: str = "result"
    run_info: RunInfo

    def to_polars(self) -> pl.DataFrame:
        """The tidy table of the result."""
        table = getattr(self, "table", None)
        if isinstance(table, pl.DataFrame):
            return table
        raise NotImplementedError(f"{type(self).__name__} must define `table` or `to_polars`")

    def summary(self) -> str:
        """A plain-text table with a title line."""
        return table_text(self.to_polars(), title=self.title)

    def to_markdown(self) -> str:
        """The tidy table as Markdown."""
        return table_markdown(self.to_polars())

    def to_latex(self, caption: str | None = None) -> str:
        """The tidy table as a booktabs LaTeX table."""
        return table_latex(self.to_polars(), caption=caption)

    def to_html(self) -> str:
        """The tidy table as HTML."""
        return table_html(self.to_polars(), caption=self.title)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the rows of :meth:`to_polars` plus the run information."""
        rows = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in self.to_polars().to_dicts()
        ]
        return {"title": self.title, "rows": rows, "run_info": self.run_info.to_dict()}

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class Estimate(Result):
    """One number with its interval (and p-value when a test was run).

    Examples
    --------
    >>> from metaeval.results import Estimate, ConfidenceInterval, RunInfo
    >>> e = Estimate("accuracy", 0.8, ConfidenceInterval(0.7, 0.9, 0.95, "wilson"), None, 100, RunInfo("demo"))
    >>> e.to_polars()["estimate"][0]
    0.8
    """

    name: str
    estimate: float
    ci: ConfidenceInterval
    pvalue: float | None
    n: int
    run_info: RunInfo

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.name

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """The interval at ``ci.level``: ``ci`` itself. An Estimate keeps neither draws nor a standard
        error, so at another level it says which analysis to run again.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        ConfidenceInterval
            ``ci``, when ``confidence_level`` is its level.

        Raises
        ------
        ParameterError
            At any other level, naming the analysis (``run_info.method``) to call again.

        Examples
        --------
        >>> from metaeval.results import Estimate, ConfidenceInterval, RunInfo
        >>> e = Estimate("accuracy", 0.8, ConfidenceInterval(0.7, 0.9, 0.95, "wilson"), None, 100, RunInfo("demo"))
        >>> e.confidence_interval(0.95) == e.ci
        True
        """
        level = check_confidence_level(confidence_level)
        if level == self.ci.level:
            return self.ci
        raise ParameterError(f"this Estimate ({self.name}) keeps its {self.ci.level:g} interval only, without draws "
                             f"or a standard error: call `{self.run_info.method}(..., "
                             f"confidence_level={confidence_level!r})` again")

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "quantity": [self.name],
                "estimate": [float(self.estimate)],
                "ci_low": [float(self.ci.low)],
                "ci_high": [float(self.ci.high)],
                "level": [float(self.ci.level)],
                "ci_method": [self.ci.method],
                "pvalue": [float("nan") if self.pvalue is None else float(self.pvalue)],
                "n": [int(self.n)],
            }
        )
