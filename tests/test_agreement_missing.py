"""Agreement tables say how missing verdicts were counted: ``matrix`` leaves a unit out of a
pair when one judge gave no verdict, ``against`` counts it as wrong, and the same ``missing=``
gives the same number in both (checked by hand on a small table and on LLMBar)."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import metaeval
from metaeval import agreement

from .conftest import shared


def _table() -> metaeval.tables.Judgments:
    """Six items; judge A gives no verdict on the last one."""
    gold, a, b = ["a", "b", "a", "b", "a", "b"], ["a", "b", "b", "b", "a", None], ["a", "a", "a", "b", "b", "b"]
    rows = [{"item": f"i{i}", "judge": name, "model_a": "x", "model_b": "y", "outcome": v}
            for i in range(6) for name, v in (("gold", gold[i]), ("A", a[i]), ("B", b[i]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metaeval.tables.as_judgments(pl.DataFrame(rows))


def _pair(m: agreement.AgreementMatrix, a: str, b: str) -> dict:
    return m.pairs.filter((pl.col("judge_a") == a) & (pl.col("judge_b") == b)).row(0, named=True)


def test_kappa_by_hand_under_both_policies():
    """A vs gold, missing verdict left out: 4 of 5 agree, chance (2·3 + 3·2)/25 = 0.48, so
    κ = 0.32/0.52; counted as a wrong verdict of its own: 4 of 6 agree, chance 15/36, so
    κ = (2/3 − 15/36)/(1 − 15/36)."""
    j = _table()
    drop = agreement.matrix(j, "cohen_kappa", ci="none")
    wrong = agreement.matrix(j, "cohen_kappa", ci="none", missing="wrong")
    assert _pair(drop, "A", "gold")["estimate"] == pytest.approx(0.32 / 0.52)
    assert _pair(drop, "A", "gold")["n_units"] == 5
    assert _pair(wrong, "A", "gold")["estimate"] == pytest.approx((2 / 3 - 15 / 36) / (1 - 15 / 36))
    assert _pair(wrong, "A", "gold")["n_units"] == 6
    assert _pair(drop, "B", "gold")["estimate"] == _pair(wrong, "B", "gold")["estimate"]  # B missed nothing


def test_the_summary_says_the_rule():
    j = _table()
    drop = agreement.matrix(j, "cohen_kappa", ci="none")
    assert drop.missing == "drop"
    assert "missing verdict leaves its unit out of that pair (missing='drop')" in drop.summary()
    assert "`against` counts a judge's missing verdicts as wrong by default" in drop.summary()
    wrong = agreement.matrix(j, "cohen_kappa", ci="none", missing="wrong")
    assert "missing verdicts count as wrong" in wrong.summary() and "missing='wrong'" in wrong.summary()


def test_the_same_policy_gives_the_same_number_in_matrix_and_against():
    j = _table()
    for policy in ("drop", "wrong"):
        m = agreement.matrix(j, "cohen_kappa", ci="none", missing=policy)
        a = agreement.against(j, "gold", ci="none", missing=policy).table
        assert a.filter(pl.col("judge") == "A")["cohen_kappa"][0] == pytest.approx(_pair(m, "A", "gold")["estimate"])


def test_llmbar_palm2_against_gold_under_both_policies():
    """LLMBar, plain prompt: PaLM2 misses 68 of 1,770 verdicts. Left out, κ = 0.37 on 1,702 units;
    counted as wrong, κ = 0.34 on 1,770: the two numbers a reviewer sees, each now labelled."""
    import importlib.util
    from pathlib import Path

    path = shared("llmbar", "judgments.csv")
    spec = importlib.util.spec_from_file_location("load_llmbar", Path(__file__).parents[1] / "examples" /
                                                  "load_llmbar.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    j = mod.load_llmbar(path)
    plain = (pl.col("variant") == "Vanilla_NoRules") & (pl.col("judge") == "PaLM2")
    t = j.filter(plain | (pl.col("judge") == "gold"))
    drop = _pair(agreement.matrix(t, "cohen_kappa", ci="none"), "PaLM2", "gold")
    wrong = agreement.against(t, "gold", ci="none").table.row(0, named=True)
    assert (drop["n_units"], round(drop["estimate"], 4)) == (1702, 0.3678)
    assert (wrong["n_units"], round(wrong["cohen_kappa"], 4)) == (1770, 0.3406)
    same = _pair(agreement.matrix(t, "cohen_kappa", ci="none", missing="wrong"), "PaLM2", "gold")
    assert same["estimate"] == pytest.approx(wrong["cohen_kappa"])
