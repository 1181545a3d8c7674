"""Check the catalogue against the drafts' TeX: every normative block must be mapped.

``transport-msg.tex`` marks its normative text with ``\\devicenormative``,
``\\drivernormative`` and ``\\busnormative``, each carrying a reference label such as
``Virtio Transport Options / Virtio Over Messages / Basic Concepts / Endianness / Device``.
The catalogue stores the label without that common prefix (as requirements.md does), so
the two are compared on the stripped form.

Both drafts are checked this way: ``transport-msg.tex`` (PR28) and ``transport-msg-rev1.tex``
(REV1-2026). Their block labels overlap, so an entry belongs to the TeX file its
``source.file`` names; REV1 line ranges read ``REV1 L<a>-<b>``.

The virtio core chapters (``CORE_TEX``, under ``tex/virtio-core/``) are checked the same way.
There ``source.file`` is the path under ``tex/`` (three device types each have a
``description.tex``) and lines read ``VIRTIO <path under virtio-core> L<a>-<b>``. Their blocks
are prose with lists inside, so a block runs to the next heading, not to the end of its first
list as in ``transport-msg.tex``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Catalogue, Requirement

LABEL_PREFIX = "Virtio Transport Options / Virtio Over Messages / "
TEX_NAME = "transport-msg.tex"
REV1_TEX_NAME = "transport-msg-rev1.tex"
ROLE_OF_KIND = {"device": "device", "driver": "driver", "bus": "bus"}
CORE_DIR = "virtio-core"
#: The virtio core TeX files whose normative blocks the catalogue maps, as paths under ``tex/``.
CORE_TEX = tuple(f"{CORE_DIR}/{name}" for name in (
    "content.tex", "split-ring.tex", "device-types/entropy/description.tex",
    "device-types/blk/description.tex", "device-types/balloon/description.tex"))

# \<kind>normative{\paragraph}{Title}{Label}; the title may hold one level of braces
# (\msgref{...}), the label none.
_BLOCK_RE = re.compile(
    r"\\(device|driver|bus)normative\s*\{\\[A-Za-z]+\}\s*"
    r"\{((?:[^{}]|\{[^{}]*\})*)\}\s*\{([^{}]*)\}")
# A block is the list right after its heading; should a block not open with a list,
# it ends where the next heading or block starts.
_HEADING_RE = re.compile(
    r"^\s*\\(?:(?:sub)*section|paragraph|chapter|msgdef|busdef|(?:device|driver|bus)normative)\b")
_LIST_RE = re.compile(r"\\(begin|end)\{(?:itemize|enumerate|description)\}")


@dataclass(frozen=True)
class NormativeBlock:
    """One normative block of the TeX: its kind, label (prefix removed), title and the
    1-based lines from its heading to the line before the next heading."""

    kind: str
    label: str
    title: str
    line: int
    end_line: int

    @property
    def role(self) -> str:
        """The catalogue role whose entries belong in this block."""
        return ROLE_OF_KIND[self.kind]


def spec_dir() -> Path | None:
    """The spec tree: $VMSG_SPEC_DIR if set, else ``shared/spec`` inside or next to the
    repository (a source checkout); None when none exists."""
    env = os.environ.get("VMSG_SPEC_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]  # conformance/vmsg_conform/catalogue/tex.py
    for candidate in (repo / "shared" / "spec", repo.parent / "shared" / "spec"):
        if candidate.is_dir():
            return candidate
    return None


def spec_path(*parts: str) -> Path | None:
    """``<spec dir>/<parts...>`` when that file exists, else None."""
    root = spec_dir()
    path = root.joinpath(*parts) if root else None
    return path if path is not None and path.is_file() else None


def default_tex_path(name: str = TEX_NAME) -> Path | None:
    """``<spec dir>/tex/<name>`` (PR28's ``transport-msg.tex`` by default) when it exists,
    else None."""
    return spec_path("tex", name)


def _resolve(path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    found = default_tex_path()
    if found is None:
        raise FileNotFoundError(f"{TEX_NAME} not found: set VMSG_SPEC_DIR to the spec tree")
    return found


def tex_key(path: str | Path) -> str:
    """How ``source.file`` names the TeX file at ``path``: its path under the spec tree's
    ``tex/`` for a virtio core file, else its file name."""
    path = Path(path)
    root = spec_dir()
    if root is not None:
        try:
            rel = path.resolve().relative_to((root / "tex").resolve()).as_posix()
        except ValueError:
            rel = None
        if rel is not None and rel.startswith(f"{CORE_DIR}/"):
            return rel
    return path.name


def _entries_of(catalogue: Catalogue, path: str | Path | None) -> list[Requirement]:
    """The entries drawn from the TeX file at ``path`` (by ``source.file``)."""
    key = tex_key(_resolve(path))
    return [r for r in catalogue if r.source.get("file") == key]


def strip_prefix(label: str) -> str:
    """The label without the common ``Virtio Transport Options / Virtio Over Messages``
    prefix, whitespace normalised."""
    label = " ".join(label.split())
    return label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label


def normative_blocks(path: str | Path | None = None) -> list[NormativeBlock]:
    """Every normative block of the TeX file, in file order."""
    path = _resolve(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    heading_lines = [i + 1 for i, ln in enumerate(lines) if _HEADING_RE.match(ln)]
    to_heading = tex_key(path).startswith(f"{CORE_DIR}/")
    blocks = []
    for m in _BLOCK_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        end = _block_end(lines, line, heading_lines, to_heading)
        blocks.append(NormativeBlock(kind=m.group(1), label=strip_prefix(m.group(3)),
                                     title=" ".join(m.group(2).split()), line=line, end_line=end))
    return blocks


def _block_end(lines: list[str], line: int, heading_lines: list[int], to_heading: bool = False) -> int:
    """Last line of the block whose heading is on ``line`` (1-based); with ``to_heading``
    the line before the next heading, else the end of the first list."""
    after = [h for h in heading_lines if h > line]
    limit = (after[0] - 1) if after else len(lines)
    if to_heading:
        return limit
    depth = 0
    for number in range(line + 1, limit + 1):
        for m in _LIST_RE.finditer(lines[number - 1]):
            depth += 1 if m.group(1) == "begin" else -1
            if depth == 0:
                return number
    return limit


def unmapped_blocks(catalogue: Catalogue, path: str | Path | None = None) -> list[NormativeBlock]:
    """Blocks of the TeX that no catalogue entry of the matching role names."""
    mapped = {(r.role, r.block) for r in _entries_of(catalogue, path) if r.block}
    return [b for b in normative_blocks(path) if (b.role, b.label) not in mapped]


def unknown_blocks(catalogue: Catalogue, path: str | Path | None = None) -> list[Requirement]:
    """Catalogue entries naming a block (with their role's kind) that the TeX lacks."""
    present = {(b.role, b.label) for b in normative_blocks(path)}
    return [r for r in _entries_of(catalogue, path) if r.block and (r.role, r.block) not in present]


def line_range(req: Requirement) -> tuple[int, int] | None:
    """The TeX lines of a spec entry (``"L120-122"``, ``"REV1 L120-122"`` or
    ``"VIRTIO split-ring.tex L120-122"`` → (120, 122)); None for others."""
    m = re.fullmatch(r"(?:REV1 |VIRTIO \S+ )?L(\d+)(?:-(\d+))?", str(req.source.get("lines", "")))
    if m is None:
        return None
    first = int(m.group(1))
    return first, int(m.group(2) or first)


def misplaced(catalogue: Catalogue, path: str | Path | None = None) -> list[Requirement]:
    """Entries with a block whose TeX line range is not inside that block."""
    spans = {(b.role, b.label): (b.line, b.end_line) for b in normative_blocks(path)}
    bad = []
    for req in _entries_of(catalogue, path):
        span = spans.get((req.role, req.block)) if req.block else None
        rng = line_range(req)
        if span is None or rng is None:
            continue
        if not (span[0] <= rng[0] <= rng[1] <= span[1]):
            bad.append(req)
    return bad
