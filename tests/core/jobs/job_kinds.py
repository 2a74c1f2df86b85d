"""Job kinds for the job tests, registered in the test process and (through
``STYLE_ATLAS_JOB_KINDS``) in the worker processes the tests start."""

from __future__ import annotations

import time
from typing import Any

from core import pipeline
from core.jobs import JobContext, register
from core.workspace import Workspace

MODULE = __name__


def count(ctx: JobContext) -> dict[str, Any]:
    """Two steps of ``params["n"]`` ticks, ``params["tick_s"]`` each, reporting every tick."""
    n, tick = int(ctx.params.get("n", 10)), float(ctx.params.get("tick_s", 0.05))
    for step in ("first", "second"):
        progress = ctx.progress(step)
        for i in range(n):
            time.sleep(tick)
            progress(i + 1, n)
    return {"ticks": 2 * n}


def stall(ctx: JobContext) -> dict[str, Any]:
    """A step that never reports (like UMAP's fit): only the worker's watchdog can stop it."""
    ctx.progress("stall")(0, 1)
    time.sleep(float(ctx.params.get("seconds", 120)))
    return {}


def embed(ctx: JobContext) -> dict[str, Any]:
    """Only the embedding steps of the pipeline, on the collection's items."""
    ws = Workspace.open(ctx.root)
    return pipeline.run_steps(ws, pipeline.embed_steps(), progress_factory=ctx.progress)


register("test-count", "Counting", count)
register("test-stall", "Stalling", stall)
register("test-embed", "Embedding", embed)
