"""Self-test of the VIRTIO-* entries (requirements-virtio.toml): the virtio core and
device-type chapters a virtio-msg device owes as any virtio device does.

Checks against shared/spec/tex/virtio-core skip when the spec tree is absent ($VMSG_SPEC_DIR,
else shared/spec in or next to the repository).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from test_catalogue import SHINGLE, _norm, _spec_file, _tex_words
from vmsg_conform import catalogue
from vmsg_conform.catalogue import tex

# Entries per prefix, and how many of them are N/A ("not applicable:" reasons).
EXPECTED = {"VIRTIO-RING": 48, "VIRTIO-CORE": 50, "VIRTIO-RNG": 3, "VIRTIO-BLK": 33, "VIRTIO-BALLOON": 25}
EXPECTED_NA = {"VIRTIO-RING": 2, "VIRTIO-CORE": 9, "VIRTIO-RNG": 0, "VIRTIO-BLK": 13, "VIRTIO-BALLOON": 12}
# Normative blocks per file (the virtio-core README states 16 for each chapter file).
EXPECTED_BLOCKS = {"virtio-core/content.tex": 16, "virtio-core/split-ring.tex": 16,
                   "virtio-core/device-types/entropy/description.tex": 2,
                   "virtio-core/device-types/blk/description.tex": 4,
                   "virtio-core/device-types/balloon/description.tex": 12}
FILE_OF_PREFIX = {"VIRTIO-RING": "split-ring.tex", "VIRTIO-CORE": "content.tex",
                  "VIRTIO-RNG": "device-types/entropy/description.tex",
                  "VIRTIO-BLK": "device-types/blk/description.tex",
                  "VIRTIO-BALLOON": "device-types/balloon/description.tex"}
AREA_OF_PREFIX = {"VIRTIO-RING": "virtio-ring", "VIRTIO-CORE": "virtio-core", "VIRTIO-RNG": "virtio-rng",
                  "VIRTIO-BLK": "virtio-blk", "VIRTIO-BALLOON": "virtio-balloon"}


@pytest.fixture(scope="module")
def cat() -> catalogue.Catalogue:
    return catalogue.load_packaged("requirements-virtio.toml")


def _prefix(rid: str) -> str:
    return rid.rsplit("-", 1)[0]


def _tex(rel: str):
    return _spec_file("tex", *rel.split("/"))


def _na(req) -> bool:
    return bool(req.untestable) and req.untestable.startswith(catalogue.NOT_APPLICABLE)


# ---- contents ---------------------------------------------------------------------------

def test_entries_per_prefix_numbered_without_gaps(cat):
    ids = cat.ids()
    assert len(ids) == len(set(ids))
    assert dict(Counter(_prefix(i) for i in ids)) == EXPECTED
    for prefix, count in EXPECTED.items():
        assert [i for i in ids if _prefix(i) == prefix] == [f"{prefix}-{n:03d}" for n in range(1, count + 1)]


def test_ids_do_not_clash_with_the_other_catalogue_files(cat):
    merged = catalogue.load()  # raises CatalogueError on a duplicate ID across files
    assert set(cat.ids()) <= set(merged.ids())
    assert "requirements-virtio.toml" in catalogue.PACKAGED


# Entries taken from descriptive text (no normative block): a structure's definition.
DESCRIPTIVE = {"VIRTIO-RING-048", "VIRTIO-BLK-032"}


def test_every_entry_is_spec_sourced_from_its_prefix_file_with_a_block(cat):
    for r in cat:
        rel = FILE_OF_PREFIX[_prefix(r.id)]
        assert r.source["kind"] == "spec" and r.source["file"] == f"virtio-core/{rel}", r.id
        assert re.fullmatch(rf"VIRTIO {re.escape(rel)} L\d+(-\d+)?", r.source["lines"]), r.id
        if r.id in DESCRIPTIVE:
            # said so: informative, a "(descriptive)" context instead of a block, a layout keyword
            assert r.informative and not r.block and r.keyword == "layout", r.id
            assert r.source["context"].startswith("(descriptive) "), r.id
        else:
            assert r.block and r.block == r.source["block"] and not r.informative, r.id
        assert r.role in ("device", "driver") and r.area == AREA_OF_PREFIX[_prefix(r.id)], r.id
        assert not r.equivalent and not r.replaces, r.id


def test_new_areas_are_registered():
    assert set(AREA_OF_PREFIX.values()) <= set(catalogue.AREAS)


def test_not_applicable_entries_carry_a_reason(cat):
    counts = Counter(_prefix(r.id) for r in cat if _na(r))
    assert {p: counts.get(p, 0) for p in EXPECTED} == EXPECTED_NA
    for r in cat:
        if r.untestable:  # a reason is a sentence, not a flag
            assert len(r.untestable.split()) >= 6, r.id
    # rules the reference visibly keeps stay testable (the cheapest first tests)
    for rid in ("VIRTIO-CORE-043", "VIRTIO-CORE-049", "VIRTIO-RNG-003", "VIRTIO-RING-031", "VIRTIO-BLK-029"):
        assert cat.get(rid).untestable is None, rid


def test_levels_follow_the_stronger_keyword(cat):
    # a compound keyword ("SHOULD / MUST") normalises to its strongest word, as in requirements.toml
    rank = {"MUST": 0, "MUST NOT": 0, "SHALL": 0, "SHOULD": 1, "SHOULD NOT": 1, "RECOMMENDED": 1, "MAY": 2}
    for r in (r for r in cat if r.id not in DESCRIPTIVE):
        words = [w.strip() for w in r.keyword.split("/")]
        assert set(words) <= set(rank), r.id
        assert ("MUST", "SHOULD", "MAY")[min(rank[w] for w in words)] == r.level.split()[0], r.id
        assert r.level in words or r.level == ("MUST" if "SHALL" in words else "SHOULD"), r.id


# ---- profiles ---------------------------------------------------------------------------

def test_entries_apply_under_both_drafts_and_show_in_both_views():
    merged = catalogue.load()
    virtio = [r for r in merged if r.id.startswith("VIRTIO-")]
    assert virtio and all(r.profiles == ["pr28", "rev1-2026"] for r in virtio)
    for profile in catalogue.DRAFT_PROFILES:
        view = {r.id for r in merged.view(profile)}
        assert {r.id for r in virtio} <= view, profile
        assert merged.translate(["VIRTIO-RNG-003"], profile) == ["VIRTIO-RNG-003"]
    # this file names no draft: each profile keeps the one of its own transport file
    assert merged.spec_for("rev1-2026") == _draft_of("requirements-rev1.toml")
    assert merged.spec_for("pr28") == _draft_of("requirements.toml")


def _draft_of(name: str) -> dict[str, str]:
    meta = tomllib.loads((Path(catalogue.__file__).parent / name).read_text(encoding="utf-8"))["catalogue"]
    return {"draft": meta["draft"], "commit": meta["commit"]}


def test_untested_entries_show_as_untested_not_as_failures():
    merged = catalogue.load()
    rows = {row.requirement.id: row for row in catalogue.coverage(merged, {})}
    assert rows["VIRTIO-CORE-043"].status == "UNTESTED"
    assert rows["VIRTIO-CORE-039"].kind == "not-applicable"  # packed ring: never offered
    assert rows["VIRTIO-CORE-039"].status == cat_reason("VIRTIO-CORE-039")
    assert rows["VIRTIO-CORE-037"].kind == "untestable"  # a permission, not N/A


def cat_reason(rid: str) -> str:
    return catalogue.load_packaged("requirements-virtio.toml").get(rid).untestable


# ---- TeX mapping ------------------------------------------------------------------------

@pytest.mark.parametrize("rel", tex.CORE_TEX)
def test_every_normative_block_of_the_core_tex_maps_to_entries(cat, rel):
    path = _tex(rel)
    blocks = tex.normative_blocks(path)
    assert len(blocks) == EXPECTED_BLOCKS[rel]
    assert tex.unmapped_blocks(cat, path) == []
    assert tex.unknown_blocks(cat, path) == []
    assert [r.id for r in tex.misplaced(cat, path)] == []
    assert tex._entries_of(cat, path), rel  # the file key matches source.file


def test_core_blocks_run_to_the_next_heading_past_their_lists():
    blocks = tex.normative_blocks(_tex("virtio-core/split-ring.tex"))
    used = next(b for b in blocks if b.kind == "device" and b.label.endswith("Used Buffer Notification Suppression"))
    # the block's first list closes at L366; its EVENT_IDX half (L368-378) still belongs to it
    assert (used.line, used.end_line) == (356, 387)


def test_mapping_detects_a_dropped_block_and_a_line_outside_its_block(cat):
    path = _tex("virtio-core/device-types/entropy/description.tex")
    dropped = catalogue.Catalogue(r for r in cat if not r.id.startswith("VIRTIO-RNG-00") or r.role != "device")
    assert [(b.kind, b.label) for b in tex.unmapped_blocks(dropped, path)] == [
        ("device", "Device Types / Entropy Device / Device Operation")]
    import dataclasses
    rng = cat.get("VIRTIO-RNG-003")
    moved = dataclasses.replace(rng, source=dict(rng.source, lines="VIRTIO device-types/entropy/description.tex L34"))
    assert [r.id for r in tex.misplaced(catalogue.Catalogue([moved]), path)] == ["VIRTIO-RNG-003"]


def test_paraphrases_do_not_copy_runs_of_the_core_tex(cat):
    copied = []
    for rel in tex.CORE_TEX:
        lines = _tex(rel).read_text(encoding="utf-8").splitlines()
        for r in (r for r in cat if r.source["file"] == rel):
            first, last = tex.line_range(r)
            source = " ".join(_tex_words(" ".join(lines[first - 1:last])))
            words = _norm(r.text.replace("_", "")).split()
            runs = (" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
            copied += [f"{r.id}: {run!r}" for run in runs if f" {run} " in f" {source} "][:1]
    assert not copied, "paraphrase copies TeX wording: " + "; ".join(copied)
