"""The charts every result draws: one function per kind of figure, called by the results'
``.chart()`` methods, so that a forest plot, a heatmap or a critical-difference diagram looks
the same wherever it appears.

* :func:`forest` — one row per subject: estimate and interval, optional no-effect line.
* :func:`heatmap` — a matrix of values (judge × judge agreement, similarities), or counts
  coloured by a share (confusion matrices), optionally faceted.
* :func:`cd_diagram` — Demšar's critical-difference diagram.
* :func:`dumbbell` — two estimates of the same quantity per subject (raw and length-controlled
  win rates), each with its interval.
* :func:`cost_frontier` — agreement against cost, the frontier, the chosen panels.
* :func:`reliability` — a reliability diagram: predicted probability against the observed share,
  with intervals and counts per bin.
* :func:`rank_intervals` — each subject's rank with its interval, optionally one panel per rule.

Altair is imported inside the functions (the ``report`` extra). Data travel inline with the
spec; floats are rounded to 6 significant digits and non-finite values become null, so that
specs are stable and valid JSON.

Examples
--------
>>> from metaeval.report import charts
>>> rows = [{"model": "a", "estimate": 0.6, "ci_low": 0.5, "ci_high": 0.7},
...         {"model": "b", "estimate": 0.4, "ci_low": 0.3, "ci_high": 0.5}]
>>> spec = charts.forest(rows, label="model", estimate="estimate", low="ci_low", high="ci_high",
...                      x_title="win rate", title="win rates", null=0.5).to_dict()
>>> [layer["mark"]["type"] for layer in spec["layer"]]
['rule', 'point', 'rule']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from metaeval.errors import MetaevalError

__all__ = ["cd_diagram", "cost_frontier", "dumbbell", "forest", "heatmap", "rank_intervals", "reliability",
           "values"]

#: Longest label (pixels) drawn before it is cut with an ellipsis.
LABEL_LIMIT = 300
#: Longest name (characters) in a critical-difference diagram; longer ones end in an ellipsis.
NAME_CHARS = 42
#: Height (pixels) of one row of a forest plot.
ROW = 20
#: Colours: estimates, a second series, the chosen items, and the no-effect lines.
BLUE, RED, GREEN, GREY = "#1f5f99", "#b2182b", "#1b7837", "#888888"


def _alt() -> Any:
    try:
        import altair as alt
    except ImportError as exc:  # pragma: no cover - the report extra is a test dependency
        raise MetaevalError("charts need the `report` extra (altair, vl-convert-python)") from exc
    return alt


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return float(f"{v:.6g}") if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def values(rows: pl.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: floats to 6 significant digits, ``nan`` / ``inf`` to null.

    >>> values([{"x": 1 / 3, "y": float("nan")}])
    [{'x': 0.333333, 'y': None}]
    """
    dicts = rows.to_dicts() if isinstance(rows, pl.DataFrame) else [dict(r) for r in rows]
    return [{k: _clean(v) for k, v in r.items()} for r in dicts]


def _title(text: str | None, subtitle: str | Sequence[str] | None = None) -> Any:
    alt = _alt()
    if text is None:
        return ""
    if subtitle is None:
        return alt.TitleParams(text=text, anchor="start")
    return alt.TitleParams(text=text, subtitle=subtitle, anchor="start", subtitleColor="#444444")


def _valid(*fields: str) -> str:
    return " && ".join(f"isValid(datum[{f!r}]) && isFinite(datum[{f!r}])" for f in fields)


def _tooltip(fields: Sequence[str], data: list[dict[str, Any]]) -> list[Any]:
    alt = _alt()
    out = []
    for f in fields:
        sample = next((r[f] for r in data if r.get(f) is not None), None)
        if isinstance(sample, float):
            out.append(alt.Tooltip(f"{f}:Q", format=".4g"))
        elif isinstance(sample, (int, bool)) and not isinstance(sample, bool):
            out.append(alt.Tooltip(f"{f}:Q"))
        else:
            out.append(alt.Tooltip(f"{f}:N"))
    return out


