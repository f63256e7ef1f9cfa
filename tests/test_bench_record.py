"""``python -m benchmarks NAME --record PAGE`` replaces the sections it ran and keeps the others, each section with
the commit and date it was measured at (an older page's sections take the page's commit)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import _kept, _page

OLD = """# Performance

- Recorded: 2026-12-01 10:00 UTC, commit `abc1234`

## `bench_a`

```text
a: 1.0 s
```

## `bench_b`

```text
b: 2.0 s
```
"""


def test_a_partial_record_keeps_the_other_sections_with_their_commit(tmp_path: Path):
    page = tmp_path / "performance.md"
    page.write_text(OLD)
    kept = _kept(page)
    assert kept == {
        "bench_a": ("abc1234", "2026-12-01 10:00", "a: 1.0 s"),
        "bench_b": ("abc1234", "2026-12-01 10:00", "b: 2.0 s"),
    }
    page.write_text(_page([("bench_b", "b: 0.5 s\n")], kept))
    again = _kept(page)
    assert again["bench_a"] == kept["bench_a"]  # not run: as it was, with its own commit
    assert again["bench_b"][2] == "b: 0.5 s" and again["bench_b"][0] != "abc1234"
    assert "`bench_a`, `bench_b`" in page.read_text()


def test_a_first_record_has_only_what_ran(tmp_path: Path):
    assert _kept(tmp_path / "none.md") == {}
    text = _page([("bench_c", "c\n")], {})
    assert "## `bench_c`" in text and "bench_a" not in text
