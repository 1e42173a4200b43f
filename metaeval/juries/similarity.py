"""How alike judges and models think, and whether judges favour models that think like them.

CAPA (Goel et al. 2025, "Great Models Think Alike and this Undermines AI Oversight") is the
chance-adjusted agreement of two models' answers: it counts agreement on wrong answers as well
as right ones, and discounts what their accuracies alone would produce. Two judges with a high
CAPA make the same mistakes: a panel of them is not a panel of independent votes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as st

from metaeval._random import as_generator
from metaeval._validate import LEVEL, Interval, validate_params
from metaeval.errors import EstimationWarning, InsufficientDataError, MetaevalError, ParameterError, warn
from metaeval.juries._data import verdicts
from metaeval.juries._kernels import capa_pairs
from metaeval.report.charts import heatmap
from metaeval.results import Result, RunInfo
from metaeval.stats.resampling import DEFAULT_N_RESAMPLES, cluster_weights, percentile_interval
from metaeval.tables import Judgments, as_judgments, preference

__all__ = ["AffinityBias", "Similarity", "affinity_bias", "answers_from", "similarity"]


@dataclass(frozen=True)
class Similarity(Result):
    """Pairwise CAPA with bootstrap intervals over items (long form; ``wide()`` for the square)."""

    names: tuple[str, ...]
    pairs: pl.DataFrame
    accuracy: dict[str, float]
    run_info: RunInfo
    title: str = "similarity (CAPA)"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_polars(self) -> pl.DataFrame:
        return self.pairs

    def value(self, a: str, b: str) -> float:
        """CAPA of ``a`` and ``b`` (1 for a model with itself)."""
        if a == b:
            return 1.0
        row = self.pairs.filter(((pl.col("a") == a) & (pl.col("b") == b)) | ((pl.col("a") == b) & (pl.col("b") == a)))
        if row.height == 0:
            raise MetaevalError(f"no similarity for {a!r} and {b!r}; names: {', '.join(self.names)}")
        return float(row["capa"][0])

    def wide(self, rows: Sequence[str] | None = None, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The matrix (or the block ``rows`` × ``columns``, e.g. judges × evaluated models)."""
        r = list(rows) if rows is not None else list(self.names)
        c = list(columns) if columns is not None else list(self.names)
        return pl.DataFrame({"name": r, **{b: [self.value(a, b) for a in r] for b in c}})

    def chart(self) -> Any:
        """Heatmap of the matrix, the value printed in each cell."""
        full = pl.concat([self.pairs.select("a", "b", "capa"),
                          self.pairs.select(pl.col("b").alias("a"), pl.col("a").alias("b"), "capa")])
        return heatmap(full, x="a", y="b", value="capa", x_sort=self.names, y_sort=self.names, color_title="CAPA",
                       title=self.title[:1].upper() + self.title[1:], cell=36,
                       subtitle="chance-adjusted probabilistic agreement (Goel et al. 2025)")

def _similarity_result(names: Sequence[str], choice: np.ndarray, correct: np.ndarray, item_codes: np.ndarray,
                       n_options: float, n_resamples: int, confidence_level: float, gen: np.random.Generator,
                       run: RunInfo, title: str) -> Similarity:
    order = np.argsort(item_codes, kind="stable")
    choice, correct, codes = choice[order], correct[order], item_codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    point = capa_pairs(choice, correct, starts, n_options, np.ones((1, starts.size)))[0]
    boot = capa_pairs(choice, correct, starts, n_options, cluster_weights(starts.size, n_resamples, gen)) \
        if n_resamples > 0 else None
    if boot is not None:
        lo, hi = percentile_interval(boot, confidence_level)
    else:
        lo = hi = np.full(point.size, np.nan)
    pairs = list(itertools.combinations(range(len(names)), 2))
    table = pl.DataFrame({"a": [names[i] for i, _ in pairs], "b": [names[j] for _, j in pairs], "capa": point,
                          "ci_low": lo, "ci_high": hi, "n_units": [choice.shape[0]] * len(pairs)})
    acc = {n: float(np.mean(choice[:, i] == correct)) for i, n in enumerate(names)}
    if np.isnan(point).any():
        warn(f"{int(np.isnan(point).sum())} pairs have no CAPA (both always right)", EstimationWarning)
    return Similarity(tuple(names), table, acc, run, title)


