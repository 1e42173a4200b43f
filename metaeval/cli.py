"""The ``metaeval`` command line.

Errors print one line (``metaeval: error: …``) and exit with status 2; ``--debug`` shows the
traceback. Every analysis command takes ``--json`` for scripting; with it an error is a JSON object
on stdout, ``{"error": {"type", "message", "path", "line", "field"}}``, still with status 2.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from metaeval._files import atomic_path, check_output_file, check_output_folder, check_writable_folder
from metaeval._progress import quiet
from metaeval._random import same_bytes
from metaeval._validate import LEVEL, SIGNIFICANCE, Interval, Options, check
from metaeval._version import __version__
from metaeval.errors import MetaevalError, MetaevalWarning, ParameterError
from metaeval.tables import ScoreMatrix

F = TypeVar("F", bound=Callable[..., Any])


class _Checked(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2; we allow 8.1
    """A numeric option with declared constraints (:mod:`metaeval._validate`, the ones the API
    functions declare). Parsing never fails here: a value that is not a number is passed on as
    text, and every checked option is then validated in :func:`_handle_errors`, so that any bad
    value is one error naming the option (``--level``), exit status 2, and a JSON object under
    ``--json``."""

    def __init__(self, base: type, constraints: list[Any]) -> None:
        self.base = base
        self.constraints = constraints
        self.name = "integer" if base is int else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)  # for an int option a float is kept, and refused by the check
        except ValueError:
            return value


def _count(low: int, *, none: bool = False) -> _Checked:
    """An integer option of at least ``low`` (or omitted, with ``none``)."""
    return _Checked(int, [Interval(Integral, low, None, closed="left"), *([None] if none else [])])


def _nonnegative(*, none: bool = False) -> _Checked:
    return _Checked(float, [Interval(Real, 0, None, closed="left"), *([None] if none else [])])


_LEVEL = _Checked(float, [LEVEL])
_SIGNIFICANCE = _Checked(float, [SIGNIFICANCE])
_SEED = _Checked(int, [Interval(Integral, 0, None, closed="left")])
_SEED_OR_NONE = _Checked(int, [Interval(Integral, 0, None, closed="left"), None])
_FINITE_OR_NONE = _Checked(float, ["finite", None])
_NONZERO_OR_NONE = _Checked(float, [Interval(Real, None, 0, closed="neither"),
                                    Interval(Real, 0, None, closed="neither"), None])
_SHARE_OR_NONE = _Checked(float, [Interval(Real, 0, 1, closed="both"), None])
_OPEN_SHARE_OR_NONE = _Checked(float, [Interval(Real, 0, 1, closed="neither"), None])
_INTENSITY = _Checked(float, [Interval(Real, 0, math.inf, closed="right"), Options(str, ("auto",)), None])



def _check_options(ctx: click.Context, kwargs: dict[str, Any]) -> None:
    """Validate every checked option of the command against its constraints: the error names the
    option as it is typed (``--level``)."""
    for param in ctx.command.params:
        if isinstance(param.type, _Checked) and kwargs.get(param.name) is not None:  # None: not given
            check(max(param.opts, key=len), kwargs[param.name], [c for c in param.type.constraints if c is not None])


def _fail(message: str, exc: BaseException | None = None, as_json: bool = False) -> None:
    """Print the error and exit with status 2: one line ``metaeval: error: …`` on stderr, or, under
    ``--json``, a JSON object on stdout with a stable shape ``{"error": {"type", "message", "path",
    "line", "field"}}`` (the fields a metaeval error knows; null otherwise)."""
    if as_json:
        error = {"type": type(exc).__name__ if exc is not None else "MetaevalError", "message": message,
                 "path": getattr(exc, "path", None) or getattr(exc, "source", None), "line": getattr(exc, "line", None),
                 "field": getattr(exc, "field", None)}
        click.echo(json.dumps({"error": _clean(error)}, default=str))
    else:
        click.echo(f"metaeval: error: {message}", err=True)
    sys.exit(2)


def _handle_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        as_json = bool(kwargs.get("as_json"))
        try:
            _check_options(ctx, kwargs)
            return fn(*args, **kwargs)
        except (MetaevalError, OSError) as exc:
            if debug:
                raise
            text = str(exc).strip()
            _fail(text.replace("\n", " ") if isinstance(exc, OSError) else text, exc, as_json)
        except Exception as exc:
            if debug:
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", exc, as_json)

    return wrapper  # type: ignore[return-value]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None  # nan and ±inf are not JSON (the warnings printed with the result say why)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(_clean(data), indent=2, default=str, allow_nan=False))


def _emit(res: Any, as_json: bool, caught: Sequence[Any] = (), extra: dict[str, Any] | None = None,
          footer: str | None = None) -> None:
    """Print a result: JSON (with the warnings raised while computing it) or its summary."""
    if as_json:
        out = res.to_dict()
        out.update(extra or {})
        out["warnings"] = [str(w.message) for w in caught]
        _echo_json(out)
        return
    for w in caught:
        click.echo(f"metaeval: warning: {w.message}", err=True)
    click.echo(res.summary())
    if footer:
        click.echo(footer)


def _parse_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise MetaevalError(f"`{what}` takes NAME=VALUE; got {v!r}")
        k, _, val = v.partition("=")
        out[k.strip()] = val
    return out


def _load(path: str, fmt: str | None = None) -> Any:
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.io import read

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        j = read(path, fmt)
    for w in caught:
        click.echo(f"metaeval: warning: {w.message}", err=True)
    return j


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="metaeval")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """metaeval: the statistics of evaluating language models."""
    ctx.obj = {"debug": debug}


@cli.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Parquet file to write.")
@click.option("--format", "fmt", default=None, help="Input format (detected when omitted).")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=SOURCE",
              help="Map a metaeval column to a file column (generic tables), e.g. item=question_id.")
@click.option("--value", "value_maps", multiple=True, metavar="COLUMN:FROM=TO",
              help="Map a value of a column, e.g. 'outcome:A>B=a'.")
@click.option("--set", "constants", multiple=True, metavar="COLUMN=VALUE", help="Add a constant column.")
@click.option("--kind", type=click.Choice(["pointwise", "pairwise"]), default=None)
@click.option("--model", default=None, help="Model name, for logs that do not record it.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@_handle_errors
def import_cmd(sources: tuple[str, ...], output: str, fmt: str | None, maps: tuple[str, ...],
               value_maps: tuple[str, ...], constants: tuple[str, ...], kind: str | None, model: str | None,
               as_json: bool) -> None:
    """Read result files SOURCES and write one validated table (Parquet)."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.io import read

    if Path(output).suffix.lower() not in (".parquet", ".pq"):
        raise ParameterError(f"`--output` must end in .parquet; got {output!r}")
    check_output_file(output)  # before any reading
    values: dict[str, dict[str, str]] = {}
    for spec in value_maps:
        col, sep, rest = spec.partition(":")
        if not sep or "=" not in rest:
            raise ParameterError(f"`--value` takes COLUMN:FROM=TO; got {spec!r}")
        src, _, dst = rest.rpartition("=")
        values.setdefault(col, {})[src] = dst
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        j = read(list(sources) if len(sources) > 1 else sources[0], fmt, columns=_parse_pairs(maps, "--map"),
                 values=values or None, constants=_parse_pairs(constants, "--set") or None,
                 kind=kind, model=model)
    j.write_parquet(output)
    if as_json:
        _echo_json({"output": output, "kind": j.kind, "rows": len(j), "items": len(j.items),
                    "models": list(j.models), "judges": list(j.judges), "provenance": j.provenance,
                    "warnings": [str(w.message) for w in caught]})
        return
    for w in caught:
        click.echo(f"metaeval: warning: {w.message}", err=True)
    detected = j.provenance.get("detected")
    how = f" (detected: {detected})" if detected else ""
    click.echo(f"read {len(j):,} {j.kind} judgments of {len(j.models)} models by {len(j.judges)} judges on "
               f"{len(j.items):,} items; format {j.provenance.get('format')}{how}")
    click.echo(f"wrote {output}")


