"""Benchmark of the dashboard, served by gunicorn and driven by headless Chromium.

Figures printed (no asserts):

1. Explore with N points (default 50,000, a synthetic workspace built under bench/out/):
   first render (navigation start -> every point drawn), cold and warm server cache; hover
   latency (plotly_hover event -> the tooltip's thumbnail loaded and visible).
2. Search on a real workspace (``--workspace``, needs the similarity step): an upload's
   results painted (file input change -> first result image loaded); a slider move answered
   (key press -> results replaced) and the callback's own server time; ``search()`` server
   time in-process.
3. Load: 20 simulated users (threads, a bounded loop of page loads, hovers and thumbnails)
   for 60 s against gunicorn with 2 workers on 127.0.0.1: requests, errors, p50/p95.

Usage::

    .venv/bin/python bench/bench_app.py --workspace /path/to/demo-workspace [--points 50000]
        [--users 20] [--seconds 60] [--skip-browser] [--skip-load]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.dash_requests import free_port, page_payload, pct  # noqa: E402
from core.workspace import Workspace  # noqa: E402

OUT = REPO / "bench" / "out"
LABELS = ["Dress", "Shoes", "Hat", "Skirt", "Pants", "T-Shirt", "Shirt", "Outwear", "Blazer", "Hoodie", "Polo", "Top"]
POINT_JS = """
var gd = document.querySelector('#explore-map .js-plotly-plot');
var pts = gd._fullData.filter(function (t) { return t.type === 'scattergl' && t.x && t.x.length; });
var fl = gd._fullLayout, tr = pts[arguments[0] % pts.length];
var j = arguments[1] % tr.x.length;
return [fl.xaxis.l2p(tr.x[j]) + fl._size.l, fl.yaxis.l2p(tr.y[j]) + fl._size.t, gd._fullData.length];
"""


# -- helpers -----------------------------------------------------------------------------------


class Gunicorn:
    """``gunicorn app:server`` on 127.0.0.1 with ``workers`` sync workers, for a workspace."""

    def __init__(self, workspace: Path, workers: int = 2, threads: int = 1) -> None:
        self.port = free_port()
        env = {**os.environ, "STYLE_ATLAS_WORKSPACE": str(workspace)}
        cmd = [str(REPO / ".venv" / "bin" / "gunicorn"), "app:server", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(workers), "--threads", str(threads), "--timeout", "120", "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        import requests

        while time.time() < deadline:
            try:
                if requests.get(self.url + "/_dash-layout", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def chrome() -> Any:
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    for arg in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    return webdriver.Chrome(options=opts)


# -- synthetic workspace -------------------------------------------------------------------
def synthetic_workspace(n: int, root: Path) -> Workspace:
    """A workspace of ``n`` synthetic items: catalog rows, a blob-shaped 2-D map, thumbnails
    (hard links to 24 real demo thumbnails). Rebuilt only when ``n`` changes."""
    from PIL import Image
    from sklearn.datasets import make_blobs

    from core.projection import write_projection

    marker = root / "n.txt"
    if marker.exists() and marker.read_text() == str(n):
        return Workspace.open(root)
    shutil.rmtree(root, ignore_errors=True)
    ws = Workspace(root)
    rng = np.random.default_rng(0)
    ids = [f"{i:016x}" for i in rng.choice(2**62, size=n, replace=False)]
    labels = [LABELS[i % len(LABELS)] for i in range(n)]
    colours = ["#" + "".join(f"{int(v):02x}" for v in rng.integers(0, 255, 3)) for _ in range(n)]
    items = pd.DataFrame({"item_id": ids, "source": [f"synthetic:{i}" for i in range(n)], "width": 200, "height": 200,
                          "label": labels, "dominant_colour": colours})
    with ws.write_artifact("items", {"synthetic": True, "n": n}) as tmp:
        items.to_parquet(tmp / "items.parquet", index=False)
    X, y = make_blobs(n_samples=n, centers=len(LABELS), n_features=2, cluster_std=1.2, random_state=0)
    write_projection(ws, pd.DataFrame({"item_id": ids, "x": X[:, 0].astype(np.float32), "y": X[:, 1].astype(np.float32)}),
                     "default", {"synthetic": True, "n": n})
    demo = sorted((REPO / "data" / "demo" / "images").glob("*.jpg"))[:24]
    (root / "thumbs").mkdir(exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    sources = []
    for k, path in enumerate(demo):
        im = Image.open(path).convert("RGB")
        im.thumbnail((200, 200))
        dst = root / f"seed-{k}.jpg"
        im.save(dst, quality=85)
        sources.append(dst)
    for i, item_id in enumerate(ids):
        src = sources[i % len(sources)]
        os.link(src, ws.thumb_path(item_id))
        os.link(src, ws.image_path(item_id))
    marker.write_text(str(n))
    return ws


# -- 1. Explore ---------------------------------------------------------------------------------
WAIT_MAP_JS = """
var n = arguments[0], done = arguments[arguments.length - 1];
function check() {
  var gd = document.querySelector('#explore-map .js-plotly-plot');
  if (gd && gd._fullData && gd._fullLayout && document.querySelector('#explore-map canvas')) {
    var total = 0; gd._fullData.forEach(function (t) { total += (t.type === 'scattergl' && t.x && t.x.length) || 0; });
    var aggregated = gd._fullData.length && gd._fullData[0].type === 'heatmap';
    if (total >= n || (aggregated && total > 0)) { requestAnimationFrame(function () { done(performance.now()); }); return; }
  }
  setTimeout(check, 5);
}
check();
"""
INSTALL_HOVER_JS = """
var gd = document.querySelector('#explore-map .js-plotly-plot');
window.__startT = null; window.__endT = null; window.__before = null;
gd.on('plotly_hover', function () { if (window.__startT === null) { window.__startT = performance.now(); } });
(function poll() {
  var img = document.querySelector('#hover-thumb');
  if (window.__startT !== null && window.__endT === null && img && img.getAttribute('src') !== window.__before
      && img.complete && img.naturalWidth > 0 && img.offsetParent !== null) { window.__endT = performance.now(); }
  setTimeout(poll, 1);
})();
"""
RESET_HOVER_JS = """
var img = document.querySelector('#hover-thumb');
window.__before = img ? img.getAttribute('src') : null; window.__startT = null; window.__endT = null;
"""
WAIT_END_JS = """
var done = arguments[arguments.length - 1], t0 = performance.now();
(function check() {
  if (window.__endT !== null && window.__endT !== undefined) { done([window.__startT, window.__endT, window.__note || null]); return; }
  if (performance.now() - t0 > 20000) { done([window.__startT, null, window.__note || null]); return; }
  setTimeout(check, 5);
})();
"""


def bench_explore(n: int, trials: int = 15) -> dict[str, Any]:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    t0 = time.perf_counter()
    ws = synthetic_workspace(n, OUT / f"ws-{n // 1000}k")
    build_s = time.perf_counter() - t0
    server = Gunicorn(ws.root)
    driver = chrome()
    driver.implicitly_wait(60)
    driver.set_script_timeout(120)
    out: dict[str, Any] = {"points": n, "workspace_build_s": round(build_s, 1), "server": figure_server(ws)}
    try:
        renders = []
        for _ in range(3):  # first visit pays the server's map cache; then warm
            driver.get(server.url + "/explore")
            renders.append(float(driver.execute_async_script(WAIT_MAP_JS, n)))
        out["first_render_ms_cold"] = round(renders[0])
        out["first_render_ms_warm"] = round(statistics.median(renders[1:]))
        driver.execute_script("document.querySelector('#explore-map').scrollIntoView({block: 'center'})")
        driver.execute_script(INSTALL_HOVER_JS)
        el = driver.find_element(By.CSS_SELECTOR, "#explore-map .js-plotly-plot")
        rng = random.Random(0)
        lat, misses = [], 0
        for _ in range(trials):
            trace = rng.randrange(len(LABELS))
            x, y, _ = driver.execute_script(POINT_JS, trace, rng.randrange(n // len(LABELS)))
            ActionChains(driver).move_to_element_with_offset(el, 2, 2).pause(0.3).perform()
            driver.execute_script(RESET_HOVER_JS)
            ActionChains(driver).move_to_element_with_offset(el, int(round(x)), int(round(y))).perform()
            hover_t, shown_t, _ = driver.execute_async_script(WAIT_END_JS)
            if hover_t is None or shown_t is None:
                misses += 1
                continue
            lat.append(shown_t - hover_t)
        out["hover_thumbnail_ms"] = {"p50": round(pct(lat, 50)), "p95": round(pct(lat, 95)), "max": round(max(lat)) if lat else None,
                                     "trials": len(lat), "missed": misses}
        payload = driver.execute_script("return performance.getEntriesByType('resource').filter(function (e) {"
                                        " return e.name.indexOf('_dash-update-component') >= 0; })"
                                        ".map(function (e) { return e.transferSize; })")
        out["largest_callback_response_kb"] = round(max(payload) / 1024) if payload else None
        out["lasso"] = bench_lasso(driver, el, ws)
        if n > 20_000:  # a zoom to a tenth of the map's width: relayout -> the points in view drawn
            zooms = []
            for f in (0.05, 0.1, 0.08):
                xr, yr = driver.execute_script("var fl = document.querySelector('#explore-map .js-plotly-plot')._fullLayout;"
                                               " return [fl.xaxis.range, fl.yaxis.range];")
                cx, cy = (xr[0] + xr[1]) / 2, (yr[0] + yr[1]) / 2
                dx, dy = (xr[1] - xr[0]) * f, (yr[1] - yr[0]) * f
                ms, shown = driver.execute_async_script(ZOOM_JS, [cx - dx, cx + dx], [cy - dy, cy + dy])
                zooms.append({"ms": round(ms) if ms else None, "points": shown})
                driver.execute_async_script(
                    "var done = arguments[arguments.length - 1], gd = document.querySelector('#explore-map .js-plotly-plot');"
                    "Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true});"
                    "(function c() { if (gd._fullData[0].type === 'heatmap') { done(1); } else { setTimeout(c, 10); } })();")
            out["zoom_to_points"] = zooms
    finally:
        driver.quit()
        server.stop()
    return out


DATA_TO_PAGE_JS = """
var gd = document.querySelector('#explore-map .js-plotly-plot'), fl = gd._fullLayout;
return arguments[0].map(function (p) { return [fl.xaxis.l2p(p[0]) + fl._size.l, fl.yaxis.l2p(p[1]) + fl._size.t]; });
"""
WATCH_TRAY_JS = """
var gd = document.querySelector('#explore-map .js-plotly-plot');
var before = document.querySelector('#tray-summary').textContent;
window.__lasso = {start: null, end: null, note: null};
gd.once('plotly_selected', function () { window.__lasso.start = performance.now(); });
(function poll() {
  var text = document.querySelector('#tray-summary').textContent, L = window.__lasso;
  if (L.start !== null && text !== before) { L.end = performance.now(); L.note = text; return; }
  setTimeout(poll, 1);
})();
"""
WAIT_LASSO_JS = """
var done = arguments[arguments.length - 1], t0 = performance.now();
(function check() {
  var L = window.__lasso;
  if (L.end !== null) { done([L.start, L.end, L.note]); return; }
  if (performance.now() - t0 > 30000) { done([L.start, null, null]); return; }
  setTimeout(check, 5);
})();
"""
ZOOM_JS = """
var done = arguments[arguments.length - 1], gd = document.querySelector('#explore-map .js-plotly-plot');
var t0 = performance.now();
Plotly.relayout(gd, {'xaxis.range': arguments[0], 'yaxis.range': arguments[1]});
(function check() {
  var d = gd._fullData;
  if (d.length && d.every(function (t) { return t.type === 'scattergl'; })) {
    var total = 0; d.forEach(function (t) { total += t.x.length; });
    requestAnimationFrame(function () { done([performance.now() - t0, total]); }); return;
  }
  if (performance.now() - t0 > 30000) { done([null, 0]); return; }
  setTimeout(check, 5);
})();
"""


def lasso_box(ws: Workspace, target: int = 5000) -> tuple[list[tuple[float, float]], int]:
    """A square (data coordinates, as lasso vertices) around the map's densest point holding
    about ``target`` items, and how many it holds."""
    from core.projection import load_projection

    frame = load_projection(ws)
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    cx, cy = float(np.median(x)), float(np.median(y))
    d = np.maximum(np.abs(x - cx), np.abs(y - cy))
    half = float(np.sort(d)[min(target, len(d)) - 1])
    corners = [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]
    return corners, int((d <= half).sum())


def figure_server(ws: Workspace) -> dict[str, Any]:
    """Server share of the first render, in-process: the map frame (cold), the figure of the
    whole map as drawn now and as every point (what the page drew before aggregation)."""
    from unittest import mock

    from components import explore, map_view

    key = explore.current_key(ws)
    t0 = time.perf_counter()
    frame = explore.map_frame(key)
    out: dict[str, Any] = {"map_frame_cold_ms": round((time.perf_counter() - t0) * 1000)}
    for name, cap in (("aggregated", map_view.MAX_POINTS), ("every_point", 10**9)):
        with mock.patch.object(map_view, "MAX_POINTS", cap):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                fig = explore.build_figure(frame, "label")
                body = json.dumps(fig)
                times.append((time.perf_counter() - t0) * 1000)
        out[name] = {"figure_ms": round(min(times)), "json_kb": round(len(body) / 1024),
                     "traces": [t["type"] for t in fig["data"]][:2]}
    return out


def bench_lasso(driver: Any, el: Any, ws: Workspace, trials: int = 3) -> dict[str, Any]:
    """A lasso around ~5,000 items: mouse up -> the tray's summary names them (browser), and
    the server's share (``selected_ids`` on the polygon) in-process."""
    from selenium.webdriver.common.action_chains import ActionChains

    from components import explore

    corners, inside = lasso_box(ws)
    lat, counts = [], []
    for t in range(trials):  # each a little larger, so the tray's text changes
        cx, cy = sum(c[0] for c in corners) / 4, sum(c[1] for c in corners) / 4
        grown = [[cx + (c[0] - cx) * (1 + 0.01 * t), cy + (c[1] - cy) * (1 + 0.01 * t)] for c in corners]
        pix = driver.execute_script(DATA_TO_PAGE_JS, grown)
        driver.execute_script(WATCH_TRAY_JS)
        chain = ActionChains(driver).move_to_element_with_offset(el, int(pix[0][0]), int(pix[0][1])).click_and_hold()
        for px, py in [*pix[1:], pix[0]]:
            chain = chain.move_to_element_with_offset(el, int(px), int(py)).pause(0.05)
        chain.release().perform()
        start, end, note = driver.execute_async_script(WAIT_LASSO_JS)
        if start is not None and end is not None:
            lat.append(end - start)
            counts.append(note)
        driver.execute_script("Plotly.relayout(document.querySelector('#explore-map .js-plotly-plot'), {selections: []})")
    key = explore.current_key(ws)
    frame = explore.map_frame(key)
    rows = explore.trace_rows(frame, "label")
    selected = {"points": [], "lassoPoints": {"x": [c[0] for c in corners], "y": [c[1] for c in corners]}}
    server = []
    for _ in range(20):
        t0 = time.perf_counter()
        got = explore.selected_ids(frame, rows, selected)
        server.append((time.perf_counter() - t0) * 1000)
    return {"items_inside": inside, "selected": len(got), "tray_said": counts[:3],
            "mouseup_to_tray_ms": {"p50": round(pct(lat, 50)), "max": round(max(lat)) if lat else None, "trials": len(lat)},
            "server_selected_ids_ms": {"p50": round(pct(server, 50), 1), "p95": round(pct(server, 95), 1)}}