def answers_from(frame: pl.DataFrame, *, item: str = "item", model: str = "model", answer: str = "answer",
                 gold: str = "gold") -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Items × models answers of a long table (``item, model, answer, gold``) on the items every
    model answered: model names, answer codes, correct codes, item codes, option labels."""
    if not isinstance(frame, pl.DataFrame):
        raise ParameterError(f"`answers` must be a polars DataFrame (item, model, answer, gold); got "
                            f"{type(frame).__name__}")
    for c in (item, model, answer, gold):
        if c not in frame.columns:
            raise MetaevalError(f"`answers` has no column `{c}`; it needs {item}, {model}, {answer} and {gold}")
    f = frame.select(pl.col(item).cast(pl.String).alias("item"), pl.col(model).cast(pl.String).alias("model"),
                     pl.col(answer).cast(pl.String).alias("answer"), pl.col(gold).cast(pl.String).alias("gold"))
    nulls = f.filter(pl.any_horizontal(pl.all().is_null()))
    if nulls.height:
        raise MetaevalError(f"`answers` has {nulls.height} rows with a missing item, model, answer or gold")
    golds = f.group_by("item", maintain_order=True).agg(pl.col("gold").n_unique().alias("k")).filter(pl.col("k") > 1)
    if golds.height:
        raise MetaevalError(f"column `{gold}` must be one value per item; item {golds['item'][0]!r} has "
                            f"{golds['k'][0]}")
    options = sorted(set(f["answer"].to_list()) | set(f["gold"].to_list()))
    code = {o: i for i, o in enumerate(options)}
    wide = f.unique(["item", "model"], keep="first").pivot(on="model", index="item", values="answer")
    models = sorted(c for c in wide.columns if c != "item")
    n_all = wide.height
    wide = wide.drop_nulls(models)
    if wide.height < n_all:
        warn(f"{n_all - wide.height} of {n_all} items lack an answer by some model and are left out",
             EstimationWarning)
    if wide.height < 2:
        raise InsufficientDataError("fewer than two items were answered by every model")
    wide = wide.join(f.unique("item", maintain_order=True).select("item", "gold"), on="item").sort("item")
    choice = np.column_stack([wide[m].replace_strict(code, return_dtype=pl.Int64).to_numpy() for m in models])
    correct = wide["gold"].replace_strict(code, return_dtype=pl.Int64).to_numpy()
    return models, choice, correct, np.arange(wide.height), options


@validate_params({
    "n_options": [Interval(Integral, 2, None, closed="left"), None],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [LEVEL],
    "rng": ["rng"],
})
def similarity(
    data: Judgments | pl.DataFrame,
    reference: str = "gold",
    *,
    judges: Sequence[str] | None = None,
    n_options: int | None = None,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> Similarity:
    """CAPA between every two judges or every two models, with percentile-bootstrap intervals over items.

    With a :class:`~metaeval.Judgments` table and a ``reference``, the similarity of every two
    judges; with a long table of answers (``item, model, answer, gold``), of every two models.
    ``n_options`` is the number of answer options (default: the distinct answers and gold labels
    seen; for a pairwise table, 2 when no verdict or gold label is a tie, else 3). Answers are
    hard (one-hot); CAPA's probabilistic form is in :func:`metaeval.agreement.capa`. A judge that
    is also a model of the answers table gets judge × model similarities from the same matrix.

    Parameters
    ----------
    data : Judgments or polars.DataFrame
        Judges' verdicts, or models' answers with ``item``, ``model``, ``answer``, ``gold``.
    reference : str, default "gold"
        For a judgments table: the judge whose verdicts are correct.
    judges : sequence of str, optional
        The judges (or models) to compare. Default: all.
    n_options : int, optional
        Answer options per item. Default: inferred as above.
    n_resamples : int, default 1000
        Bootstrap resamples over items (0: no intervals).
        Default: the package default, 1000 (see :mod:`metaeval.stats.resampling`).
    confidence_level : float, default 0.95
        Coverage of the intervals.
    rng : int, numpy.random.Generator or None
        Seed for the bootstrap.

    Returns
    -------
    Similarity
        ``pairs``: one row per pair with CAPA and its interval; ``names``, ``accuracy`` (name →
        accuracy), ``value(a, b)`` and ``wide()``.

    Notes
    -----
    CAPA is κ-like: 0 is the agreement two independent models of these accuracies would reach, 1
    identical answers. Goel et al. (2025) report that judges favour models more similar to
    themselves and that models' mistakes grow more alike as they grow more capable; there are no
    conventional thresholds, so compare pairs on the same items.

    Examples
    --------
    >>> import polars as pl
    >>> from metaeval import juries
    >>> ans = pl.DataFrame({"item": [1, 2, 3, 4] * 3, "model": ["x"] * 4 + ["y"] * 4 + ["z"] * 4,
    ...                     "answer": list("ABCA") + list("ABCA") + list("ABDD"), "gold": list("ABCD") * 3})
    >>> s = juries.similarity(ans, n_options=4, n_resamples=0)
    >>> round(s.value("x", "y"), 3), s.value("x", "y") > s.value("x", "z")
    (1.0, True)
    """
    gen, seed = as_generator(rng)
    if isinstance(data, Judgments):
        v = verdicts(data, reference, judges=judges, value="label" if data.kind == "pointwise" and judges is None
                     and "label" in data.frame.columns else "auto")
        if v.numeric:
            raise MetaevalError("CAPA needs categorical verdicts (labels or pairwise outcomes); these are scores")
        q = n_options or max(2, int(np.unique(np.concatenate([v.values.ravel(), v.reference])).size))
        run = RunInfo("juries.similarity", {"reference": v.reference_name, "n_options": q,
                                            "n_resamples": n_resamples}, seed, data.fingerprint, v.n_items, len(data))
        return _similarity_result(v.judges, v.values.astype(int), v.reference.astype(int), v.item_codes, float(q),
                                  n_resamples, confidence_level, gen, run, "judge × judge similarity (CAPA)")
    models, choice, correct, codes, options = answers_from(data)
    if judges is not None:
        unknown = [j for j in judges if j not in models]
        if unknown:
            raise MetaevalError(f"model {unknown[0]!r} is not in the answers")
        keep = [models.index(j) for j in judges]
        models, choice = [models[i] for i in keep], choice[:, keep]
    q = n_options or max(2, len(options))
    run = RunInfo("juries.similarity", {"n_options": q, "n_resamples": n_resamples}, seed, None, int(codes.size),
                  data.height)
    return _similarity_result(models, choice, correct, codes, float(q), n_resamples, confidence_level, gen, run,
                              "model × model similarity (CAPA)")


# ----------------------------------------------------------------------- affinity
@dataclass(frozen=True)
class AffinityBias(Result):
    """Per judge (and pooled over judges, with judge fixed effects): the partial correlation of
    the judge's score of a model with the model's similarity to the judge, controlling for the
    model's accuracy, with a Fisher-z interval and a t-test p-value."""

    table: pl.DataFrame
    data: pl.DataFrame
    run_info: RunInfo
    title: str = "affinity bias: do judges favour models that think like them?"

    def chart(self) -> Any:
        """Score against similarity, one colour per judge."""
        import altair as alt

        base = alt.Chart(alt.Data(values=self.data.to_dicts()))
        pts = base.mark_circle(size=60).encode(x=alt.X("similarity:Q", title="CAPA with the judge"),
                                               y=alt.Y("score:Q", title="judge's score", scale=alt.Scale(zero=False)),
                                               color="judge:N", tooltip=["judge:N", "model:N", "score:Q",
                                                                         "similarity:Q", "accuracy:Q"])
        return pts.properties(title=self.title, width=380, height=280)