@cli.command("info")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None, help="Input format (detected when omitted).")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def info_cmd(table: str, fmt: str | None, as_json: bool) -> None:
    """What is in TABLE: items, models, judges, kinds, missing values, repeats."""
    j = _load(table, fmt)
    _emit(j.info(), as_json)


@cli.command("datasets")
@click.option("--copy", "copy_to", default=None, type=click.Path(file_okay=False),
              help="Copy every table (and DATASETS.md, naming their sources and licences) into this folder.")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def datasets_cmd(copy_to: str | None, as_json: bool) -> None:
    """The small tables that come with metaeval (excerpts of public data, simulated studies): the
    README's examples run on them."""
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval import datasets

    if copy_to:
        check_writable_folder(copy_to)
    rows = [{"name": d.name, "description": d.description, "source": d.source, "licence": d.licence,
             "path": str(datasets.path(d.name))} for d in datasets.DATASETS.values()]
    copied = [str(p) for p in datasets.copy(copy_to)] if copy_to else []
    if as_json:
        _echo_json({"datasets": rows, "copied": copied})
        return
    for r in rows:
        click.echo(f"{r['name']}: {r['description']}\n    source: {r['source']}; licence: {r['licence']}")
    if copy_to:
        click.echo(f"copied {len(copied)} files to {copy_to}")


@cli.command("demo")
@click.option("-o", "--output", "outdir", default="reports/demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the report.")
@click.option("--seed", default=2024, show_default=True, type=_SEED, help="Seed of the simulation.")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def demo_cmd(outdir: str, seed: int, as_json: bool) -> None:
    """Simulate a judge study and run every analysis metaeval has on it."""
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.demo import run_demo

    check_output_folder(outdir)  # before the simulation
    summary = run_demo(Path(outdir), seed=seed, progress=False if as_json else None)
    if as_json:
        _echo_json(summary)
    else:
        for path in summary["files"]:
            click.echo(f"wrote {path}")


@cli.command("winrates")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None)
@click.option("--n-resamples", default=1000, show_default=True, type=_count(1))  # = DEFAULT_N_RESAMPLES
@click.option("--confidence-level", "--level", "level", default=0.95, show_default=True, type=_LEVEL,
              help="Confidence level of every interval (--level: its short old name).")
@click.option("--seed", default=None, type=_SEED_OR_NONE, help="Seed (drawn and reported when omitted).")
@click.option("--discrete", is_flag=True,
              help="Count only who won (1 / 0 / ½), not the graded preference p_a where the table has one.")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def winrates_cmd(table: str, fmt: str | None, n_resamples: int, level: float, seed: int | None, discrete: bool,
                 as_json: bool) -> None:
    """Each model's win rate with an item-clustered bootstrap interval (pairwise TABLE).

    A verdict counts its graded preference p_a where the table has one (AlpacaEval's win_rate), else 1 / 0 / ½.
    """
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.stats import win_rates

    j = _load(table, fmt)
    res = win_rates(j, graded=not discrete, n_resamples=n_resamples, confidence_level=level, rng=seed)
    _emit(res, as_json, footer=f"seed {res.run_info.seed}")


