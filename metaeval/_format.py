"""Plain-text, Markdown, LaTeX and HTML renderings of small polars tables, and the one rule for
numbers that every rendering shares.

Used by every result object's ``summary`` / ``to_markdown`` / ``to_latex`` / ``to_html`` and by
the report writers (:mod:`metaeval.report`).

The rule for numbers
--------------------
* An estimate and its interval are rounded together, to the precision the interval supports
  (:func:`interval_decimals`): arviz's ``round_to="auto"`` shows a statistic to the first
  significant digit of 2 × its standard error; the half-width of a 95 % interval is that
  2 × se, and like the Particle Data Group's rule a leading digit of 1–3 (below 355) keeps a
  second digit, so rounding never moves a number by more than ~15 % of its uncertainty.
  A bound that would round to 0 and lose its sign gets up to two more digits.
* Other numbers: one precision per column, ``digits`` significant digits of the column's
  largest value (:func:`column_decimals`), so a column's decimal points line up.
* p-values (:func:`format_pvalue`): three decimals, ``< 0.001`` below, and ``< x`` where the
  value is an upper bound (a resampling p-value at its floor of 1 / (B + 1)).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["column_decimals", "format_interval", "format_pvalue", "format_value", "interval_columns",
           "interval_decimals", "is_pvalue_column", "latex_escape", "p_statement", "table_html", "table_latex",
           "table_markdown", "table_text"]

#: the column names that hold p-values (beside ``*_pvalue``)
PVALUE_COLUMNS = frozenset({"pvalue", "p_value", "p_holm", "pvalue_adjusted", "p_adjusted", "pvalue_holm",
                            "p_bonferroni", "p_bh"})


def format_value(value: Any, digits: int = 4) -> str:
    """Format one cell: floats with ``digits`` significant digits, ``nan`` as ``nan``.

    >>> format_value(0.123456), format_value(1234.5678), format_value(float("nan"))
    ('0.1235', '1235', 'nan')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        if abs(value) >= 1e6 or abs(value) < 1e-4:
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def interval_decimals(estimate: float, low: float, high: float, *, max_decimals: int = 8) -> int | None:
    """The decimals to show an estimate and its interval with: what their uncertainty supports.

    The uncertainty is the interval's half-width ``u = (high - low) / 2`` (for a 95 % interval,
    2 × the standard error — the quantity arviz's ``round_to="auto"`` rounds a statistic to). The
    last digit shown is the first significant digit of ``u``, or its second when ``u``'s leading
    digits are below 355 (the Particle Data Group's refinement: a leading 1 would otherwise round
    away up to half the uncertainty). Never fewer than 0 decimals. While a non-zero bound would
    round to 0 (and lose its sign: does the interval hold 0?) up to two more decimals are shown.
    ``None`` when the interval is missing or has no width (then format the estimate alone).

    >>> interval_decimals(0.612, 0.581, 0.643)  # u = 0.031: leading digits 310 keep two digits
    3
    >>> interval_decimals(0.339, 0.275, 0.392)  # u = 0.0585: one digit
    2
    >>> interval_decimals(12.7, 9.102, 16.3)    # u = 3.6
    0
    >>> interval_decimals(0.09, -0.003, 0.2)    # -0.003 would show as 0.0: two more digits
    3
    >>> interval_decimals(0.0, 3.5e-18, 0.037)  # a bound that is float noise is a zero
    3
    """
    if not (_finite(estimate) and _finite(low) and _finite(high)) or high <= low:
        return None
    u = (high - low) / 2
    exponent = math.floor(math.log10(u))
    leading = u / 10**exponent  # in [1, 10)
    d = -exponent + (1 if leading < 3.55 else 0)
    d = min(max(d, 0), max_decimals)
    tiny = 1e-12 * max(abs(estimate), abs(low), abs(high))  # float noise (a Wilson bound of 3e-18) is a zero
    for extra in range(3):
        dd = min(d + extra, max_decimals)
        if all(abs(v) <= tiny or round(v, dd) != 0 for v in (low, high)):
            return dd
    return min(d + 2, max_decimals)


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    # "-0.00": a value that rounds to zero shows no sign (its sign is kept where it matters by
    # `interval_decimals`)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_interval(estimate: float, low: float, high: float, *, digits: int = 3) -> tuple[str, str, str]:
    """An estimate and its interval as three strings, rounded together (:func:`interval_decimals`).

    Integers stay integers (a rank interval); without a usable interval the estimate gets
    ``digits`` significant digits and the bounds show as they are (``nan``).

    >>> format_interval(0.61234, 0.58111, 0.64302)
    ('0.612', '0.581', '0.643')
    >>> format_interval(12.7, 9.102, 16.3)
    ('13', '9', '16')
    >>> format_interval(3, 2.0, 5.0)
    ('3', '2', '5')
    """
    vals = (estimate, low, high)
    if isinstance(estimate, int) and not isinstance(estimate, bool) and all(
            _finite(v) and float(v) == int(v) for v in (low, high)):  # a rank and its interval
        return str(estimate), str(int(low)), str(int(high))
    d = interval_decimals(estimate, low, high)
    if d is None:
        d_est = _decimals_for(abs(estimate), digits) if _finite(estimate) and estimate != 0 else 0
        return tuple(_fixed(float(v), d_est) if _finite(v) else format_value(v) for v in vals)  # type: ignore[return-value]
    return tuple(_fixed(float(v), d) for v in vals)  # type: ignore[return-value]


