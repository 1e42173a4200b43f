"""Declared parameter constraints (metaeval._validate): the constraints themselves, a walk over every
public function that feeds each declared parameter a value it must refuse, and every numeric option of
the command line given a bad value."""

from __future__ import annotations

import importlib
import inspect
import json
import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner

from metaeval._validate import (
    LEVEL,
    N_RESAMPLES,
    Interval,
    Options,
    check,
    constraints_of,
    make_constraint,
    validate_params,
)
from metaeval.errors import MetaevalError, ParameterError

# ------------------------------------------------------------------ the constraints


def test_interval_real_open():
    c = Interval(Real, 0, 1, closed="neither")
    assert [c.is_satisfied_by(v) for v in (0.5, 1e-9, np.float32(0.3), np.int64(0))] == [True, True, True, False]
    for bad in (0, 1, 1.5, -0.5, float("nan"), math.inf, -math.inf, True, False, "0.5", None, [0.5]):
        assert not c.is_satisfied_by(bad), bad
    assert str(c) == "a float in the open interval (0, 1)"


@pytest.mark.parametrize(("closed", "text", "zero", "one"), [
    ("both", "a float in the closed interval [0, 1]", True, True),
    ("left", "a float in the interval [0, 1)", True, False),
    ("right", "a float in the interval (0, 1]", False, True),
])
def test_interval_ends(closed, text, zero, one):
    c = Interval(Real, 0, 1, closed=closed)
    assert (c.is_satisfied_by(0), c.is_satisfied_by(1.0)) == (zero, one)
    assert str(c) == text


def test_interval_infinite_ends():
    positive = Interval(Real, 0, None, closed="neither")
    assert positive.is_satisfied_by(1e300) and not positive.is_satisfied_by(math.inf)
    assert str(positive) == "a float > 0"
    with_inf = Interval(Real, 0, math.inf, closed="right")
    assert with_inf.is_satisfied_by(math.inf) and not with_inf.is_satisfied_by(0)
    assert str(with_inf) == "a float in the interval (0, inf]"
    assert str(Interval(Real, None, 3, closed="neither")) == "a float < 3"
    assert str(Interval(Real, None, None)) == "a finite float"


def test_interval_integral():
    c = Interval(Integral, 1, None, closed="left")
    assert c.is_satisfied_by(1) and c.is_satisfied_by(np.int32(7))
    for bad in (0, -3, 2.5, 2.0, True, np.bool_(True), "3", float("nan"), None):
        assert not c.is_satisfied_by(bad), bad
    assert str(c) == "an int >= 1"
    assert str(Interval(Integral, 0, 10, closed="both")) == "an int in the closed range [0, 10]"


def test_interval_refuses_bad_declarations():
    with pytest.raises(TypeError):
        Interval(float, 0, 1)
    with pytest.raises(ValueError, match="closed"):
        Interval(Real, 0, 1, closed="open")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        Interval(Real, 1, 0)


@pytest.mark.parametrize("c", [
    Interval(Real, 0, 1, closed="neither"), Interval(Real, 0, 1, closed="both"), Interval(Real, 0, None, closed="left"),
    Interval(Real, None, None), Interval(Real, 0, math.inf, closed="right"), Interval(Integral, 1, None, closed="left"),
    Interval(Integral, 0, 5, closed="both"), Interval(Integral, 2, 9, closed="neither"), Options(str, ("a", "b")),
    make_constraint("boolean"), make_constraint("rng"), make_constraint("finite"), make_constraint("array-like"),
    make_constraint("callable"), make_constraint(str), make_constraint(None),
])
def test_every_constraint_refuses_its_invalid_values_and_accepts_its_valid_one(c):
    assert c.is_satisfied_by(c.valid_value())
    bad = c.invalid_values()
    assert bad
    for v in bad:
        assert not c.is_satisfied_by(v), (c, v)


