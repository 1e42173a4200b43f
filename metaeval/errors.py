"""Exceptions and warnings raised by metaeval.

Every error metaeval raises derives from :class:`MetaevalError`; every warning from
:class:`MetaevalWarning`. Messages are one sentence, lower case, name the parameter or
column in backticks and end with what was got, e.g.
``column `outcome` must be one of 'a', 'b', 'tie'; got 'A>B' in 12 rows (first: row 3)``.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Sequence

__all__ = [
    "ApproximationWarning",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataDroppedWarning",
    "DisconnectedComparisonWarning",
    "EstimationWarning",
    "ImportFormatError",
    "InsufficientDataError",
    "MetaevalError",
    "MetaevalWarning",
    "MissingVerdictWarning",
    "ParameterError",
    "SchemaError",
    "SmallSampleWarning",
    "TooLargeError",
    "warn",
]


MAX_VALUE = 200  # characters of one value (a run without spaces) quoted in a message
MAX_LINE = 4000  # characters of one line of a message (a list of reasons may be long; a dump may not)


def _cut(text: str, limit: int) -> str:
    room = max(limit - 32, 2)  # what the marker " … (n characters) … " leaves
    head, tail = room * 2 // 3, room - room * 2 // 3
    return f"{text[:head]} … ({len(text) - head - tail:,} characters) … {text[-tail:]}"


def clip(text: str, value: int = MAX_VALUE, line: int = MAX_LINE) -> str:
    """``text`` with every value (a run of characters without a space) longer than ``value`` and
    then every line longer than ``line`` cut in the middle, saying how much was left out: a 20 MB
    model name must not make a 20 MB error message.

    >>> clip("unknown model '" + "x" * 1000 + "'", value=80)
    "unknown model 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx … (954 characters) … xxxxxxxxxxxxxxx'"
    """
    import re

    text = re.sub(rf"\S{{{value + 1},}}", lambda m: _cut(m.group(0), value), text)
    return "\n".join(_cut(ln, line) if len(ln) > line else ln for ln in text.split("\n"))


class MetaevalError(Exception):
    """Base class of every error raised by metaeval. Its message never has a line over
    :data:`MAX_LINE` characters and no value over :data:`MAX_VALUE` (:func:`clip`)."""

    def __str__(self) -> str:
        return clip(super().__str__())


class SchemaError(MetaevalError, ValueError):
    """A table does not have the columns, types or values metaeval needs.

    All problems found are listed at once in :attr:`problems`; the message joins them.
    """

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        if len(self.problems) == 1:
            msg = f"invalid table{where}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            msg = f"invalid table{where}: {len(self.problems)} problems\n{lines}"
        super().__init__(msg)


class ImportFormatError(MetaevalError, ValueError):
    """A file is not in the format it was read as (names the file, line and field)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field `{field}`")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ParameterError(MetaevalError, ValueError, TypeError):
    """An argument of a function (or a command-line option) is outside what it accepts: the
    message names the function, the parameter, what was expected and what was got, e.g.
    ``rank(): `confidence_level` must be a float in the open interval (0, 1); got 1.5``.

    A :class:`ValueError` and a :class:`TypeError` both, as the argument may have the wrong value
    or the wrong type; :attr:`parameter` and :attr:`value` hold the name and what was passed.
    Raised by the declared constraints of :mod:`metaeval._validate`.
    """

    def __init__(self, message: str, *, parameter: str | None = None, value: object = None) -> None:
        self.parameter = parameter
        self.value = value
        self.field = parameter
        super().__init__(message)


class InsufficientDataError(MetaevalError, ValueError):
    """There is not enough data to run the analysis at all."""


class TooLargeError(MetaevalError):
    """A computation would need more time or memory than its limit allows; refused before it
    started (the message names the cost, the size and the limit)."""


class ConvergenceError(MetaevalError, RuntimeError):
    """An iterative fit did not converge and no usable estimate exists."""


class MetaevalWarning(UserWarning):
    """Base class of every warning issued by metaeval."""


class ApproximationWarning(MetaevalWarning):
    """An interval or test rests on an approximation that these data may not support (its
    level is not guaranteed); the message says which and why."""


class SmallSampleWarning(ApproximationWarning):
    """The sample is too small for the method's approximation to be trusted."""


class DisconnectedComparisonWarning(MetaevalWarning):
    """The comparison graph is not connected: some ratings are not identified."""


class ConvergenceWarning(MetaevalWarning):
    """An iterative fit stopped before reaching its tolerance."""


class EstimationWarning(MetaevalWarning):
    """A number could not be estimated and is reported as ``nan``; the message says why."""


class DataDroppedWarning(MetaevalWarning):
    """Rows were left out (e.g. verdicts that failed to parse); the message counts them."""


class MissingVerdictWarning(MetaevalWarning):
    """Some rows carry no verdict (abstentions): they are kept and counted, not dropped."""


def _internal(frame: types.FrameType) -> bool:
    """Whether a stack frame runs metaeval's own code (``metaeval``, ``metaeval.rankers``, ``metaeval.stats`` …)."""
    name = frame.f_globals.get("__name__", "")
    return name == "metaeval" or name.startswith("metaeval.")


def warn(message: str, category: type[Warning] = MetaevalWarning, *, stacklevel: int | None = None) -> None:
    """Issue a metaeval warning attributed to the user's code: the first caller outside metaeval,
    however deep inside the package it was raised (so that it never shows an internal file path
    such as ``metaeval/io/alpaca_eval.py:52``). ``stacklevel`` is accepted for compatibility and
    ignored: hand-counted levels went wrong whenever a function was called through another one.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("example", DataDroppedWarning)
    >>> caught[0].category.__name__, "metaeval" in caught[0].filename
    ('DataDroppedWarning', False)
    """
    del stacklevel
    frame = sys._getframe(1)  # the caller of `warn`: warnings.warn's stacklevel 2
    level = 2
    while frame is not None and _internal(frame):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
