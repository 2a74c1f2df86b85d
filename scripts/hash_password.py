"""Print a werkzeug password hash for ``STYLE_ATLAS_EDITORS`` (the password is read without echo).

Usage: ``python scripts/hash_password.py NAME`` prints ``NAME:<hash>``; put one such entry per
editor in STYLE_ATLAS_EDITORS (comma-separated) or one per line in a users file it names.
"""

from __future__ import annotations

import getpass
import sys

from werkzeug.security import generate_password_hash


def main(argv: list[str] | None = None) -> int:
    """Ask for the password twice and print ``name:hash``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or ":" in args[0] or "," in args[0]:
        print("usage: python scripts/hash_password.py NAME (no ':' or ',' in the name)", file=sys.stderr)
        return 2
    password = getpass.getpass("password: ")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    if getpass.getpass("again: ") != password:
        print("error: the two passwords differ", file=sys.stderr)
        return 2
    print(f"{args[0]}:{generate_password_hash(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
