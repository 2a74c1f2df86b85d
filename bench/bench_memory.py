"""Memory of the served demo: the summed PSS of gunicorn's master and every worker, under load.

Starts ``gunicorn app:server`` as the Procfile does (settings from ``gunicorn.conf.py``) on a
built workspace and samples the PSS (``psutil``'s ``memory_full_info().pss``; RSS where PSS
cannot be read) of the master and all its children every ~100 ms, through these phases:

1. idle: started and warmed up (every worker loaded the query models);
2. pages: every page rendered once through the pages callback (as the browser asks for it);
3. upload: a query by upload (the Search page's callback with a data URI) and its results;
4. sliders: the results callback again with each direction's slider moved;
5. load: ``--users`` threads for ``--seconds``, each looping over page renders, uploads,
   slider moves and thumbnails.

Printed per configuration: peak total PSS idle (phase 1) and overall, the peak per phase,
p50/p95 latency of the load, errors, and rate-limited answers (the query limit's refusals and
HTTP 429) counted apart. Configurations (``--configs``, in one run):

- ``before``: the torch query path (``STYLE_ATLAS_QUERY_ENGINE=torch``), 2 workers × 4 threads,
  no preload: what the Procfile ran before the ONNX query path;
- ``after``: the ONNX query path with ``gunicorn.conf.py``'s own choice of workers, threads and
  preload for the memory given (``--memory-mb``, default 512);
- ``after-nopreload``: as ``after`` with ``STYLE_ATLAS_PRELOAD=0`` (to measure what preload saves).

Usage::

    .venv/bin/python bench/bench_memory.py --workspace /path/to/built/workspace \\
        [--configs before,after] [--users 20] [--seconds 60] [--memory-mb 512] [--compare]

The workspace needs the serving artifact for ``after`` (``python -m core serving --workspace WS``;
the pipeline writes it). No figures are asserted; see bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.dash_requests import free_port, page_payload, pct  # noqa: E402
from components import ids  # noqa: E402 - the repo on the path first

CONFIGS: dict[str, tuple[dict[str, str], list[str]]] = {
    "before": ({"STYLE_ATLAS_QUERY_ENGINE": "torch", "STYLE_ATLAS_PRELOAD": "0"},
               ["--workers", "2", "--threads", "4"]),
    "after": ({}, []),
    "after-nopreload": ({"STYLE_ATLAS_PRELOAD": "0"}, []),
}
UPLOAD_KEY = "..search-query.data...search-message.children.."
RESULTS_KEY = "..search-results.children...search-summary.children...search-query-view.children.."
SLIDER_TYPE = ids.DIR_SLIDER_TYPE




def total_memory(master: psutil.Process) -> tuple[float, int, str]:
    """(MiB summed over the master and its children, process count, "pss" or "rss")."""
    procs = [master]
    try:
        procs += master.children(recursive=True)
    except psutil.Error:
        pass
    total, kind = 0, "pss"
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.AccessDenied, AttributeError):
            kind = "rss"
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20, len(procs), kind


class Sampler(threading.Thread):
    """Samples :func:`total_memory` every ``interval`` s; peaks per phase."""

    def __init__(self, master: psutil.Process, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.kind = "pss"
        self.procs = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            mib, n, self.kind = total_memory(self.master)
            self.procs = max(self.procs, n)
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), mib)
            time.sleep(self.interval)


class Server:
    """``gunicorn app:server`` as the Procfile starts it, on a free port, for ``workspace``."""

    def __init__(self, workspace: Path, env: dict[str, str], args: list[str], memory_mb: int) -> None:
        import requests

        self.port = free_port()
        full_env = {**os.environ, "STYLE_ATLAS_WORKSPACE": str(workspace), "PORT": str(self.port),
                    "HOST": "127.0.0.1", "STYLE_ATLAS_MEMORY_MB": str(memory_mb), **env}
        full_env.pop("WEB_CONCURRENCY", None)
        cmd = [sys.executable, "-m", "gunicorn", "app:server", "--log-level", "warning", *args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 240
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if requests.get(self.url + "/_dash-layout", timeout=5).ok:
                    return
            except requests.RequestException:
                time.sleep(0.5)
        err = self.stop()
        raise RuntimeError(f"gunicorn did not start: {err[-2000:]}")

    def workers(self) -> int:
        return len(psutil.Process(self.proc.pid).children())

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.stderr.read() if self.proc.stderr else ""



def upload_payload(data: bytes, name: str) -> dict[str, Any]:
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return {
        "output": UPLOAD_KEY,
        "outputs": [{"id": "search-query", "property": "data"}, {"id": "search-message", "property": "children"}],
        "inputs": [{"id": "search-upload", "property": "contents", "value": uri},
                   {"id": "search-url-go", "property": "n_clicks", "value": None},
                   {"id": "search-url", "property": "n_submit", "value": None}],
        "state": [{"id": "search-upload", "property": "filename", "value": name},
                  {"id": "search-url", "property": "value", "value": None}],
        "changedPropIds": ["search-upload.contents"],
    }


def results_payload(q: dict[str, Any], weights: dict[str, float]) -> dict[str, Any]:
    sliders = [{"name": n, "type": SLIDER_TYPE} for n in weights]
    return {
        "output": RESULTS_KEY,
        "outputs": [{"id": "search-results", "property": "children"}, {"id": "search-summary", "property": "children"},
                    {"id": "search-query-view", "property": "children"}],
        "inputs": [{"id": "search-query", "property": "data", "value": q},
                   [{"id": s, "property": "value", "value": w} for s, w in zip(sliders, weights.values(), strict=True)],
                   {"id": ids.SEARCH_MARKS, "property": "data", "value": None},
                   {"id": ids.SEARCH_COLOUR_QUERY, "property": "data", "value": None}],
        "state": [[{"id": s, "property": "id", "value": s} for s in sliders]],
        "changedPropIds": [json.dumps(sliders[0], sort_keys=True, separators=(",", ":")) + ".value"
                           if sliders else "search-query.data"],
    }


class Client:
    """Posts callbacks, timing them, counting errors and rate-limited answers apart."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.limited = 0

    def call(self, session: Any, kind: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests

        t0 = time.perf_counter()
        out, problem, limited = None, None, False
        try:
            if method == "GET":
                resp = session.get(self.url + path, timeout=60)
            else:
                resp = session.post(self.url + path, data=json.dumps(body), timeout=60,
                                    headers={"Content-Type": "application/json"})
            if resp.status_code == 429:
                limited = True
            elif resp.status_code == 204:
                pass  # PreventUpdate
            elif resp.status_code != 200:
                problem = f"{kind} HTTP {resp.status_code}"
            elif method == "POST":
                out = resp.json().get("response", {})
                if kind == "upload" and "Too many requests" in json.dumps(out.get("search-message", {})):
                    limited, out = True, None
                elif kind == "upload" and not (out.get("search-query") or {}).get("data"):
                    problem = f"upload refused: {json.dumps(out)[:200]}"
        except requests.RequestException as exc:
            problem = f"{kind} {type(exc).__name__}"
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.lat.setdefault(kind, []).append(ms)
            if problem:
                self.errors.append(problem)
            self.limited += limited
        return out


def directions(ws_root: Path) -> list[str]:
    from components import search
    from core.workspace import Workspace

    return [d["key"] for d in search.directions(Workspace(ws_root, create=False))[0]]


def compare_query_models(ws_root: Path, n: int = 40) -> dict[str, Any]:
    """ONNX Runtime query models against the torch fp32 path, in this process, on ``n`` catalog
    photos: min / mean cosine of the backbone features and the served vectors, p50 ms per query."""
    import torch
    from PIL import Image

    from core.embed.onthefly import embed_pil
    from core.serving.models import serving_models
    from core.similarity.artifact import load_similarity
    from core.workspace import Workspace

    torch.set_num_threads(1)  # as the web process's torch path runs a query (embed_query threads=1)
    ws = Workspace(ws_root, create=False)
    models = serving_models(ws)
    if models is None:
        return {"error": "no current serving/default (run `python -m core serving --workspace WS`)"}
    art = load_similarity(ws)
    head = art.embedder()
    ids = ws.items()["item_id"].tolist()
    photos = [Image.open(ws.image_path(i)).convert("RGB") for i in ids[:: max(1, len(ids) // n)][:n]]
    cos: dict[str, list[float]] = {"features": [], "served": []}
    ms: dict[str, list[float]] = {"onnx": [], "torch": []}
    for im in photos:
        t0 = time.perf_counter()
        f_onnx = models.features([im], (models.backbone,))[models.backbone]
        v_onnx = models.head.transform(f_onnx)
        ms["onnx"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        f_torch = embed_pil([im], models.backbone, runtime="fp32").features
        v_torch = head.transform(f_torch)
        ms["torch"].append((time.perf_counter() - t0) * 1000)
        for key, a, b in (("features", f_onnx, f_torch), ("served", v_onnx, v_torch)):
            cos[key].append(float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b))))
    return {"photos": len(photos), "space": art.space,
            **{f"cosine_{k}_min": round(min(v), 6) for k, v in cos.items()},
            **{f"cosine_{k}_mean": round(float(np.mean(v)), 6) for k, v in cos.items()},
            **{f"{k}_p50_ms": round(pct(v[1:], 50), 1) for k, v in ms.items()}}


def run_config(name: str, ws_root: Path, users: int, seconds: float, memory_mb: int) -> dict[str, Any]:
    import requests

    from core.workspace import Workspace

    ws = Workspace(ws_root, create=False)
    ids = ws.items()["item_id"].tolist()
    photos = [ws.image_path(i).read_bytes() for i in ids[:: max(1, len(ids) // 40)][:40]]
    dirs = directions(ws_root)
    env, args = CONFIGS[name]
    server = Server(ws_root, env, args, memory_mb)
    sampler = Sampler(psutil.Process(server.proc.pid))
    sampler.start()
    client = Client(server.url)
    pages = ["/", "/explore", "/clusters", "/training", "/search", f"/item/{ids[0]}", "/signin"]
    try:
        s = requests.Session()
        time.sleep(8)  # the workers' warm-up (post_worker_init) runs after the port is bound
        sampler.phase = "idle"
        time.sleep(3)
        sampler.phase = "pages"
        for p in pages:
            client.call(s, "page", "POST", "/_dash-update-component", page_payload(p))
        client.call(s, "page", "POST", "/_dash-update-component", page_payload("/search", f"?item={ids[1]}"))
        sampler.phase = "upload"
        out = client.call(s, "upload", "POST", "/_dash-update-component", upload_payload(photos[0], "a.jpg"))
        q = (out or {}).get("search-query", {}).get("data")
        if q:
            client.call(s, "results", "POST", "/_dash-update-component", results_payload(q, {}))
        sampler.phase = "sliders"
        if q:
            for d in dirs:
                for w in (0.5, 1.0, -1.0):
                    client.call(s, "slider", "POST", "/_dash-update-component", results_payload(q, {d: w}))
        single = {k: list(v) for k, v in client.lat.items()}
        client.lat.clear()
        sampler.phase = "load"
        deadline = time.time() + seconds

        def user(seed: int) -> None:
            rng = random.Random(seed)
            us = requests.Session()
            query = q
            while time.time() < deadline:
                r = rng.random()
                if r < 0.3:
                    path = rng.choice(pages[:5] + [f"/item/{rng.choice(ids)}"])
                    client.call(us, "page", "POST", "/_dash-update-component", page_payload(path))
                elif r < 0.45:
                    got = client.call(us, "upload", "POST", "/_dash-update-component",
                                      upload_payload(rng.choice(photos), "u.jpg"))
                    query = (got or {}).get("search-query", {}).get("data") or query
                elif r < 0.75 and query:
                    weights = {rng.choice(dirs): rng.choice((-1.0, -0.5, 0.5, 1.0))} if dirs else {}
                    client.call(us, "slider", "POST", "/_dash-update-component", results_payload(query, weights))
                else:
                    client.call(us, "thumb", "GET", f"/img/thumb/{rng.choice(ids)}")

        threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        workers = server.workers()
    finally:
        sampler.stopped.set()
        sampler.join()
        stderr = server.stop()
    every = [v for vs in client.lat.values() for v in vs]
    peaks = {k: round(v, 1) for k, v in sampler.peaks.items()}
    return {
        "config": name, "memory": sampler.kind, "processes": sampler.procs, "workers": workers,
        "peak_idle_mib": peaks.get("idle"), "peak_total_mib": round(max(sampler.peaks.values()), 1),
        "peak_by_phase_mib": peaks,
        "single_user_ms": {k: round(pct(v, 50), 1) for k, v in single.items()},
        "load": {"users": users, "seconds": round(elapsed, 1), "requests": len(every),
                 "p50_ms": round(pct(every, 50), 1), "p95_ms": round(pct(every, 95), 1),
                 "by_kind": {k: {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)}
                             for k, v in client.lat.items()}},
        "errors": len(client.errors), "error_kinds": sorted(set(client.errors))[:5],
        "rate_limited": client.limited,
        "server_stderr_tail": stderr.strip().splitlines()[-40:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=REPO / "workspaces" / "demo",
                        help="a built workspace (default: workspaces/demo)")
    parser.add_argument("--configs", default="before,after", help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--memory-mb", type=int, default=512, help="STYLE_ATLAS_MEMORY_MB given to gunicorn.conf.py")
    parser.add_argument("--compare", action="store_true",
                        help="first compare the ONNX query models with torch in this process (cosine, latency)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    if not (args.workspace / "manifest.json").is_file():
        parser.error(f"no built workspace at {args.workspace}")
    results: list[dict[str, Any]] = []
    if args.compare:
        cmp = compare_query_models(args.workspace.resolve())
        results.append({"config": "query models: ONNX Runtime vs torch fp32", **cmp})
        if not args.json:
            print(f"query models, ONNX Runtime vs torch fp32 (1 image per pass): {cmp}", flush=True)
    for name in filter(None, args.configs.split(",")):
        res = run_config(name.strip(), args.workspace.resolve(), args.users, args.seconds, args.memory_mb)
        results.append(res)
        if not args.json:
            print(f"{res['config']}: {res['workers']} workers, peak total {res['memory'].upper()} idle "
                  f"{res['peak_idle_mib']} MiB, overall {res['peak_total_mib']} MiB; by phase {res['peak_by_phase_mib']}")
            ld = res["load"]
            print(f"  load: {ld['users']} users x {ld['seconds']} s, {ld['requests']} requests, p50 {ld['p50_ms']} ms, "
                  f"p95 {ld['p95_ms']} ms; errors {res['errors']} {res['error_kinds']}; "
                  f"rate-limited {res['rate_limited']}")
            print(f"  by kind: {ld['by_kind']}")
            print(f"  single user (p50 ms): {res['single_user_ms']}", flush=True)
            if res["errors"]:
                print("  server stderr:\n    " + "\n    ".join(res["server_stderr_tail"]), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