def _decimals_for(magnitude: float, digits: int, max_decimals: int = 4) -> int:
    """Decimals that give ``magnitude`` ``digits`` significant digits (0 to ``max_decimals``)."""
    if magnitude == 0 or not math.isfinite(magnitude):
        return 0
    return min(max(digits - 1 - math.floor(math.log10(magnitude)), 0), max_decimals)


def column_decimals(values: Sequence[Any], digits: int = 3) -> int:
    """One precision for a column of numbers: ``digits`` significant digits of its largest value
    (0 to 4 decimals; 0 when every value is a whole number).

    >>> column_decimals([1.0, 10.0, 0.5])
    1
    >>> column_decimals([0.91, 0.05])
    3
    >>> column_decimals([3.0, 12.0])
    0
    """
    finite = [float(v) for v in values if _finite(v)]
    if not finite or all(v == int(v) for v in finite):
        return 0
    return _decimals_for(max(abs(v) for v in finite), digits)


def _column_cell(value: Any, decimals: int) -> str:
    """A number at its column's precision; a non-zero number that would show as 0 gets two
    significant digits in scientific notation instead (never a silent 0)."""
    if not _finite(value) or isinstance(value, int):
        return format_value(value)
    if value != 0 and round(value, decimals) == 0:
        return f"{value:.1e}"
    return _fixed(float(value), decimals)


def format_pvalue(p: Any, *, upper_bound: bool = False, alpha: float = 0.05) -> str:
    """A p-value in the one style used everywhere: three decimals, ``< 0.001`` below; ``< x``
    (``x`` rounded up) when ``p`` is only an upper bound — a resampling p-value at its floor of
    1 / (B + 1), or a Holm-adjusted value that depends on one. A p just below ``alpha`` that three
    decimals would round up to it keeps a fourth.

    >>> format_pvalue(0.0123), format_pvalue(2e-17), format_pvalue(1.0)
    ('0.012', '< 0.001', '1.000')
    >>> format_pvalue(2 / 301, upper_bound=True)  # the two-sided floor of 300 resamples
    '< 0.007'
    >>> format_pvalue(0.0496)
    '0.0496'
    """
    if p is None or isinstance(p, bool) or not _finite(p):
        return format_value(p)
    p = float(p)
    if p < 0.001 or (upper_bound and p <= 0.001):
        return "< 0.001"
    if upper_bound:
        return f"< {math.ceil(p * 1000 - 1e-9) / 1000:.3f}"
    text = f"{p:.3f}"
    return f"{p:.4f}" if p < alpha <= float(text) else text


def p_statement(p: Any, *, upper_bound: bool = False) -> str:
    """A p-value in running text: ``p = 0.012``, ``p < 0.001`` (:func:`format_pvalue`'s style).

    >>> p_statement(0.0123), p_statement(1e-9)
    ('p = 0.012', 'p < 0.001')
    """
    text = format_pvalue(p, upper_bound=upper_bound)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def is_pvalue_column(name: str) -> bool:
    """Whether a column name says it holds p-values (``pvalue``, ``p_holm``, ``gap_pvalue`` …)."""
    return name in PVALUE_COLUMNS or name.endswith("_pvalue")


_SE_NAMES = ("standard_error", "se", "sd", "std", "mcse")


