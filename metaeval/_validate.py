"""Declared parameter constraints: every public function and every command-line option checks its
arguments here, before any work, with one message style.

A function declares what each numeric or option parameter accepts next to its signature::

    @validate_params({
        "confidence_level": [LEVEL],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "alternative": [Options(str, ALTERNATIVES)],
        "rng": ["rng"],
    })
    def compare(..., alternative="two-sided", confidence_level=0.95, n_resamples=10_000, rng=None): ...

A parameter passes when it satisfies any one of its constraints; otherwise the call raises one
:class:`~metaeval.errors.ParameterError` naming the function, the parameter, what was expected
and what was got, e.g. ``rank(): `confidence_level` must be a float in the open interval (0, 1);
got 1.5``. The declarations are kept on the function as ``__metaeval_constraints__`` so that the
test suite can walk every public function and feed each constraint a value it must refuse
(:meth:`Constraint.invalid_values`).

Constraints (the spirit of scikit-learn's ``validate_params``; our own code):

``Interval(Real | Integral, left, right, closed=...)``
    a number in a range. ``nan`` never satisfies a real range; ``inf`` only when it is a closed
    end of the range. ``bool`` is never a number, and a float (even ``2.0``) is never an
    :class:`~numbers.Integral`.
``Options(str, {...})``
    one of a fixed set of values.
``"boolean"``, ``"rng"`` (``None``, an integer seed >= 0 or a :class:`numpy.random.Generator`),
``"finite"`` (any finite real), ``"array-like"``, ``"finite-array"`` (an array-like of finite numbers),
``"callable"``, ``None``, or a type (``str``, ``collections.abc.Mapping``…)
    what the name says.

Layer 0: imports only :mod:`metaeval.errors` and numpy.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from numbers import Integral, Real
from typing import Any, Literal, TypeVar

import numpy as np

from metaeval.errors import ParameterError, clip, warn

__all__ = [
    "ALTERNATIVES",
    "LEVEL",
    "N_RESAMPLES",
    "SIGNIFICANCE",
    "Constraint",
    "Interval",
    "Options",
    "ParameterError",
    "check",
    "constraints_of",
    "describe",
    "make_constraint",
    "renamed_parameters",
    "validate_params",
]

F = TypeVar("F", bound=Callable[..., Any])

_INVALID = object()  # a value no constraint but a custom type check could accept


class Constraint:
    """One thing a parameter may be. Subclasses say whether a value satisfies them
    (:meth:`is_satisfied_by`), describe themselves for a message (``str()``) and give values that
    must fail them (:meth:`invalid_values`, used by the test that walks every public function)."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError

    def invalid_values(self) -> list[Any]:
        """Values this constraint refuses (the test suite feeds them to every declared parameter)."""
        return [_INVALID]

    def valid_value(self) -> Any:
        """A value this constraint accepts (the test suite passes it to the other parameters)."""
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - every subclass describes itself
        raise NotImplementedError