def test_options_rng_boolean_finite_arraylike():
    alt = Options(str, ("two-sided", "greater", "less"))
    assert alt.is_satisfied_by("less") and not alt.is_satisfied_by("LESS") and not alt.is_satisfied_by(["less"])
    assert str(alt) == "one of 'two-sided', 'greater', 'less'"
    assert str(Options(str, ("auto",))) == "'auto'"
    rng = make_constraint("rng")
    assert all(rng.is_satisfied_by(v) for v in (None, 0, 12, np.int64(3), np.random.default_rng(0)))
    assert not any(rng.is_satisfied_by(v) for v in (-1, 1.0, True, "1", np.random.RandomState(0)))
    boolean = make_constraint("boolean")
    assert boolean.is_satisfied_by(np.bool_(False)) and not boolean.is_satisfied_by(1)
    finite = make_constraint("finite")
    assert finite.is_satisfied_by(-1e300) and not finite.is_satisfied_by(float("nan"))
    arr = make_constraint("array-like")
    assert arr.is_satisfied_by(np.zeros(3)) and arr.is_satisfied_by([1, 2]) and not arr.is_satisfied_by("12")
    with pytest.raises(ValueError, match="unknown constraint"):
        make_constraint("positive")


def test_message_names_function_parameter_expectation_and_value():
    @validate_params({"confidence_level": [LEVEL], "n_resamples": [N_RESAMPLES, None]})
    def rank(data: Any, *, confidence_level: float = 0.95, n_resamples: int | None = None) -> float:
        return confidence_level

    with pytest.raises(ParameterError) as err:
        rank(1, confidence_level=1.5)
    assert str(err.value) == "rank(): `confidence_level` must be a float in the open interval (0, 1); got 1.5"
    assert err.value.parameter == "confidence_level" and err.value.value == 1.5
    assert isinstance(err.value, MetaevalError) and isinstance(err.value, ValueError)
    assert isinstance(err.value, TypeError)  # a wrong type is refused by the same error
    with pytest.raises(ParameterError, match=r"`n_resamples` must be an int >= 1 or None; got 2\.5$"):
        rank(1, n_resamples=2.5)
    with pytest.raises(ParameterError, match=r"got True$"):
        rank(1, n_resamples=True)
    with pytest.raises(ParameterError, match=r"got 'abc'$"):
        rank(1, confidence_level="abc")
    with pytest.raises(ParameterError, match=r"got nan$"):
        rank(1, confidence_level=float("nan"))
    assert rank(1, confidence_level=np.float64(0.9)) == 0.9
    assert constraints_of(rank)["n_resamples"][0] is N_RESAMPLES


def test_positional_arguments_are_checked_too():
    @validate_params({"level": [LEVEL]})
    def f(x: Any, level: float = 0.95) -> float:
        return level

    with pytest.raises(ParameterError, match="`level`"):
        f(0, 2.0)
    assert f(0, 0.5) == 0.5


def test_declarations_are_checked_when_the_function_is_defined():
    with pytest.raises(TypeError, match="does not have"):
        @validate_params({"levle": [LEVEL]})
        def f(level: float = 0.95) -> None: ...
    with pytest.raises(TypeError, match="breaks its own constraints"):
        @validate_params({"level": [LEVEL]})
        def g(level: float = 1.0) -> None: ...


def test_long_values_are_clipped():
    with pytest.raises(ParameterError) as err:
        check("method", "x" * 100_000, [Options(str, ("a", "b"))], where="f()")
    assert len(str(err.value)) < 500


# ------------------------------------------------------------------ every public function

PUBLIC_MODULES = [
    "metaeval", "metaeval.agreement", "metaeval.bias", "metaeval.juries", "metaeval.probes", "metaeval.report",
    "metaeval.rankers", "metaeval.stats", "metaeval.io", "metaeval.calibration", "metaeval.simulate",
    "metaeval.datasets", "metaeval.tables", "metaeval.demo", "metaeval.active",
]