# ------------------------------------------------------------------------ forest plot
def forest(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    label: str,
    estimate: str,
    low: str,
    high: str,
    x_title: str,
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    null: float | None = None,
    domain: tuple[float, float] | None = None,
    color: str | None = None,
    color_title: str | None = None,
    sort: Sequence[str] | None = None,
    tooltip: Sequence[str] = (),
    width: int = 360,
    show_labels: bool = True,
    label_title: str | None = None,
) -> Any:
    """A forest plot: one row per ``label``, a point at ``estimate`` and a line from ``low`` to
    ``high``; a dashed line at ``null`` (no effect) when given.

    Rows keep the order of ``sort`` (default: as given). An interval with a missing bound is
    left out (the point stays); ``domain`` fixes the x axis (e.g. 0–1 for a proportion).
    """
    alt = _alt()
    keep = list(dict.fromkeys([label, estimate, low, high, *([color] if color else []), *tooltip]))
    data = [{k: r.get(k) for k in keep} for r in values(rows)]
    order = list(sort) if sort is not None else list(dict.fromkeys(r[label] for r in data))
    axis = alt.Axis(labelLimit=LABEL_LIMIT) if show_labels else None
    y = alt.Y(f"{label}:N", sort=order, title=label_title, axis=axis)
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    base = alt.Chart(alt.Data(values=data)).encode(y=y)
    colour: dict[str, Any] = {}
    if color is not None:
        colour = {"color": alt.Color(f"{color}:N", title=color_title, legend=alt.Legend(orient="bottom"))}
    rule = base.transform_filter(_valid(low, high)).mark_rule(strokeWidth=2, color=BLUE).encode(
        x=alt.X(f"{low}:Q", title=x_title, scale=scale, axis=alt.Axis(labelOverlap="greedy")), x2=f"{high}:Q",
        **colour)
    tips = list(dict.fromkeys([label, estimate, low, high, *tooltip]))
    point = base.transform_filter(_valid(estimate)).mark_point(filled=True, size=55, color=BLUE, opacity=1).encode(
        x=alt.X(f"{estimate}:Q"), tooltip=_tooltip(tips, data), **colour)
    layers = [rule, point]
    if null is not None:
        layers.append(alt.Chart(alt.Data(values=[{"null": null}])).mark_rule(strokeDash=[4, 4], color=GREY)
                      .encode(x="null:Q"))
    return alt.layer(*layers).properties(width=width, height=alt.Step(ROW), title=_title(title, subtitle))


# ---------------------------------------------------------------------------- heatmap
def heatmap(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    x: str,
    y: str,
    value: str,
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    color_title: str | None = None,
    domain: tuple[float, float] = (-1.0, 1.0),
    scheme: str = "redblue",
    text: str | None = None,
    fmt: str = ".2f",
    x_sort: Sequence[str] | None = None,
    y_sort: Sequence[str] | None = None,
    facet: str | None = None,
    columns: int = 3,
    cell: int = 40,
    tooltip: Sequence[str] = (),
) -> Any:
    """A heatmap of ``value`` on the ``x`` × ``y`` grid, each cell printing ``text`` (default:
    ``value`` with ``fmt``); ``facet`` draws one panel per value of that column.

    The text turns white on the darkest fifth of the colour range at either end.
    """
    alt = _alt()
    data = values(rows)
    lo, hi = domain
    span = hi - lo
    dark = f"datum[{value!r}] > {hi - 0.2 * span:g}"
    if lo < 0:  # a diverging scale is dark at both ends
        dark += f" || datum[{value!r}] < {lo + 0.2 * span:g}"
    xs = list(x_sort) if x_sort is not None else list(dict.fromkeys(r[x] for r in data))
    ys = list(y_sort) if y_sort is not None else list(dict.fromkeys(r[y] for r in data))
    base = alt.Chart().encode(
        x=alt.X(f"{x}:N", sort=xs, title=x_title, axis=alt.Axis(labelLimit=LABEL_LIMIT, labelAngle=-40)),
        y=alt.Y(f"{y}:N", sort=ys, title=y_title, axis=alt.Axis(labelLimit=LABEL_LIMIT)))
    tips = list(dict.fromkeys([y, x, value, *([text] if text else []), *tooltip]))
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(f"{value}:Q", title=color_title or value, scale=alt.Scale(domain=list(domain), scheme=scheme)),
        tooltip=_tooltip(tips, data))
    label = (alt.Text(f"{text}:N") if text else alt.Text(f"{value}:Q", format=fmt))
    words = base.mark_text(fontSize=10, lineBreak="\n").encode(
        text=label, color=alt.condition(dark, alt.value("white"), alt.value("black")))
    size = {"width": alt.Step(cell), "height": alt.Step(cell)}
    layered = alt.layer(rect, words, data=alt.Data(values=data))
    if facet is None:
        return layered.properties(title=_title(title, subtitle), **size)
    panels = list(dict.fromkeys(r[facet] for r in data))
    return layered.properties(**size).facet(
        facet=alt.Facet(f"{facet}:N", title=None, sort=panels,
                        header=alt.Header(labelFontWeight="bold", labelFontSize=11, labelLimit=LABEL_LIMIT)),
        columns=columns).properties(title=_title(title, subtitle))