@cli.command("rank")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None)
@click.option("--method", default="auto", show_default=True,
              type=click.Choice(["auto", "bradley_terry", "davidson", "rao_kupper", "elo", "rank_centrality",
                                 "plackett_luce", "bayesian_bradley_terry", "nash_averaging", "maximal_lottery",
                                 "alpha_rank", "equilibrium"]))
@click.option("--bayes", is_flag=True, help="Short for --method bayesian_bradley_terry (PyMC).")
@click.option("--ci", default="bootstrap", show_default=True, type=click.Choice(["bootstrap", "sandwich", "none"]))
@click.option("--n-resamples", default=1000, show_default=True, type=_count(2, none=True),
              help="Bootstrap resamples (the package default; see metaeval.stats.resampling).")
@click.option("--cluster", default="auto", show_default=True,
              help="What the bootstrap resamples: 'auto' (whole items when the table has item ids), item, judge, "
                   "another column, or 'none' (single battles).")
@click.option("--confidence-level", "--level", "level", default=0.95, show_default=True, type=_LEVEL,
              help="Confidence level of every interval (--level: its short old name).")
@click.option("--prior", default=0.0, show_default=True, type=_nonnegative(),
              help="Precision of a Gaussian prior on the strengths.")
@click.option("--scale", default="logit", show_default=True, type=click.Choice(["logit", "elo"]))
@click.option("--anchor", default=None, help="Pin this model at --anchor-value.")
@click.option("--anchor-value", default=None, type=_FINITE_OR_NONE)
@click.option("--intensity", default=None, type=_INTENSITY,
              help="alpha_rank: selection intensity α [default: 100; 'inf' or 'auto' allowed].")
@click.option("--alpha", "old_alpha", default=None, type=_INTENSITY, hidden=True, help="Old name of --intensity.")
@click.option("--baseline", default=None, help="equilibrium on a pairwise table: the model in every verdict.")
@click.option("--seed", default=None, type=_SEED_OR_NONE, help="Seed (drawn and reported when omitted).")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def rank_cmd(table: str, fmt: str | None, method: str, bayes: bool, ci: str, n_resamples: int | None,
             cluster: str | None,
             level: float, prior: float, scale: str, anchor: str | None, anchor_value: float | None,
             intensity: float | str | None, old_alpha: float | str | None, baseline: str | None, seed: int | None,
             as_json: bool) -> None:
    """Ratings with intervals, rank intervals and P(best) from a pairwise (or pointwise) TABLE.

    The game-theoretic methods (nash_averaging, maximal_lottery, alpha_rank, equilibrium) report
    each model's equilibrium or stationary mass too.
    """
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.rankers import GAME_METHODS, rank

    if old_alpha is not None:
        if intensity is not None:
            raise ParameterError("pass --intensity only (--alpha is its old name)")
        click.echo("warning: --alpha is now --intensity; the old name goes in the next release", err=True)
        intensity = old_alpha
    j = _load(table, fmt)
    game: dict[str, object] = {}
    if bayes:
        if method not in ("auto", "bayesian_bradley_terry"):
            raise MetaevalError("--bayes is the Bayesian Bradley–Terry model; drop --method")
        method = "bayesian_bradley_terry"
        game["progress"] = not as_json
    if method in GAME_METHODS:
        game = {k: v for k, v in (("intensity", intensity), ("baseline", baseline)) if v is not None}
        if intensity is not None and intensity != "auto":
            game["intensity"] = float(intensity)
        game["progress"] = not as_json
    elif intensity is not None or baseline is not None:
        raise MetaevalError("--intensity and --baseline apply to the game-theoretic methods")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rank(j, method, ci=ci, n_resamples=n_resamples, cluster=cluster,
                   confidence_level=level, prior=prior, scale=scale, anchor=anchor,
                   anchor_value=anchor_value, rng=seed, **game)
    _emit(res, as_json, caught, footer=f"seed {res.run_info.seed}")


@cli.command("compare")
@click.argument("table", type=click.Path(dir_okay=False))
@click.argument("model_a")
@click.argument("model_b")
@click.option("--format", "fmt", default=None)
@click.option("--test", default="auto", show_default=True,
              type=click.Choice(["auto", "mcnemar", "mcnemar_midp", "paired_t", "wilcoxon", "bootstrap",
                                 "permutation"]))
@click.option("--alternative", default="two-sided", show_default=True,
              type=click.Choice(["two-sided", "greater", "less"]))
@click.option("--cluster", default=None, help="Column whose values group the items (e.g. task).")
@click.option("--confidence-level", "--level", "level", default=0.95, show_default=True, type=_LEVEL,
              help="Confidence level of every interval (--level: its short old name).")
@click.option("--n-resamples", default=10_000, show_default=True, type=_count(1))  # = DEFAULT_N_TEST_RESAMPLES
@click.option("--bayes", is_flag=True, help="Posterior probabilities instead of a test (the Dirichlet 2x2 posterior "
              "for binary scores, a Student-t posterior below 300 items or with clusters, the Bayesian bootstrap "
              "above).")
@click.option("--rope", default=0.0, show_default=True, type=_nonnegative(),
              help="With --bayes: region of practical equivalence.")