# parameters that take a number, a seed or one of a set of options: a public function that has one must declare
# what it accepts (names that mean different things in different functions, such as `scale` or `n`, are covered by
# the rule on numeric defaults below)
MUST_DECLARE = {
    "confidence_level", "decision_level", "alpha", "n_resamples", "n_draws", "n_replicates", "n_permutations", "rng",
    "seed", "alternative", "method", "test", "ci", "missing", "power", "delta", "prior", "rope", "top", "tie_value",
    "min_diff", "regularize", "folds", "bins", "max_size", "max_panels", "beam", "qualification", "holdout", "budget",
    "alike", "eliminate", "max_iter", "tol", "batch_size", "n_options", "mode", "rule", "tie", "weighting", "search",
    "focus", "design", "align", "item_term", "criterion", "correction", "sd", "p_a", "p_b", "icc", "cluster_size",
    "within_var", "k_samples", "n_models", "n_items", "n_reps", "n_humans", "max_seconds", "max_memory",
    "max_total_seconds", "chunk", "runs", "test_fraction", "graded", "normalize", "tie_correction", "mid_p", "paired",
    "progress", "higher_is_better", "split_cells", "kind", "format", "level", "value", "arch", "expect", "granularity",
}


def _public_functions() -> dict[str, Any]:
    found: dict[str, Any] = {}
    seen: set[int] = set()
    for name in PUBLIC_MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.isfunction(obj) and id(obj) not in seen:
                seen.add(id(obj))
                found[f"{name}.{attr}"] = obj
    # the methods of the core tables, which users call as much as the functions
    from metaeval.tables import Judgments, PairwiseCounts, Profile, ScoreMatrix

    for cls in (Judgments, PairwiseCounts, Profile, ScoreMatrix):
        for attr, obj in vars(cls).items():
            if not attr.startswith("_") and inspect.isfunction(obj):
                found[f"metaeval.tables.{cls.__name__}.{attr}"] = obj
    return found


FUNCTIONS = _public_functions()


def test_the_registry_is_not_empty():
    assert len(FUNCTIONS) >= 100
    decorated = [n for n, f in FUNCTIONS.items() if constraints_of(f)]
    assert len(decorated) >= 90, sorted(set(FUNCTIONS) - set(decorated))


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_every_numeric_or_option_parameter_is_declared(qualname):
    func = FUNCTIONS[qualname]
    declared = constraints_of(func)
    missing = []
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in declared:
            continue
        numeric_default = isinstance(p.default, (int, float)) and p.default is not inspect.Parameter.empty
        if p.name in MUST_DECLARE or numeric_default:
            missing.append(p.name)
    assert not missing, f"{qualname} does not declare constraints for {missing}"


def _refused(constraints: list[Any]) -> list[Any]:
    """Values that none of a parameter's constraints accepts: each constraint's invalid values, and a few
    generic ones."""
    candidates: list[Any] = []
    for c in constraints:
        candidates += c.invalid_values()
    candidates += [object(), float("nan"), -1, "not-an-option"]
    out: list[Any] = []
    for v in candidates:
        if not any(c.is_satisfied_by(v) for c in constraints) and not any(v is o for o in out):
            out.append(v)
    return out


def _call(func: Any, name: str, bad: Any) -> None:
    declared = constraints_of(func)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name == name:
            value = bad
        elif p.default is not inspect.Parameter.empty:
            continue
        elif p.name in declared:
            value = declared[p.name][0].valid_value()
        else:
            value = object()  # not checked by the declarations, which run before the body
        if p.kind == p.POSITIONAL_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and p.name != name and not kwargs):
            args.append(value)
        else:
            kwargs[p.name] = value
    func(*args, **kwargs)


def _refusal_problem(func: Any, name: str, bad: Any) -> str | None:
    """What is wrong with how ``func`` refuses ``bad`` for ``name`` (None: one clear ParameterError)."""
    try:
        _call(func, name, bad)
    except ParameterError as err:
        message = str(err)
        if err.parameter != name:
            return f"refused `{err.parameter}` instead"
        if not message.startswith(f"{func.__qualname__}(): `{name}` must be ") or "; got " not in message:
            return f"unclear message {message!r}"
        if len(message) >= 500:
            return f"a message of {len(message)} characters"
        return None
    except Exception as err:  # anything else is the bug this test exists to catch
        return f"{type(err).__name__}: {err}"
    return "accepted"


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_every_declared_parameter_refuses_invalid_values(qualname):
    """Each declared parameter, fed up to three values its constraints refuse (out of range, nan, the wrong type,
    a bool for a count, 2.5 for an integer…), raises one ParameterError naming the function and the parameter."""
    func = FUNCTIONS[qualname]
    problems = []
    for name, cons in constraints_of(func).items():
        for bad in _refused(cons)[:3]:
            problem = _refusal_problem(func, name, bad)
            if problem:
                problems.append(f"{name}={bad!r}: {problem}")
    assert not problems, f"{qualname}: " + "; ".join(problems)