# --------------------------------------------------------------- critical difference
def cd_diagram(
    models: Sequence[str],
    average_ranks: Sequence[float] | np.ndarray,
    cd: float,
    cliques: Sequence[Sequence[str]],
    *,
    title: str,
    subtitle: str | Sequence[str] | None = None,
    control: str | None = None,
    show_ranks: bool = True,
) -> Any:
    """Demšar's (2006) critical-difference diagram.

    One horizontal axis of average ranks (1, the best, on the left); each model hangs below it,
    the better half to the left and the other half to the right, with a line down from its
    average rank to its name. Thick bars join each group of models not significantly different
    (``cliques``). The CD bar above the axis is ``cd`` long, on the same scale. With a
    ``control`` (Bonferroni–Dunn) the bars are replaced by the interval control ± CD on the
    axis: models outside it differ from the control.

    Every coordinate is in data units on x (ranks) and pixels from the top on y, so the
    geometry can be checked against the numbers: see the ``role`` field of each segment.
    """
    alt = _alt()
    k = len(models)
    r = np.asarray(average_ranks, float)
    if k < 2 or r.shape != (k,):
        raise MetaevalError("a critical-difference diagram needs two or more models, each with an average rank")
    order = list(np.argsort(r, kind="stable"))
    span = k - 1
    margin = 0.06 * max(span, 1)
    right_end = max(float(k), 1.0 + cd) if control is None else float(k)
    lo_x, hi_x = 1.0 - margin, right_end + margin
    width = int(min(max(380, 22 * k), 640))
    # pixel rows from the top
    cd_y, axis_y = 24.0, 64.0
    n_bars = len(cliques) if control is None else 1
    bar_y0 = axis_y + 12
    level0 = bar_y0 + 9 * n_bars + 12
    step = 17.0
    n_left = (k + 1) // 2
    left, right = order[:n_left], order[n_left:]
    segs: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    # the axis, its ticks and tick labels
    segs.append({"role": "axis", "x": 1.0, "x2": float(k), "y": axis_y, "y2": axis_y})
    label_every = 1 if k <= 12 else (2 if k <= 24 else 5)
    for t in range(1, k + 1):
        segs.append({"role": "tick", "x": float(t), "x2": float(t), "y": axis_y - 5, "y2": axis_y})
        if t == 1 or t % label_every == 0:
            texts.append({"role": "tick label", "x": float(t), "y": axis_y - 8, "text": str(t), "align": "center",
                          "baseline": "bottom"})
    # the CD bar: cd long, from rank 1 (Nemenyi) or centred on the control (Bonferroni–Dunn)
    if control is None:
        a, b = 1.0, 1.0 + cd
    else:
        rc = float(r[list(models).index(control)])
        a, b = rc - cd / 2, rc + cd / 2
    segs += [{"role": "cd", "x": a, "x2": b, "y": cd_y, "y2": cd_y},
             {"role": "cd end", "x": a, "x2": a, "y": cd_y - 4, "y2": cd_y + 4},
             {"role": "cd end", "x": b, "x2": b, "y": cd_y - 4, "y2": cd_y + 4}]
    texts.append({"role": "cd label", "x": (a + b) / 2, "y": cd_y - 6, "text": f"CD = {cd:.2f}", "align": "center",
                  "baseline": "bottom"})
    thick: list[dict[str, Any]] = []
    if control is None:
        for i, group in enumerate(cliques):
            gr = [float(r[list(models).index(m)]) for m in group]
            thick.append({"role": "clique", "x": min(gr), "x2": max(gr), "y": bar_y0 + 9 * i, "y2": bar_y0 + 9 * i,
                          "models": ", ".join(group)})
    else:
        rc = float(r[list(models).index(control)])
        thick.append({"role": "control interval", "x": max(rc - cd, 1.0), "x2": min(rc + cd, float(k)),
                      "y": bar_y0, "y2": bar_y0, "models": f"{control} ± CD"})
    # each model: down from its rank, then out to its side
    for side, members, end in (("left", left, lo_x), ("right", right[::-1], hi_x)):
        for j, i in enumerate(members):
            yj = level0 + step * j
            ri = float(r[i])
            segs.append({"role": "model", "x": ri, "x2": ri, "y": axis_y, "y2": yj, "model": models[i]})
            segs.append({"role": "model", "x": ri, "x2": end, "y": yj, "y2": yj, "model": models[i]})
            short = models[i] if len(models[i]) <= NAME_CHARS else models[i][: NAME_CHARS - 1] + "…"
            note = ", control" if models[i] == control else ""
            name = f"{short} ({ri:.2f}{note})" if show_ranks else short + note.replace(", ", " (") + (")" if note
                                                                                                   else "")
            if side == "left":
                texts.append({"role": "model label", "x": end, "y": yj, "text": name, "align": "right",
                              "baseline": "middle", "model": models[i]})
            else:
                texts.append({"role": "model label", "x": end, "y": yj, "text": name, "align": "left",
                              "baseline": "middle", "model": models[i]})
    height = int(level0 + step * max(len(left), len(right)))
    xs = alt.Scale(domain=[lo_x, hi_x], nice=False, zero=False)
    ys = alt.Scale(domain=[0, height], range=[0, height], nice=False, zero=False)
    enc = {"x": alt.X("x:Q", scale=xs, axis=None), "y": alt.Y("y:Q", scale=ys, axis=None), "x2": "x2:Q",
           "y2": "y2:Q"}
    lines = alt.Chart(alt.Data(values=values(segs))).mark_rule(color="black", strokeWidth=1).encode(**enc)
    bars = alt.Chart(alt.Data(values=values(thick))).mark_rule(
        color="black" if control is None else RED, strokeWidth=4, strokeCap="round").encode(
        **enc, tooltip=[alt.Tooltip("models:N", title="not significantly different")])
    layers = [lines, bars]
    for align in ("left", "right", "center"):
        part = [t for t in texts if t["align"] == align]
        if not part:
            continue
        base = alt.Chart(alt.Data(values=values(part)))
        layers.append(base.transform_filter("datum.role == 'model label'").mark_text(
            align=align, baseline="middle", dx={"left": 6, "right": -6, "center": 0}[align], fontSize=11,
            limit=LABEL_LIMIT).encode(x=alt.X("x:Q", scale=xs, axis=None), y=alt.Y("y:Q", scale=ys, axis=None),
                                      text="text:N"))
        layers.append(base.transform_filter("datum.role != 'model label'").mark_text(
            align=align, baseline="bottom", fontSize=11).encode(
            x=alt.X("x:Q", scale=xs, axis=None), y=alt.Y("y:Q", scale=ys, axis=None), text="text:N"))
    return alt.layer(*layers).properties(width=width, height=height, title=_title(title, subtitle)).configure_view(
        stroke=None)


