"""Style Atlas: the Dash multipage dashboard over a workspace.

Run ``python app.py`` (serves on 127.0.0.1:8050; ``HOST``/``PORT`` change that) or
``gunicorn app:server`` (see ``gunicorn.conf.py``). Settings come from the environment:

- ``STYLE_ATLAS_WORKSPACE``: the workspace folder (default ``workspaces/demo`` in the repo);
- ``PORT``, ``HOST``: where ``python app.py`` listens;
- ``REDIS_URL``: run background jobs with Celery on Redis instead of a local disk cache;
- ``STYLE_ATLAS_MAX_UPLOAD_MB``: the upload size cap (default 10).

On first start, when the default demo workspace is missing or incomplete, the pipeline builds
it (printing its progress) before the app serves.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html

from components.images import register_image_route
from components.settings import REPO, host, port
from components.ui import navbar

JOB_CACHE = REPO / "cache" / "dash-jobs"


def background_manager() -> Any:
    """Celery on ``REDIS_URL`` when set, else a disk cache shared by the local workers."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        from celery import Celery  # only needed when Redis is configured

        celery_app = Celery(__name__, broker=redis_url, backend=redis_url)
        return dash.CeleryManager(celery_app)
    import diskcache

    JOB_CACHE.mkdir(parents=True, exist_ok=True)
    return dash.DiskcacheManager(diskcache.Cache(str(JOB_CACHE)))


def create_app() -> Dash:
    """Build the Dash app: pages from ``pages/``, navbar from ``dash.page_registry``."""
    application = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(REPO / "pages"),
        assets_folder=str(REPO / "assets"),
        title="Style Atlas",
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(),
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    register_image_route(application.server)
    application.layout = html.Div(
        [
            navbar(dash.page_registry.values()),
            dbc.Container(dash.page_container, fluid="xxl", class_name="pb-5"),
        ]
    )
    return application


app = create_app()
server = app.server


def main() -> int:
    """Build the demo workspace if needed, then serve (development server)."""
    from components.bootstrap import ensure_workspace

    ensure_workspace()
    from components.settings import workspace_path
    from core.errors import StyleAtlasError
    from core.query import warm_up
    from core.workspace import Workspace

    try:
        warm_up(Workspace.open(workspace_path()))  # the first search is then as fast as the rest
    except StyleAtlasError:
        pass  # no workspace: the overview says what to run
    app.run(host=host(), port=port(), debug=os.environ.get("DASH_DEBUG", "") == "1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