def test_every_declared_parameter_has_a_refusable_value():
    for qualname, func in FUNCTIONS.items():
        for name, cons in constraints_of(func).items():
            assert _refused(cons), f"{qualname}: nothing to refuse for `{name}`"


def test_the_issue_inputs_in_the_api():
    """issue 20: n_resamples=2.5 and confidence_level=1.5 ended in 'unexpected ValueError/TypeError/IndexError'."""
    import metaeval
    from metaeval import bias, stats

    sim = metaeval.simulate.pairwise(n_models=3, n_items=10, rng=0)
    for call in (lambda: bias.audit(sim.judgments, n_resamples=2.5), lambda: bias.audit(sim.judgments, rng=-1),
                 lambda: bias.audit(sim.judgments, confidence_level=-0.5),
                 lambda: stats.win_rates(sim.judgments, confidence_level=1.5),
                 lambda: stats.win_rates(sim.judgments, n_resamples=2.5),
                 lambda: metaeval.rank(sim.judgments, confidence_level=1.5),
                 lambda: metaeval.rank(sim.judgments, n_resamples=2.5),
                 lambda: stats.sample_size(float("nan"), sd=1.0),
                 lambda: stats.paired_bootstrap(np.ones(5), n_resamples=2.5)):
        with pytest.raises(ParameterError):
            call()


# ------------------------------------------------------------------ every numeric option of the command line

def _commands() -> list[tuple[str, click.Command]]:
    from metaeval.cli import cli

    return sorted(cli.commands.items())


def _cli_cases() -> list[Any]:
    """(command, option, text) for each checked option: up to three values it refuses once parsed."""
    from metaeval.cli import _Checked

    cases = []
    for name, cmd in _commands():
        for p in cmd.params:
            if isinstance(p.type, _Checked):
                cons = [make_constraint(c) for c in p.type.constraints if c is not None]
                typed = [str(v) for v in _refused(cons) if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
                # what the option refuses once parsed from the command line ("1" is a number there)
                bad = [t for t in dict.fromkeys(typed) if not any(c.is_satisfied_by(p.type.convert(t, p, None))
                                                                  for c in cons)]
                assert bad, f"{name} {p.opts}: nothing to refuse"
                cases += [(name, max(p.opts, key=len), v) for v in bad[:3]]
    return cases


def test_every_numeric_option_is_checked():
    from metaeval.cli import _Checked

    checked = 0
    for name, cmd in _commands():
        for p in cmd.params:
            assert not isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType)), (
                f"`metaeval {name} {p.opts[0]}` is a number without declared constraints: use cli._Checked")
            checked += isinstance(p.type, _Checked)
    assert checked >= 30


def _argv(name: str, cmd: click.Command, option: str, value: str) -> list[str]:
    argv = [name]
    for p in cmd.params:
        if isinstance(p, click.Argument) and p.required:
            argv += ["missing.csv"] * (p.nargs if p.nargs > 0 else 1)
        elif isinstance(p, click.Option) and p.required and option not in p.opts:
            argv += [p.opts[0], "out-dir" if "output" in p.name else "x"]
    return [*argv, f"{option}={value}"]