@validate_params({"x": ["array-like"], "y": ["array-like"], "controls": ["array-like"], "confidence_level": [LEVEL]})
def partial_correlation(x: np.ndarray, y: np.ndarray, controls: np.ndarray, confidence_level: float = 0.95
                        ) -> tuple[float, float, float, float, int]:
    """Partial correlation of ``x`` and ``y`` given ``controls``, with a Fisher-z interval and a t test.

    Parameters
    ----------
    x, y : numpy.ndarray
        The two variables (length n).
    controls : numpy.ndarray
        n × k array of control variables (columns); an intercept is added.
    confidence_level : float, default 0.95
        Coverage of the Fisher-z interval.

    Returns
    -------
    tuple of (float, float, float, float, int)
        r, the interval's low and high bounds, the two-sided t-test p-value (df = n − 2 − k), and n.

    Notes
    -----
    Read r as a correlation between the parts of x and y that the controls do not explain: Cohen's
    (1988) 0.1 / 0.3 / 0.5 for small / medium / large are the usual, arbitrary, guide. With few
    points (a handful of models) the interval is the number to report.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=200); x = z + rng.normal(size=200); y = z + rng.normal(size=200)
    >>> abs(partial_correlation(x, y, z[:, None])[0]) < 0.15
    True
    """
    n = x.size
    Z = np.column_stack([np.ones(n), controls])
    k = np.linalg.matrix_rank(Z) - 1
    df = n - 2 - k
    if df < 2:
        return float("nan"), float("nan"), float("nan"), float("nan"), n
    beta_x = np.linalg.lstsq(Z, x, rcond=None)[0]
    beta_y = np.linalg.lstsq(Z, y, rcond=None)[0]
    rx, ry = x - Z @ beta_x, y - Z @ beta_y
    denom = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
    if denom == 0:
        return float("nan"), float("nan"), float("nan"), float("nan"), n
    r = float(np.clip(np.sum(rx * ry) / denom, -1, 1))
    t = r * np.sqrt(df / max(1 - r * r, 1e-300))
    p = float(2 * st.t.sf(abs(t), df))
    zcrit = st.norm.ppf(0.5 + confidence_level / 2)
    se = 1 / np.sqrt(max(n - k - 3, 1))
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return r, float(np.tanh(z - zcrit * se)), float(np.tanh(z + zcrit * se)), p, n


