"""Report writers: JSON (the full record), JUnit XML (for CI systems) and a
static HTML requirement matrix. Each takes a :class:`~vmsg_conform.results.RunResult`."""

from __future__ import annotations

from pathlib import Path

from ..results import RunResult
from . import html, json_report, junit

FILES = {"json": "report.json", "junit": "junit.xml", "html": "report.html"}


def write_all(run: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / name for k, name in FILES.items()}
    json_report.write(run, paths["json"])
    junit.write(run, paths["junit"])
    html.write(run, paths["html"])
    return paths
