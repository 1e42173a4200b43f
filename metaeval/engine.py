"""Where work runs: in this process, or on a Ray cluster (one engine for probes and large logs).

``engine="local"`` runs everything in the calling process. ``engine="ray"`` runs the shards of a
job on Ray: a local Ray started for the call (``num_cpus`` workers), or an existing cluster when
``address`` is given (``"auto"`` joins the cluster this machine belongs to, ``"ray://host:10001"``
a remote one). Ray is an optional dependency: ``pip install metaeval[distributed]``.

Pointing a job at an existing cluster::

    import ray
    ray.init(address="auto")            # or address="ray://head-node:10001"
    probes.run(items, judge_factory, engine="ray", workers=8, gpus_per_worker=1)

If Ray is already initialised in the process, metaeval uses that session and leaves it running.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Literal

from metaeval.errors import MetaevalError, ParameterError

__all__ = ["ENGINES", "Engine", "ray_session"]

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


def check_engine(engine: str) -> str:
    """Validate an ``engine`` argument."""
    if engine not in ENGINES:
        raise ParameterError(f"`engine` must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}")
    return engine


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MetaevalError("engine='ray' needs Ray: pip install 'metaeval[distributed]'") from exc
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[Any]:
    """A Ray session for the duration of a job; yields the ``ray`` module.

    Joins the session already open in this process, else starts one: on ``address`` when given,
    else a local Ray with ``num_cpus`` CPUs (default: this machine's). A session metaeval started
    is shut down at the end; one it joined is left running.
    """
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is not None:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        if num_gpus is not None:
            kwargs["num_gpus"] = num_gpus
    try:
        ray.init(**kwargs)
    except Exception as exc:  # a cluster that is not there, a bad address
        raise MetaevalError(f"could not start or join Ray ({type(exc).__name__}: {exc})") from exc
    try:
        yield ray
    finally:
        ray.shutdown()