# --------------------------------------------------------------------------- dumbbell
def dumbbell(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    label: str,
    start: str,
    end: str,
    start_name: str,
    end_name: str,
    x_title: str,
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    start_low: str | None = None,
    start_high: str | None = None,
    end_low: str | None = None,
    end_high: str | None = None,
    facet: str | None = None,
    domain: tuple[float, float] | None = None,
    width: int = 380,
) -> Any:
    """Two estimates per row joined by a line: ``start`` (circle) and ``end`` (diamond),
    each with its interval drawn just above (``start``) or below (``end``) the row, and a
    legend naming both. Rows are sorted by ``end``, best first; ``facet`` gives one panel per
    value (e.g. per judge)."""
    alt = _alt()
    data = values(rows)
    if facet is not None:  # one panel per value, each sorted on its own, stacked (shared legend and x axis)
        groups = list(dict.fromkeys(r[facet] for r in data))
        panels = [dumbbell([r for r in data if r[facet] == g], label=label, start=start, end=end,
                           start_name=start_name, end_name=end_name, x_title=x_title, title=str(g),
                           start_low=start_low, start_high=start_high, end_low=end_low, end_high=end_high,
                           domain=domain, width=width) for g in groups]
        return alt.vconcat(*panels, spacing=16).resolve_scale(x="shared").properties(title=_title(title, subtitle))
    long: list[dict[str, Any]] = []
    for r in data:
        base = {label: r[label], "from": r[start], "to": r[end]}
        long.append({**base, "series": start_name, "value": r[start],
                     "low": r.get(start_low) if start_low else None, "high": r.get(start_high) if start_high else None})
        long.append({**base, "series": end_name, "value": r[end],
                     "low": r.get(end_low) if end_low else None, "high": r.get(end_high) if end_high else None})
    order = [r[label] for r in sorted(data, key=lambda r: -(r[end] if r[end] is not None else -math.inf))]
    order = list(dict.fromkeys(order))
    y = alt.Y(f"{label}:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    colour = alt.Color("series:N", title=None, scale=alt.Scale(domain=[start_name, end_name], range=[BLUE, RED]),
                       legend=alt.Legend(orient="bottom"))
    shape = alt.Shape("series:N", title=None, scale=alt.Scale(domain=[start_name, end_name],
                                                              range=["circle", "diamond"]),
                      legend=alt.Legend(orient="bottom"))
    base = alt.Chart().encode(y=y)
    link = base.transform_filter(f"datum.series == {start_name!r} && " + _valid("from", "to")).mark_rule(
        color="#bbbbbb", strokeWidth=1.5).encode(x=alt.X("from:Q", title=x_title, scale=scale), x2="to:Q")
    layers = [link]
    for name, dy in ((start_name, -4), (end_name, 4)):
        layers.append(base.transform_filter(f"datum.series == {name!r} && " + _valid("low", "high")).mark_rule(
            strokeWidth=1.5, yOffset=dy).encode(x=alt.X("low:Q", scale=scale), x2="high:Q", color=colour))
    layers.append(base.transform_filter(_valid("value")).mark_point(size=55, filled=True, opacity=1).encode(
        x=alt.X("value:Q", scale=scale), color=colour, shape=shape,
        tooltip=_tooltip([label, "series", "value", "low", "high"], long)))
    chart = alt.layer(*layers, data=alt.Data(values=long)).properties(width=width, height=alt.Step(ROW))
    return chart.properties(title=_title(title, subtitle))


