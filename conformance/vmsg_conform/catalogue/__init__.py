"""The requirement catalogue: every requirement the suite knows, loaded from TOML.

``requirements.toml`` (shipped in this package) holds one ``[[requirement]]`` table per
row of ``shared/spec/requirements.md``, plus the project's ``PCI-nnn`` entries for PCI rules
the virtio-msg documents leave out. ``requirements-rev1.toml`` holds the ``R1-*`` entries of
the second draft (REV1-2026, ``shared/spec/virtio-msg-rev1.md``). ``requirements-virtio.toml``
holds the ``VIRTIO-*`` entries: the rules of the virtio core chapters and of the rng, blk and
balloon device types (``shared/spec/tex/virtio-core/``), which a virtio-msg device owes as any
virtio device does. Both drafts share those chapters, so every ``VIRTIO-*`` entry applies under
pr28 and rev1-2026 alike and needs no ``equivalent``. ``load()`` reads all three.
Tests cite the IDs with ``@pytest.mark.req``; the plugin, the CLI and the reports look them
up here.

Profiles: ``pr28`` (the default draft), ``rev1-2026`` (the second draft) and
``amp-shmem-2026`` (the self-describing AMP layout). A test written against one draft runs
under the other through ``equivalent``: :meth:`Catalogue.translate` maps its citations to
the IDs of the profile in force, and a test left with none is not applicable there.

Fields of one entry (all checked on load, see ``_parse_entry``):

=============  ==========================================================================
``id``         stable ID: ``VMSG-BUS-nnn``, ``VMSG-GEN-nnn``, ``VMSG-DRV-nnn``,
               ``VMSG-DEV-nnn`` (PR28), ``R1-BUS-nnn``, ``R1-GEN-nnn``, ``R1-DRV-nnn``,
               ``R1-DEV-nnn`` (REV1-2026), ``AMP-nnn``, ``PCI-nnn`` (PCI rules the project
               adds: the draft and requirements.md leave them out, the fault modes break
               them), ``READ-Gnn`` (the project readings G1-G15 of virtio-msg.md §14.2) or
               ``VIRTIO-RING|CORE|RNG|BLK|BALLOON-nnn`` (the virtio core and device-type
               chapters: split-ring.tex, content.tex, the entropy, blk, balloon chapters)
``level``      normalised keyword: MUST, MUST NOT, SHOULD, SHOULD NOT, MAY, or READING
               (a project reading where the draft is silent, virtio-msg.md §14.2)
``keyword``    the keyword as the source writes it ("MUST / MAY", "shall (proposal)", "RO")
``strength``   must | should | may | reading: decides the verdict of a broken check
               (FAIL, WARN, INFO, INFO; see ``vmsg_conform.verdicts``)
``role``       who the rule binds: device, driver, bus, amp-device, amp-driver, general
``area``       one of ``AREAS``; used by ``--vmsg-area``
``informative``  true for keywords found in informative text (no normative block)
``profiles``   the profiles the requirement applies to (``PROFILES``)
``text``       the project's own one- or two-sentence summary of what is checked
``untestable`` optional: why no black-box test can check it from outside; a reason that
               starts "not applicable:" marks a rule that binds a transport, a ring layout
               or a feature the targets' devices do not have (``NOT_APPLICABLE``)
``equivalent`` optional: IDs of entries of other profiles whose rule is the same in
               substance (same observable behaviour); the relation is symmetric once
               loaded (:meth:`Catalogue.equivalents`), so one side declaring it is enough
``replaces``   optional: IDs of entries of other profiles whose rule this one changed (a
               new strength, a narrower or wider scope). Unlike ``equivalent`` it never
               makes a test applicable by itself: a test whose check holds under both
               versions cites both IDs, and a check naming the old ID is then graded by
               the new one (:meth:`Catalogue.successors`)
``source``     where it comes from: ``kind = "spec"`` (draft, commit, file, lines,
               conformance, block or context; REV1 lines read ``REV1 L<a>-<b>``, the
               virtio core chapters' ``VIRTIO <file> L<a>-<b>`` with ``file`` the path
               under ``tex/``, e.g. ``virtio-core/split-ring.tex``),
               ``kind = "qemu"`` (document, section) or
               ``kind = "pci"`` (document, section: the PCI specifications) or
               ``kind = "reading"`` (document, section: a project reading)
=============  ==========================================================================
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AREAS", "DRAFT_PROFILES", "LEVELS", "NOT_APPLICABLE", "PACKAGED", "PROFILES", "ROLES", "STRENGTHS", "Catalogue",
    "CatalogueError", "CoverageRow", "Requirement", "coverage", "format_coverage", "load", "loads",
]

LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY", "READING")
STRENGTHS = ("must", "should", "may", "reading")
ROLES = ("device", "driver", "bus", "amp-device", "amp-driver", "general")
AREAS = (
    "pci", "registers", "fifo", "interrupts", "bus", "discovery", "hotplug", "wire",
    "transport", "features", "config", "status", "virtqueue", "notifications",
    "robustness", "device-types", "shmem",
    # the virtio core and device-type chapters (requirements-virtio.toml), one area per prefix
    "virtio-core", "virtio-ring", "virtio-rng", "virtio-blk", "virtio-balloon",
)
#: How an ``untestable`` reason starts when the rule does not apply to the targets at all.
NOT_APPLICABLE = "not applicable:"
#: Profiles a run can select; the first is the default.
PROFILES = ("pr28", "rev1-2026", "amp-shmem-2026")
#: The two drafts: an entry of one alone has no place in the other's view (see Catalogue.view).
DRAFT_PROFILES = ("pr28", "rev1-2026")
#: The packaged catalogue files, read and merged in this order by ``load()``.
PACKAGED = ("requirements.toml", "requirements-rev1.toml", "requirements-virtio.toml")
SOURCE_KINDS = {"spec": ("draft", "commit", "file", "lines"), "qemu": ("document", "section"),
                "pci": ("document", "section"), "reading": ("document", "section")}

_STRENGTH_OF = {"MUST": "must", "MUST NOT": "must", "SHOULD": "should",
                "SHOULD NOT": "should", "MAY": "may", "READING": "reading"}
_ID_RE = re.compile(r"^(?:(?:(?:VMSG|R1)-(?:BUS|GEN|DRV|DEV)|AMP|PCI|VIRTIO-(?:RING|CORE|RNG|BLK|BALLOON))-\d{3}"
                    r"|READ-G\d{2})$")
_REQUIRED = ("id", "level", "keyword", "strength", "role", "area", "profiles", "text", "source")
_OPTIONAL = ("informative", "untestable", "equivalent", "replaces")
_GLOB_CHARS = frozenset("*?[")


class CatalogueError(ValueError):
    """The catalogue file is unreadable or an entry breaks the schema; the
    message names the file and the entry."""


@dataclass(frozen=True, eq=True)
class Requirement:
    """One catalogue entry (see the module docstring for the fields)."""

    id: str
    level: str
    keyword: str
    strength: str
    role: str
    area: str
    informative: bool
    source: dict[str, Any]
    text: str
    profiles: list[str]
    untestable: str | None = None
    block: str | None = None
    equivalent: tuple[str, ...] = ()  # as declared by this entry; Catalogue.equivalents is symmetric
    replaces: tuple[str, ...] = ()  # the other profiles' entries this one changed (Catalogue.successors)

    def __hash__(self) -> int:  # the ID is unique in a catalogue; lists are not hashable
        return hash(self.id)

    def applies_to(self, profile: str) -> bool:
        """True when the requirement belongs to ``profile``."""
        return profile in self.profiles


class Catalogue:
    """An ordered, validated set of requirements with lookup and selection."""

    def __init__(self, requirements: Iterable[Requirement], *, spec: Mapping[str, str] | None = None,
                 profiles: Iterable[str] = (), path: str | None = None,
                 specs: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._reqs: dict[str, Requirement] = {}
        for req in requirements:
            if req.id in self._reqs:
                raise CatalogueError(f"duplicate requirement ID {req.id}")
            self._reqs[req.id] = req
        self.spec: dict[str, str] = dict(spec or {})
        self.profiles: list[str] = list(profiles)
        self.path = path
        # the draft each profile's entries come from (merged files: the last file naming it)
        self._specs = {p: dict(s) for p, s in (specs or {}).items()}
        forward, backward = self._link("equivalent")
        self._equivalents = {rid: self._in_order(set(forward.get(rid, [])) | set(backward.get(rid, [])))
                             for rid in set(forward) | set(backward)}
        _, replaced_by = self._link("replaces")
        self._successors = {rid: self._in_order(news) for rid, news in replaced_by.items()}
        if overlap := [(a, b) for a, bs in self._successors.items() for b in bs if b in self._equivalents.get(a, [])]:
            raise CatalogueError(f"{self.path or '(memory)'}: {overlap[0][1]} both replaces and is equivalent "
                                 f"to {overlap[0][0]}")

    def _in_order(self, ids: Iterable[str]) -> list[str]:
        order = {rid: i for i, rid in enumerate(self._reqs)}
        return sorted(ids, key=order.__getitem__)

    def _link(self, attr: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The pairs entries declare in ``attr`` (declaring ID -> named IDs) and the same
        pairs reversed; a declaration that names an unknown ID, the entry itself, or an
        entry sharing a profile with it is refused."""
        forward: dict[str, list[str]] = {}
        backward: dict[str, list[str]] = {}
        for req in self:
            for other in getattr(req, attr):
                where = f"{self.path or '(memory)'}: {req.id}"
                if other == req.id:
                    raise CatalogueError(f"{where}: {attr} names the entry itself")
                if other not in self._reqs:
                    raise CatalogueError(f"{where}: {attr} names unknown requirement ID {other}")
                shared = set(req.profiles) & set(self._reqs[other].profiles)
                if shared:
                    # the pair stands in for an ID that does not apply; inside one
                    # profile both would apply and the pair would mean nothing
                    raise CatalogueError(f"{where}: {attr} {other} shares profile(s) "
                                         f"{', '.join(sorted(shared))}; {attr} links different profiles")
                forward.setdefault(req.id, []).append(other)
                backward.setdefault(other, []).append(req.id)
        return forward, backward

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._reqs.values())

    def __len__(self) -> int:
        return len(self._reqs)

    def __contains__(self, rid: object) -> bool:
        return rid in self._reqs

    def __repr__(self) -> str:
        return f"<Catalogue {len(self)} requirements from {self.path or '(memory)'}>"

    def get(self, rid: str) -> Requirement:
        """The requirement with this ID; KeyError when there is none."""
        try:
            return self._reqs[rid]
        except KeyError:
            raise KeyError(f"unknown requirement ID {rid!r}") from None

    def ids(self) -> list[str]:
        """All IDs in catalogue order."""
        return list(self._reqs)

    def spec_for(self, profile: str) -> dict[str, str]:
        """Draft and commit of the text behind ``profile`` (``spec`` when no file names it)."""
        return dict(self._specs.get(profile) or self.spec)

    def equivalents(self, rid: str) -> list[str]:
        """IDs equivalent to ``rid``, whichever side declared the pair, in catalogue order;
        KeyError for an unknown ID."""
        self.get(rid)
        return list(self._equivalents.get(rid, []))

    def successors(self, rid: str, profile: str | None = None) -> list[str]:
        """The entries that changed ``rid``'s rule (their ``replaces`` names it), in catalogue
        order, only those applying to ``profile`` when given; KeyError for an unknown ID."""
        self.get(rid)
        return [s for s in self._successors.get(rid, []) if profile is None or self._reqs[s].applies_to(profile)]

    def _check_profile(self, profile: str) -> None:
        if self.profiles and profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(self.profiles)})")

    def translate(self, ids: Iterable[str], profile: str) -> list[str]:
        """The IDs a test citing ``ids`` checks under ``profile``, in citation order.

        An ID that applies stays; one that does not is replaced by those of its equivalents
        that apply or, having none, by those of its successors (``replaces``) that ``ids``
        cites too; duplicates go. An empty result means the test is not applicable under
        ``profile``. KeyError for an unknown ID, ValueError for an unknown profile.
        """
        ids = list(ids)
        return list(dict.fromkeys(other for rid in ids for other in self.counterparts(rid, profile, ids)))

    def counterparts(self, rid: str, profile: str, cited: Iterable[str] = ()) -> list[str]:
        """What ``rid`` is read as under ``profile`` in a test citing ``cited``: itself when it
        applies, else its equivalents that apply, else its successors that apply and are
        cited. KeyError for an unknown ID, ValueError for an unknown profile."""
        self._check_profile(profile)
        if self.get(rid).applies_to(profile):
            return [rid]
        same = [o for o in self._equivalents.get(rid, []) if self._reqs[o].applies_to(profile)]
        cited = set(cited)
        return same or [s for s in self.successors(rid, profile) if s in cited]

    def view(self, profile: str) -> list[Requirement]:
        """The entries a matrix or report under ``profile`` lists, in catalogue order: under
        a draft (``DRAFT_PROFILES``), those that apply and those that belong to no other
        draft (the amp-shmem-2026 entries under pr28, say), leaving out the other draft's
        own entries; under any other profile, every entry."""
        self._check_profile(profile)
        others = set(DRAFT_PROFILES) - {profile} if profile in DRAFT_PROFILES else set()
        return [r for r in self if r.applies_to(profile) or not others or not set(r.profiles) <= others]

    def unknown(self, ids: Iterable[str]) -> list[str]:
        """The given IDs that are not in the catalogue, in first-seen order."""
        seen: dict[str, None] = {}
        for rid in ids:
            if rid not in self._reqs:
                seen.setdefault(rid, None)
        return list(seen)

    def select(self, ids_or_globs: str | Iterable[str] | None = None, level: str | Iterable[str] | None = None,
               area: str | Iterable[str] | None = None, role: str | Iterable[str] | None = None
               ) -> list[Requirement]:
        """Requirements matching every given filter, in catalogue order.

        ``ids_or_globs``: IDs or fnmatch globs ("VMSG-DEV-0*"), case-insensitive; a plain
        ID that is not in the catalogue raises KeyError (a glob matching nothing does not).
        ``level``: a level ("MUST NOT") or a strength ("must", which also takes MUST NOT).
        ``area`` / ``role``: exact names, case-insensitive. Each filter takes one value
        or several (any of them matches).
        """
        patterns = [p.upper() for p in _as_list(ids_or_globs)]
        for p in patterns:
            if not _GLOB_CHARS & set(p) and p not in self._reqs:
                raise KeyError(f"unknown requirement ID {p!r}")
        levels = {v.upper() for v in _as_list(level)}
        areas = {v.lower() for v in _as_list(area)}
        roles = {v.lower() for v in _as_list(role)}
        out = []
        for req in self:
            if patterns and not any(fnmatch.fnmatchcase(req.id, p) for p in patterns):
                continue
            if levels and not {req.level, req.strength.upper()} & levels:
                continue
            if areas and req.area not in areas:
                continue
            if roles and req.role not in roles:
                continue
            out.append(req)
        return out


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def load(path: str | Path | Iterable[str | Path] | None = None) -> Catalogue:
    """Load and validate a catalogue: the packaged files (``PACKAGED``) by default, else the
    file at ``path``, or the files of a list of paths merged in order.

    Raises CatalogueError for unreadable files, invalid TOML and schema violations.
    """
    if path is None:
        return load_packaged(*PACKAGED)
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    parts = []
    for p in paths:
        try:
            parts.append((Path(p).read_bytes(), str(p)))
        except OSError as exc:
            raise CatalogueError(f"{p}: cannot read: {exc}") from None
    return _merge([_parse(data, where) for data, where in parts])


