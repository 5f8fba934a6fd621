"""The README's bad-input table (issue 14): at least 40 rows, each naming a test that exists.

A row is ``| input | what the user sees | what is kept | `test_name` |``; the named function must
be defined in a test module under ``tests/``, so a renamed or deleted test breaks this check
instead of leaving a row that nothing backs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Bad input: what you see, what is kept"


def _rows() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*def (test_\w+)\(", path.read_text(encoding="utf-8"),
                                re.MULTILINE))
    return names


def test_the_bad_input_table_has_forty_rows_each_backed_by_a_test() -> None:
    rows = _rows()
    assert len(rows) >= 40, f"{len(rows)} rows"
    defined = _defined_tests()
    for row in rows:
        assert len(row) == 4 and all(row), f"a row needs 4 filled cells: {row}"
        named = re.findall(r"`(test_\w+)`", row[3])
        assert named, f"no test named in {row}"
        missing = [n for n in named if n not in defined]
        assert not missing, f"{row[0]}: no test {missing}"
