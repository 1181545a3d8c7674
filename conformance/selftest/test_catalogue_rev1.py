"""Self-test of the REV1-2026 catalogue (requirements-rev1.toml): its map onto the normative
blocks of tex/transport-msg-rev1.tex, the equivalence with PR28 entries, the translation of
citations between profiles, and what the plugin and the CLI make of it.

Checks against shared/spec skip when the spec tree is absent ($VMSG_SPEC_DIR).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

import vmsg_fakes
from vmsg_conform import catalogue, cli, plugin
from vmsg_conform.catalogue import CatalogueError, tex

pytest_plugins = ["pytester"]

R1_CATEGORIES = {"R1-BUS": "bus", "R1-GEN": "general", "R1-DRV": "driver", "R1-DEV": "device"}
# The issue speaks of 67 normative blocks: that is `grep -c normative` of the TeX, six of
# whose hits are prose (L122, L577, L781, L942, L952, L1089). The macros open 61 blocks.
REV1_BLOCKS = {"driver": 24, "device": 21, "bus": 16}
SHINGLE = 6  # as test_catalogue.py: a run of six words shared with the TeX counts as copied


@pytest.fixture(scope="module")
def cat() -> catalogue.Catalogue:
    return catalogue.load()


@pytest.fixture(scope="module")
def r1(cat) -> list[catalogue.Requirement]:
    return [r for r in cat if r.id.startswith("R1-")]


def _spec_file(*parts: str) -> Path:
    path = tex.spec_path(*parts)
    if path is None:
        pytest.skip(f"spec tree absent ({'/'.join(parts)}); set VMSG_SPEC_DIR")
    return path


def _rev1_tex() -> Path:
    return _spec_file("tex", tex.REV1_TEX_NAME)


# ---- contents ---------------------------------------------------------------------------

def test_packaged_catalogue_merges_both_files(cat, r1):
    pr28 = catalogue.load_packaged("requirements.toml")
    virtio = catalogue.load_packaged("requirements-virtio.toml")  # the core chapters, both drafts
    assert len(cat) == len(pr28) + len(r1) + len(virtio) and len(r1) > 200
    assert cat.ids()[:len(pr28)] == pr28.ids()  # PR28 first, then REV1, then the core chapters
    assert cat.ids()[len(pr28):len(pr28) + len(r1)] == [r.id for r in r1]
    assert cat.profiles == ["pr28", "rev1-2026", "amp-shmem-2026"]
    assert not any(r.id.startswith("R1-AMP") for r in cat)  # REV1 has no AMP-bus rule


def test_r1_ids_roles_profiles_and_levels(r1):
    by_cat = Counter(r.id.rsplit("-", 1)[0] for r in r1)
    assert set(by_cat) == set(R1_CATEGORIES)
    for name, count in by_cat.items():
        numbers = sorted(int(r.id.rsplit("-", 1)[1]) for r in r1 if r.id.startswith(name + "-"))
        assert numbers == list(range(1, count + 1)), name
    for r in r1:
        assert r.role == R1_CATEGORIES[r.id.rsplit("-", 1)[0]], r.id
        assert r.profiles == ["rev1-2026"] and r.applies_to("rev1-2026") and not r.applies_to("pr28"), r.id
        assert r.level in catalogue.LEVELS and r.level != "READING", r.id
        assert r.level in [k.strip() for k in r.keyword.split("/")], r.id
        if r.level == "MAY":  # a bare permission cannot be broken
            assert r.untestable, r.id
    assert all(len(r.untestable.split()) >= 6 for r in r1 if r.untestable)


def test_r1_sources_name_the_rev1_text_and_its_pin(r1):
    digest = _spec_file("virtio-msg-rev1.md").read_text(encoding="utf-8")
    pin = re.search(r"`(wmamills/virtio-msg-spec)` at commit `([0-9a-f]{40})`", digest)
    assert pin
    for r in r1:
        src = r.source
        assert (src["kind"], src["file"], src["draft"], src["commit"]) == (
            "spec", tex.REV1_TEX_NAME, pin.group(1), pin.group(2)), r.id
        assert re.fullmatch(r"REV1 L\d+(-\d+)?", src["lines"]), r.id
        first, last = tex.line_range(r)
        assert first <= last, r.id
        assert "conformance" not in src, r.id  # REV1 has no conformance.tex


def test_rev1_tex_has_61_normative_blocks():
    path = _rev1_tex()
    text = path.read_text(encoding="utf-8")
    assert sum(1 for ln in text.splitlines() if "normative" in ln) == 67  # the count
    blocks = tex.normative_blocks(path)
    assert Counter(b.kind for b in blocks) == REV1_BLOCKS
    assert len(blocks) == 61


def test_every_rev1_block_maps_to_entries_inside_it(cat):
    path = _rev1_tex()
    assert tex.unmapped_blocks(cat, path) == []
    assert tex.unknown_blocks(cat, path) == []
    assert [r.id for r in tex.misplaced(cat, path)] == []
    for block in tex.normative_blocks(path):
        inside = [r for r in cat if r.source.get("file") == tex.REV1_TEX_NAME and r.block == block.label
                  and r.role == block.role and block.line <= tex.line_range(r)[0] <= tex.line_range(r)[1]
                  <= block.end_line]
        assert inside, f"no R1 entry inside {block.kind} block {block.label} (L{block.line})"


def test_every_r1_entry_lies_in_a_normative_block_or_is_informative(r1):
    spans = [(b.line, b.end_line) for b in tex.normative_blocks(_rev1_tex())]
    for r in r1:
        first, last = tex.line_range(r)
        in_block = any(a <= first <= last <= b for a, b in spans)
        if r.block is not None:
            assert in_block, r.id
        else:  # keyword text outside the blocks, like PR28's VMSG-GEN-001
            assert r.informative and not in_block and r.source.get("context"), r.id


def test_the_rev1_map_notices_a_dropped_or_moved_entry(cat):
    path = _rev1_tex()
    label = "Transport Messages / VIRTIO_MSG_GET_SHM / Device"
    dropped = catalogue.Catalogue(r for r in cat if r.block != label or not r.id.startswith("R1-"))
    assert [b.label for b in tex.unmapped_blocks(dropped, path)] == [label]
    shm = cat.get("R1-DEV-085")
    import dataclasses
    moved = dataclasses.replace(shm, source=dict(shm.source, lines="REV1 L100-101"), replaces=())
    assert [r.id for r in tex.misplaced(catalogue.Catalogue([moved]), path)] == ["R1-DEV-085"]
    # a PR28 entry does not count for the REV1 text although the labels match
    pr28_only = catalogue.Catalogue(r for r in cat if not r.id.startswith("R1-"))
    assert len(tex.unmapped_blocks(pr28_only, path)) == 61


def _tex_words(text: str) -> list[str]:
    text = re.sub(r"\\[a-zA-Z]+\*?", " ", text).replace("\\_", "_")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.replace("_", "").lower()).split()).split()


def test_r1_paraphrases_do_not_copy_runs_of_the_rev1_wording(r1):
    lines = _rev1_tex().read_text(encoding="utf-8").splitlines()
    copied = []
    for r in r1:
        first, last = tex.line_range(r)
        source = " " + " ".join(_tex_words(" ".join(lines[first - 1:last]))) + " "
        words = _tex_words(r.text)
        for i in range(len(words) - SHINGLE + 1):
            run = " ".join(words[i:i + SHINGLE])
            if f" {run} " in source:
                copied.append(f"{r.id}: {run!r}")
                break
    assert not copied, "paraphrase copies REV1 TeX wording: " + "; ".join(copied)


# ---- equivalence ------------------------------------------------------------------------

def test_equivalences_are_valid_symmetric_and_cross_profile(cat, r1):
    pairs = 0
    for r in cat:
        for other in cat.equivalents(r.id):
            pairs += 1
            o = cat.get(other)
            assert r.id in cat.equivalents(other), (r.id, other)
            assert not set(r.profiles) & set(o.profiles), (r.id, other)
            # the same rule keeps its weight; a reading REV1 made a rule is the one exception
            if "READING" not in (r.level, o.level):
                assert r.strength == o.strength, (r.id, other)
    assert pairs % 2 == 0 and pairs > 0
    # only REV1 entries declare, and only towards PR28 entries
    for r in cat:
        if r.equivalent:
            assert r.id.startswith("R1-") and all(not e.startswith("R1-") for e in r.equivalent), r.id
    assert sum(1 for r in r1 if r.equivalent) >= 80


@pytest.mark.parametrize("rid", [
    "R1-BUS-015",  # the size floor is 52, not 44
    "R1-DEV-050",  # GET_DEVICE_INFO counts feature blocks, not bits
    "R1-DEV-085",  # GET_SHM has 64-bit fields and a shmid
    "R1-DEV-020",  # generation mismatch is refused only under the strict profile
    "R1-DEV-010",  # the generation changes; it need not grow
    "R1-DEV-037",  # token copying is new
    "R1-BUS-064",  # GET_DEVICES: new layout and terminal rule
    "R1-DEV-045",  # EVENT_USED is a MUST now (PR28: SHOULD)
    "R1-DEV-067",  # reset may complete asynchronously
])
def test_rules_rev1_changed_have_no_equivalent(cat, rid):
    assert cat.equivalents(rid) == []


@pytest.mark.parametrize("rid, old", [
    ("R1-DEV-010", ["VMSG-DEV-006", "VMSG-DEV-007"]),  # the generation changes; growth no longer required
    ("R1-DEV-045", ["VMSG-DEV-037"]),  # EVENT_USED: SHOULD became MUST
    ("R1-DEV-067", ["VMSG-DEV-030", "VMSG-DEV-041"]),  # reset may complete asynchronously
    ("R1-DEV-085", ["VMSG-DEV-059"]),  # GET_SHM's new layout
])
def test_changed_rules_name_what_they_replace(cat, rid, old):
    assert list(cat.get(rid).replaces) == old
    assert all(cat.successors(o) == [rid] and cat.successors(o, "pr28") == [] for o in old)
    # replacing never makes a test applicable on its own: the old ID alone has no counterpart
    assert all(cat.translate([o], "rev1-2026") == [] for o in old)


def test_replaces_is_refused_inside_one_profile_or_beside_an_equivalent(fake):
    import dataclasses
    r5 = fake.get("R1-DEV-005")
    with pytest.raises(CatalogueError, match="replaces links different profiles"):
        catalogue.Catalogue([fake.get("R1-DEV-004"), dataclasses.replace(r5, replaces=("R1-DEV-004",))])
    with pytest.raises(CatalogueError, match="both replaces and is equivalent"):
        catalogue.Catalogue([fake.get("VMSG-DEV-004"),
                             dataclasses.replace(r5, equivalent=("VMSG-DEV-004",))])


@pytest.mark.parametrize("rid, pr28", [
    ("R1-BUS-069", ["VMSG-BUS-047"]),  # PING echo
    ("R1-DEV-024", ["VMSG-DEV-011", "VMSG-DEV-022", "VMSG-DEV-046"]),
    ("R1-DEV-039", ["VMSG-BUS-028"]),
    ("R1-DEV-072", ["READ-G10"]),
    ("R1-GEN-001", ["VMSG-GEN-001"]),
])
def test_rules_kept_by_rev1_are_equivalent(cat, rid, pr28):
    assert cat.equivalents(rid) == pr28
    for other in pr28:
        assert rid in cat.equivalents(other)


# A small two-file catalogue for the translation and loader checks.
FAKE_PR28 = """
[catalogue]
profiles = ["pr28", "rev1-2026", "amp-shmem-2026"]
draft = "d"
commit = "c28"
""" + "".join(f"""
[[requirement]]
id = "{rid}"
level = "{level}"
keyword = "{level}"
strength = "{level.split()[0].lower()}"
role = "device"
area = "wire"
profiles = {profiles}
text = "rule {rid}"
source = {{ kind = "spec", draft = "d", commit = "c28", file = "transport-msg.tex", lines = "L1" }}
""" for rid, level, profiles in [
    ("VMSG-DEV-001", "MUST", '["pr28"]'), ("VMSG-DEV-002", "MUST", '["pr28"]'),
    ("VMSG-DEV-003", "MUST", '["pr28"]'), ("VMSG-DEV-004", "SHOULD", '["pr28"]'),
    ("AMP-001", "MUST", '["pr28", "rev1-2026"]'),
    ("AMP-101", "MUST", '["amp-shmem-2026"]')])

FAKE_R1 = """
[catalogue]
profiles = ["rev1-2026"]
draft = "d"
commit = "c1"
""" + "".join(f"""
[[requirement]]
id = "{rid}"
level = "{level}"
keyword = "{level}"
strength = "{level.lower()}"
role = "device"
area = "wire"
profiles = ["rev1-2026"]
text = "rule {rid}"
{eq}
source = {{ kind = "spec", draft = "d", commit = "c1", file = "transport-msg-rev1.tex", lines = "REV1 L1" }}
""" for rid, level, eq in [
    ("R1-DEV-001", "SHOULD", 'equivalent = ["VMSG-DEV-001"]'),
    ("R1-DEV-002", "MUST", 'equivalent = ["VMSG-DEV-003"]'),
    ("R1-DEV-003", "MUST", 'equivalent = ["VMSG-DEV-003"]'),
    ("R1-DEV-004", "MUST", ""),
    ("R1-DEV-005", "MUST", 'replaces = ["VMSG-DEV-004"]')])


@pytest.fixture
def fake(tmp_path) -> catalogue.Catalogue:
    (tmp_path / "a.toml").write_text(FAKE_PR28, encoding="utf-8")
    (tmp_path / "b.toml").write_text(FAKE_R1, encoding="utf-8")
    return catalogue.load([tmp_path / "a.toml", tmp_path / "b.toml"])


def test_translate_keeps_replaces_and_drops(fake):
    assert fake.translate(["VMSG-DEV-001", "AMP-001"], "pr28") == ["VMSG-DEV-001", "AMP-001"]
    assert fake.translate(["VMSG-DEV-001", "AMP-001"], "rev1-2026") == ["R1-DEV-001", "AMP-001"]
    assert fake.translate(["VMSG-DEV-003"], "rev1-2026") == ["R1-DEV-002", "R1-DEV-003"]
    # no equivalent, or none that applies: nothing left, the test is not applicable
    assert fake.translate(["VMSG-DEV-002"], "rev1-2026") == []
    assert fake.translate(["R1-DEV-004"], "pr28") == []
    assert fake.translate(["AMP-101"], "rev1-2026") == []
    # a changed rule (replaces) stands in only where the test cites it too
    assert fake.translate(["VMSG-DEV-004"], "rev1-2026") == []
    assert fake.translate(["VMSG-DEV-004", "AMP-001", "R1-DEV-005"], "rev1-2026") == ["R1-DEV-005", "AMP-001"]
    assert fake.translate(["VMSG-DEV-004", "R1-DEV-005"], "pr28") == ["VMSG-DEV-004"]
    assert fake.successors("VMSG-DEV-004") == ["R1-DEV-005"] and fake.successors("VMSG-DEV-004", "pr28") == []
    assert fake.counterparts("VMSG-DEV-004", "rev1-2026", ["R1-DEV-005"]) == ["R1-DEV-005"]
    assert fake.equivalents("VMSG-DEV-004") == [] and fake.equivalents("R1-DEV-005") == []
    # both directions; citation order kept, duplicates dropped
    assert fake.translate(["R1-DEV-003", "R1-DEV-002", "R1-DEV-001"], "pr28") == ["VMSG-DEV-003", "VMSG-DEV-001"]
    assert fake.translate(["VMSG-DEV-003", "R1-DEV-003"], "rev1-2026") == ["R1-DEV-002", "R1-DEV-003"]
    assert fake.translate([], "rev1-2026") == []


def test_translate_refuses_unknown_ids_and_profiles(fake):
    with pytest.raises(KeyError):
        fake.translate(["VMSG-DEV-999"], "pr28")
    with pytest.raises(ValueError, match="unknown profile 'rev2'"):
        fake.translate(["VMSG-DEV-001"], "rev2")
    with pytest.raises(ValueError, match="unknown profile"):
        fake.view("auto")
    with pytest.raises(KeyError):
        fake.equivalents("R1-DEV-999")


def test_equivalents_are_symmetric_in_the_loaded_view(fake):
    assert fake.equivalents("VMSG-DEV-003") == ["R1-DEV-002", "R1-DEV-003"]
    assert fake.equivalents("R1-DEV-002") == ["VMSG-DEV-003"]
    assert fake.equivalents("VMSG-DEV-002") == []


def test_view_leaves_out_the_other_drafts_own_entries(fake):
    assert [r.id for r in fake.view("pr28")] == ["VMSG-DEV-001", "VMSG-DEV-002", "VMSG-DEV-003", "VMSG-DEV-004",
                                                 "AMP-001", "AMP-101"]
    assert [r.id for r in fake.view("rev1-2026")] == ["AMP-001", "AMP-101", "R1-DEV-001", "R1-DEV-002",
                                                      "R1-DEV-003", "R1-DEV-004", "R1-DEV-005"]
    assert len(fake.view("amp-shmem-2026")) == len(fake)


def test_each_profile_keeps_the_draft_of_its_own_file(fake):
    assert fake.spec == {"draft": "d", "commit": "c28"}
    assert fake.spec_for("pr28")["commit"] == "c28" and fake.spec_for("rev1-2026")["commit"] == "c1"


@pytest.mark.parametrize("edit, needle", [
    (lambda a, b: (a, b.replace('equivalent = ["VMSG-DEV-001"]', 'equivalent = ["VMSG-DEV-009"]')),
     "R1-DEV-001: equivalent names unknown requirement ID VMSG-DEV-009"),
    (lambda a, b: (a, b.replace('equivalent = ["VMSG-DEV-001"]', 'equivalent = ["AMP-001"]')),
     "R1-DEV-001: equivalent AMP-001 shares profile(s) rev1-2026"),
    (lambda a, b: (a, b.replace('equivalent = ["VMSG-DEV-001"]', 'equivalent = ["R1-DEV-004"]')),
     "shares profile(s) rev1-2026"),
    (lambda a, b: (a, b.replace('id = "R1-DEV-004"', 'id = "AMP-001"')), "AMP-001: duplicate requirement ID"),
    (lambda a, b: (a, b.replace('profiles = ["rev1-2026"]\ndraft', 'profiles = ["rev9"]\ndraft')),
     "unknown profile(s) rev9"),
])
def test_bad_equivalence_and_merge_errors_name_the_entry(tmp_path, edit, needle):
    a, b = edit(FAKE_PR28, FAKE_R1)
    (tmp_path / "a.toml").write_text(a, encoding="utf-8")
    (tmp_path / "b.toml").write_text(b, encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        catalogue.load([tmp_path / "a.toml", tmp_path / "b.toml"])
    assert needle in str(info.value)


def test_the_rev1_file_alone_is_refused_for_its_dangling_equivalents():
    # equivalence is checked on the loaded view: without the PR28 file its targets are missing
    with pytest.raises(CatalogueError, match="equivalent names unknown requirement ID VMSG-"):
        catalogue.load_packaged("requirements-rev1.toml")


# ---- the packaged suite under each profile ---------------------------------------------------

@pytest.fixture(scope="module")
def suite_citations():
    """{profile: (catalogue, {nodeid: IDs as the plugin reads them})} of the packaged suite."""
    from _pytest.pytester import SysModulesSnapshot

    snap = SysModulesSnapshot(preserve=lambda name: name.startswith(("vmsg_conform", "hypothesis", "_pytest")))
    try:
        return {p: cli.collect(profile=p) for p in ("pr28", "rev1-2026")}
    finally:
        snap.restore()


@pytest.mark.parametrize("profile", ["pr28", "rev1-2026"])
def test_every_suite_test_cites_only_ids_of_its_profile(suite_citations, profile):
    cat, citations = suite_citations[profile]
    applicable = not_applicable = 0
    for nodeid, ids in citations.items():
        assert ids, nodeid
        if plugin._primary_applies(cat, ids, profile):
            # what the plugin records is already the translation, all of this profile
            assert plugin.translate(cat, ids, profile) == ids, nodeid
            assert all(cat.get(i).applies_to(profile) for i in ids), nodeid
            applicable += 1
        else:  # skipped as not applicable (its primary has no counterpart); it keeps its own IDs
            assert not cat.get(ids[0]).applies_to(profile), nodeid
            not_applicable += 1
    assert applicable > 500
    if profile == "pr28":
        # only the REV1-only tests (every ID an R1 one) are not applicable under PR28
        na = [n for n, ids in citations.items() if not plugin._primary_applies(cat, ids, profile)]
        assert all(i.startswith("R1-") for n in na for i in citations[n]), na
        # the REV1 files (test_r1_*) are N/A as a whole; of the shared tests only a few may be
        shared = [n for n in na if "/test_r1_" not in n]
        assert len(shared) < 50, shared
        assert len(na) == not_applicable
    else:
        assert 0 < not_applicable < applicable
        assert any(i.startswith("R1-") for ids in citations.values() for i in ids)


def test_rev1_reads_a_shared_test_through_its_equivalents(suite_citations):
    _, pr28 = suite_citations["pr28"]
    cat, rev1 = suite_citations["rev1-2026"]
    ping = [n for n, ids in pr28.items() if ids == ["VMSG-BUS-047"]]
    assert ping and all(rev1[n] == ["R1-BUS-069"] for n in ping)
    # rules REV1 changed: a test citing the new rule too is read under it ...
    changed = [n for n, ids in pr28.items() if ids == ["VMSG-BUS-016", "VMSG-BUS-017"]]
    assert changed and all(rev1[n] == ["R1-BUS-025", "R1-BUS-026"] for n in changed)
    # ... one citing the old rule alone keeps it, and is skipped under rev1-2026
    old_only = [n for n, ids in pr28.items() if ids[0] == "VMSG-DEV-062" and "R1-DEV-045" not in rev1[n]]
    assert old_only and all(rev1[n] == pr28[n] and not plugin._primary_applies(cat, rev1[n], "rev1-2026")
                            for n in old_only)
    # a primary REV1 dropped makes the test not applicable, whatever else it cites
    unaligned = [n for n in pr28 if "test_unaligned_window_is_discarded" in n]
    assert unaligned and not any(plugin._primary_applies(cat, rev1[n], "rev1-2026") for n in unaligned)


# ---- plugin: skipping, citations and grading under rev1-2026 ---------------------------------

CONFTEST = f'''
from pathlib import Path
from vmsg_conform import catalogue

HERE = Path(__file__).parent
(HERE / "a.toml").write_text({FAKE_PR28!r})
(HERE / "b.toml").write_text({FAKE_R1!r})
CAT = catalogue.load([HERE / "a.toml", HERE / "b.toml"])

def pytest_vmsg_catalogue(config):
    return CAT
'''

TESTS = '''
import pytest
from vmsg_conform import verdicts

@pytest.mark.req("VMSG-DEV-001")
def test_named_check_fails():
    verdicts.check(False, "VMSG-DEV-001", "broken as written for PR28")

@pytest.mark.req("VMSG-DEV-001", "AMP-001")
def test_plain_assert_fails():
    assert False, "plain"

@pytest.mark.req("VMSG-DEV-002")
def test_pr28_only():
    pass

@pytest.mark.req("VMSG-DEV-003")
def test_two_equivalents():
    pass

@pytest.mark.req("R1-DEV-004")
def test_rev1_only():
    pass

@pytest.mark.req("VMSG-DEV-001", "VMSG-DEV-002")
def test_check_of_a_pr28_only_rule():
    verdicts.check(False, "VMSG-DEV-002", "a rule REV1 lacks")

@pytest.mark.req("VMSG-DEV-002", "VMSG-DEV-001")
def test_plain_assert_of_a_pr28_only_primary():
    assert False, "primary is PR28 only"

@pytest.mark.req("VMSG-DEV-004", "R1-DEV-005")
def test_changed_rule_cited_both_ways():
    verdicts.check(False, "VMSG-DEV-004", "broken")

@pytest.mark.req("VMSG-DEV-004")
def test_changed_rule_cited_the_old_way():
    pass
'''


@pytest.fixture
def rtree(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_rev=TESTS)
    return pytester


NA_R1 = "not applicable to profile pr28: its primary requirement R1-DEV-004 has no counterpart there (cites R1-DEV-004)"


def _by_name(data):
    return {t["nodeid"].split("::")[-1]: t for t in data["tests"]}


def test_plugin_under_pr28_grades_and_skips_as_before(rtree):
    _, data = vmsg_fakes.run(rtree)
    by = _by_name(data)
    assert {k: v["verdict"] for k, v in by.items()} == {
        "test_named_check_fails": "FAIL", "test_plain_assert_fails": "FAIL", "test_pr28_only": "PASS",
        "test_two_equivalents": "PASS", "test_rev1_only": "SKIP", "test_check_of_a_pr28_only_rule": "FAIL",
        "test_plain_assert_of_a_pr28_only_primary": "FAIL", "test_changed_rule_cited_both_ways": "WARN",
        "test_changed_rule_cited_the_old_way": "PASS"}
    assert by["test_changed_rule_cited_both_ways"]["broken"] == ["VMSG-DEV-004"]
    assert by["test_named_check_fails"]["broken"] == ["VMSG-DEV-001"]
    assert by["test_check_of_a_pr28_only_rule"]["broken"] == ["VMSG-DEV-002"]
    assert by["test_plain_assert_of_a_pr28_only_primary"]["broken"] == ["VMSG-DEV-002"]
    assert by["test_rev1_only"]["message"] == NA_R1
    assert data["metadata"]["spec"]["commit"] == "c28"
    assert not any(r.startswith("R1-") for r in data["requirement_verdicts"])


def test_plugin_under_rev1_translates_citations_skips_and_grades(rtree):
    _, data = vmsg_fakes.run(rtree, "--vmsg-profile", "rev1-2026")
    by = _by_name(data)
    # R1-DEV-001 is a SHOULD: a broken check of its PR28 equivalent (a MUST) is a WARN here
    assert {k: v["verdict"] for k, v in by.items()} == {
        "test_named_check_fails": "WARN", "test_plain_assert_fails": "WARN", "test_pr28_only": "SKIP",
        "test_two_equivalents": "PASS", "test_rev1_only": "PASS", "test_check_of_a_pr28_only_rule": "INFO",
        "test_plain_assert_of_a_pr28_only_primary": "SKIP", "test_changed_rule_cited_both_ways": "FAIL",
        "test_changed_rule_cited_the_old_way": "SKIP"}
    # a failed check of a rule REV1 does not have is a note, neither a FAIL nor a suite defect
    name = "test_check_of_a_pr28_only_rule"
    assert by[name]["reqs"] == ["R1-DEV-001"] and by[name]["broken"] == [], name
    assert "VMSG-DEV-002 is not a rule of profile rev1-2026" in by[name]["message"], name
    # a test whose primary REV1 lacks does not apply, whatever else it cites
    assert by["test_plain_assert_of_a_pr28_only_primary"]["message"].startswith(
        "not applicable to profile rev1-2026: its primary requirement VMSG-DEV-002 has no counterpart")
    # a changed rule cited both ways is graded by the new one (a MUST here, a SHOULD in PR28)
    changed = by["test_changed_rule_cited_both_ways"]
    assert changed["reqs"] == ["R1-DEV-005"] and changed["broken"] == ["R1-DEV-005"]
    assert "checked as VMSG-DEV-004" in changed["message"]
    assert by["test_named_check_fails"]["reqs"] == ["R1-DEV-001"]
    assert by["test_named_check_fails"]["broken"] == ["R1-DEV-001"]
    assert "suite defect" not in by["test_named_check_fails"]["message"]
    assert "checked as VMSG-DEV-001" in by["test_named_check_fails"]["message"]
    assert by["test_plain_assert_fails"]["reqs"] == ["R1-DEV-001", "AMP-001"]
    assert by["test_plain_assert_fails"]["broken"] == ["R1-DEV-001"]
    assert by["test_two_equivalents"]["reqs"] == ["R1-DEV-002", "R1-DEV-003"]
    assert by["test_pr28_only"]["message"] == ("not applicable to profile rev1-2026: its primary requirement "
                                               "VMSG-DEV-002 has no counterpart there (cites VMSG-DEV-002)")
    rows = {k: v["verdict"] for k, v in data["requirement_verdicts"].items()}
    assert rows["R1-DEV-001"] == "WARN" and rows["R1-DEV-002"] == "PASS"
    assert not any(r.startswith("VMSG-") for r in rows)  # PR28's own entries have no row
    assert data["metadata"]["spec"]["commit"] == "c1" and data["metadata"]["profile"] == "rev1-2026"


def test_plugin_selects_by_either_id_and_refuses_an_unknown_profile(rtree):
    _, data = vmsg_fakes.run(rtree, "--vmsg-profile", "rev1-2026", "--vmsg-req", "VMSG-DEV-003")
    assert list(_by_name(data)) == ["test_two_equivalents"]
    _, data = vmsg_fakes.run(rtree, "--vmsg-profile", "rev1-2026", "--vmsg-req", "R1-DEV-002")
    assert list(_by_name(data)) == ["test_two_equivalents"]
    res, _ = vmsg_fakes.run(rtree, "--vmsg-profile", "rev2")
    assert res.ret == 4 and "unknown profile" in "\n".join(res.errlines)
    # auto asks the target (the embedded reference, a PR28 device here) and reads the citations that way
    _, data = vmsg_fakes.run(rtree, "--vmsg-profile", "auto")
    assert data["metadata"]["profile"] == "pr28"
    assert "answered with 32 bytes" in data["metadata"]["profile_detection"]
    assert _by_name(data)["test_rev1_only"]["message"] == NA_R1
    assert _by_name(data)["test_named_check_fails"]["broken"] == ["VMSG-DEV-001"]


# ---- CLI ----------------------------------------------------------------------------------

def test_cli_list_shows_the_rev1_matrix(capsys):
    assert cli.main(["list", "--profile", "rev1-2026", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert not any(i.startswith("VMSG-") for i in ids)
    r1 = {r["id"]: r for r in rows if r["id"].startswith("R1-")}
    assert len(r1) == sum(1 for r in catalogue.load() if r.id.startswith("R1-"))
    assert all(r["applicable"] for r in r1.values())
    assert r1["R1-BUS-069"]["tests"] and r1["R1-BUS-069"]["equivalent"] == ["VMSG-BUS-047"]
    assert r1["R1-BUS-001"]["untestable"] and not r1["R1-BUS-001"]["tests"]
    assert cli.main(["list", "--profile", "rev1-2026", "--req", "R1-BUS-00[12]"]) == 0
    out = capsys.readouterr().out
    assert "R1-BUS-001" in out and "UNTESTABLE (a permission" in out
    assert out.rstrip().endswith("(profile rev1-2026)")


@pytest.mark.parametrize("command", [["list"], ["run"], ["matrix"], ["diff"], ["replay", "t.json"]])
def test_profile_options_accept_only_known_profiles(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(command + ["--profile", "rev2"])
    assert info.value.code == 2
    assert "invalid choice: 'rev2'" in capsys.readouterr().err
    args = cli._parser().parse_args(command + ["--profile", "auto"])
    assert args.profile == "auto"
