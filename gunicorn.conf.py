"""gunicorn settings for ``gunicorn app:server`` (read automatically from the working folder).

Command-line flags (as in the Procfile) override these. Before workers start, the master builds
the demo workspace when it is missing, so workers never race to build it.
"""

from __future__ import annotations

import os
from typing import Any

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 120


def on_starting(_server: Any) -> None:
    """Build the default demo workspace on first start (no-op when it is complete)."""
    from components.bootstrap import ensure_workspace

    ensure_workspace()


def post_worker_init(_worker: Any) -> None:
    """Warm each worker (models and index loaded, one forward pass) before its first request."""
    from components.settings import workspace_path
    from core.errors import StyleAtlasError
    from core.query import warm_up
    from core.workspace import Workspace

    try:
        warm_up(Workspace.open(workspace_path()))
    except StyleAtlasError:
        pass  # no workspace yet: the overview page says what to run
