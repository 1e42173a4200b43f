"""Judgments → the arrays the panel kernels work on: units × judges verdicts, the reference's
verdict per unit, items, per-judge costs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from metaeval.bias.families import family_function
from metaeval.errors import DataDroppedWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.tables import (
    ABSTAINED,
    Judgments,
    canonical,
    check_missing,
    column_or_extra,
    majority,
    preference,
    reference_members,
)

Value = Literal["auto", "score", "label"]
MAX_SCORE_LEVELS = 20  # integer scores with at most this many levels can be put to a vote


@dataclass(frozen=True)
class Verdicts:
    """Units × judges verdicts on the units every judge and the reference rated, sorted by item.

    ``values`` holds category codes (``labels[code]``) when ``numeric`` is false and scores
    otherwise; ``prob`` holds P(a preferred) for pairwise tables (``p_a`` where given, else 1, 0,
    ½ from the outcome). ``unit_cost[j]`` is judge j's mean cost per verdict (nan: unknown).
    """

    values: np.ndarray
    reference: np.ndarray
    judges: tuple[str, ...]
    reference_name: str
    labels: tuple[str, ...] | None
    numeric: bool
    kind: str
    item_codes: np.ndarray
    item_names: tuple[str, ...]
    starts: np.ndarray
    prob: np.ndarray | None
    unit_cost: np.ndarray
    cost_source: str
    units: pl.DataFrame
    families: tuple[str, ...]

    @property
    def n_units(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_items(self) -> int:
        return len(self.item_names)

    @property
    def n_categories(self) -> int:
        return len(self.labels) if self.labels is not None else 0

    def reorder(self, order: Sequence[int]) -> Verdicts:
        """The same verdicts with the judges (columns) in ``order``."""
        o = list(order)
        return Verdicts(self.values[:, o], self.reference, tuple(self.judges[i] for i in o), self.reference_name,
                        self.labels, self.numeric, self.kind, self.item_codes, self.item_names, self.starts,
                        None if self.prob is None else self.prob[:, o], self.unit_cost[o], self.cost_source,
                        self.units, tuple(self.families[i] for i in o))

    def subset_items(self, keep_items: np.ndarray) -> Verdicts:
        """The units of the items with ``keep_items[item_code]`` true (codes renumbered)."""
        mask = keep_items[self.item_codes]
        old = np.flatnonzero(keep_items)
        new_code = np.full(keep_items.size, -1)
        new_code[old] = np.arange(old.size)
        codes = new_code[self.item_codes[mask]]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if codes.size else np.zeros(0, int)
        return Verdicts(self.values[mask], self.reference[mask], self.judges, self.reference_name, self.labels,
                        self.numeric, self.kind, codes, tuple(self.item_names[i] for i in old), starts,
                        None if self.prob is None else self.prob[mask], self.unit_cost, self.cost_source,
                        self.units.filter(pl.Series(mask)), self.families)


def _unit_keys(kind: str, columns: Sequence[str]) -> list[str]:
    keys = ("item", "model_a", "model_b", "variant", "task", "rep", "shown_first") if kind == "pairwise" else (
        "item", "model", "variant", "task", "rep")
    return [k for k in keys if k in columns]


def _dedupe(frame: pl.DataFrame, keys: list[str], who: str) -> pl.DataFrame:
    dup = frame.select(pl.struct(keys).is_duplicated()).to_series()
    if dup.any():
        warn(f"{int(dup.sum())} {who} verdicts repeat a judge on the same unit; the first of each is used",
             DataDroppedWarning)
        frame = frame.unique(keys, keep="first", maintain_order=True)
    return frame


def _reference(f: pl.DataFrame, members: list[str], keys: list[str], numeric: bool, kind: str) -> pl.DataFrame:
    """The reference verdict per unit: the one reference judge's, or the members' consensus — the
    mean score, or the majority category (a split vote is a tie for pairwise verdicts; for labels
    the unit has no consensus and is left out)."""
    ref = f.filter(pl.col("judge").is_in(members))
    if ref.height == 0:
        raise InsufficientDataError(f"the reference ({', '.join(members)}) gave no usable verdict")
    # the presentation order and the repeat do not change what the right verdict is
    ref_keys = [k for k in keys if k not in ("shown_first", "rep") and ref[k].null_count() == 0]
    if len(members) == 1:
        return _dedupe(ref.select(*ref_keys, pl.col("__v").alias("__ref")), ref_keys, "reference")
    if numeric:
        return ref.group_by(ref_keys, maintain_order=True).agg(pl.col("__v").mean().alias("__ref"))
    # a split vote is a tie for a pair; a label without a majority is left out
    agreed, n_split = majority(ref, ref_keys, "__v", split=2.0 if kind == "pairwise" else None)
    if n_split and kind != "pairwise":
        warn(f"{n_split} units have no majority among the reference judges and are left out", DataDroppedWarning)
    return agreed.rename({"__v": "__ref"})


def _costs(frame: pl.DataFrame, judges: Sequence[str], cost: str | Mapping[str, float] | None,
           price: Mapping[str, float] | None, tokens: str) -> tuple[np.ndarray, str]:
    """Each judge's mean cost per verdict on the kept units, and where it came from."""
    out = np.full(len(judges), np.nan)
    if isinstance(cost, Mapping):
        missing = [j for j in judges if j not in cost]
        if missing:
            raise MetaevalError(f"`cost` has no price for judge {missing[0]!r}; it needs one per judge")
        return np.array([float(cost[j]) for j in judges]), "price per verdict (given)"
    if price is not None:
        tok = column_or_extra(frame, tokens)
        if tok is None:
            raise MetaevalError(f"`price` is per token but the table has no `{tokens}` column (nor field in `extra`)")
        missing = [j for j in judges if j not in price]
        if missing:
            raise MetaevalError(f"`price` has no price for judge {missing[0]!r}; it needs one per judge")
        per = frame.select("judge").with_columns(tok.cast(pl.Float64).alias("__t"))
        per = per.group_by("judge", maintain_order=True).agg(pl.col("__t").mean())
        means = dict(zip(per["judge"].to_list(), per["__t"].to_list(), strict=True))
        for i, j in enumerate(judges):
            t = means.get(j)
            out[i] = np.nan if t is None else float(t) * float(price[j])
        return out, f"`{tokens}` × price per token"
    name = cost if isinstance(cost, str) else "cost"
    col = column_or_extra(frame, name)
    if col is None or col.null_count() == col.len():
        return np.ones(len(judges)), "verdicts (no cost column: a panel's cost is its size)"
    per = frame.select("judge").with_columns(col.cast(pl.Float64).alias("__c"))
    per = per.group_by("judge", maintain_order=True).agg(pl.col("__c").mean())
    means = dict(zip(per["judge"].to_list(), per["__c"].to_list(), strict=True))
    unknown = []
    for i, j in enumerate(judges):
        c = means.get(j)
        out[i] = np.nan if c is None else float(c)
        if c is None:
            unknown.append(j)
    if unknown:
        warn(f"no `{name}` for judge {unknown[0]!r}" + (f" and {len(unknown) - 1} more" if len(unknown) > 1 else "")
             + ": panels with it have cost nan", DataDroppedWarning)
    return out, f"mean `{name}` per verdict"


