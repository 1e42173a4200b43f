"""One default for the resamples and one for the bootstrap's cluster (issue 21, "one of each").

Every public function that resamples takes its ``n_resamples`` default from
:mod:`metaeval.stats.resampling` (``DEFAULT_N_RESAMPLES``; the Monte Carlo p-values listed
below: ``DEFAULT_N_TEST_RESAMPLES``), and every ``cluster=`` of a bootstrap over battles
defaults to ``DEFAULT_CLUSTER``. The signatures of the whole public API are read here, so a
new function with its own number fails this test instead of drifting.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import click
import numpy as np
import pytest

import metaeval
import metaeval.rankers
import metaeval.stats
from metaeval.stats.resampling import DEFAULT_CLUSTER, DEFAULT_N_RESAMPLES, DEFAULT_N_TEST_RESAMPLES

# Monte Carlo p-values (sign-flip / permutation / bootstrap tests): their resolution needs more
# resamples (the module docstring of metaeval.stats.resampling says why).
TEST_RESAMPLES = {
    "metaeval.stats.paired.studentized_bootstrap",
    "metaeval.stats.paired.sign_flip_interval",
    "metaeval.stats.paired.sign_flip_test",
    "metaeval.stats.comparison.compare",
    "metaeval.stats.multiple.all_pairs",
    "metaeval.probes.report.analyse",
}
# Not a default number of resamples: 0 means "no bootstrap" in the streaming primitive.
NOT_A_DEFAULT = {"metaeval.battles.BattleScan.reduce"}
# Optional backends that need extras (a GPU stack, a cluster) to import.
OPTIONAL = ("metaeval.probes.vllm", "metaeval.probes.distributed")

RESAMPLE_PARAMS = ("n_resamples", "n_boot")


def _modules() -> Iterator[Any]:
    for pkg in (metaeval, metaeval.rankers, metaeval.stats):
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if any(part.startswith("_") for part in info.name.split(".")[1:]) or info.name.startswith(OPTIONAL):
                continue
            yield importlib.import_module(info.name)


def _public_functions() -> dict[str, inspect.Signature]:
    found: dict[str, inspect.Signature] = {}
    for mod in _modules():
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name, None)
            if inspect.isfunction(obj):
                funcs = [obj]
            elif inspect.isclass(obj):
                funcs = [v for k, v in vars(obj).items() if inspect.isfunction(v) and not k.startswith("_")]
            else:
                continue
            for f in funcs:
                f = inspect.unwrap(f)
                if not f.__module__.startswith("metaeval"):
                    continue
                found[f"{f.__module__}.{f.__qualname__}"] = inspect.signature(f)
    return found


FUNCTIONS = _public_functions()
RESAMPLERS = {q: sig for q, sig in FUNCTIONS.items() if any(p in sig.parameters for p in RESAMPLE_PARAMS)}


def test_the_walk_finds_the_resampling_api():
    # the walk reaches every layer: a broken walk would make the tests below vacuous
    for q in ("metaeval.rankers.api.rank", "metaeval.stats.win_rates.win_rates", "metaeval.agreement.api.fleiss_kappa",
              "metaeval.stats.comparison.compare", "metaeval.rankers.game_rank.rank_game",
              "metaeval.battles.win_rates_lazy", "metaeval.stats.tiny.estimate_performance"):
        assert q in RESAMPLERS, q
    assert len(RESAMPLERS) >= 35
    assert set(RESAMPLERS) >= TEST_RESAMPLES


@pytest.mark.parametrize("qualname", sorted(RESAMPLERS))
def test_every_public_resample_default_is_the_package_default(qualname: str):
    if qualname in NOT_A_DEFAULT:
        return
    sig = RESAMPLERS[qualname]
    expected = DEFAULT_N_TEST_RESAMPLES if qualname in TEST_RESAMPLES else DEFAULT_N_RESAMPLES
    for name in RESAMPLE_PARAMS:
        if name in sig.parameters and sig.parameters[name].default is not inspect.Parameter.empty:
            assert sig.parameters[name].default == expected, (qualname, name, sig.parameters[name].default)


def test_the_bootstraps_of_battles_default_to_the_cluster_rule():
    for q in ("metaeval.rankers.api.rank", "metaeval.rankers.game_rank.rank_game"):
        assert FUNCTIONS[q].parameters["cluster"].default == DEFAULT_CLUSTER, q


def _click_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _click_commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def test_the_command_line_shows_the_same_defaults():
    from metaeval.cli import cli

    seen = 0
    for name, cmd in _click_commands(cli):
        for opt in cmd.params:
            if opt.name == "n_resamples":
                seen += 1
                expected = DEFAULT_N_TEST_RESAMPLES if name == "compare" else DEFAULT_N_RESAMPLES
                assert opt.default == expected, (name, opt.default)
            if opt.name == "cluster" and name == "rank":
                assert opt.default == DEFAULT_CLUSTER
    assert seen >= 6


def test_auto_cluster_resamples_items_and_none_resamples_battles():
    sim = metaeval.simulate.pairwise(n_models=3, n_items=60, rng=0)
    auto = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=60, rng=1)
    item = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=60, cluster="item", rng=1)
    none = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=60, cluster="none", rng=1)
    old = metaeval.rank(sim.judgments, "bradley_terry", n_resamples=60, cluster=None, rng=1)
    assert auto.ci_method == item.ci_method == "cluster bootstrap (item)"
    assert auto.to_polars().equals(item.to_polars())
    assert none.ci_method == old.ci_method == "bootstrap"
    assert none.to_polars().equals(old.to_polars())
    assert not none.to_polars().equals(auto.to_polars())
    counts = metaeval.rank(sim.judgments.pairwise_counts(), "bradley_terry", n_resamples=60, rng=1)
    assert counts.ci_method == "bootstrap"  # no item ids: single battles


def test_elo_bootstrap_resamples_the_cluster_it_reports():
    # four judges give the same verdicts on each item: the item bootstrap sees 80 units, the
    # battle bootstrap 4 × 80 (falsely independent) ones, so its intervals are about half as wide
    import polars as pl

    sim = metaeval.simulate.pairwise(n_models=3, n_items=80, judges=("j",), n_humans=0, rng=0)
    f = sim.judgments.frame
    copies = metaeval.Judgments(pl.concat([f.with_columns(pl.lit(f"j{k}").alias("judge")) for k in range(4)]),
                                kind="pairwise")
    item = metaeval.rank(copies, "elo", n_resamples=200, rng=0)
    rows = metaeval.rank(copies, "elo", cluster="none", n_resamples=200, rng=0)
    assert item.ci_method == "cluster bootstrap (item)" and rows.ci_method == "bootstrap"
    ratio = float(np.mean(item.ci_high - item.ci_low) / np.mean(rows.ci_high - rows.ci_low))
    assert 1.6 < ratio < 2.5, ratio
