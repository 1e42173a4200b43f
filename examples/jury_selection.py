"""Which judge or jury should I use? Panels of real judges against gold labels, and a
cost–agreement frontier of real judges.

1. LLMBar (Zeng et al. 2024): the six evaluators with the chain-of-thought prompt (``CoT``, the
   one strategy all six ran on the same items), every subset, both presentation orders. Every
   panel of up to three judges (majority vote, the judge that agrees most with the gold label
   on the selection items breaks ties) is scored against the gold label; the best panel is
   tested against the best single judge on 30 % of the items held out from the choice. Then the
   same for LLMBar/Natural with the plain prompt, where the single-judge accuracies are the
   paper's headline numbers (GPT-4: 93.5 %).
2. AlpacaEval's evaluator leaderboard: price per 1,000 examples against agreement with the
   human majority, with Wilson intervals on the verdicts each judge was scored on, and the
   frontier of judges no cheaper judge beats.
3. A simulated PoLL setting: one expensive strong judge against three cheap independent judges
   of three families, and against three cheap judges that think alike.

Writes ``build/examples/jury_selection/index.md`` (and SVG charts when vl-convert is installed;
``--refresh``: the committed copy in ``reports/jury_selection/``). Run:
``python examples/jury_selection.py [--refresh]``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import polars as pl

import metaeval
from metaeval import Judgments, juries
from metaeval._examples import arguments, default_folder, output_folder, write_folder
from metaeval._files import check_output_folder
from metaeval._format import table_markdown
from metaeval._progress import task
from metaeval._random import same_bytes

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
OUT = default_folder(ROOT, "jury_selection")
PANEL_COLS = ["panel", "size", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "cohen_kappa",
              "krippendorff_alpha", "similarity", "alike", "decided_by"]


def load_llmbar(data: Path = DATA) -> Judgments:
    spec = importlib.util.spec_from_file_location("load_llmbar", ROOT / "examples" / "load_llmbar.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.load_llmbar(data / "llmbar" / "judgments.csv")


def llmbar(data: Path = DATA, *, strategy: str = "CoT", subset: str | None = None, n_resamples: int = 1000,
           seed: int = 0, holdout: float | None = 0.3) -> juries.JurySelection:
    """Every panel of up to three LLMBar evaluators against the gold label."""
    table = load_llmbar(data)
    keep = (pl.col("variant") == strategy) | (pl.col("judge") == "gold")
    if subset is not None:
        keep = keep & (pl.col("task") == subset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return juries.select(table.filter(keep), "gold", max_size=3, holdout=holdout, n_resamples=n_resamples,
                             rng=seed)


def alpaca_frontier(data: Path = DATA) -> tuple[juries.Frontier, pl.DataFrame]:
    """AlpacaEval's evaluator leaderboard as a cost–agreement frontier. A row whose human agreement
    is at most 1 while every other row is a percentage is a unit slip in the source file: it is
    set aside and reported, not rescaled."""
    raw = pl.read_csv(data / "alpaca-eval" / "evaluators_leaderboard.csv").rename({"": "judge"})
    slips = raw.filter(pl.col("Human agreement") <= 1)
    clean = raw.filter(pl.col("Human agreement") > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fr = juries.frontier(clean, judge="judge", cost="Price [$/1000 examples]", score="Human agreement",
                             n="# parsed", scale=100)
    return fr, slips.select("judge", "Human agreement", "Price [$/1000 examples]")


def poll_simulation(seed: int = 0, n_resamples: int = 1000) -> dict[str, juries.JurySelection]:
    """One strong expensive judge vs three cheap ones: independent, then alike."""
    kw: dict[str, Any] = {"accuracies": (0.80, 0.74, 0.73, 0.72), "costs": (10.0, 0.5, 0.5, 0.5),
                          "names": ("gpt-large", "atlas-small", "borealis-small", "cirrus-small")}
    out = {}
    for label, extra in (("independent", {}), ("alike", {"clusters": (0, 1, 1, 1), "cluster_correlation": 0.9})):
        sim = metaeval.simulate.jury(3000, rng=seed, **kw, **extra)
        out[label] = juries.select(sim.judgments, "gold", holdout=0.3, n_resamples=n_resamples, rng=seed)
    return out


def _svg(chart: Any, files: dict[str, str], name: str) -> bool:
    try:
        import vl_convert as vlc
    except ImportError:
        return False
    files[name] = vlc.vegalite_to_svg(chart.to_dict())
    return True


def main(data: Path = DATA, out: Path = OUT, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    check_output_folder(out)  # before the computing
    files: dict[str, str] = {}
    with task("jury selection", 4) as step:
        step.update("LLMBar, chain-of-thought prompt: every panel")
        cot = llmbar(data, n_resamples=n_resamples, seed=seed)
        step.advance()
        step.update("LLMBar/Natural, plain prompt: every panel")
        natural = llmbar(data, strategy="Vanilla_NoRules", subset="LLMBar/Natural", n_resamples=n_resamples,
                         seed=seed, holdout=None)
        step.advance()
        step.update("AlpacaEval: the cost–agreement frontier")
        fr, slips = alpaca_frontier(data)
        step.advance()
        step.update("simulated PoLL juries")
        poll = poll_simulation(seed, n_resamples)
        step.advance()
    singles = natural.panels.table.filter(pl.col("size") == 1).select("panel", "accuracy", "accuracy_ci_low",
                                                                       "accuracy_ci_high")
    text = [
        "# Which judge or jury should I use?\n",
        "Generated by `examples/jury_selection.py` with `metaeval.juries`; 95 % intervals from "
        f"{n_resamples} bootstrap resamples of items (seed {seed}); a panel pools its members by majority vote and "
        "its most accurate member breaks ties.\n",
        "## LLMBar: every panel of up to three judges against the gold label\n",
        "Chain-of-thought prompt, all subsets, both presentation orders (each order is a unit; the two units of "
        "an item move together in the bootstrap). The choice is made on 70 % of the items; the best panel is "
        "tested against the best single judge on the other 30 %.\n",
        "```\n" + cot.headline() + "\n```\n",
        table_markdown(cot.panels.table.select(PANEL_COLS).head(20)),
        "\nJudge × judge similarity (CAPA: agreement beyond what their accuracies explain, mistakes included):\n",
        table_markdown(cot.panels.similarity.sort("similarity", descending=True)),
        "\n" + "\n".join(f"- {n}" for n in cot.notes) + "\n",
    ]
    if _svg(cot.chart(), files, "llmbar_panels.svg"):
        text.append("![LLMBar panels: accuracy against cost](llmbar_panels.svg)\n")
    text += [
        "### LLMBar/Natural, plain prompt: the paper's setting\n",
        "Single-judge accuracy here is the mean over the two orders, LLMBar's headline measure (the paper: "
        "GPT-4 93.5 %, ChatGPT 79.0 %).\n",
        table_markdown(singles),
        "\n```\n" + natural.headline() + "\n```\n",
        "## AlpacaEval: price against human agreement\n",
        "AlpacaEval's evaluator leaderboard: agreement with the majority of four human annotators, price per "
        "1,000 examples. Intervals are Wilson intervals on the number of parsed verdicts, as if independent.\n",
    ]
    if slips.height:
        text.append("Set aside, not rescaled: rows whose human agreement is at most 1 while the rest are "
                    "percentages (a unit slip in the source file): "
                    + ", ".join(f"`{r['judge']}` ({r['Human agreement']:.3f})" for r in slips.iter_rows(named=True))
                    + ".\n")
    text += [
        f"Judges on the frontier, cheapest first: {', '.join(f'`{j}`' for j in fr.judges)}.\n",
        table_markdown(fr.table.filter(pl.col("on_frontier")).select("judge", "cost", "score", "ci_low", "ci_high",
                                                                     "n")),
        "\n" + "\n".join(f"- {n}" for n in fr.notes) + "\n",
    ]
    if _svg(fr.chart(), files, "alpaca_frontier.svg"):
        text.append("![AlpacaEval judges: price against human agreement](alpaca_frontier.svg)\n")
    text += ["## Simulation: one strong judge or a jury of three small ones (PoLL)\n",
             "`gpt-large`: accuracy 0.80 at 10 per verdict; three small judges of other families: 0.74, 0.73, "
             "0.72 at 0.5 each. Independent small judges, then small judges that share their mistakes.\n"]
    for label, sel in poll.items():
        text += [f"### {label}\n", "```\n" + sel.headline() + "\n```\n",
                 table_markdown(sel.frontier)]
    files["index.md"] = "\n".join(text) + "\n"
    write_folder(out, files)
    return {"cot": cot, "natural": natural, "frontier": fr, "slips": slips, "poll": poll}


if __name__ == "__main__":
    args = arguments(__doc__)
    if not (DATA / "llmbar" / "judgments.csv").exists():
        raise SystemExit(f"real data not found under {DATA}")
    out = output_folder(ROOT, "jury_selection", refresh=args.refresh, out=args.out)
    with same_bytes():
        res = main(out=out)
    print(res["cot"].headline())
    print(res["natural"].headline())
    print("frontier:", ", ".join(res["frontier"].judges))
    print(f"wrote {out / 'index.md'}")