def verdicts(judgments: Judgments, reference: str | None = "human", *, judges: Sequence[str] | None = None,
             value: Value = "auto", cost: str | Mapping[str, float] | None = "cost",
             price: Mapping[str, float] | None = None, tokens: str = "tokens",
             families: Mapping[str, str] | Callable[[str], str | None] | None = None,
             missing: str = "wrong") -> Verdicts:
    """Build :class:`Verdicts`: the reference is a judge or the consensus of ``reference:*``
    judges; units lacking a verdict by some judge or by the reference are left out (counted).

    A judge's abstention (a row without a verdict) counts by ``missing``: ``"wrong"`` makes it a
    verdict of its own (:data:`~metaeval.tables.ABSTAINED`) that is never right and takes part in
    a vote as such; ``"tie"`` makes it a tie (pairwise); ``"drop"`` leaves the unit out, as a unit
    some judge did not rate. Numeric scores take ``"drop"``. The reference's abstentions are
    never scored."""
    check_missing(missing)
    if not isinstance(judgments, Judgments):
        raise ParameterError(f"`judgments` must be a metaeval Judgments table; got {type(judgments).__name__}")
    j = judgments
    members: list[str] = []
    if reference is None:
        if judges is None:
            raise MetaevalError("without a `reference`, name the panel's `judges`")
    else:
        members = reference_members(j.judges, reference)
    ref_name = "" if reference is None else (members[0] if members == [reference] else
                                             f"{reference} (consensus of {len(members)})")
    pool = list(judges) if judges is not None else [x for x in j.judges if x not in members]
    unknown = [x for x in pool if x not in j.judges]
    if unknown:
        raise MetaevalError(f"unknown judge {unknown[0]!r}; the table has {', '.join(j.judges)}")
    if set(pool) & set(members):
        raise MetaevalError(f"the reference {sorted(set(pool) & set(members))[0]!r} cannot also be a panel member")
    if not pool:
        raise InsufficientDataError("no judge besides the reference")
    if len(set(pool)) != len(pool):
        raise MetaevalError("`judges` names a judge twice")
    f = j.frame
    abst = j.abstentions.filter(pl.col("judge").is_in(pool)) if missing != "drop" else j.abstentions.clear()
    kind = j.kind
    keys = _unit_keys(kind, f.columns)
    prob_col = None
    if kind == "pairwise":
        f = canonical(pl.concat([f, abst], how="vertical_relaxed") if abst.height else f)
        labels: tuple[str, ...] | None = ("a", "b", "tie") + ((ABSTAINED,) if abst.height and missing == "wrong"
                                                              else ())
        numeric = False
        f = f.with_columns(pl.col("outcome").fill_null("tie" if missing == "tie" else ABSTAINED).replace_strict(
            {"a": 0.0, "b": 1.0, "tie": 2.0, ABSTAINED: 3.0}, return_dtype=pl.Float64).alias("__v"),
            pl.Series("__p", np.nan_to_num(preference(f), nan=0.5)))
        prob_col = "__p"
    else:
        if value == "auto":
            value = "score" if "score" in f.columns and f["score"].null_count() < f.height else "label"
        if value not in f.columns:
            raise MetaevalError(f"the table has no `{value}` column")
        numeric = value == "score"
        if abst.height and not numeric:
            if missing == "tie":
                raise MetaevalError("`missing='tie'` applies to pairwise verdicts; use 'drop' or 'wrong' for labels")
            f = pl.concat([f.filter(pl.col(value).is_not_null()), abst], how="vertical_relaxed")
        else:
            f = f.filter(pl.col(value).is_not_null())
        if numeric:
            f = f.with_columns(pl.col("score").cast(pl.Float64).alias("__v"))
            labels = None
        else:
            labels = tuple(sorted(f["label"].drop_nulls().unique().to_list()))
            if f["label"].null_count():
                labels = (*labels, ABSTAINED)
            f = f.with_columns(pl.col("label").fill_null(ABSTAINED).replace_strict(
                {lab: float(i) for i, lab in enumerate(labels)}, return_dtype=pl.Float64).alias("__v"))
    if reference is not None:
        ref = _reference(f.filter(pl.col("judge").is_in(members)), members, keys, numeric, kind)
        ref_keys = [k for k in keys if k in ref.columns]
    rows = _dedupe(f.filter(pl.col("judge").is_in(pool)), [*keys, "judge"], "judge")
    index = keys
    wide = rows.pivot(on="judge", index=index, values="__v", aggregate_function="first")
    missing_judge = [x for x in pool if x not in wide.columns]
    if missing_judge:
        raise InsufficientDataError(f"judge {missing_judge[0]!r} has no usable verdict")
    n_all = wide.height
    wide = wide.drop_nulls(pool)
    incomplete = n_all - wide.height
    if reference is not None:
        wide = wide.join(ref, on=ref_keys, how="inner", maintain_order="left")
    else:
        wide = wide.with_columns(pl.lit(np.nan).alias("__ref"))
    no_ref = n_all - incomplete - wide.height
    if incomplete or no_ref:
        parts = []
        if incomplete:
            parts.append(f"{incomplete} lack a verdict by some judge")
        if no_ref:
            parts.append(f"{no_ref} have no verdict by the reference {ref_name!r}")
        warn(f"{incomplete + no_ref} of {n_all} units are left out: " + "; ".join(parts)
             + " (every panel is scored on the same units)", DataDroppedWarning)
    if wide.height < 2:
        raise InsufficientDataError("fewer than two units were rated by every judge"
                                    + (f" and by {ref_name!r}" if ref_name else ""))
    wide = wide.sort(index)
    prob = None
    if prob_col is not None:
        pw = rows.pivot(on="judge", index=index, values=prob_col, aggregate_function="first")
        pw = wide.select(index).join(pw, on=index, how="left", nulls_equal=True, maintain_order="left")
        prob = pw.select(pool).to_numpy().astype(float)
    items = wide["item"].cast(pl.String)
    codes = items.rank("dense").to_numpy().astype(np.int64) - 1
    names = tuple(items.unique(maintain_order=True).to_list())
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    kept = rows.join(wide.select(index), on=index, how="semi", nulls_equal=True, maintain_order="left")
    unit_cost, source = _costs(kept, pool, cost, price, tokens)
    fam = family_function(families)
    fams = tuple(fam(x) or x for x in pool)
    return Verdicts(wide.select(pool).to_numpy().astype(float), wide["__ref"].to_numpy().astype(float), tuple(pool),
                    ref_name, labels, numeric, kind, codes, names, starts, prob, unit_cost, source, wide.select(index),
                    fams)


def as_categories(v: Verdicts) -> Verdicts:
    """Integer scores with few levels as categories (so they can be put to a vote)."""
    if not v.numeric:
        return v
    allv = np.concatenate([v.values.ravel(), v.reference])
    levels = np.unique(allv)
    if levels.size > MAX_SCORE_LEVELS or not np.allclose(levels, np.round(levels)):
        raise MetaevalError(f"a vote needs categories; the scores take {levels.size} values"
                            + ("" if np.allclose(levels, np.round(levels)) else " (not all integers)")
                            + " — use rule='mean' or 'median'")
    lab = tuple(str(int(x)) for x in levels)
    return Verdicts(np.searchsorted(levels, v.values).astype(float), np.searchsorted(levels, v.reference).astype(float),
                    v.judges, v.reference_name, lab, False, v.kind, v.item_codes, v.item_names, v.starts, None,
                    v.unit_cost, v.cost_source, v.units, v.families)


def describe_units(v: Verdicts) -> dict[str, Any]:
    return {"n_units": v.n_units, "n_items": v.n_items, "reference": v.reference_name}
