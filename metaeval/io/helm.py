"""HELM run outputs: ``per_instance_stats.json`` and ``display_predictions.json``.

Both are JSON lists with one entry per (instance, train trial, perturbation). In
``per_instance_stats.json`` each entry has ``stats``: a list of
``{"name": {"name": metric, "split": …, "perturbation": …}, "mean": …}``; in
``display_predictions.json`` ``stats`` is an object ``{metric: value}`` and
``predicted_text`` is kept in ``extra``. Each metric value becomes one pointwise row:
``item`` = ``instance_id``, ``judge`` = the metric, ``rep`` = ``train_trial_index``,
``variant`` = the perturbation name (``None`` for the original input). The model and task
come from the run folder's name (``mmlu:subject=anatomy,model=openai_gpt2``) unless given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metaeval.errors import ImportFormatError
from metaeval.io._common import PathLike, load_json, to_judgments
from metaeval.tables import Judgments

__all__ = ["read_helm"]


def _run_name(path: Path) -> tuple[str | None, str | None]:
    run = path.parent.name
    m = re.search(r"model=([^,]+)", run)
    model = m.group(1) if m else None
    task = run.split(":")[0] if ":" in run else None
    return model, task


def _perturbation(value: object, path: Path, entry: int) -> str | None:
    """The perturbation's name (``{"name": …}``), None for the original input."""
    if value is None:
        return None
    name = value.get("name") if isinstance(value, dict) else value
    if name is not None and not isinstance(name, str):
        raise ImportFormatError(f"entry {entry}: must be an object with a text `name`; got {value!r}", path=str(path),
                                field="perturbation")
    return name


def read_helm(path: PathLike, *, model: str | None = None, task: str | None = None,
              metrics: Sequence[str] | None = None) -> Judgments:
    """Read HELM per-instance results (``metrics`` keeps only the named metrics)."""
    p = Path(path)
    data = load_json(p)
    if not isinstance(data, list) or not data or not all(isinstance(e, dict) for e in data):
        raise ImportFormatError("HELM per-instance files are non-empty JSON lists of objects", path=str(p))
    run_model, run_task = _run_name(p.resolve())
    model = model or run_model
    task = task or run_task
    if model is None:
        raise ImportFormatError("cannot tell the model from the run folder's name (…,model=NAME); pass `model=`",
                                path=str(p))
    keep = set(metrics) if metrics is not None else None
    rows: list[dict[str, Any]] = []
    entries: list[int] = []
    for i, entry in enumerate(data):
        if "instance_id" not in entry or "stats" not in entry:
            raise ImportFormatError(f"entry {i} needs `instance_id` and `stats`", path=str(p),
                                    field="instance_id" if "instance_id" not in entry else "stats")
        pert = _perturbation(entry.get("perturbation"), p, i)
        trial = entry.get("train_trial_index", 0)
        if isinstance(trial, bool) or not isinstance(trial, int):
            raise ImportFormatError(f"entry {i}: must be an integer; got {trial!r}", path=str(p),
                                    field="train_trial_index")
        if not isinstance(entry["instance_id"], (str, int)):
            raise ImportFormatError(f"entry {i}: must be text; got {entry['instance_id']!r}", path=str(p),
                                    field="instance_id")
        base = {"item": str(entry["instance_id"]), "model": model, "task": task, "rep": trial}
        stats = entry["stats"]
        if isinstance(stats, dict):
            for metric, value in stats.items():
                if keep is not None and metric not in keep:
                    continue
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                rows.append({**base, "judge": metric, "score": float(value), "variant": pert,
                             "predicted_text": entry.get("predicted_text")})
                entries.append(i)
        elif isinstance(stats, list):
            for stat in stats:
                if not isinstance(stat, dict):
                    raise ImportFormatError(f"entry {i}: each stat must be an object; got {stat!r}", path=str(p),
                                            field="stats")
                name = stat.get("name") or {}
                metric = name.get("name") if isinstance(name, dict) else name
                if metric is None:
                    raise ImportFormatError(f"entry {i} has a stat without a name", path=str(p), field="stats")
                if keep is not None and metric not in keep:
                    continue
                value = stat.get("mean")
                if value is None and stat.get("count"):
                    total, count = stat.get("sum", 0.0), stat["count"]
                    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (total, count)):
                        raise ImportFormatError(f"entry {i}, stat {metric!r}: `sum` and `count` must be numbers; got "
                                                f"{total!r} and {count!r}", path=str(p), field="stats")
                    value = total / count
                if value is None:
                    continue
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    raise ImportFormatError(f"entry {i}, stat {metric!r}: `mean` must be a finite number; got "
                                            f"{value!r}", path=str(p), field="mean")
                stat_pert = _perturbation(name.get("perturbation"), p, i) if isinstance(name, dict) else None
                rows.append({**base, "judge": metric, "score": float(value), "variant": stat_pert or pert,
                             "split": name.get("split") if isinstance(name, dict) else None,
                             "count": stat.get("count")})
                entries.append(i)
        else:
            raise ImportFormatError(f"entry {i}: `stats` must be a list or an object", path=str(p), field="stats")
    if not rows:
        raise ImportFormatError("no metric values were found" + (f" for metrics {sorted(keep)}" if keep else ""),
                                path=str(p))
    prov = {"format": "helm", "files": str(p), "rows_read": len(data)}
    return to_judgments(rows, kind="pointwise", path=p, provenance=prov, row_noun="entry", row_offset=entries)