# ----------------------------------------------------------------- cost and agreement
def cost_frontier(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    label: str,
    cost: str,
    score: str,
    low: str,
    high: str,
    on_frontier: str,
    x_title: str,
    y_title: str,
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    picks: Mapping[str, str] | None = None,
    higher_is_better: bool = True,
    tooltip: Sequence[str] = (),
    width: int = 440,
    height: int = 320,
) -> Any:
    """Agreement against cost: every row with its interval, the frontier joined by a line and
    labelled, and ``picks`` (label → what it is, e.g. "recommended") marked and in the legend.

    The cost axis: when several rows share a cost (a cost that counts verdicts, so every panel
    of three judges costs 3), costs are shown as ordered bands with the rows of one cost side by
    side, sorted by score — no row hides another and every cost stays exact. Otherwise a
    continuous axis with the frontier line, logarithmic when costs span more than a factor 20
    (symmetric log, linear near 0, when a row costs nothing).
    The labels (frontier and picks) stand in a column right of the plot, spaced so that none
    overlaps, each joined to its point by a thin line.
    """
    alt = _alt()
    keep = list(dict.fromkeys([label, cost, score, low, high, on_frontier, *tooltip]))
    data = [{k: r.get(k) for k in keep} for r in values(rows) if r.get(cost) is not None and r.get(score) is not None]
    picks = dict(picks or {})
    pick_roles = list(dict.fromkeys(picks.values()))
    role_order = [*pick_roles, "on the frontier", "other"]
    palette = [*[RED, GREEN, "#762a83"][: len(pick_roles)], "#222222", "#8fb3d3"]
    for r in data:
        r["role"] = picks.get(r[label], "on the frontier" if r.get(on_frontier) else "other")
        r["shown"] = bool(r.get(on_frontier)) or r[label] in picks
    legend = alt.Legend(orient="bottom", columns=2, labelLimit=420)
    colour = alt.Color("role:N", title=None, scale=alt.Scale(domain=role_order, range=palette), legend=legend)
    shape = alt.Shape("role:N", title=None, legend=legend, scale=alt.Scale(
        domain=role_order, range=[*(["diamond", "square", "triangle-up"][: len(pick_roles)]), "circle", "circle"]))
    lows = [r[low] for r in data if r.get(low) is not None] + [r[score] for r in data]
    highs = [r[high] for r in data if r.get(high) is not None] + [r[score] for r in data]
    y0, y1 = (min(lows), max(highs)) if data else (0.0, 1.0)
    pad = 0.04 * (y1 - y0 or 1.0)
    y_dom = [y0 - pad, y1 + pad]
    y_scale = alt.Scale(domain=y_dom, nice=False, zero=False)
    y = alt.Y(f"{score}:Q", title=y_title, scale=y_scale)
    tips = _tooltip(list(dict.fromkeys([label, cost, score, low, high, "role", *tooltip])), data)
    costs = [r[cost] for r in data]
    distinct = sorted(set(costs))
    shared = len(distinct) < len(costs) and len(distinct) <= 12
    sign = 1.0 if higher_is_better else -1.0
    extra: dict[str, Any] = {}
    if shared:
        for c in distinct:
            group = sorted((r for r in data if r[cost] == c), key=lambda r: (-sign * r[score], r[label]))
            for i, r in enumerate(group):
                r["slot"] = i
                r["cost_band"] = f"{c:g}"
        bands = [f"{c:g}" for c in distinct]
        slots = list(range(max(r["slot"] for r in data) + 1))
        x: Any = alt.X("cost_band:O", title=x_title, axis=alt.Axis(labelAngle=0),
                       scale=alt.Scale(domain=bands, paddingInner=0.25))
        extra = {"xOffset": alt.XOffset("slot:O", title=None, scale=alt.Scale(domain=slots))}
    else:
        positive = [c for c in costs if c > 0]
        spread = bool(positive) and max(positive) / min(positive) > 20
        if spread and min(costs) > 0:
            x_scale, note = alt.Scale(type="log", domain=[min(costs) / 1.5, max(costs) * 1.5], nice=False), "log"
        elif spread:  # a free judge (cost 0) has no logarithm: symmetric log, linear below the cheapest price
            x_scale = alt.Scale(type="symlog", constant=min(positive), domain=[0, max(costs) * 1.5], nice=False)
            note = "symmetric log"
        else:
            x_scale, note = alt.Scale(zero=False, padding=12), ""
        axis = alt.Undefined
        if note == "symmetric log":  # Vega's own symlog ticks are linear: ticks at 1, 3, 10, 30 … instead
            ticks = [0.0] + [float(f"{k * 10.0**e:g}") for e in range(-4, 8) for k in (1, 3)
                             if min(positive) / 2 <= k * 10.0**e <= max(costs) * 1.5]
            axis = alt.Axis(values=ticks, format=",~r")
        x = alt.X(f"{cost}:Q", title=x_title + (f" ({note} scale)" if note else ""), scale=x_scale, axis=axis)
    shown = sorted((r for r in data if r["shown"]), key=lambda r: -r[score])
    px = [height * (1 - (r[score] - y_dom[0]) / (y_dom[1] - y_dom[0])) for r in shown]
    for r, p in zip(shown, _spread(px, 13.0, height), strict=True):
        r["label_y"] = y_dom[0] + (1 - p / height) * (y_dom[1] - y_dom[0])
    if shared:
        lines = [] if subtitle is None else [subtitle] if isinstance(subtitle, str) else list(subtitle)
        subtitle = [*lines, "equal costs stand side by side in one band, best first"]
    base = alt.Chart()
    layers = [
        base.transform_filter(_valid(low, high)).mark_rule(opacity=0.55, strokeWidth=1.5).encode(
            x=x, y=alt.Y(f"{low}:Q", title=y_title, scale=y_scale), y2=f"{high}:Q", color=colour, **extra),
        base.mark_point(filled=True, size=45, opacity=0.9).encode(x=x, y=y, color=colour, shape=shape, tooltip=tips,
                                                                  **extra),
        base.transform_filter("datum.role != 'other' && datum.role != 'on the frontier'").mark_point(
            size=230, filled=False, strokeWidth=2, opacity=1).encode(x=x, y=y, color=colour, shape=shape, **extra),
    ]
    if not shared:
        layers.insert(0, base.transform_filter(f"datum[{on_frontier!r}]").mark_line(color="#222222", strokeWidth=1)
                      .encode(x=x, y=y, order=f"{cost}:Q"))
    layers.insert(0, base.transform_filter("datum.shown").mark_rule(color="#bbbbbb", strokeWidth=0.7).encode(
        x=x, x2=alt.value(width + 6), y=y, y2=alt.Y2("label_y:Q"), **extra))  # leader lines, under the points
    layers.append(base.transform_filter("datum.shown").mark_text(align="left", baseline="middle", fontSize=10,
                                                                  limit=260).encode(
        x=alt.value(width + 9), y=alt.Y("label_y:Q", scale=y_scale), text=f"{label}:N"))
    return alt.layer(*layers, data=alt.Data(values=data)).properties(width=width, height=height,
                                                                     title=_title(title, subtitle))


