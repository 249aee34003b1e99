"""The house rule of issue #14: no module of chalicelib/ over 500 lines (a longer one is two
modules that have not been split yet)."""

from __future__ import annotations

from pathlib import Path

MAX_LINES = 500
ROOT = Path(__file__).resolve().parents[2] / "chalicelib"


def test_no_module_over_500_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in ROOT.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package, not an empty folder
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}