def interval_columns(columns: Sequence[str], numeric: Sequence[bool] | None = None) -> dict[str, tuple[str, str]]:
    """The estimate columns of a tidy table with the (low, high) columns of their interval.

    Recognised: ``X`` with ``X_ci_low`` / ``X_ci_high`` or ``X_low`` / ``X_high``; ``P_ci_low``
    with no column ``P`` belongs to the one column that starts with ``P_`` or ends with ``_P``;
    ``ci_low`` / ``ci_high`` belong to ``estimate`` when there is one, else to the nearest
    numeric column before them that is not a standard error.

    >>> interval_columns(["model", "win_rate", "standard_error", "ci_low", "ci_high", "rank", "rank_low",
    ...                   "rank_high"])
    {'win_rate': ('ci_low', 'ci_high'), 'rank': ('rank_low', 'rank_high')}
    """
    cols = list(columns)
    num = list(numeric) if numeric is not None else [True] * len(cols)
    out: dict[str, tuple[str, str]] = {}
    bounds = {c for c in cols if c.endswith(("_low", "_high"))}

    def candidate(x: str) -> bool:
        return x not in bounds and x not in out and not is_pvalue_column(x) and x not in _SE_NAMES

    for i, c in enumerate(cols):
        if c == "ci_low":
            if "ci_high" not in cols:
                continue
            est = "estimate" if "estimate" in cols and candidate("estimate") else None
            if est is None:
                est = next((cols[j] for j in range(i - 1, -1, -1) if num[j] and candidate(cols[j])), None)
            if est is not None:
                out[est] = ("ci_low", "ci_high")
            continue
        suffix = "_ci_low" if c.endswith("_ci_low") else "_low" if c.endswith("_low") else None
        if suffix is None:
            continue
        prefix = c[: -len(suffix)]
        hi = prefix + suffix.replace("low", "high")
        if hi not in cols:
            continue
        if prefix in cols and candidate(prefix):
            out[prefix] = (c, hi)
            continue
        near = [x for x in cols if (x.startswith(prefix + "_") or x.endswith("_" + prefix)) and candidate(x)]
        if len(near) == 1:
            out[near[0]] = (c, hi)
    return out


