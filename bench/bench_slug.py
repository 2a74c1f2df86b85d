"""The slug a Heroku Python build makes from this repo, compressed, against Heroku's 500 MB limit.

A slug is a gzipped tar of the app folder after the build: the repo's files less
``.slugignore``, the installed requirements (the buildpack's ``site-packages``) and what
``bin/post_compile`` wrote (the serving bundle, ``python -m core bundle``). This measures each
part the same way (tar + gzip level 6, as a slug is packed) and prints the sum.

    python bench/bench_slug.py --install-into /tmp/slug-sp      # pip install --target (minutes)
    python bench/bench_slug.py --site-packages DIR --bundle workspaces/demo
    python bench/bench_slug.py ... --requirements requirements-web.txt   # another requirements file

``--without`` also sums the site-packages less the named distributions (and their files):
by default those of ``bin/build-only-packages.txt``, which ``bin/post_compile`` uninstalls
after building the bundle (torch and the rest of the training stack; queries run in ONNX Runtime).
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIMIT_MB = 500.0  # Heroku's limit on the compressed slug (printed here in MB of 10^6 bytes)
BUILD_ONLY = REPO / "bin" / "build-only-packages.txt"  # what bin/post_compile uninstalls after the bundle


def build_only() -> list[str]:
    """The distributions bin/post_compile removes from the slug (one source for both)."""
    lines = BUILD_ONLY.read_text().splitlines() if BUILD_ONLY.exists() else []
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


class _Counter(io.RawIOBase):
    """A write-only sink counting gzip's output bytes."""

    def __init__(self) -> None:
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.n += len(b)
        return len(b)


def compressed_size(files: Iterable[tuple[Path, str]]) -> tuple[int, int]:
    """``(raw bytes, tar.gz bytes)`` of ``(path, name in archive)`` pairs (gzip level 6)."""
    sink = _Counter()
    raw = 0
    with tarfile.open(fileobj=sink, mode="w:gz", compresslevel=6) as tar:  # type: ignore[call-overload]
        for path, name in files:
            if path.is_file() and not path.is_symlink():
                raw += path.stat().st_size
                tar.add(path, arcname=name, recursive=False)
    return raw, sink.n


def slugignore(repo: Path) -> list[str]:
    path = repo / ".slugignore"
    if not path.exists():
        return []
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def _ignored(rel: str, patterns: list[str]) -> bool:
    for pat in patterns:
        p = pat.rstrip("/")
        if rel == p or rel.startswith(p + "/") or fnmatch.fnmatch(rel, p):
            return True
    return False


def repo_files(repo: Path) -> list[tuple[Path, str]]:
    """Files git tracks, less ``.slugignore`` (what ``git push heroku`` sends and the build keeps)."""
    names = subprocess.run(["git", "ls-files"], cwd=repo, check=True, capture_output=True, text=True).stdout.split("\n")
    patterns = slugignore(repo)
    return [(repo / n, n) for n in names if n and not _ignored(n, patterns)]


def tree(root: Path, prefix: str, skip: set[Path] | None = None) -> list[tuple[Path, str]]:
    """Every file under ``root`` as ``prefix/<relative path>``, less the resolved paths in ``skip``
    (and files inside a skipped folder)."""
    skip = skip or set()
    skip_dirs = {s for s in skip if s.is_dir()}
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        real = p.resolve()
        if real in skip or any(d in real.parents for d in skip_dirs):
            continue
        out.append((p, f"{prefix}/{p.relative_to(root)}"))
    return out


def dist_files(site: Path, dists: Iterable[str]) -> tuple[set[Path], list[str]]:
    """The files of the named installed distributions (from their RECORD); names not installed."""
    want = {d.lower().replace("_", "-") for d in dists}
    found: set[Path] = set()
    seen: set[str] = set()
    for info in site.glob("*.dist-info"):
        meta = (info / "METADATA").read_text(errors="replace") if (info / "METADATA").exists() else ""
        name = next((ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Name:")), "")
        key = name.lower().replace("_", "-")
        if key not in want:
            continue
        seen.add(key)
        record = info / "RECORD"
        for line in record.read_text().splitlines() if record.exists() else []:
            rel = line.split(",", 1)[0]
            found.add((site / rel).resolve())
        found.add(info.resolve())
    return found, sorted(want - seen)


def mb(n: int) -> str:
    return f"{n / 1e6:7.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--site-packages", type=Path, help="an installed site-packages to measure")
    src.add_argument("--install-into", type=Path, help="pip install --target this folder first")
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument("--bundle", type=Path, help="the serving bundle bin/post_compile builds (workspaces/demo)")
    parser.add_argument("--without", nargs="*", default=build_only(),
                        help="distributions left out of the slug (default: bin/build-only-packages.txt, "
                             "what bin/post_compile uninstalls)")
    args = parser.parse_args(argv)

    site = args.site_packages
    if args.install_into is not None:
        site = args.install_into
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
                        str(site), "-r", str(args.requirements)], check=True)

    rows: list[tuple[str, int, int]] = []
    rows.append(("repo files less .slugignore", *compressed_size(repo_files(REPO))))
    if args.bundle is not None:
        rows.append((f"serving bundle ({args.bundle.name})", *compressed_size(tree(args.bundle, "workspaces/demo"))))
    rows.append((f"site-packages ({args.requirements.name})", *compressed_size(tree(site, ".heroku/python/lib/site"))))
    total = sum(r[2] for r in rows)
    print(f"{'part':<44} {'raw':>10} {'tar.gz':>10}")
    for name, raw, comp in rows:
        print(f"{name:<44} {mb(raw)} {mb(comp)}")
    print(f"{'slug (sum of the parts above)':<44} {'':>10} {mb(total)}   limit {LIMIT_MB:.0f} MB: "
          f"{'fits' if total / 1e6 <= LIMIT_MB else 'OVER THE LIMIT'}")

    if args.without:
        skip, missing = dist_files(site, args.without)
        raw_w, comp_w = compressed_size(tree(site, ".heroku/python/lib/site", skip))
        web_total = total - rows[-1][2] + comp_w
        print(f"\nafter bin/post_compile uninstalls {', '.join(d for d in args.without if d not in missing)}:")
        print(f"{'site-packages, build-only ones removed':<44} {mb(raw_w)} {mb(comp_w)}")
        print(f"{'slug':<44} {'':>10} {mb(web_total)}   limit {LIMIT_MB:.0f} MB: "
              f"{'fits' if web_total / 1e6 <= LIMIT_MB else 'OVER THE LIMIT'}")
        if missing:
            print(f"(not installed, nothing to leave out: {', '.join(missing)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