def _spread(px: Sequence[float], gap: float, height: float) -> list[float]:
    """Label positions (pixels, sorted top to bottom as given) moved apart to at least ``gap``,
    kept inside [0, height] where they fit.

    >>> _spread([10.0, 12.0, 50.0], 13.0, 100.0)
    [10.0, 23.0, 50.0]
    """
    out = list(px)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    if out and out[-1] > height:  # pushed off the bottom: pack upwards from there
        out[-1] = height
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return [float(v) for v in out]


# --------------------------------------------------------------------- reliability
def reliability(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    predicted: str,
    observed: str,
    low: str,
    high: str,
    n: str,
    bin_low: str,
    bin_high: str,
    x_title: str,
    y_title: str,
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    facet: str | None = None,
    columns: int = 3,
    size: int = 240,
) -> Any:
    """A reliability diagram: per bin of the predicted probability, the observed share (point at
    the bins' mean prediction) with its interval, against the diagonal of perfect calibration;
    below it, the number of units per bin. ``facet`` draws one such pair per value."""
    alt = _alt()
    data = values(rows)
    groups = list(dict.fromkeys(r[facet] for r in data)) if facet else [None]
    unit = alt.Scale(domain=[0, 1], nice=False, padding=0)
    panels = []
    for g in groups:
        part = [r for r in data if facet is None or r[facet] == g]
        src = alt.Data(values=part)
        diag = alt.Chart(alt.Data(values=[{"p": 0.0}, {"p": 1.0}])).mark_line(strokeDash=[4, 4], color=GREY).encode(
            x=alt.X("p:Q", scale=unit, title=x_title), y=alt.Y("p:Q", scale=unit, title=y_title))
        err = alt.Chart(src).transform_filter(_valid(low, high)).mark_rule(color=BLUE, strokeWidth=1.5).encode(
            x=alt.X(f"{predicted}:Q", scale=unit), y=alt.Y(f"{low}:Q", scale=unit), y2=f"{high}:Q")
        pts = alt.Chart(src).transform_filter(_valid(predicted, observed)).mark_line(
            point=alt.OverlayMarkDef(filled=True, size=40, color=BLUE), color=BLUE, strokeWidth=1).encode(
            x=alt.X(f"{predicted}:Q", scale=unit), y=alt.Y(f"{observed}:Q", scale=unit),
            tooltip=_tooltip([bin_low, bin_high, predicted, observed, low, high, n], part))
        top = alt.layer(diag, err, pts).properties(width=size, height=size,
                                                   title=alt.TitleParams(str(g), anchor="middle") if g else "")
        counts = alt.Chart(src).encode(x=alt.X(f"{bin_low}:Q", scale=unit, title=None,
                                               axis=alt.Axis(labels=False, ticks=False)), x2=f"{bin_high}:Q")
        y_n = alt.Y(f"{n}:Q", title="units", axis=alt.Axis(tickCount=3), scale=alt.Scale(zero=True))
        hist = alt.layer(
            counts.mark_bar(color="#9ecae1", stroke="white", strokeWidth=0.5).encode(
                y=y_n, y2=alt.datum(0), tooltip=_tooltip([bin_low, bin_high, n], part)),
            alt.Chart(src).transform_calculate(mid=f"(datum[{bin_low!r}] + datum[{bin_high!r}]) / 2").mark_text(
                baseline="bottom", dy=-1, fontSize=9, color="#333333").encode(
                x=alt.X("mid:Q", scale=unit), y=y_n, text=alt.Text(f"{n}:Q", format=","))).properties(
            width=size, height=55)
        panels.append(alt.vconcat(top, hist, spacing=4))
    if len(panels) == 1:
        return panels[0].properties(title=_title(title, subtitle))
    rows_of = [alt.hconcat(*panels[i:i + columns]) for i in range(0, len(panels), columns)]
    return alt.vconcat(*rows_of).properties(title=_title(title, subtitle))


