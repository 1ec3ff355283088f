"""Each benchmark writes its own section of docs/benchmarks.md, between markers, and
leaves the others as they are."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured by `make bench` (bench/). These machines are noisy, so every speed is set against
a baseline measured in the same run, against the same servers, or stated with the load
that produced it.
"""


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text.strip()}\n{end}"
    current = path.read_text() if path.exists() else HEADER
    if start in current:
        pattern = re.escape(start) + ".*?" + re.escape(end)
        updated = re.sub(pattern, lambda _: block, current, flags=re.S)
    else:
        if "<!--" not in current:  # written before benchmarks had sections: start afresh
            current = HEADER
        updated = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(updated)
