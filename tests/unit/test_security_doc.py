"""docs/security.md names real tests: every ``file::test`` it cites in this tree exists
(rows of another branch's work, marked "fuzz branch", are checked only when their file is here)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = {
    "W/": "tests/integration/web/",
    "E/": "tests/e2e/web/",
    "P/": "tests/property/",
}


def test_every_test_the_security_page_cites_exists():
    text = (ROOT / "docs/security.md").read_text()
    cited: list[tuple[str, str]] = []
    for line in text.splitlines():
        module = None
        for m in re.finditer(r"`((?:[WEP]/)?[\w/]*test_\w+\.py)?(?:::(test_\w+))?`", line):
            path, name = m.group(1), m.group(2)
            if path:
                for short, full in PREFIXES.items():
                    if path.startswith(short):
                        path = full + path[len(short) :]
                module = path
            if name and module:
                cited.append((module, name))
    assert len(cited) >= 50
    missing = []
    for module, name in cited:
        f = ROOT / module
        if not f.exists():
            continue  # another branch's file (marked "fuzz branch" on the page)
        if not re.search(rf"^(async )?def {name}\(", f.read_text(), re.M):
            missing.append(f"{module}::{name}")
    assert missing == []
