"""gunicorn settings for ``gunicorn app:server`` (read automatically from the working folder).

Workers and threads fit the memory the server is given: ``WEB_CONCURRENCY`` (workers) and
``WEB_THREADS`` (threads per worker) override; otherwise the workers are as many as fit the
memory budget (``STYLE_ATLAS_MEMORY_MB``; else the cgroup's ``memory.max`` where there is one;
else 512, the dyno size) after the master's share, at ``WORKER_MB`` each, within ``MAX_WORKERS``
and two per CPU. The app (Dash, pandas, every page) is preloaded in the master (``STYLE_ATLAS_PRELOAD=0``
turns it off), so the workers share those pages copy-on-write; each worker then loads its own
query models (ONNX Runtime sessions, a few tens of MB) and memory-maps the artifacts.
Figures behind ``MASTER_MB`` / ``WORKER_MB``: ``bench/bench_memory.py`` (bench/README.md).

A hosted deploy builds the demo in the platform's build step (``python -m core bundle``: Heroku
``bin/post_compile``, Render's ``buildCommand``), so a started dyno finds it complete and serves
at once. When the demo workspace is missing (a local ``gunicorn`` before any build), the master
starts building it in a child process and binds the port at once (Heroku allows a web process
60 s to bind); the pages show the build's progress, and each worker warms up when the build is
done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any

DEFAULT_MEMORY_MB = 512
MASTER_MB = 150  # the master with the preloaded app (PSS; the pages it shares with the workers counted once)
WORKER_MB = 170  # each worker on the full demo: its query models (ONNX Runtime, ~45 MB for lite0) and what
# the 20-user load adds (bench_memory on the 1,791-photo demo: 1 worker 314 MiB peak in all, 2 workers 468-490)
HEADROOM = 0.88  # of the budget: 450 MB of a 512 MB dyno
MAX_WORKERS = 4
MALLOC_ARENAS = 2  # glibc malloc arenas (default 8 per core): each request thread otherwise grows its own
M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h
CGROUP_FILES = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def memory_budget_mb(env: dict[str, str] | None = None, cgroup_files: tuple[Path, ...] = CGROUP_FILES) -> int:
    """The memory the server may use, in MB: ``STYLE_ATLAS_MEMORY_MB``, else the cgroup limit,
    else :data:`DEFAULT_MEMORY_MB`."""
    env = dict(os.environ) if env is None else env
    if env.get("STYLE_ATLAS_MEMORY_MB", "").strip():
        return int(env["STYLE_ATLAS_MEMORY_MB"])
    for path in cgroup_files:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**50:  # "max" or a huge number: no limit
            return int(text) // 2**20
    return DEFAULT_MEMORY_MB


def workers_for(budget_mb: int, cpus: int | None = None) -> int:
    """How many workers fit ``budget_mb`` (at least one)."""
    fit = int((budget_mb * HEADROOM - MASTER_MB) // WORKER_MB)
    return max(1, min(fit, MAX_WORKERS, 2 * (cpus or os.cpu_count() or 1)))


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas in this process and the workers it forks (as
    ``MALLOC_ARENA_MAX`` would, which glibc reads only at start); False where it is not glibc.
    ``MALLOC_ARENA_MAX`` in the environment wins."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        return bool(name) and ctypes.CDLL(name).mallopt(M_ARENA_MAX, int(arenas)) == 1
    except (OSError, AttributeError):
        return False


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


limit_malloc_arenas()
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8050')}"
workers = _int_env("WEB_CONCURRENCY") or workers_for(memory_budget_mb())
threads = _int_env("WEB_THREADS") or 4
preload_app = os.environ.get("STYLE_ATLAS_PRELOAD", "1") != "0"
timeout = 120


def on_starting(_server: Any) -> None:
    """Serve a deploy-time bundle as it is; else start building the default demo workspace on
    first start (no-op when it is complete). With the app preloaded, register its callbacks here
    once, for every worker forked later."""
    from components.bootstrap import prime_app, start_build, use_bundle

    if not use_bundle():
        start_build()
    if preload_app:
        prime_app()


def post_worker_init(_worker: Any) -> None:
    """Register the app's callbacks (unless the master did) and warm the worker (models and index
    loaded, one forward pass) before its first request, or, while the demo is being built, as
    soon as the build is done. ONNX Runtime sessions are made here, never in the master: a
    session forked from the master aborts its worker at exit."""
    from components.bootstrap import prime_app, warm_up_when_built

    prime_app()
    warm_up_when_built()
