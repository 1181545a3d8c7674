"""The JSON report: the whole RunResult, readable back with results.from_json."""

from __future__ import annotations

from pathlib import Path

from ..results import RunResult, from_json, to_json


def write(run: RunResult, path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_json(run) + "\n", encoding="utf-8")


def read(path: str | Path) -> RunResult:
    return from_json(Path(path).read_text(encoding="utf-8"))