@click.option("--seed", default=None, type=_SEED_OR_NONE)
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def compare_cmd(table: str, model_a: str, model_b: str, fmt: str | None, test: str, alternative: str,
                cluster: str | None, level: float, n_resamples: int, bayes: bool, rope: float, seed: int | None,
                as_json: bool) -> None:
    """Is MODEL_A better than MODEL_B on the same items of TABLE? The right paired test."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.stats import compare

    if bayes and (test != "auto" or alternative != "two-sided"):
        raise MetaevalError("--test and --alternative choose a frequentist test; drop them with --bayes")
    if rope and not bayes:
        raise MetaevalError("--rope applies with --bayes")
    j = _load(table, fmt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if bayes:
            res = compare(j, model_a, model_b, method="bayes", rope=rope, confidence_level=level, cluster=cluster,
                          rng=seed)
        else:
            res = compare(j, model_a, model_b, test=test, alternative=alternative,
                          confidence_level=level, cluster=cluster, n_resamples=n_resamples, rng=seed)
    seed_used = res.run_info.seed
    _emit(res, as_json, caught, extra={"reason": res.reason, "interval_method": res.ci.method},
          footer=f"seed {seed_used}" if seed_used is not None else None)


@cli.command("power")
@click.argument("table", required=False, type=click.Path(dir_okay=False))
@click.argument("model_a", required=False)
@click.argument("model_b", required=False)
@click.option("--delta", type=_NONZERO_OR_NONE, default=None, help="Difference to detect (default: the pilot's).")
@click.option("--sd", type=_nonnegative(none=True), default=None,
              help="Per-item sd of the paired difference (no pilot).")
@click.option("--p-a", "p_a", type=_SHARE_OR_NONE, default=None, help="Accuracy of A (no pilot).")
@click.option("--p-b", "p_b", type=_SHARE_OR_NONE, default=None, help="Accuracy of B (no pilot).")
@click.option("--power", "power_", default=0.8, show_default=True, type=_LEVEL)
@click.option("--alpha", default=0.05, show_default=True, type=_SIGNIFICANCE)
@click.option("--cluster", default=None)
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def power_cmd(table: str | None, model_a: str | None, model_b: str | None, delta: float | None, sd: float | None,
              p_a: float | None, p_b: float | None, power_: float, alpha: float, cluster: str | None,
              as_json: bool) -> None:
    """Items needed to detect --delta: from pilot TABLE MODEL_A MODEL_B, or from --sd / --p-a --p-b."""
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.stats import minimum_detectable_effect, power_from_pilot, sample_size

    if table is not None:
        if model_a is None or model_b is None:
            raise MetaevalError("with a pilot TABLE, name MODEL_A and MODEL_B")
        res = power_from_pilot(_load(table), model_a, model_b, delta=delta, power=power_, alpha=alpha,
                               cluster=cluster)
        _emit(res, as_json)
        return
    if delta is None:
        raise MetaevalError("give `--delta` (and `--sd` or `--p-a`/`--p-b`), or a pilot TABLE")
    n = sample_size(delta, sd=sd, p_a=p_a, p_b=p_b, power=power_, alpha=alpha)
    if as_json:
        _echo_json({"delta": delta, "n_items": n, "power": power_, "alpha": alpha})
    else:
        click.echo(f"{n} items detect a difference of {delta:g} with power {power_:.0%} at alpha {alpha:g} "
                   f"(check: detectable effect at {n} items = "
                   f"{minimum_detectable_effect(n, sd=sd, p_a=p_a, p_b=p_b, power=power_, alpha=alpha):.4g})")


@cli.command("agreement")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None)
@click.option("--metric", default="krippendorff_alpha", show_default=True,
              type=click.Choice(["krippendorff_alpha", "fleiss_kappa", "gwet_ac", "brennan_prediger",
                                 "percent_agreement", "cohen_kappa", "scott_pi", "icc", "matrix"]))
@click.option("--scale", default=None, type=click.Choice(["nominal", "ordinal", "interval", "ratio"]),
              help="Level of measurement, for Krippendorff's alpha  [default: nominal]")
@click.option("--level", "old_level", default=None, hidden=True,
              type=click.Choice(["nominal", "ordinal", "interval", "ratio"]), help="Old name of --scale.")
@click.option("--weights", default="identity", show_default=True,
              type=click.Choice(["identity", "linear", "quadratic"]))
@click.option("--reference", default=None, help="Judge (or prefix such as 'human') to compare every judge with.")
@click.option("--judges", default=None, help="Comma-separated judges to use (default: all).")
@click.option("--missing", default=None, type=click.Choice(["drop", "wrong", "tie"]),
              help="What a judge's missing verdict counts as (default: 'wrong' against a --reference, else 'drop').")
@click.option("--ci", default="bootstrap", show_default=True, type=click.Choice(["bootstrap", "analytic", "none"]))
@click.option("--n-resamples", default=1000, show_default=True, type=_count(2))
@click.option("--seed", default=None, type=_SEED_OR_NONE)
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def agreement_cmd(table: str, fmt: str | None, metric: str, scale: str | None, old_level: str | None, weights: str,
                  reference: str | None, judges: str | None, missing: str | None, ci: str, n_resamples: int,
                  seed: int | None, as_json: bool) -> None:
    """Agreement among the judges of TABLE, or of every judge with --reference."""
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval import agreement as ag

    if old_level is not None:
        if scale is not None:
            raise ParameterError("pass --scale only (--level is its old name)")
        click.echo("warning: --level is now --scale; the old name goes in the next release", err=True)
        scale = old_level
    scale = scale or "nominal"

    j = _load(table, fmt)
    names = [x.strip() for x in judges.split(",")] if judges else None
    kw: dict[str, Any] = {"ci": ci, "n_resamples": n_resamples, "rng": seed}
    if reference is not None:
        kw["missing"] = missing
    elif metric != "icc":
        kw["missing"] = missing or "drop"
    if reference is not None:
        pair_metric = metric if metric in ("cohen_kappa", "scott_pi", "percent_agreement", "krippendorff_alpha",
                                           "gwet_ac") else "cohen_kappa"
        if pair_metric == "krippendorff_alpha":
            kw["scale"] = scale
        elif pair_metric in ("cohen_kappa", "gwet_ac", "percent_agreement"):
            kw["weights"] = weights
        res: Any = ag.against(j, reference, metrics=(pair_metric,), **kw)
    elif metric == "matrix":
        res = ag.matrix(j, "cohen_kappa", judges=names, weights=weights, **kw)
    elif metric == "icc":
        res = ag.icc(j, judges=names)
    elif metric == "krippendorff_alpha":
        res = ag.krippendorff_alpha(j, scale, judges=names, **kw)  # type: ignore[arg-type]
    elif metric in ("cohen_kappa", "scott_pi"):
        if not names or len(names) != 2:
            raise MetaevalError(f"`{metric}` compares two judges: pass --judges A,B")
        res = getattr(ag, metric)(j, names[0], names[1], **({"weights": weights} if metric == "cohen_kappa" else {}),
                                  **kw)
    else:
        res = getattr(ag, metric)(j, judges=names, weights=weights, **kw)
    ci_obj = getattr(res, "ci", None)
    _emit(res, as_json, footer=f"interval: {ci_obj}" if ci_obj is not None else None)


def _leaderboard_options(fn: F) -> F:
    """The options that say how to read a models x tasks leaderboard (shared by `vote` and the reports)."""
    for opt in reversed([
        click.option("--model", "model_col", default=None, help="Leaderboards: the column with model names."),
        click.option("--tasks", default=None, help="Leaderboards: comma-separated score columns (default: every "
                     "column whose cells are mostly numbers, less ranks and aggregates such as Score)."),
        click.option("--exclude", default="", help="Leaderboards: comma-separated columns that are not tasks "
                     "(e.g. Score,AX)."),
        click.option("--top", default=None, type=_count(1, none=True),
                     help="Leaderboards: keep the first N rows (file order)."),
        click.option("--lower-is-better", "lower", default="",
                     help="Leaderboards: comma-separated tasks where a lower score is better (default: the tasks "
                          "named like a cost or an error, such as Price, Time, Latency, Error, Loss, Bias; a warning "
                          "names them)."),
        click.option("--higher-is-better", "higher", default="",
                     help="Leaderboards: comma-separated tasks where a higher score is better, overriding the guess "
                          "from their names."),
        click.option("--preset", default=None, type=click.Choice(["vote_n_rank"]),
                     help="Leaderboards: read the board as a published framework did (vote_n_rank, Rofin et al. "
                          "2023: models with a missing score dropped, the diagnostic sets AX, AX-b, AX-g left out); "
                          "`vote` also computes that framework's rules with its tie conventions."),
    ]):
        fn = opt(fn)
    return fn


def _directions(lower: str, higher: str) -> dict[str, bool] | None:
    """``--lower-is-better`` / ``--higher-is-better`` as ``read_leaderboard``'s ``higher_is_better``."""
    down = [x.strip() for x in lower.split(",") if x.strip()]
    up = [x.strip() for x in higher.split(",") if x.strip()]
    both = sorted(set(down) & set(up))
    if both:
        raise ParameterError(f"{both[0]!r} is in both --lower-is-better and --higher-is-better")
    return {**dict.fromkeys(down, False), **dict.fromkeys(up, True)} or None