def load_packaged(*names: str) -> Catalogue:
    """The named packaged files (``PACKAGED`` entries), merged in the order given."""
    parts = []
    for name in names:
        where = f"{name} (packaged)"
        try:
            data = importlib.resources.files(__name__).joinpath(name).read_bytes()
        except OSError as exc:
            raise CatalogueError(f"{where}: cannot read: {exc}") from None
        parts.append(_parse(data, where))
    return _merge(parts)


def loads(data: bytes | str, where: str = "<string>") -> Catalogue:
    """Parse catalogue TOML text (``load`` of one file without the file access)."""
    return _merge([_parse(data, where)])


@dataclass
class _Part:
    """One parsed catalogue file."""

    where: str
    reqs: list[Requirement]
    spec: dict[str, str]
    profiles: list[str]


def _merge(parts: list[_Part]) -> Catalogue:
    """One catalogue of several files: IDs unique across them, profiles in first-seen order;
    the first file's draft is the catalogue's ``spec``, the last file naming a profile gives
    that profile's draft (``spec_for``)."""
    reqs: list[Requirement] = []
    seen: dict[str, str] = {}
    profiles: dict[str, None] = {}
    specs: dict[str, dict[str, str]] = {}
    for part in parts:
        for req in part.reqs:
            if req.id in seen:
                raise CatalogueError(f"{part.where}: {req.id}: duplicate requirement ID (also in {seen[req.id]})")
            seen[req.id] = part.where
            reqs.append(req)
        for p in part.profiles:
            profiles.setdefault(p, None)
            if part.spec:  # a later file is the more specific one (requirements-rev1.toml)
                specs[p] = part.spec
    where = " + ".join(part.where for part in parts)
    return Catalogue(reqs, spec=parts[0].spec if parts else {}, profiles=list(profiles), path=where,
                     specs=specs)


