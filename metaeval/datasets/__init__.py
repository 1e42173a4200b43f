"""Small tables that come with metaeval, so that every example in the README runs as written.

Each file is a few KB: a tiny excerpt of a public evaluation data set (its source and licence
are named in ``README.md`` beside the files and in :data:`DATASETS`), or a study simulated with
a known truth (:mod:`metaeval.simulate`, fixed seeds). ``python -m metaeval.datasets._make``
rebuilds them (maintainers, with the source data at hand).

>>> from metaeval import datasets
>>> datasets.path("glue_top30.csv").name
'glue_top30.csv'
>>> "llmbar_natural.csv" in datasets.names()
True
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from metaeval.errors import MetaevalError

__all__ = ["DATASETS", "Dataset", "copy", "names", "path"]


@dataclass(frozen=True)
class Dataset:
    """One shipped table: what it holds, where it comes from, under which licence."""

    name: str
    description: str
    source: str
    licence: str


_LLMBAR = "LLMBar (Zeng et al., ICLR 2024), GitHub princeton-nlp/LLMBar, Dataset/"
_ALPACA = "AlpacaEval (Li et al. 2023; Dubois et al. 2024), GitHub tatsu-lab/alpaca_eval"
_SIM = "simulated with metaeval.simulate (known truth; see metaeval/datasets/_make.py)"

#: Every shipped table, by file name.
DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("llmbar_natural.csv", "LLMBar/Natural, plain prompt: GPT-4, ChatGPT, PaLM2 and LLaMA2 on 30 pairs of "
            "outputs, each pair in both presentation orders (shown_first), and the gold label (judge 'gold')",
            _LLMBAR + " (results of the evaluators)", "MIT (Copyright (c) 2023 Princeton Natural Language Processing)"),
    Dataset("llmbar_items.jsonl", "eight LLMBar/Natural instructions with their two outputs and the gold label, as "
            "probe items (id, prompt, response_a, response_b, gold)", _LLMBAR + " (instances)",
            "MIT (Copyright (c) 2023 Princeton Natural Language Processing)"),
    Dataset("alpacaeval_annotations.csv", "AlpacaEval 2.0 annotations of weighted_alpaca_eval_gpt4_turbo: four "
            "models against the baseline gpt4_1106_preview on 40 instructions, preferences and output lengths "
            "(AlpacaEval's compact CSV form)", _ALPACA + " (annotations)", "Apache-2.0"),
    Dataset("alpacaeval_judges.csv", "AlpacaEval's evaluator leaderboard: agreement with the human majority (%), "
            "price per 1,000 examples ($) and verdicts parsed, per judge", _ALPACA + " (evaluators leaderboard)",
            "Apache-2.0"),
    Dataset("glue_top30.csv", "the GLUE leaderboard's first 30 rows as Vote'n'Rank used them (Score, AX and "
            "two-metric 'a/b' cells included)", "Vote'n'Rank (Rofin et al., EACL 2023), GitHub "
            "PragmaticsLab/vote_and_rank", "Apache-2.0; the scores are the GLUE benchmark's (© their holders)"),
    Dataset("votes.csv", "human raters' pairwise votes in a file with its own column names (qid, rater, left, "
            "right) and verdict codes (A>B, B>A, A=B)", _SIM, "Apache-2.0 (metaeval)"),
    Dataset("grades.csv", "1–10 grades of four models' outputs on 12 items by two model judges and three humans",
            _SIM, "Apache-2.0 (metaeval)"),
    Dataset("judge_study.parquet", "a judge study: three model judges and a human compare four models' outputs on "
            "15 items, every pair in both orders, with output lengths and a price per verdict; planted position, "
            "length and self-preference biases", _SIM, "Apache-2.0 (metaeval)"),
    Dataset("per_item.csv", "right (1) or wrong (0) of three models on 90 questions of three tasks", _SIM,
            "Apache-2.0 (metaeval)"),
    Dataset("answers.csv", "answers of five models and a judge model to 50 four-option questions, with the gold "
            "option", _SIM, "Apache-2.0 (metaeval)"),
    Dataset("judge_scores.csv", "the judge model's 1–10 grades of the five models' essays (it favours its own "
            "family)", _SIM, "Apache-2.0 (metaeval)"),
    Dataset("arena_battles.parquet", "an arena-style battle log (Chatbot Arena's columns model_a, model_b, winner, "
            "question_id, category, and output lengths len_a, len_b): five models, three battles on each of 300 "
            "questions, for metaeval.scan", _SIM, "Apache-2.0 (metaeval)"),
)}


def names() -> list[str]:
    """The shipped tables' file names.

    Returns
    -------
    list of str
        The file names, for :func:`path`.

    Examples
    --------
    >>> "grades.csv" in names()
    True
    """
    return list(DATASETS)


def path(name: str) -> Path:
    """The path of a shipped table, to pass to :func:`metaeval.read` or any other reader.

    Parameters
    ----------
    name : str
        One of :func:`names`; another name is a :class:`~metaeval.errors.MetaevalError` listing them.

    Returns
    -------
    pathlib.Path
        Where the installed package keeps the table.

    Examples
    --------
    >>> import metaeval
    >>> from metaeval import datasets
    >>> metaeval.read(datasets.path("grades.csv")).kind
    'pointwise'
    """
    if name not in DATASETS:
        raise MetaevalError(f"no shipped table {name!r}; the tables are {', '.join(DATASETS)}")
    found = resources.files(__name__).joinpath(name)
    return Path(str(found))


def copy(folder: str | Path) -> list[Path]:
    """Copy every shipped table (and the README naming their sources and licences) into
    ``folder``, for the command-line tour (``metaeval datasets --copy DIR``).

    Parameters
    ----------
    folder : str or pathlib.Path
        Where to copy them (created if missing; files of the same names are overwritten).

    Returns
    -------
    list of pathlib.Path
        The files written: every table, and their README as ``DATASETS.md``.

    Examples
    --------
    >>> import tempfile
    >>> written = copy(tempfile.mkdtemp())
    >>> sorted(p.name for p in written) == sorted([*names(), "DATASETS.md"])
    True
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in [*DATASETS, "README.md"]:
        src = resources.files(__name__).joinpath(name)
        target = out / ("DATASETS.md" if name == "README.md" else name)
        with resources.as_file(src) as p:
            shutil.copyfile(p, target)
        written.append(target)
    return written
