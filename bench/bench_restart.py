"""Restart-to-ready: from starting the server as the Procfile does, on a prebuilt serving bundle
(``python -m core bundle``), to the first moment every page answers 200 with its content.

Prints (no asserts): seconds until the port answers, until each page is fully populated (its
page callback answers 200 with no "not built yet" notice and no build banner), until an item
page and a thumbnail answer, and the total, against the 30 s target. Runs ``--runs`` times.

    python bench/bench_restart.py --bundle workspaces/demo [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.dash_requests import free_port, page_payload  # noqa: E402

PAGES = ["/", "/explore", "/clusters", "/training", "/search"]
NOT_READY = ("Some parts are not built yet", "Building the demo catalog", "did not finish")
TARGET_S = 30.0



def procfile_command(port: int) -> list[str]:
    """The Procfile's ``web:`` command with ``$PORT`` filled in and gunicorn from the venv, bound to
    loopback (gunicorn.conf.py binds ``$HOST:$PORT`` where the command names no address)."""
    line = next(ln for ln in (REPO / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    argv = shlex.split(line.split(":", 1)[1].replace("$PORT", str(port)))
    argv = [a.replace("0.0.0.0:", "127.0.0.1:") for a in argv]
    gunicorn = REPO / ".venv" / "bin" / argv[0]
    return [str(gunicorn) if gunicorn.exists() else argv[0], *argv[1:]]



def populated(text: str) -> bool:
    return len(text) > 1000 and not any(marker in text for marker in NOT_READY)


def one_run(bundle: Path, item_id: str, timeout_s: float) -> dict[str, Any]:
    import requests

    port = free_port()
    env = {**os.environ, "STYLE_ATLAS_WORKSPACE": str(bundle.resolve()), "PORT": str(port), "HOST": "127.0.0.1"}
    cmd = procfile_command(port)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    marks: dict[str, float] = {}
    todo = [*PAGES, f"/item/{item_id}"]
    session = requests.Session()
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                if "port" not in marks:
                    session.get(url + "/_dash-layout", timeout=5).raise_for_status()
                    marks["port"] = time.perf_counter() - t0
                for path in list(todo):
                    resp = session.post(url + "/_dash-update-component", data=json.dumps(page_payload(path)),
                                        headers={"Content-Type": "application/json"}, timeout=60)
                    if resp.status_code == 200 and populated(resp.text):
                        marks[path] = time.perf_counter() - t0
                        todo.remove(path)
                if "thumb" not in marks and session.get(url + f"/img/thumb/{item_id}", timeout=10).status_code == 200:
                    marks["thumb"] = time.perf_counter() - t0
                if not todo and "thumb" in marks:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    ready = max(marks.values()) if not todo and "thumb" in marks else float("nan")
    return {"ready_s": round(ready, 2), "not_ready": todo, **{k: round(v, 2) for k, v in marks.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=REPO / "workspaces" / "demo")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)

    from core.bundle import is_bundle
    from core.workspace import Workspace

    if not is_bundle(args.bundle):
        print(f"error: {args.bundle} is not a serving bundle; make one with "
              f"`python -m core bundle --workspace {args.bundle}`", file=sys.stderr)
        return 2
    item_id = str(Workspace.open(args.bundle).items()["item_id"].iloc[0])
    print(f"server: {' '.join(procfile_command(0))}  (the Procfile's command; a free port, loopback)")
    print(f"bundle: {args.bundle}  cpus: {os.cpu_count()}")
    results = []
    for n in range(args.runs):
        r = one_run(args.bundle, item_id, args.timeout)
        results.append(r)
        print(f"run {n + 1}: ready in {r['ready_s']} s (target {TARGET_S:.0f} s)  " + "  ".join(
            f"{k}={v}" for k, v in r.items() if k not in ("ready_s", "not_ready")) +
            (f"  NOT READY: {r['not_ready']}" if r["not_ready"] else ""))
    ready = sorted(r["ready_s"] for r in results)
    print(f"restart-to-ready: median {statistics.median(ready):.1f} s, worst {ready[-1]} s over {len(ready)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
