"""``python -m core.jobs.worker ROOT [--db PATH]``: run the collection's queued jobs, then exit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.jobs.runner import drain


def main(argv: list[str] | None = None) -> int:
    """Drain the queue of the collection at ROOT; 1 when a job it ran failed."""
    parser = argparse.ArgumentParser(prog="python -m core.jobs.worker", description=main.__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--db", type=Path, help="the job table (default: core.jobs.store.db_path())")
    args = parser.parse_args(argv)
    ran = drain(args.root, args.db)
    for job in ran:
        print(f"style-atlas job {job.id} ({job.kind}): {job.state}{': ' + job.error if job.error else ''}",
              file=sys.stderr, flush=True)
    return 1 if any(j.state == "failed" for j in ran) else 0


if __name__ == "__main__":
    sys.exit(main())