def _read_board(path: str, model_col: str | None, tasks: str | None, exclude: str, top: int | None,
                preset: str | None = None, lower: str = "", higher: str = "") -> Any:
    """A leaderboard read with the options of :func:`_leaderboard_options`."""
    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.io import read_leaderboard

    return read_leaderboard(path, model=model_col, exclude=[x.strip() for x in exclude.split(",") if x.strip()],
                            tasks=[x.strip() for x in tasks.split(",") if x.strip()] if tasks else None, top=top,
                            preset=preset, higher_is_better=_directions(lower, higher))


def _print_notes(notes: Sequence[str], caught: Sequence[Any]) -> None:
    said = {str(w.message) for w in caught}
    for n in notes:
        if n not in said:
            click.echo(f"metaeval: note: {n}", err=True)


@cli.command("vote")
@click.argument("leaderboard", type=click.Path(dir_okay=False))
@click.option("--rules", default=None, help="Comma-separated rules (default: all of the registry or preset).")
@click.option("--missing", default="drop", show_default=True, type=click.Choice(["drop", "keep"]),
              help="drop: leave out models with missing scores first; keep: skip the rules that need them.")
@_leaderboard_options
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def vote_cmd(leaderboard: str, rules: str | None, missing: str, model_col: str | None, tasks: str | None,
             exclude: str, top: int | None, lower: str, higher: str, preset: str | None, as_json: bool) -> None:
    """Re-rank LEADERBOARD (models x tasks) under social-choice rules: who wins under which rule."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.rankers import compare_rules

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sm = _read_board(leaderboard, model_col, tasks, exclude, top, preset, lower, higher)
        res = compare_rules(sm, rules=[r.strip() for r in rules.split(",")] if rules else None, missing=missing,
                            preset=preset)
    if not as_json:
        _print_notes(sm.notes, caught)
    _emit(res, as_json, caught, extra={"verdict": res.verdict, "condorcet_winner": res.condorcet_winner,
                                       "read_notes": list(sm.notes)})


@cli.command("bias")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None, help="Input format (default: detected).")
@click.option("--reference", default=None, help="Reference judge or prefix (default: 'human' / 'gold' if present).")
@click.option("--n-resamples", default=1000, show_default=True, type=_count(1))
@click.option("--confidence-level", "--level", "level", default=0.95, show_default=True, type=_LEVEL,
              help="Confidence level of every interval (--level: its short old name).")
@click.option("--seed", default=None, type=_SEED_OR_NONE)
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def bias_cmd(table: str, fmt: str | None, reference: str | None, n_resamples: int, level: float, seed: int | None,
             as_json: bool) -> None:
    """Audit the judges of TABLE for position, length, style, self-preference and consistency biases."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.bias import audit

    j = _load(table, fmt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = audit(j, reference=reference, n_resamples=n_resamples, confidence_level=level, rng=seed)
    _emit(res, as_json, caught, extra={"skipped": res.skipped, "probe_warnings": list(res.warnings)})


@cli.command("select-judge")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default=None, help="Input format (default: detected).")
@click.option("--reference", default="human", show_default=True,
              help="Reference judge, or a prefix whose judges (human:1, human:2 …) form a consensus.")
