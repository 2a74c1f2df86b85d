"""gunicorn settings for ``gunicorn app:server`` (read automatically from the working folder).

Command-line flags (as in the Procfile) override these. When the demo workspace is missing, the
master starts building it in a child process and binds the port at once (Heroku allows a web
process 60 s to bind); the pages show the build's progress, and each worker warms up when the
build is done.
"""

from __future__ import annotations

import os
from typing import Any

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 120


def on_starting(_server: Any) -> None:
    """Start building the default demo workspace on first start (no-op when it is complete)."""
    from components.bootstrap import start_build

    start_build()


def post_worker_init(_worker: Any) -> None:
    """Warm each worker (models and index loaded, one forward pass) before its first request,
    or, while the demo is being built, as soon as the build is done."""
    from components.bootstrap import warm_up_when_built

    warm_up_when_built()