def _is_real(value: Any) -> bool:
    kind = type(value)
    if kind is float or kind is int:  # the common case, without the abstract-class checks
        return True
    return isinstance(value, (Real, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_integral(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return True
    if kind is float:
        return False
    return isinstance(value, (Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class Interval(Constraint):
    """A real or integer number in a range.

    Parameters
    ----------
    type
        :class:`numbers.Real` (any number but ``bool``; ints are reals) or
        :class:`numbers.Integral` (an int or numpy integer; not ``bool``, not a float).
    left, right
        The ends; ``None`` for no end on that side.
    closed
        Which ends belong to the range: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.

    Examples
    --------
    >>> from numbers import Integral, Real
    >>> level = Interval(Real, 0, 1, closed="neither")
    >>> level.is_satisfied_by(0.95), level.is_satisfied_by(1.0), level.is_satisfied_by(float("nan"))
    (True, False, False)
    >>> str(level)
    'a float in the open interval (0, 1)'
    >>> count = Interval(Integral, 1, None, closed="left")
    >>> count.is_satisfied_by(3), count.is_satisfied_by(2.5), count.is_satisfied_by(True)
    (True, False, False)
    >>> str(count)
    'an int >= 1'
    """

    def __init__(self, type: type, left: float | None, right: float | None, *,
                 closed: Literal["both", "left", "right", "neither"] = "both") -> None:
        if type not in (Real, Integral):
            raise TypeError("Interval type must be numbers.Real or numbers.Integral")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither'; got {closed!r}")
        if left is not None and right is not None and left > right:
            raise ValueError(f"empty interval: left {left} > right {right}")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    @property
    def _left_closed(self) -> bool:
        return self.closed in ("both", "left")

    @property
    def _right_closed(self) -> bool:
        return self.closed in ("both", "right")

    def is_satisfied_by(self, value: Any) -> bool:
        if self.type is Integral:
            if not _is_integral(value):
                return False
        elif not _is_real(value):
            return False
        x = float(value) if self.type is Real else int(value)
        if self.type is Real:
            if x != x:  # nan
                return False
            if math.isinf(x):  # only an infinite end that is closed admits it
                end = self.right if x > 0 else self.left
                closed = self._right_closed if x > 0 else self._left_closed
                return end is not None and math.isinf(end) and closed
        if self.left is not None and (x < self.left or (x == self.left and not self._left_closed)):
            return False
        return not (self.right is not None and (x > self.right or (x == self.right and not self._right_closed)))

    def valid_value(self) -> Any:
        lo = self.left if self.left is not None and not math.isinf(self.left) else None
        hi = self.right if self.right is not None and not math.isinf(self.right) else None
        if lo is not None and hi is not None:
            mid = (lo + hi) / 2
        elif lo is not None:
            mid = lo + 1
        elif hi is not None:
            mid = hi - 1
        else:
            mid = 0
        if self.type is Integral:
            return int(lo + 1 if lo is not None and (hi is None or lo + 1 <= hi) else math.floor(mid))
        return float(mid)

    def __str__(self) -> str:
        noun = "an int" if self.type is Integral else "a float"
        lo, hi = self.left, self.right
        if lo is None and hi is None:
            return noun if self.type is Integral else "a finite float"
        if hi is None or (math.isinf(hi) and not self._right_closed):
            assert lo is not None
            return f"{noun} {'>=' if self._left_closed else '>'} {_num(lo)}"
        if lo is None or (math.isinf(lo) and not self._left_closed):
            return f"{noun} {'<=' if self._right_closed else '<'} {_num(hi)}"
        kind = {"both": "closed ", "neither": "open ", "left": "", "right": ""}[self.closed]
        word = "range" if self.type is Integral else "interval"
        return (f"{noun} in the {kind}{word} {'[' if self._left_closed else '('}{_num(lo)}, {_num(hi)}"
                f"{']' if self._right_closed else ')'}")

    def invalid_values(self) -> list[Any]:
        bad: list[Any] = ["1", True, float("nan")]
        if self.type is Integral:
            bad.append((self.left if self.left is not None else 0) + 0.5)
            if self.left is not None:
                bad.append(int(self.left) - (0 if not self._left_closed else 1))
            if self.right is not None and not math.isinf(self.right):
                bad.append(int(self.right) + (0 if not self._right_closed else 1))
            return bad
        if self.left is not None and not math.isinf(self.left):
            bad += [self.left - 0.5 if self._left_closed else self.left, -math.inf]
        elif self.left is not None and not self._left_closed:
            bad.append(self.left)
        if self.right is not None and not math.isinf(self.right):
            bad += [self.right + 0.5 if self._right_closed else self.right, math.inf]
        elif self.right is not None and not self._right_closed:
            bad.append(self.right)
        if self.left is None:
            bad.append(-math.inf)
        if self.right is None:
            bad.append(math.inf)
        return [b for b in bad if b is not _INVALID]

    def __repr__(self) -> str:
        return f"Interval({self.type.__name__}, {self.left}, {self.right}, closed={self.closed!r})"


class Options(Constraint):
    """One of a fixed set of values (compared with ``==``, and of the given type).

    >>> alt = Options(str, ("two-sided", "greater", "less"))
    >>> alt.is_satisfied_by("less"), alt.is_satisfied_by("LESS"), str(alt)
    (True, False, "one of 'two-sided', 'greater', 'less'")
    """

    def __init__(self, type: type, options: Iterable[Any]) -> None:
        self.type = type
        self.options = tuple(dict.fromkeys(options))
        self._strings = frozenset(o for o in self.options if isinstance(o, str)) if type is str else None

    def is_satisfied_by(self, value: Any) -> bool:
        if self._strings is not None and type(value) is str:
            return value in self._strings
        if not isinstance(value, self.type) or (isinstance(value, bool) and self.type is not bool):
            return False
        try:
            return value in self.options
        except TypeError:  # an unhashable or oddly comparing value
            return False

    def valid_value(self) -> Any:
        return self.options[0]

    def __str__(self) -> str:
        if len(self.options) == 1:
            return repr(self.options[0])
        return "one of " + ", ".join(repr(o) for o in self.options)

    def invalid_values(self) -> list[Any]:
        bad: list[Any] = [_INVALID]
        if self.type is str:
            bad.insert(0, "not-an-option")
            bad.append(1)
        return bad

    def __repr__(self) -> str:
        return f"Options({self.type.__name__}, {self.options!r})"


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def valid_value(self) -> Any:
        return None

    def __str__(self) -> str:
        return "None"


class _Boolean(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def valid_value(self) -> Any:
        return True

    def __str__(self) -> str:
        return "True or False"

    def invalid_values(self) -> list[Any]:
        return ["no", 2, _INVALID]


class _RandomState(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        if value is None or isinstance(value, np.random.Generator):
            return True
        return _is_integral(value) and value >= 0

    def valid_value(self) -> Any:
        return 0

    def __str__(self) -> str:
        return "a numpy Generator, an int seed >= 0 or None"

    def invalid_values(self) -> list[Any]:
        return [-1, 1.5, "0", True, _INVALID]


class _Finite(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return _is_real(value) and math.isfinite(float(value))

    def valid_value(self) -> Any:
        return 0.5

    def __str__(self) -> str:
        return "a finite float"

    def invalid_values(self) -> list[Any]:
        return [float("nan"), math.inf, -math.inf, "1", True]


class _ArrayLike(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)):
            return False
        return hasattr(value, "__array__") or isinstance(value, (list, tuple)) or (
            hasattr(value, "__len__") and hasattr(value, "__getitem__"))

    def valid_value(self) -> Any:
        return [0.0, 1.0]

    def __str__(self) -> str:
        return "an array-like (a list, tuple, numpy array or series)"

    def invalid_values(self) -> list[Any]:
        return ["abc", 3, _INVALID]


class _FiniteArray(_ArrayLike):
    """An array-like of finite numbers: a ``nan`` (a missing score) or an infinity in per-item
    differences would make every statistic ``nan`` while a count-based p-value still looked
    significant, so it is refused with its positions."""

    def is_satisfied_by(self, value: Any) -> bool:
        if not super().is_satisfied_by(value):
            return False
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return False
        return bool(np.isfinite(arr).all())

    def detail(self, value: Any) -> str:
        try:
            arr = np.asarray(value, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            return ""
        bad = np.flatnonzero(~np.isfinite(arr))
        shown = ", ".join(map(str, bad[:5])) + (f" and {bad.size - 5} more" if bad.size > 5 else "")
        return (f"got {bad.size} of {arr.size} values nan or infinite (position{'s' if bad.size > 1 else ''} "
                f"{shown}): leave out the items that lack a score")

    def valid_value(self) -> Any:
        return [0.0, 1.0]

    def __str__(self) -> str:
        return "an array-like of finite numbers"

    def invalid_values(self) -> list[Any]:
        return ["abc", [0.5, float("nan")], [1.0, math.inf], _INVALID]


class _Callable(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return callable(value)

    def valid_value(self) -> Any:
        return len

    def __str__(self) -> str:
        return "a callable"

    def invalid_values(self) -> list[Any]:
        return [3, _INVALID]


class _InstanceOf(Constraint):
    def __init__(self, type: type) -> None:
        self.type = type

    def is_satisfied_by(self, value: Any) -> bool:
        if self.type in (int, float) and isinstance(value, bool):
            return False
        return isinstance(value, self.type)

    def valid_value(self) -> Any:
        try:
            return self.type()
        except TypeError:  # an abstract type (Mapping…): a plain instance of a known subclass
            return {} if issubclass(dict, self.type) else None

    def __str__(self) -> str:
        name = getattr(self.type, "__name__", str(self.type))
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"

    def invalid_values(self) -> list[Any]:
        return [_INVALID]


_NAMED: dict[str, Constraint] = {
    "boolean": _Boolean(),
    "rng": _RandomState(),
    "finite": _Finite(),
    "array-like": _ArrayLike(),
    "finite-array": _FiniteArray(),
    "callable": _Callable(),
}


def make_constraint(spec: Any) -> Constraint:
    """A constraint from its declaration: a :class:`Constraint`, ``None``, one of the names
    ``"boolean"``, ``"rng"``, ``"finite"``, ``"array-like"``, ``"finite-array"``, ``"callable"``, or a type."""
    if isinstance(spec, Constraint):
        return spec
    if spec is None:
        return _NoneConstraint()
    if isinstance(spec, str):
        if spec not in _NAMED:
            raise ValueError(f"unknown constraint {spec!r}; named constraints: {', '.join(_NAMED)}")
        return _NAMED[spec]
    if isinstance(spec, type):
        return _InstanceOf(spec)
    raise TypeError(f"cannot make a constraint of {spec!r}")


def describe(constraints: Iterable[Constraint]) -> str:
    """What a list of constraints accepts, in words (``'an int >= 1 or None'``)."""
    parts = [str(c) for c in constraints]
    if any(p == "None" for p in parts):  # None last reads best
        parts = [p for p in parts if p != "None"] + ["None"]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _shown(value: Any) -> str:
    """The value as a message shows it: numbers plainly, strings quoted, anything else with its type."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if _is_integral(value):
        return str(int(value))
    if _is_real(value):
        return repr(float(value))
    if value is None or isinstance(value, str):
        return repr(value)
    text = repr(value)
    if len(text) > 60:
        text = text[:40] + "…"
    return f"{text} (a {type(value).__name__})"


def check(name: str, value: Any, constraints: Any, *, where: str = "") -> Any:
    """Check one value against its constraints (any one suffices) and return it; raise
    :class:`~metaeval.errors.ParameterError` otherwise.

    ``name`` is how the message names the parameter (``"confidence_level"`` in the API,
    ``"--level"`` on the command line); ``where`` is the function (``"rank()"``).

    >>> from numbers import Real
    >>> check("level", 1.5, [Interval(Real, 0, 1, closed="neither")], where="rank()")
    Traceback (most recent call last):
    ...
    metaeval.errors.ParameterError: rank(): `level` must be a float in the open interval (0, 1); got 1.5
    """
    items = [make_constraint(c) for c in (constraints if isinstance(constraints, list) else [constraints])]
    for c in items:
        if c.is_satisfied_by(value):
            return value
    prefix = f"{where}: " if where else ""
    detail = getattr(items[0], "detail", None) if len(items) == 1 else None
    got = (detail(value) if detail is not None else "") or f"got {_shown(value)}"
    raise ParameterError(clip(f"{prefix}`{name}` must be {describe(items)}; {got}"),
                         parameter=name, value=value)


def validate_params(constraints: Mapping[str, Any]) -> Callable[[F], F]:
    """Decorate a function so that each named parameter is checked against its declared
    constraints (a list: any one suffices) before the function runs.

    Arguments are matched to the signature by position or keyword (so both calls are checked
    alike). The defaults are checked once, when the function is defined, so that a declaration
    cannot disagree with its own signature; a name that is not a parameter is a mistake in the
    declaration and fails then too. The
    declarations are kept as ``func.__metaeval_constraints__`` (name → list of
    :class:`Constraint`).

    Examples
    --------
    >>> from numbers import Integral, Real
    >>> @validate_params({"level": [Interval(Real, 0, 1, closed="neither")],
    ...                   "n": [Interval(Integral, 1, None, closed="left"), None]})
    ... def f(x, level=0.95, n=None):
    ...     return level
    >>> f(1, level=0.9)
    0.9
    >>> f(1, n=2.5)
    Traceback (most recent call last):
    ...
    metaeval.errors.ParameterError: f(): `n` must be an int >= 1 or None; got 2.5
    """
    declared = {name: [make_constraint(c) for c in (spec if isinstance(spec, list) else [spec])]
                for name, spec in constraints.items()}

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        unknown = [n for n in declared if n not in sig.parameters]
        if unknown:
            raise TypeError(f"{func.__qualname__}: constraints for parameters it does not have: {unknown}")
        where = f"{func.__qualname__.rsplit('<locals>.', 1)[-1]}()"
        defaults = {n: sig.parameters[n].default for n in declared
                    if sig.parameters[n].default is not inspect.Parameter.empty}
        for n, v in defaults.items():  # a default the declaration refuses is a bug, found at import
            if not any(c.is_satisfied_by(v) for c in declared[n]):
                raise TypeError(f"{where}: the default {v!r} of `{n}` breaks its own constraints")
        names = list(sig.parameters)
        positions = {n: i for i, n in enumerate(names)
                     if sig.parameters[n].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                   inspect.Parameter.POSITIONAL_OR_KEYWORD)}
        todo = [(n, positions.get(n), declared[n]) for n in declared]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for n, pos, cons in todo:
                if pos is not None and pos < len(args):
                    value = args[pos]
                elif n in kwargs:
                    value = kwargs[n]
                else:
                    continue  # the default: checked once at import
                for c in cons:
                    if c.is_satisfied_by(value):
                        break
                else:
                    check(n, value, cons, where=where)
            return func(*args, **kwargs)

        wrapper.__metaeval_constraints__ = declared  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def constraints_of(func: Any) -> dict[str, list[Constraint]]:
    """The constraints a function declared (empty when it declared none)."""
    return dict(getattr(func, "__metaeval_constraints__", {}))


# shared declarations, so that one concept is one constraint everywhere
LEVEL = Interval(Real, 0, 1, closed="neither")
"""A confidence or decision level: a float strictly between 0 and 1."""
SIGNIFICANCE = Interval(Real, 0, 1, closed="neither")
"""A significance level α (the size of a test): a float strictly between 0 and 1."""
N_RESAMPLES = Interval(Integral, 1, None, closed="left")
"""A number of bootstrap or permutation resamples (or posterior draws): an int >= 1."""
ALTERNATIVES = ("two-sided", "greater", "less")
"""The alternative hypotheses of a one- or two-sided test."""


def renamed_parameters(**renames: str) -> Callable[[F], F]:
    """Accept a renamed keyword argument under its old name for one release, with a warning.

    ``@renamed_parameters(level="confidence_level")`` above ``@validate_params`` lets
    ``f(level=0.9)`` run as ``f(confidence_level=0.9)`` and warn (``FutureWarning``, shown by
    default) that the old name goes in the next release; passing both names is an error.

    >>> import warnings
    >>> @renamed_parameters(level="confidence_level")
    ... def f(*, confidence_level=0.95):
    ...     return confidence_level
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(level=0.9), str(w[0].message)
    (0.9, '`level` is now `confidence_level`; the old name goes in the next release')
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ParameterError(f"{func.__name__}(): pass `{new}` only (`{old}` is its old name)")
                    warn(f"`{old}` is now `{new}`; the old name goes in the next release", FutureWarning)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__metaeval_renamed__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
