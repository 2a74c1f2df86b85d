"""Style Atlas: the Dash multipage dashboard over a workspace.

Run ``python app.py`` (serves on 127.0.0.1:8050; ``HOST``/``PORT`` change that) or
``gunicorn app:server`` (see ``gunicorn.conf.py``). Settings come from the environment:

- ``STYLE_ATLAS_HOME``: the folder of collections (default ``workspaces/``; pages name theirs as
  ``?c=<slug>``); ``STYLE_ATLAS_WORKSPACE``: serve that one workspace instead;
- ``STYLE_ATLAS_MAX_IMPORT_MB``: an editor's import from the browser (default 100);
- ``PORT``, ``HOST``: where ``python app.py`` listens;
- ``REDIS_URL``: jobs (``core.jobs``) go through Celery on Redis (start a worker with
  ``celery -A core.jobs.celery_app worker``) instead of a local worker process per collection;
- ``STYLE_ATLAS_MAX_UPLOAD_MB``: the upload size cap (default 10); request bodies are capped
  from it (``components.settings.max_request_bytes``);
- ``STYLE_ATLAS_EDITORS`` and ``SECRET_KEY``: hosted mode, where visitors are viewers and editors
  sign in (``components.auth``; the README's hosting section); ``DASH_DEBUG=1``: debug mode, local only.

On first start, when the default demo workspace is missing or incomplete, a build job
(``core.jobs``) builds it in a worker process while the app already serves: every page shows
the job's progress (``components.build_banner``) and fills in as each step lands.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Dash, dcc, html

from components import build_banner, ids
from components.account import widget as account_widget
from components.collection_admin import switcher as collection_switcher
from components.downloads import register_export_routes
from components.hosting import alert_slot, callback_error, init_hosting
from components.images import register_image_route
from components.settings import REPO, debug_enabled, host, max_request_bytes, port
from components.ui import navbar
from core.errors import ConfigurationError

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


def _layout() -> html.Div:
    """The frame of every page (per page load: the account corner shows who is signed in)."""
    return html.Div(
        [
            navbar(dash.page_registry.values(), extra=[collection_switcher(), account_widget()]),
            dbc.Container([build_banner.layout(), alert_slot(), dash.page_container], fluid="xxl",
                          class_name="pb-5"),
            # the board the cards' ＋ adds to (per tab), and where that action answers
            dcc.Store(id=ids.ACTIVE_BOARD, storage_type="session"),
            html.Div(id=ids.BOARD_ADD_MESSAGE, className="board-add-toast"),
        ]
    )


def create_app() -> Dash:
    """Build the Dash app: pages from ``pages/``, navbar from ``dash.page_registry``; roles,
    limits, security headers and error alerts from ``components.hosting`` (ConfigurationError
    when hosted mode is half configured)."""
    application = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(REPO / "pages"),
        assets_folder=str(REPO / "assets"),
        title="Style Atlas",
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(),
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=callback_error,
    )
    application.server.config["MAX_CONTENT_LENGTH"] = max_request_bytes()  # 413 before parsing
    init_hosting(application.server)
    register_image_route(application.server)
    register_export_routes(application.server)
    application.layout = _layout
    return application


try:
    app = create_app()
except ConfigurationError as exc:
    raise SystemExit(f"Style Atlas: error: {exc}") from None
server = app.server


def main() -> int:
    """Serve (development server) at once; a missing demo workspace is built in the background,
    its progress shown on every page and printed here."""
    from components.bootstrap import start_build, warm_up_when_built

    job = start_build()
    if job is not None:
        print(f"Style Atlas: serving on http://{host()}:{port()} while the demo catalog is built "
              "(progress below and in the browser)", file=sys.stderr, flush=True)
    warm_up_when_built(job)
    app.run(host=host(), port=port(), debug=debug_enabled())
    return 0


if __name__ == "__main__":
    sys.exit(main())