# -------------------------------------------------------------------- rank intervals
def rank_intervals(
    rows: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    label: str,
    rank: str,
    low: str,
    high: str,
    n_models: int,
    x_title: str = "rank (1 = best)",
    title: str | None = None,
    subtitle: str | Sequence[str] | None = None,
    facet: str | None = None,
    columns: int = 4,
    sort: Sequence[str] | None = None,
    tooltip: Sequence[str] = (),
    width: int = 200,
    show_labels: bool = True,
) -> Any:
    """Each row's rank (point) with its interval (bar), rank 1 on the left; ``facet`` gives one
    panel per value (e.g. per aggregation rule), rows in the order of ``sort`` in every panel."""
    alt = _alt()
    keep = list(dict.fromkeys([label, *([facet] if facet else []), rank, low, high, *tooltip]))
    data = [{k: r.get(k) for k in keep} for r in values(rows)]
    order = list(sort) if sort is not None else list(dict.fromkeys(r[label] for r in data))
    axis = alt.Axis(labelLimit=LABEL_LIMIT) if show_labels else None
    y = alt.Y(f"{label}:N", sort=order, title=None, axis=axis)
    x_scale = alt.Scale(domain=[0.5, n_models + 0.5], nice=False)
    x_axis = alt.Axis(values=_rank_ticks(n_models), format="d", grid=True)
    base = alt.Chart().encode(y=y)
    bar = base.transform_filter(_valid(low, high)).mark_rule(strokeWidth=3, color="#6a9fcf").encode(
        x=alt.X(f"{low}:Q", title=x_title, scale=x_scale, axis=x_axis), x2=f"{high}:Q")
    point = base.transform_filter(_valid(rank)).mark_point(filled=True, color="black", size=30, opacity=1).encode(
        x=alt.X(f"{rank}:Q", scale=x_scale, axis=x_axis),
        tooltip=_tooltip(list(dict.fromkeys([label, *([facet] if facet else []), rank, low, high, *tooltip])), data))
    layered = alt.layer(bar, point, data=alt.Data(values=data)).properties(width=width, height=alt.Step(ROW))
    if facet is None:
        return layered.properties(title=_title(title, subtitle))
    panels = list(dict.fromkeys(r[facet] for r in data))
    return layered.facet(facet=alt.Facet(f"{facet}:N", title=None, sort=panels,
                                         header=alt.Header(labelFontWeight="bold")),
                         columns=columns).properties(title=_title(title, subtitle))


def _rank_ticks(n: int) -> list[int]:
    step = 1 if n <= 10 else (2 if n <= 20 else 5)
    ticks = [1, *range(step, n + 1, step)]
    return sorted(set(ticks) | {n}) if n - ticks[-1] >= step / 2 else sorted(set(ticks))