def formatted_rows(frame: pl.DataFrame, *, digits: int = 3,
                   intervals: dict[str, tuple[str, str]] | None = None,
                   upper_bounds: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Every cell of ``frame`` as text under the one rule: each estimate and its interval bounds
    rounded together, p-values in the p-value style, other numbers at one precision per column.
    ``upper_bounds`` maps a p-value column to a boolean column that marks values that are only
    upper bounds (shown as ``< x``)."""
    cols = frame.columns
    numeric = [frame.schema[c].is_numeric() for c in cols]
    iv = interval_columns(cols, numeric) if intervals is None else intervals
    bounds = upper_bounds or {}
    part_of = {c for lo, hi in iv.values() for c in (lo, hi)} | set(iv)
    decimals = {c: column_decimals(frame[c].to_list(), digits) for c, n in zip(cols, numeric, strict=True)
                if n and c not in part_of and frame.schema[c].is_float()}
    rows = []
    for row in frame.iter_rows(named=True):
        cells: dict[str, str] = {}
        for est, (lo, hi) in iv.items():
            cells[est], cells[lo], cells[hi] = format_interval(row[est], row[lo], row[hi], digits=digits)
        for c in cols:
            if c in cells:
                continue
            v = row[c]
            if is_pvalue_column(c) or c in bounds:
                flag = bounds.get(c)
                cells[c] = format_pvalue(v, upper_bound=bool(flag and row.get(flag)))
            elif c in decimals:
                cells[c] = _column_cell(v, decimals[c])
            else:
                cells[c] = format_value(v)
        rows.append(cells)
    return rows


def _cells(frame: pl.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    header = list(frame.columns)
    rows = [[r[c] for c in header] for r in formatted_rows(frame, digits=digits)]
    return header, rows


def table_text(frame: pl.DataFrame, *, digits: int = 4, title: str | None = None) -> str:
    """Fixed-width text table (numbers under :func:`formatted_rows`' rule).

    >>> print(table_text(pl.DataFrame({"model": ["a", "b"], "estimate": [0.61234, 0.5],
    ...                                "ci_low": [0.58111, 0.45], "ci_high": [0.64302, 0.55], "pvalue": [2e-9, 0.2]})))
    model  estimate  ci_low  ci_high   pvalue
    -----  --------  ------  -------  -------
    a         0.612   0.581    0.643  < 0.001
    b          0.50    0.45     0.55    0.200
    """
    header, rows = _cells(frame, digits)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, w, num in zip(cells, widths, numeric, strict=True):
            out.append(cell.rjust(w) if num else cell.ljust(w))
        return "  ".join(out).rstrip()

    parts = []
    if title:
        parts.append(title)
    parts.append(line(header))
    parts.append("  ".join("-" * w for w in widths))
    parts.extend(line(r) for r in rows)
    return "\n".join(parts)


def table_markdown(frame: pl.DataFrame, *, digits: int = 4) -> str:
    """GitHub-flavoured Markdown table."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def esc(s: str) -> str:
        # a line break would end the table row: cells are one line
        return " ".join(s.split()).replace("|", "\\|") if "\n" in s or "\r" in s else s.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |"]
    out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    out.extend("| " + " | ".join(esc(c) for c in r) + " |" for r in rows)
    return "\n".join(out)


# ------------------------------------------------------------------------------------ LaTeX
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_\allowbreak{}",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "`": r"\textasciigrave{}",
    "/": r"/\allowbreak{}",
}

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "σ": "sigma", "ς": "varsigma", "τ": "tau", "υ": "upsilon", "φ": "varphi", "χ": "chi",
    "ψ": "psi", "ω": "omega", "ϑ": "vartheta", "ϕ": "phi", "ϵ": "epsilon", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi",
    "Ω": "Omega", "µ": "mu",
}
# capital Greek letters that look like Latin ones have no macro of their own
_GREEK_LATIN = {"Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
                "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "ο": "o"}
_MATH = {
    "≥": r"\geq", "≤": r"\leq", "≠": r"\neq", "≈": r"\approx", "±": r"\pm", "∓": r"\mp", "×": r"\times",
    "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "−": "-", "→": r"\rightarrow", "←": r"\leftarrow",
    "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "∞": r"\infty", "√": r"\surd", "∑": r"\sum", "∏": r"\prod",
    "∈": r"\in", "∉": r"\notin", "≡": r"\equiv", "∼": r"\sim", "≃": r"\simeq", "⊆": r"\subseteq",
    "⊂": r"\subset", "∪": r"\cup", "∩": r"\cap", "′": r"\prime", "″": r"\prime\prime", "∂": r"\partial",
    "∇": r"\nabla", "∀": r"\forall", "∃": r"\exists", "∅": r"\emptyset", "⟨": r"\langle", "⟩": r"\rangle",
    "½": r"\frac{1}{2}", "¼": r"\frac{1}{4}", "¾": r"\frac{3}{4}", "⅓": r"\frac{1}{3}", "⅔": r"\frac{2}{3}",
    "²": "^{2}", "³": "^{3}", "¹": "^{1}", "≪": r"\ll", "≫": r"\gg", "∝": r"\propto", "∧": r"\wedge",
    "∨": r"\vee", "¬": r"\neg", "⊥": r"\perp", "∣": r"\mid", "‖": r"\|", "↑": r"\uparrow", "↓": r"\downarrow",
}
_TEXT = {
    "–": "--", "—": "---", "‘": "`", "’": "'", "‚": ",", "“": "``", "”": "''", "„": ",,", "…": r"\ldots{}",
    "•": r"\textbullet{}", "°": r"\textdegree{}", "§": r"\S{}", "¶": r"\P{}", "©": r"\textcopyright{}",
    "®": r"\textregistered{}", "™": r"\texttrademark{}", "€": r"\texteuro{}", "£": r"\pounds{}",
    "¥": r"\textyen{}", "¢": r"\textcent{}", "‰": r"\textperthousand{}", "†": r"\dag{}", "‡": r"\ddag{}",
    "«": r"\guillemotleft{}", "»": r"\guillemotright{}", "‹": r"\guilsinglleft{}", "›": r"\guilsinglright{}",
    "¿": r"\textquestiondown{}", "¡": r"\textexclamdown{}", "ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}",
    "œ": r"\oe{}", "Œ": r"\OE{}", "ø": r"\o{}", "Ø": r"\O{}", "ł": r"\l{}", "Ł": r"\L{}", "ı": r"\i{}",
    "ȷ": r"\j{}", "đ": r"\dj{}", "Đ": r"\DJ{}", "ð": r"\dh{}", "Ð": r"\DH{}", "þ": r"\th{}", "Þ": r"\TH{}",
    "ŋ": r"\ng{}", "Ŋ": r"\NG{}", "å": r"\aa{}", "Å": r"\AA{}", "\u00a0": "~", "\u2009": r"\,",
    "\u202f": r"\,", "\u2002": r"\enspace{}", "\u2003": r"\quad{}", "\u2011": "-", "\u2010": "-",
    "ª": r"\textordfeminine{}", "º": r"\textordmasculine{}", "¦": r"\textbrokenbar{}", "¤": r"\textcurrency{}",
    "¯": r"\textasciimacron{}", "´": r"\textasciiacute{}", "¨": r"\textasciidieresis{}", "¸": r"\c{ }",
}
# combining marks → the LaTeX accent commands both pdflatex (T1) and lualatex (TU) understand
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
            "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0327": "c",
            "\u0328": "k", "\u0323": "d", "\u0331": "b"}