# -- 2. Search ----------------------------------------------------------------------------------
WATCH_RESULTS_JS = """
var target = arguments[0], event = arguments[1];
var link0 = document.querySelector('#search-gallery .thumb-link');
window.__before = link0 ? link0.getAttribute('href') + '|' + document.querySelector('#search-summary').textContent : null;
window.__startT = null; window.__endT = null; window.__note = null;
target.addEventListener(event, function () { if (window.__startT === null) { window.__startT = performance.now(); } }, true);
(function poll() {
  if (window.__endT !== null) { return; }
  var img = document.querySelector('#search-gallery .item-card img');
  var link = document.querySelector('#search-gallery .thumb-link');
  var key = link ? link.getAttribute('href') + '|' + document.querySelector('#search-summary').textContent : null;
  if (window.__startT !== null && img && img.complete && img.naturalWidth > 0 && key !== window.__before) {
    window.__endT = performance.now(); window.__note = key; return;
  }
  setTimeout(poll, 1);
})();
"""


def bench_search(ws: Workspace, trials: int = 5) -> dict[str, Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from components import search as search_logic

    items = ws.items()
    sources = [Path(s) for s in items["source"].tolist() if Path(str(s)).is_file()]
    rng = random.Random(1)
    photos = rng.sample(sources, min(trials, len(sources)))
    server = Gunicorn(ws.root)
    driver = chrome()
    driver.implicitly_wait(60)
    driver.set_script_timeout(60)
    out: dict[str, Any] = {"workspace": str(ws.root), "items": len(items)}
    try:
        driver.get(server.url + "/search")  # warm the worker (model load) once, then measure
        driver.find_element(By.CSS_SELECTOR, "#search-upload input[type=file]")
        painted: list[float] = []
        for photo in [photos[0], *photos]:
            driver.get(server.url + "/search")
            box = driver.find_element(By.CSS_SELECTOR, "#search-upload input[type=file]")
            driver.execute_script(WATCH_RESULTS_JS, box, "change")
            box.send_keys(str(photo))
            start, end, _ = driver.execute_async_script(WAIT_END_JS)
            if start is not None and end is not None:
                painted.append(end - start)
        out["upload_to_results_painted_ms"] = {"cold_first": round(painted[0]) if painted else None,
                                               "p50": round(pct(painted[1:], 50)), "max": round(max(painted[1:])) if len(painted) > 1 else None,
                                               "trials": len(painted) - 1}
        # slider: key press on the handle -> results replaced
        item_id = items["item_id"].iloc[7]
        round_trip, server_ms = [], []
        for key in (Keys.END, Keys.HOME, Keys.ARROW_RIGHT, Keys.PAGE_UP, Keys.END, Keys.HOME):
            driver.get(server.url + f"/search?item={item_id}")
            driver.find_element(By.CSS_SELECTOR, "#search-gallery .item-card")
            thumb = driver.find_element(By.CSS_SELECTOR, "#search-directions [role=slider]")
            driver.execute_script(WATCH_RESULTS_JS, thumb, "keydown")
            thumb.send_keys(key)
            start, end, summary = driver.execute_async_script(WAIT_END_JS)
            if start is not None and end is not None:
                round_trip.append(end - start)
                server_ms.append(float(summary.rsplit("·", 1)[-1].strip().split()[0]))
        out["slider_round_trip_ms"] = {"p50": round(pct(round_trip, 50)), "max": round(max(round_trip)) if round_trip else None,
                                       "trials": len(round_trip)}
        out["slider_callback_server_ms"] = {"p50": round(pct(server_ms, 50), 1), "max": round(max(server_ms), 1) if server_ms else None}
    finally:
        driver.quit()
        server.stop()
    # the search callback's work in-process, many slider positions
    dirs, _ = search_logic.directions(ws)
    names = [d["name"] for d in dirs]
    q = search_logic.query_from_item(ws, str(items["item_id"].iloc[7]))
    times = []
    for _ in range(200):
        weights = {n: rng.uniform(-2, 2) for n in names}
        t0 = time.perf_counter()
        search_logic.search(ws, q, weights)
        times.append((time.perf_counter() - t0) * 1000)
    out["search_fn_server_ms"] = {"p50": round(pct(times, 50), 2), "p95": round(pct(times, 95), 2), "directions": names}
    return out


# -- 3. Load ------------------------------------------------------------------------------------

def _hover_payload(key: dict[str, Any], curve: int, point: int) -> dict[str, Any]:
    return {
        "output": "..explore-tooltip.show...explore-tooltip.bbox...explore-tooltip.children..",
        "outputs": [{"id": "explore-tooltip", "property": p} for p in ("show", "bbox", "children")],
        "inputs": [{"id": "explore-map", "property": "hoverData",
                    "value": {"points": [{"curveNumber": curve, "pointNumber": point,
                                          "bbox": {"x0": 10, "x1": 12, "y0": 10, "y1": 12}}]}}],
        "changedPropIds": ["explore-map.hoverData"],
        "state": [{"id": "explore-key", "property": "data", "value": key}],
    }


def bench_load(ws: Workspace, users: int = 20, seconds: float = 60.0, workers: int = 2, threads: int = 1) -> dict[str, Any]:
    import requests

    from components import explore

    ids = ws.items()["item_id"].tolist()
    key_obj = explore.current_key(ws)
    frame = explore.map_frame(key_obj)
    color = explore.effective_color(frame, "cluster")
    rows = explore.trace_rows(frame, color)
    key = key_obj.to_dict(color)
    clusters_n = int(frame["cluster"].max()) + 1 if "cluster" in frame.columns else 0
    pages = [("/", ""), ("/explore", ""), ("/clusters", ""), ("/training", ""), ("/search", "")]
    server = Gunicorn(ws.root, workers=workers, threads=threads)
    lat: dict[str, list[float]] = {"page": [], "hover": [], "thumb": [], "shell": []}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def user(seed: int) -> None:
        rng = random.Random(seed)
        s = requests.Session()
        hdr = {"Content-Type": "application/json"}
        while time.time() < deadline:
            r = rng.random()
            if r < 0.05:
                kind, call = "shell", lambda: s.get(server.url + "/explore", timeout=30)
            elif r < 0.35:
                roll = rng.random()
                if roll < 0.5:
                    path, q = pages[rng.randrange(len(pages))]
                elif roll < 0.7 and clusters_n:
                    path, q = "/clusters", f"?cluster={rng.randrange(clusters_n)}"
                elif roll < 0.85:
                    path, q = f"/item/{rng.choice(ids)}", ""
                else:
                    path, q = "/search", f"?item={rng.choice(ids)}"
                body = json.dumps(page_payload(path, q))
                kind, call = "page", lambda b=body: s.post(server.url + "/_dash-update-component", data=b, headers=hdr, timeout=30)
            elif r < 0.8:
                c = rng.randrange(len(rows))
                body = json.dumps(_hover_payload(key, c, rng.randrange(len(rows[c]))))
                kind, call = "hover", lambda b=body: s.post(server.url + "/_dash-update-component", data=b, headers=hdr, timeout=30)
            else:
                kind, call = "thumb", lambda: s.get(server.url + f"/img/thumb/{rng.choice(ids)}", timeout=30)
            t0 = time.perf_counter()
            try:
                resp = call()
                ok = resp.status_code == 200
                detail = f"{kind} HTTP {resp.status_code}"
            except requests.RequestException as exc:
                ok, detail = False, f"{kind} {type(exc).__name__}"
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                lat[kind].append(ms)
                if not ok:
                    errors.append(detail)

    try:
        threads_ = [threading.Thread(target=user, args=(i,)) for i in range(users)]
        t_start = time.time()
        for t in threads_:
            t.start()
        for t in threads_:
            t.join()
        elapsed = time.time() - t_start
    finally:
        server.stop()
    every = [v for vs in lat.values() for v in vs]
    return {
        "users": users, "seconds": round(elapsed, 1), "gunicorn": f"{workers} workers x {threads} thread(s)",
        "requests": len(every), "rps": round(len(every) / elapsed, 1), "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "p50_ms": round(pct(every, 50), 1), "p95_ms": round(pct(every, 95), 1),
        "by_kind": {k: {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)} for k, v in lat.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", default=os.environ.get("STYLE_ATLAS_WORKSPACE", str(REPO / "workspaces" / "demo")),
                        help="a complete real workspace (search and load figures)")
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-explore", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"cpu_count": os.cpu_count()}
    if not args.skip_browser:
        if not args.skip_explore:
            report["explore"] = bench_explore(args.points)
            print(json.dumps({"explore": report["explore"]}, indent=1), flush=True)
        if not args.skip_search:
            report["search"] = bench_search(Workspace.open(args.workspace))
            print(json.dumps({"search": report["search"]}, indent=1), flush=True)
    if not args.skip_load:
        report["load"] = bench_load(Workspace.open(args.workspace), args.users, args.seconds, args.workers, args.threads)
        print(json.dumps({"load": report["load"]}, indent=1), flush=True)
    (OUT / "bench_app.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