@click.option("--budget", default=None, type=_nonnegative(none=True),
              help="Most a panel may cost per unit (units of the cost column).")
@click.option("--max-size", default=3, show_default=True, type=_count(1), help="Largest panel.")
@click.option("--metric", default=None, help="accuracy, cohen_kappa, krippendorff_alpha (scores: pearson, mae).")
@click.option("--rule", default="majority", show_default=True,
              type=click.Choice(["majority", "weighted", "probability", "mean", "median"]))
@click.option("--tie", default="chair", show_default=True, type=click.Choice(["chair", "random", "tie"]))
@click.option("--judges", default=None, help="Comma-separated pool of judges (default: all but the reference).")
@click.option("--holdout", default=None, type=_OPEN_SHARE_OR_NONE,
              help="Share of items kept aside for the test (e.g. 0.3).")
@click.option("--missing", default="wrong", show_default=True, type=click.Choice(["drop", "wrong", "tie"]),
              help="What a judge's missing verdict counts as.")
@click.option("--n-resamples", default=1000, show_default=True, type=_count(0))
@click.option("--confidence-level", "--level", "level", default=0.95, show_default=True, type=_LEVEL,
              help="Confidence level of every interval (--level: its short old name).")
@click.option("--seed", default=None, type=_SEED_OR_NONE)
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def select_judge_cmd(table: str, fmt: str | None, reference: str, budget: float | None, max_size: int,
                     metric: str | None, rule: str, tie: str, judges: str | None, holdout: float | None,
                     missing: str, n_resamples: int, level: float, seed: int | None, as_json: bool) -> None:
    """Which judge or jury of TABLE to use: every panel scored against the reference, the
    cost–agreement frontier, and the best panel tested against the best single judge."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval import juries

    j = _load(table, fmt)
    names = [x.strip() for x in judges.split(",")] if judges else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = juries.select(j, reference, budget=budget, max_size=max_size, metric=metric, judges=names,
                            rule=rule, tie=tie, holdout=holdout, missing=missing,  # type: ignore[arg-type]
                            n_resamples=n_resamples,
                            confidence_level=level, rng=seed, progress=None if not as_json else False)
    _emit(res, as_json, caught)


_JUDGE_FLAGS = {"prompt": "--prompt", "parser": "--parser", "system_prompt": "--system-prompt",
                "max_new_tokens": "--max-new-tokens", "temperature": "--temperature", "seed": "--judge-seed",
                "logprobs": "--logprobs", "concurrency": "--concurrency",
                "requests_per_second": "--requests-per-second",
                "tokens_per_minute": "--tokens-per-minute", "timeout": "--timeout", "max_retries": "--max-retries",
                "device": "--device", "batch_size": "--batch-size"}


@cli.command("probe")
@click.argument("items", type=click.Path(dir_okay=False))
@click.option("--judge", "judge_spec", required=True,
              help="hf:MODEL_DIR (log-probabilities), gen:MODEL_DIR (generates under --prompt), "
                   "openai:BASE_URL#MODEL (async OpenAI-compatible server), vllm:MODEL (GPU), "
                   "http:BASE_URL#MODEL, embedding[:MODEL_DIR] or python:module:function.")
@click.option("--probes", "probe_names", default=None, help="Comma-separated probes (default: all).")
@click.option("--mode", default=None, type=click.Choice(["pairwise", "pointwise"]),
              help="Judge pairs or single responses (default: from each item).")
@click.option("--prompt", default=None,
              help="gen/openai/vllm: a judge prompt preset (mt-bench-pair, mt-bench-single, arena-hard, alpaca-eval, "
                   "pandalm, judgelm…) or a Jinja template file (then give --parser). Default: mt-bench-pair.")
@click.option("--parser", default=None,
              help="gen/openai/vllm: the verdict parser (choice, arena, identifier, pandalm, judgelm, json, rating, "
                   "number); default: the prompt's.")
@click.option("--system-prompt", default=None, help="gen/openai/vllm: replaces the prompt's system message.")
@click.option("--max-new-tokens", default=None, type=_count(1, none=True),
              help="gen/openai/vllm: generation budget (a verdict cut off by it is an abstention).")
@click.option("--temperature", default=None, type=_nonnegative(none=True),
              help="gen/openai/vllm: 0 = greedy (default); above 0 samples, seeded by --judge-seed.")
@click.option("--judge-seed", default=None, type=_SEED_OR_NONE, help="gen/openai/vllm: the sampling seed (default 0).")
@click.option("--logprobs", is_flag=True, default=None,
              help="openai/vllm: read the verdict from the first token's log-probabilities instead of the text.")
@click.option("--concurrency", default=None, type=_count(1, none=True), help="openai: requests in flight (default 16).")
@click.option("--requests-per-second", default=None, type=_Checked(float, [Interval(Real, 0, None, closed="neither"),
                                                                          None]),
              help="openai/http: request rate limit.")
@click.option("--tokens-per-minute", default=None, type=_Checked(float, [Interval(Real, 0, None, closed="neither"),
                                                                        None]),
              help="openai: token rate limit (a request counts a quarter of its characters plus its budget).")
@click.option("--timeout", default=None, type=_Checked(float, [Interval(Real, 0, None, closed="neither"), None]),
              help="openai: seconds per request.")
@click.option("--max-retries", default=None, type=_count(0, none=True),
              help="openai: retries of a 429/5xx/timeout (backoff, Retry-After honoured) before an abstention.")
@click.option("--device", default=None, help="cuda, mps or cpu (default: the best available).")
@click.option("--batch-size", default=None, type=_count(1, none=True))
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "ray"]),
              help="ray: shard the requests over Ray actors, each loading its own judge.")
@click.option("--workers", default=None, type=_count(1, none=True),
              help="--engine ray: actors (default: the cluster's CPUs).")
@click.option("--address", default=None,
              help="--engine ray: an existing cluster ('auto' or ray://HOST:10001); default: a local Ray.")
@click.option("--cache", default=None, type=click.Path(),
              help="Folder for the resumable verdict cache (concurrent runs on one folder share the work).")
@click.option("--max-attempts", default=5, show_default=True, type=_count(1),
              help="Attempts per request the judge fails on (exponential backoff); what still fails is an abstention.")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="Write the verdicts (Parquet).")
@click.option("--seed", default=0, show_default=True, type=_SEED, help="Seeds the perturbations.")
@click.option("--json", "as_json", is_flag=True)
@_handle_errors
def probe_cmd(items: str, judge_spec: str, probe_names: str | None, mode: str | None, prompt: str | None,
              parser: str | None, system_prompt: str | None, max_new_tokens: int | None, temperature: float | None,
              judge_seed: int | None, logprobs: bool | None, concurrency: int | None,
              requests_per_second: float | None, tokens_per_minute: float | None, timeout: float | None,
              max_retries: int | None, device: str | None, batch_size: int | None, engine: str,
              workers: int | None, address: str | None, cache: str | None, max_attempts: int, output: str | None,
              seed: int, as_json: bool) -> None:
    """Perturb the judge inputs in ITEMS (JSON lines), re-run the judge, and report how the verdicts move.

    The judge is a spec (--judge) plus the options its kind takes; an option a kind does not take
    is an error. Generating judges (gen:, openai:, vllm:) render each request through --prompt and
    read the verdict with its parser. --engine ray runs the judge on Ray actors (each loads its own
    model); the verdicts equal a local run.

    Answers that are not verdicts (NaN, out of range, not a number, unparsable text, failed calls)
    are abstentions: counted per probe and reason, and left out of every rate."""
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval import probes
    from metaeval.probes.specs import JUDGE_OPTIONS, JudgeSpec, parse_spec

    kind = parse_spec(judge_spec)[0]
    given = {"prompt": prompt, "parser": parser, "system_prompt": system_prompt, "max_new_tokens": max_new_tokens,
             "temperature": temperature, "seed": judge_seed, "logprobs": logprobs or None,
             "concurrency": concurrency, "requests_per_second": requests_per_second,
             "tokens_per_minute": tokens_per_minute, "timeout": timeout, "max_retries": max_retries,
             "device": device, "batch_size": batch_size}
    for key, value in given.items():
        if value is not None and key not in JUDGE_OPTIONS[kind]:
            takes = sorted(_JUDGE_FLAGS[k] for k in JUDGE_OPTIONS[kind] if k in _JUDGE_FLAGS)
            raise MetaevalError(f"{_JUDGE_FLAGS[key]} does not apply to a {kind}: judge; it takes {', '.join(takes)}")
    if engine == "local":
        for flag, value in (("--workers", workers), ("--address", address)):
            if value is not None:
                raise MetaevalError(f"{flag} needs --engine ray")
    options = {k: v for k, v in given.items() if v is not None}
    spec = JudgeSpec(judge_spec, options)  # checks the spec, its options and the prompt before any work
    if output:
        check_output_file(output)  # before loading the judge
    if cache:
        check_writable_folder(cache)
    judge: Any = spec if engine == "ray" else spec()  # on Ray: the spec, which each actor calls to load its judge
    names = [x.strip() for x in probe_names.split(",")] if probe_names else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = probes.run(items, judge, names, mode=mode, cache=cache, batch_size=batch_size, rng=seed,
                         progress=None if not as_json else False, retry=probes.Retry(max_attempts=max_attempts),
                         engine=engine, workers=workers, address=address)
    if output:
        with atomic_path(output) as tmp:
            res.judgments().frame.write_parquet(tmp)
    _emit(res, as_json, caught, extra={"findings": list(res.findings)})


def _report_cmd(table: str, output: str, formats: str, figures: str, reference: str | None, focus: str,
                n_resamples: int, seed: int, as_json: bool, model_col: str | None = None, tasks: str | None = None,
                exclude: str = "", top: int | None = None, preset: str | None = None,
                confidence_level: float = 0.95, lower: str = "", higher: str = "") -> None:
    import warnings

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval import report

    check_output_folder(output)  # before reading or computing anything
    format_list = [f.strip() for f in formats.split(",") if f.strip()]
    figure_list = [f.strip() for f in figures.split(",") if f.strip()]
    for given, allowed, what in ((format_list, ("html", "md", "latex"), "`formats` may hold html, md and latex"),
                                 (figure_list, ("svg", "png", "pdf"), "figure formats may be svg, png and pdf")):
        bad = [f for f in given if f not in allowed]
        if bad:  # before the computing, too
            raise MetaevalError(f"{what}; got {bad[0]!r}")
    board_options = (model_col is not None or tasks is not None or bool(exclude.strip()) or top is not None
                     or preset is not None or bool(lower.strip()) or bool(higher.strip()))
    with warnings.catch_warnings(record=True) as read_caught:
        warnings.simplefilter("always")
        try:
            data: Any = _load(table)
        except MetaevalError as as_judgments:
            if Path(table).suffix.lower() not in (".csv", ".tsv", ".parquet"):
                raise
            # a table that is not a judgments table: a models x tasks leaderboard
            try:
                data = _read_board(table, model_col, tasks, exclude, top, preset, lower, higher)
            except MetaevalError:
                if _judgment_columns(table):  # a table of judgments with a bad cell: that is the error to show
                    raise as_judgments from None
                raise
    if board_options and not isinstance(data, ScoreMatrix):
        raise MetaevalError("`--top`, `--exclude`, `--tasks`, `--model`, `--preset`, `--lower-is-better` and "
                            "`--higher-is-better` apply to a models x tasks "
                            "leaderboard; "
                            f"{table} is a table of judgments")
    for w in read_caught:
        click.echo(f"metaeval: warning: {w.message}", err=True)
    if isinstance(data, ScoreMatrix):
        _print_notes(data.notes, read_caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = report.build(data, reference="auto" if reference is None else reference, focus=focus,
                           n_resamples=n_resamples, rng=seed, confidence_level=confidence_level,
                           progress=None if not as_json else False)
        files = rep.write(output, formats=format_list, figure_formats=figure_list)
    for w in caught:
        click.echo(f"metaeval: warning: {w.message}", err=True)
    summary = {"title": rep.title, "sections": [s.title for s in rep.sections], "files": [str(f) for f in files],
               "kind": "leaderboard" if isinstance(data, ScoreMatrix) else data.kind}
    if as_json:
        _echo_json(summary)
    else:
        click.echo(f"wrote {len(files)} files to {output}: " + ", ".join(summary["sections"]))


def _judgment_columns(path: str) -> bool:
    """Whether a table's header has the columns of a table of judgments (item and a verdict)."""
    import polars as pl

    # lazy: a command's analysis loads when the command runs (`metaeval --help` stays fast)
    from metaeval.io.generic import read_frame

    suffix = Path(path).suffix.lower()
    fmt: Literal["csv", "tsv", "parquet"] = "tsv" if suffix == ".tsv" else "parquet" if suffix == ".parquet" else "csv"
    try:
        columns = set(read_frame(path, format=fmt).columns) if fmt == "parquet" else set(
            pl.read_csv(path, n_rows=0, separator="\t" if fmt == "tsv" else ",").columns)
    except Exception:  # unreadable: the leaderboard reader's error says why
        return False
    return "item" in columns and bool(columns & {"outcome", "score", "p_a"})