@validate_params({"n_options": [Interval(Integral, 2, None, closed="left"), None], "confidence_level": [LEVEL]})
def affinity_bias(
    judgments: Judgments,
    answers: pl.DataFrame,
    *,
    judges: Sequence[str] | None = None,
    n_options: int | None = None,
    confidence_level: float = 0.95,
) -> AffinityBias:
    """Affinity bias: does a judge score a model higher when the model thinks like the judge?

    ("Great Models Think Alike", Goel et al. 2025): the question is whether the judge favours
    models similar to itself beyond what the model's accuracy explains.

    ``judgments`` holds the judge's verdicts on the models' outputs (pointwise ``score``, or
    pairwise verdicts: a model's score is then its share of wins, ties ½); ``answers`` holds every
    model's — and every judge's own — answers to a reference task (``item, model, answer, gold``):
    they give each model's accuracy and the judge–model CAPA. For each judge (a name that appears
    among the answering models) the test is the partial correlation of score and similarity over
    the models, controlling for accuracy; the pooled row adds judge fixed effects. A positive,
    significant value is affinity bias.

    Parameters
    ----------
    judgments : Judgments
        The judges' scores (or pairwise verdicts) of the models.
    answers : polars.DataFrame
        Answers of the models and the judges to a reference task: ``item``, ``model``, ``answer``,
        ``gold``.
    judges : sequence of str, optional
        The judges to test. Default: every judge that also appears in ``answers``.
    n_options : int, optional
        Answer options per item for CAPA. Default: the distinct answers and gold labels seen.
    confidence_level : float, default 0.95
        Coverage of the Fisher-z intervals.

    Returns
    -------
    AffinityBias
        ``table``: per judge and pooled, the partial correlation ``estimate`` with interval,
        p-value and n; ``data``: the per-model scores, similarities and accuracies; ``chart()``.

    Notes
    -----
    The estimate is a partial correlation over models: Cohen's (1988) 0.1 / 0.3 / 0.5 are the
    customary, arbitrary, small / medium / large marks. With few models the interval is wide, and a
    large r on eight models can still be compatible with none.

    Examples
    --------
    >>> import numpy as np, polars as pl, metaeval
    >>> from metaeval import juries
    >>> rng = np.random.default_rng(1)
    >>> gold = rng.integers(0, 4, 300); models = [f"m{i}" for i in range(8)] + ["judge"]
    >>> style = {m: rng.integers(0, 4, 300) for m in models}
    >>> ans = pl.DataFrame([{"item": i, "model": m, "gold": int(gold[i]),
    ...                      "answer": int(gold[i] if rng.random() < 0.6 else style[m][i])}
    ...                     for m in models for i in range(300)])
    >>> sim = juries.similarity(ans, n_resamples=0)
    >>> acc = sim.accuracy
    >>> rows = [{"item": f"q{k}", "judge": "judge", "model": m,
    ...          "score": acc[m] + 2 * sim.value("judge", m) + rng.normal(0, 0.02)}
    ...         for m in models[:-1] for k in range(5)]
    >>> res = juries.affinity_bias(metaeval.Judgments(pl.DataFrame(rows)), ans)
    >>> res.table.filter(pl.col("judge") == "judge")["estimate"][0] > 0.8
    True
    """
    judgments = as_judgments(judgments)
    sim = similarity(answers, n_options=n_options, n_resamples=0)
    models = set(sim.names)
    f = judgments.frame
    names = list(judges) if judges is not None else [j for j in judgments.judges if j in models]
    if not names:
        raise InsufficientDataError("no judge of the table is among the answering models: name them in `answers`")
    missing = [j for j in names if j not in models]
    if missing:
        raise MetaevalError(f"judge {missing[0]!r} has no answers of its own in `answers`")
    if judgments.kind == "pointwise":
        if "score" not in f.columns:
            raise MetaevalError("affinity bias on a pointwise table needs numeric `score`")
        long = f.select("judge", "model", pl.col("score").cast(pl.Float64).alias("v")).drop_nulls("v")
    else:
        y = preference(f)
        base = f.select("judge", "model_a", "model_b").with_columns(pl.Series("y", y))
        long = pl.concat([base.select("judge", pl.col("model_a").alias("model"), pl.col("y").alias("v")),
                          base.select("judge", pl.col("model_b").alias("model"), (1 - pl.col("y")).alias("v"))])
    scores = long.filter(pl.col("judge").is_in(names), pl.col("model").is_in(list(models)),
                         pl.col("judge") != pl.col("model")).group_by("judge", "model",
                                                                      maintain_order=True).agg(pl.col("v").mean()
                                                                                            .alias("score"))
    if scores.height == 0:
        raise InsufficientDataError("the judges scored none of the answering models")
    scores = scores.with_columns(
        pl.struct("judge", "model").map_elements(lambda r: sim.value(r["judge"], r["model"]),
                                                 return_dtype=pl.Float64).alias("similarity"),
        pl.col("model").replace_strict(sim.accuracy, return_dtype=pl.Float64).alias("accuracy"),
    ).sort("judge", "model")
    rows = []
    for name in names:
        g = scores.filter(pl.col("judge") == name)
        r, lo, hi, p, n = partial_correlation(g["score"].to_numpy(), g["similarity"].to_numpy(),
                                              g["accuracy"].to_numpy()[:, None], confidence_level)
        if not np.isfinite(r):
            warn(f"{name}: {n} models are too few for a partial correlation (need 5)", EstimationWarning)
        rows.append({"judge": name, "estimate": r, "ci_low": lo, "ci_high": hi, "pvalue": p, "n_models": n})
    if len(names) > 1:
        dummies = scores["judge"].to_dummies(drop_first=True).to_numpy().astype(float)
        r, lo, hi, p, n = partial_correlation(scores["score"].to_numpy(), scores["similarity"].to_numpy(),
                                              np.column_stack([scores["accuracy"].to_numpy(), dummies]),
                                              confidence_level)
        rows.append({"judge": "all judges (fixed effects)", "estimate": r, "ci_low": lo, "ci_high": hi, "pvalue": p,
                     "n_models": n})
    table = pl.DataFrame(rows).with_columns(
        ((pl.col("pvalue") < 1 - confidence_level) & (pl.col("estimate") > 0)).fill_null(False).alias("affinity"))
    run = RunInfo("juries.affinity_bias", {"judges": names, "n_options": n_options}, None, judgments.fingerprint,
                  len(judgments.items), len(judgments))
    return AffinityBias(table, scores, run)