_BELOW = {"\u0327", "\u0328", "\u0323", "\u0331"}
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def _latex_char(ch: str) -> tuple[str, bool]:
    """One character as LaTeX, and whether it is math (to be set between ``$``)."""
    if ch in _LATEX_SPECIAL:
        return _LATEX_SPECIAL[ch], False
    if ord(ch) < 128:
        if ch in "\n\r\t":
            return " ", False
        return ("" if ord(ch) < 32 or ord(ch) == 127 else ch), False
    if ch in _GREEK:
        return "\\" + _GREEK[ch], True
    if ch in _GREEK_LATIN:
        return r"\mathrm{" + _GREEK_LATIN[ch] + "}", True
    if ch in _MATH:
        return _MATH[ch], True
    if ch in _TEXT:
        return _TEXT[ch], False
    if ch in _INVISIBLE:
        return "", False
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    if marks and all(m in _ACCENTS for m in marks) and ((ord(base) < 128 and base.isalpha()) or base in _TEXT):
        out = _TEXT.get(base, base)
        if base in "ij" and marks[0] not in _BELOW:  # an accent above an i or j replaces its dot
            out = "\\" + base
        for m in marks:
            out = "\\" + _ACCENTS[m] + "{" + out + "}"
        return out, False
    # no glyph both engines are sure to have (CJK, emoji, other scripts): its code point, visibly
    return r"\texttt{[U+" + f"{ord(ch):04X}" + "]}", False


def latex_escape(text: str) -> str:
    r"""Any text as LaTeX that compiles with pdflatex and lualatex alike: special characters
    escaped, Greek letters and math symbols as math (``$\kappa$``, ``$\geq$``), accented
    letters as accent commands, typographic punctuation as its LaTeX form, a break allowed after
    ``_`` and ``/`` (long names wrap), and any other character (CJK, emoji, other scripts) shown
    as its code point (``[U+4E2D]``) rather than breaking the compilation.

    >>> print(latex_escape("κ ≥ 0.5 for a_b & Zoë – 50%"))
    $\kappa$ $\geq$ 0.5 for a\_\allowbreak{}b \& Zo\"{e} -- 50\%
    """
    text = unicodedata.normalize("NFC", str(text))
    out: list[str] = []
    math_run: list[str] = []
    for ch in text:
        s, is_math = _latex_char(ch)
        if is_math:
            math_run.append(s)
            continue
        if math_run:
            out.append("$" + " ".join(math_run) + "$")
            math_run = []
        out.append(s)
    if math_run:
        out.append("$" + " ".join(math_run) + "$")
    result = "".join(out)
    # "--" and "---" typed in data are not dashes; "<<" / ">>" are not guillemets (escaped above)
    return re.sub(r"-(?=-)", "-{}", result) if "--" in text else result


def table_latex(frame: pl.DataFrame, *, digits: int = 4, caption: str | None = None) -> str:
    """A booktabs ``tabular`` (wrapped in ``table`` when a caption is given)."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    body = [r"\begin{tabular}{" + spec + "}", r"\toprule"]
    body.append(" & ".join(latex_escape(h) for h in header) + r" \\")
    body.append(r"\midrule")
    body.extend(" & ".join(latex_escape(c) for c in r) + r" \\" for r in rows)
    body += [r"\bottomrule", r"\end{tabular}"]
    if caption is None:
        return "\n".join(body)
    return "\n".join(
        [r"\begin{table}[t]", r"\centering", *body, r"\caption{" + latex_escape(caption) + "}", r"\end{table}"]
    )


def table_html(frame: pl.DataFrame, *, digits: int = 4, caption: str | None = None) -> str:
    """A plain HTML table with a ``metaeval`` class."""
    header, rows = _cells(frame, digits)
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    out = ['<table class="metaeval">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        tds = "".join(
            f'<td style="text-align:right">{html.escape(c)}</td>' if n else f"<td>{html.escape(c)}</td>"
            for c, n in zip(r, numeric, strict=True)
        )
        out.append(f"<tr>{tds}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