def _parse(data: bytes | str, where: str) -> _Part:
    """Parse and validate one catalogue file."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        doc = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{where}: invalid TOML: {exc}") from None
    meta = doc.get("catalogue", {})
    if not isinstance(meta, dict):
        raise CatalogueError(f"{where}: [catalogue] must be a table")
    if meta.get("schema", 1) != 1:
        raise CatalogueError(f"{where}: unsupported schema {meta.get('schema')!r} (expected 1)")
    profiles = meta.get("profiles", [])
    if not _is_str_list(profiles):
        raise CatalogueError(f"{where}: [catalogue] profiles must be a list of strings")
    stray = [p for p in profiles if p not in PROFILES]
    if stray:
        raise CatalogueError(f"{where}: unknown profile(s) {', '.join(stray)} in [catalogue] "
                             f"(known: {', '.join(PROFILES)})")
    extra = set(doc) - {"catalogue", "requirement"}
    if extra:
        raise CatalogueError(f"{where}: unknown top-level key(s) {', '.join(sorted(extra))}")
    entries = doc.get("requirement")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{where}: no [[requirement]] entries")
    reqs: list[Requirement] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        req = _parse_entry(entry, index, where, profiles)
        if req.id in seen:
            raise CatalogueError(f"{where}: {req.id}: duplicate requirement ID")
        seen.add(req.id)
        reqs.append(req)
    spec = {k: meta[k] for k in ("draft", "commit") if isinstance(meta.get(k), str)}
    return _Part(where, reqs, spec, list(profiles))


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _parse_entry(entry: object, index: int, where: str, known_profiles: list[str]) -> Requirement:
    """Validate one [[requirement]] table; every error names the entry."""
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: entry #{index}: not a table")
    rid = entry.get("id")
    name = rid if isinstance(rid, str) and rid else f"entry #{index}"

    def fail(why: str) -> CatalogueError:
        return CatalogueError(f"{where}: {name}: {why}")

    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")
    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise fail(f"unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "level", "keyword", "strength", "role", "area", "text"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise fail(f"{key} must be a non-empty string")
    if not _ID_RE.match(entry["id"]):
        raise fail("malformed ID (expected VMSG-BUS|GEN|DRV|DEV-nnn, R1-BUS|GEN|DRV|DEV-nnn, AMP-nnn, "
                   "PCI-nnn, VIRTIO-RING|CORE|RNG|BLK|BALLOON-nnn or READ-Gnn)")
    level = entry["level"]
    if level not in LEVELS:
        raise fail(f"bad level {level!r} (expected one of {', '.join(LEVELS)})")
    if entry["strength"] != _STRENGTH_OF[level]:
        raise fail(f"strength {entry['strength']!r} does not match level {level} "
                   f"(expected {_STRENGTH_OF[level]!r})")
    if entry["role"] not in ROLES:
        raise fail(f"bad role {entry['role']!r} (expected one of {', '.join(ROLES)})")
    if entry["area"] not in AREAS:
        raise fail(f"bad area {entry['area']!r} (expected one of {', '.join(AREAS)})")
    informative = entry.get("informative", False)
    if not isinstance(informative, bool):
        raise fail("informative must be true or false")
    profiles = entry["profiles"]
    if not _is_str_list(profiles) or not profiles:
        raise fail("profiles must be a non-empty list of strings")
    if known_profiles:
        stray = [p for p in profiles if p not in known_profiles]
        if stray:
            raise fail(f"profile(s) {', '.join(stray)} not declared in [catalogue] profiles")
    untestable = entry.get("untestable")
    if untestable is not None and (not isinstance(untestable, str) or not untestable.strip()):
        raise fail("untestable must be a non-empty string (leave it out when testable)")
    source = entry["source"]
    if not isinstance(source, dict):
        raise fail("source must be a table")
    kind = source.get("kind")
    if kind not in SOURCE_KINDS:
        raise fail(f"source.kind must be one of {', '.join(SOURCE_KINDS)}")
    lacking = [k for k in SOURCE_KINDS[kind] if not isinstance(source.get(k), str) or not source[k]]
    if lacking:
        raise fail(f"source ({kind}) lacks {', '.join(lacking)}")
    block = source.get("block")
    if block is not None and (not isinstance(block, str) or not block):
        raise fail("source.block must be a non-empty string")
    equivalent, replaces = (_id_list(entry, name, fail) for name in ("equivalent", "replaces"))
    return Requirement(
        id=entry["id"], level=level, keyword=entry["keyword"], strength=entry["strength"],
        role=entry["role"], area=entry["area"], informative=informative, source=dict(source),
        text=" ".join(entry["text"].split()), profiles=list(profiles), untestable=untestable,
        block=block, equivalent=equivalent, replaces=replaces)


def _id_list(entry: Mapping[str, Any], name: str, fail) -> tuple[str, ...]:
    """An optional list-of-IDs field, checked: IDs well formed, none twice."""
    ids = entry.get(name, [])
    if not _is_str_list(ids):
        raise fail(f"{name} must be a list of requirement IDs")
    bad = [e for e in ids if not _ID_RE.match(e)]
    if bad:
        raise fail(f"{name}: malformed ID(s) {', '.join(bad)}")
    if len(set(ids)) != len(ids):
        raise fail(f"{name} lists an ID twice")
    return tuple(ids)



# Imported last: coverage.py uses the types above.
from .coverage import CoverageRow, coverage, format_coverage  # noqa: E402