@pytest.mark.parametrize("command", sorted({c for c, _, _ in _cli_cases()}))
def test_every_numeric_option_refuses_an_invalid_value(command, tmp_path, monkeypatch):
    """`metaeval COMMAND --option BAD`: exit status 2, one line naming the option, no traceback, nothing written."""
    from metaeval.cli import cli

    monkeypatch.chdir(tmp_path)  # nothing may be written; if something were, it would land here
    cmd = dict(_commands())[command]
    problems = []
    for _, option, value in [c for c in _cli_cases() if c[0] == command]:
        res = CliRunner().invoke(cli, _argv(command, cmd, option, value))
        if res.exit_code != 2 or not res.stderr.startswith(f"metaeval: error: `{option}` must be "):
            problems.append(f"{option}={value}: exit {res.exit_code}, {res.output!r}")
        elif "Traceback" in res.output or not (res.exception is None or isinstance(res.exception, SystemExit)):
            problems.append(f"{option}={value}: {res.exception!r}")
    assert not problems, problems
    assert not any(tmp_path.iterdir())


def test_an_invalid_option_under_json_is_a_json_error():
    from metaeval.cli import cli

    # --level is the short old name of --confidence-level: the error names the option
    res = CliRunner().invoke(cli, ["bias", "missing.csv", "--level", "-0.5", "--json"])
    assert res.exit_code == 2
    error = json.loads(res.stdout)["error"]
    assert set(error) == {"type", "message", "path", "line", "field"}
    assert error["type"] == "ParameterError" and error["field"] == "--confidence-level"
    assert error["message"] == "`--confidence-level` must be a float in the open interval (0, 1); got -0.5"


@pytest.mark.parametrize(("argv", "option"), [
    (["bias", "t.csv", "--level", "-0.5"], "--confidence-level"),
    (["bias", "t.csv", "--confidence-level", "1.5"], "--confidence-level"),
    (["bias", "t.csv", "--n-resamples", "-3"], "--n-resamples"),
    (["compare", "t.csv", "a", "b", "--n-resamples", "-3"], "--n-resamples"),
    (["winrates", "t.csv", "--confidence-level", "nan"], "--confidence-level"),
    (["power", "--delta", "nan"], "--delta"),
    (["winrates", "t.csv", "--n-resamples", "2.5"], "--n-resamples"),
    (["rank", "t.csv", "--intensity", "-1"], "--intensity"),
    (["rank", "t.csv", "--alpha", "-1"], "--alpha"),  # the old name of --intensity, checked as it is typed
])
def test_the_issue_inputs_on_the_command_line(argv, option):
    from metaeval.cli import cli

    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2 and res.stderr.startswith(f"metaeval: error: `{option}` must be ")


@pytest.mark.filterwarnings("ignore::metaeval.errors.SmallSampleWarning")  # 15 items: expected and beside the point
def test_good_values_still_pass(tmp_path):
    """The checks do not refuse what the commands accept (a valid run end to end)."""
    from metaeval import datasets
    from metaeval.cli import cli

    res = CliRunner().invoke(cli, ["winrates", str(datasets.path("judge_study.parquet")), "--level", "0.9",
                                   "--n-resamples", "50", "--seed", "0", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["run_info"]["params"]["confidence_level"] == 0.9 and out["run_info"]["params"]["n_resamples"] == 50
    res = CliRunner().invoke(cli, ["rank", str(datasets.path("judge_study.parquet")), "--method", "alpha_rank",
                                   "--intensity", "inf", "--n-resamples", "2", "--seed", "0", "--json"])
    assert res.exit_code == 0, res.output


def test_mapping_constraint_accepts_dicts():
    assert make_constraint(Mapping).is_satisfied_by({"a": 1}) and not make_constraint(Mapping).is_satisfied_by([1])


def test_warnings_point_past_the_checks():
    """The parameter checks add a frame between a public function and its caller; a metaeval warning points at
    the first frame outside metaeval (here the decorated function itself, defined in this test file), never at
    the checks."""
    from metaeval.errors import EstimationWarning, warn

    @validate_params({"level": [LEVEL]})
    def analysis(level: float = 0.95) -> None:
        warn("cannot estimate", EstimationWarning)  # the default points at the caller of analysis()

    with pytest.warns(EstimationWarning) as caught:
        analysis(level=0.9)
    line = analysis.__wrapped__.__code__.co_firstlineno + 2  # the warn() line inside analysis
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)
