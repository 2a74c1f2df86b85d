"""The registry of job kinds: what a job of each kind runs.

A kind is a function ``run(ctx: JobContext) -> dict`` (its summary, stored as the job's
``result``) that reads ``ctx.params`` and hands ``ctx.progress`` to the pipeline as its
progress factory. Built in: ``build`` (the missing pipeline steps), ``grow`` (new items into
the existing clusters, map and index), ``recluster`` (retrain the clustering) and ``import``
(``core.importer.ingest_staged``, then grow, or build for a new collection). Other modules
add kinds with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from core.jobs.context import JobContext

JobFn = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    """name: the key; label: what the page says it is doing ("Building"); run: the work."""

    name: str
    label: str
    run: JobFn


_KINDS: dict[str, JobKind] = {}


def register(name: str, label: str, run: JobFn) -> JobKind:
    """Add (or replace) a job kind."""
    kind = JobKind(name, label, run)
    _KINDS[name] = kind
    return kind


def get_kind(name: str) -> JobKind:
    """The registered kind ``name``; InvalidInputError listing the known ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise InvalidInputError(f"unknown job kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def kinds() -> list[str]:
    return sorted(_KINDS)


def load_plugins() -> list[str]:
    """Import the modules named in ``STYLE_ATLAS_JOB_KINDS`` (comma-separated), which register
    more kinds; a worker process calls this before it runs a job."""
    import importlib
    import os

    names = [n.strip() for n in os.environ.get("STYLE_ATLAS_JOB_KINDS", "").split(",") if n.strip()]
    for name in names:
        importlib.import_module(name)
    return names


# -- the built-in kinds ------------------------------------------------------------------------
def _source(ctx: JobContext) -> str | None:
    src = ctx.params.get("source")
    return None if src in (None, "") else str(src)


def build(ctx: JobContext) -> dict[str, Any]:
    """Ingest ``params["source"]`` when the collection has no catalog yet, then run every
    pipeline step whose artifact is missing (an interrupted embed resumes from its cache)."""
    from core import pipeline
    from core.workspace import Workspace

    ws = Workspace(ctx.root)
    summary: dict[str, Any] = {}
    source = _source(ctx)
    if not ws.has(pipeline.ITEMS):
        if source is None:
            raise InvalidInputError(f"collection {ws.root.name!r} has no photos yet; import some first")
        summary["ingest"] = pipeline.ingest(ws, source, progress=ctx.progress("ingest")).to_dict()
    summary.update(pipeline.run_steps(ws, pipeline.missing_steps(ws), progress_factory=ctx.progress))
    return _jsonable(summary)


def grow(ctx: JobContext) -> dict[str, Any]:
    """Ingest ``params["source"]`` (if given), embed only the new items and place them in the
    existing clusters, map and index (:mod:`core.grow`), without retraining. A collection that
    has nothing to grow into yet is built instead."""
    from core import grow as growing
    from core import pipeline
    from core.workspace import Workspace

    ws = Workspace(ctx.root)
    summary: dict[str, Any] = {}
    source = _source(ctx)
    if source is not None:
        summary["ingest"] = pipeline.ingest(ws, source, progress=ctx.progress("ingest")).to_dict()
    if not growing.can_grow(ws):
        return {**summary, **build(ctx)}
    summary.update(pipeline.run_steps(ws, pipeline.embed_steps(), progress_factory=ctx.progress))
    summary["grow"] = growing.grow_workspace(ws, progress_factory=ctx.progress)
    summary.update(pipeline.run_steps(ws, pipeline.missing_steps(ws), progress_factory=ctx.progress))
    return _jsonable(summary)


def recluster(ctx: JobContext) -> dict[str, Any]:
    """Retrain the clustering on every item (names people gave follow their clusters by
    member overlap, :meth:`core.annotations.Annotations.cluster_names`)."""
    from core import pipeline
    from core.workspace import Workspace

    ws = Workspace.open(ctx.root)
    todo = [s for s in pipeline.steps() if s.key == "cluster"]
    summary = pipeline.run_steps(ws, [*pipeline.embed_steps(), *todo], progress_factory=ctx.progress)
    summary.update(pipeline.run_steps(ws, pipeline.missing_steps(ws), progress_factory=ctx.progress))
    return _jsonable(summary)


def import_staged(ctx: JobContext) -> dict[str, Any]:
    """``core.importer.ingest_staged`` of ``params["staged_dir"]`` (a folder inside the
    collection), then grow (or build a new collection) unless ``params["build"]`` is False."""
    from core import grow as growing
    from core import importer
    from core.workspace import Workspace

    ws = Workspace(ctx.root)
    staged = Path(str(ctx.params.get("staged_dir", ""))).expanduser().absolute()
    if ws.root.absolute() not in staged.parents:
        raise InvalidInputError(f"staged folder {staged} is not a folder inside the collection {ws.root.name!r}")
    # a resumed job: ingest_staged carries on from the staging folder, or returns the summary it
    # wrote when the import itself had finished (a folder that is neither is refused there)
    report = importer.ingest_staged(ws, staged, ctx.progress("import"))
    if ctx.params.get("build", True) is False:  # import only (python -m core import --no-build)
        rest: dict[str, Any] = {}
    else:
        rest = grow(_without_source(ctx)) if growing.can_grow(ws) else build(_without_source(ctx))
    summary = report.to_dict() if hasattr(report, "to_dict") else vars(report)
    return _jsonable({"import": summary, **rest})


def _without_source(ctx: JobContext) -> JobContext:
    from dataclasses import replace

    ctx.record = replace(ctx.record, params={k: v for k, v in ctx.record.params.items() if k != "source"})
    return ctx


def _jsonable(value: Any) -> Any:
    """Summaries as JSON (numpy scalars and paths become plain values)."""
    import json

    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


register("build", "Building", build)
register("grow", "Adding the new photos", grow)
register("recluster", "Re-clustering", recluster)
register("import", "Importing", import_staged)