def _report_options(fn: F) -> F:
    for opt in reversed([
        click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder to write."),
        click.option("--format", "formats", default="html,md,latex", show_default=True,
                     help="Comma-separated: html, md, latex."),
        click.option("--figures", default="svg,png,pdf", show_default=True, help="Figure formats (empty: none)."),
        click.option("--reference", default=None, help="Reference judge or prefix (default: human / gold if any)."),
        click.option("--n-resamples", default=1000, show_default=True, type=_count(2)),
        click.option("--confidence-level", default=0.95, show_default=True, type=_LEVEL,
                     help="Confidence level of every interval in the report."),
        click.option("--seed", default=0, show_default=True, type=_SEED),
        click.option("--json", "as_json", is_flag=True),
    ]):
        fn = opt(fn)
    return _leaderboard_options(fn)


def _report_command(name: str, focus: str, doc: str) -> None:
    """Register one report workflow: the same options, a different choice of sections."""

    def command(table: str, output: str, formats: str, figures: str, reference: str | None, n_resamples: int,
                confidence_level: float, seed: int, as_json: bool, model_col: str | None, tasks: str | None,
                exclude: str, top: int | None, lower: str, higher: str, preset: str | None) -> None:
        _report_cmd(table, output, formats, figures, reference, focus, n_resamples, seed, as_json, model_col,
                    tasks, exclude, top, preset, confidence_level, lower, higher)

    command.__doc__ = doc
    cli.command(name)(click.argument("table", type=click.Path(dir_okay=False))(
        _report_options(_handle_errors(command))))


for _name, _focus, _doc in (
    ("report", "all", "The full paper-ready report of TABLE (judgments or a models x tasks leaderboard CSV)."),
    ("audit-judge", "judge", "Should I trust this judge? Agreement, bias audit and juries for the judges of TABLE."),
    ("audit-leaderboard", "leaderboard",
     "Is this ranking real? Rank intervals, tie groups, winners under every rule, robustness."),
):
    _report_command(_name, _focus, _doc)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``metaeval`` script: one BLAS thread (the same input and seed give the
    same bytes on any number of cores), and no progress display under ``--json``."""
    import contextlib
    import warnings

    args = list(argv) if argv is not None else sys.argv[1:]
    with same_bytes(), (quiet() if "--json" in args else contextlib.nullcontext()), warnings.catch_warnings():
        warnings.showwarning = _show_warning  # a warning no command caught: its message, never a file path
        cli.main(args=args, prog_name="metaeval")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Print a warning as the commands print theirs: ``metaeval: warning: …`` on stderr, without the
    file and line it was attributed to (a path inside the package or the Python library means
    nothing to a user of the command line)."""
    kind = "" if issubclass(category, MetaevalWarning) else f"{category.__name__}: "
    click.echo(f"metaeval: warning: {kind}{message}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
