"""Self-test of the requirement catalogue: contents, schema checks, queries, coverage, TeX map.

These cover the PR28 file, requirements.toml; the REV1-2026 entries, equivalence and
translation are in test_catalogue_rev1.py.

Checks against shared/spec (requirements.md, tex/transport-msg.tex) skip when the spec
tree is absent ($VMSG_SPEC_DIR, else shared/spec in or next to the repository).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from pathlib import Path

import pytest

from vmsg_conform import catalogue
from vmsg_conform.catalogue import CatalogueError, tex

# Row counts stated by requirements.md ("Row counts" table).
EXPECTED_ROWS = {"VMSG-BUS": 50, "VMSG-GEN": 1, "VMSG-DRV": 71, "VMSG-DEV": 62, "AMP": 29}
# PCI rules the project adds (not rows of requirements.md): what fault modes break.
EXPECTED_PCI = ("PCI-001", "PCI-002")
# The project readings G1-G15 of virtio-msg.md §14.2 (not rows of requirements.md either):
# where the draft is silent, a broken reading is INFO, never FAIL.
EXPECTED_READINGS = tuple(f"READ-G{n:02d}" for n in range(1, 16))
# Entries without a requirements.md row to compare with.
PROJECT_ADDED = frozenset(EXPECTED_PCI + EXPECTED_READINGS)
MD_ROWS = sum(EXPECTED_ROWS.values())  # 213
TOTAL = MD_ROWS + len(EXPECTED_PCI) + len(EXPECTED_READINGS)
EXPECTED_INFORMATIVE = {"VMSG-BUS-048", "VMSG-BUS-049", "VMSG-BUS-050", "VMSG-DRV-068",
                        "VMSG-DRV-069", "VMSG-DRV-070", "VMSG-DRV-071"}
ROLE_OF_CATEGORY = {"VMSG-BUS": "bus", "VMSG-GEN": "general", "VMSG-DRV": "driver", "VMSG-DEV": "device"}
# A paraphrase this close to the requirements.md wording counts as copied.
MAX_SIMILARITY = 0.8
# A run of this many consecutive words shared with the TeX counts as copied.
SHINGLE = 6


@pytest.fixture(scope="module")
def cat() -> catalogue.Catalogue:
    return catalogue.load_packaged("requirements.toml")


def _category(rid: str) -> str:
    return rid.rsplit("-", 1)[0]


def _spec_file(*parts: str) -> Path:
    path = tex.spec_path(*parts)
    if path is None:
        pytest.skip(f"spec tree absent ({'/'.join(parts)}); set VMSG_SPEC_DIR")
    return path


def _md_rows() -> dict[str, list[str]]:
    """requirements.md requirement rows: ID -> table cells."""
    rows: dict[str, list[str]] = {}
    for line in _spec_file("requirements.md").read_text(encoding="utf-8").splitlines():
        if not re.match(r"^\| (?:VMSG-[A-Z]+|AMP)-\d{3} \|", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.match(r"^L\d", cells[1]):
            continue  # the table of corrected line ranges, not a requirement
        rows[cells[0]] = cells
    return rows


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


# ---- contents ---------------------------------------------------------------------------

def test_packaged_catalogue_has_every_requirement_row(cat):
    assert MD_ROWS == 213
    assert len(cat) == TOTAL == 230
    assert all(isinstance(r, catalogue.Requirement) for r in cat)


def test_rows_per_category_match_requirements_md_counts(cat):
    counts = Counter(_category(r.id) for r in cat)
    assert dict(counts) == {**EXPECTED_ROWS, "PCI": len(EXPECTED_PCI), "READ": len(EXPECTED_READINGS)}
    amp = [int(r.id[4:]) for r in cat if r.id.startswith("AMP-")]
    assert sorted(amp) == list(range(1, 21)) + list(range(101, 110))


def test_ids_are_unique_well_formed_and_numbered_without_gaps(cat):
    ids = cat.ids()
    assert len(ids) == len(set(ids))
    for cat_name, count in EXPECTED_ROWS.items():
        if cat_name == "AMP":
            continue
        numbers = sorted(int(i.rsplit("-", 1)[1]) for i in ids if _category(i) == cat_name)
        assert numbers == list(range(1, count + 1)), cat_name
    assert tuple(i for i in ids if _category(i) == "PCI") == EXPECTED_PCI
    assert tuple(i for i in ids if _category(i) == "READ") == EXPECTED_READINGS
    assert all(re.fullmatch(r"(VMSG-(BUS|GEN|DRV|DEV)|AMP|PCI)-\d{3}|READ-G\d{2}", i) for i in ids)


def test_informative_rows_are_exactly_the_inf_rows_and_untestable(cat):
    inf = {r.id for r in cat if r.informative}
    assert inf == EXPECTED_INFORMATIVE
    for rid in inf:
        req = cat.get(rid)
        assert req.untestable and req.block is None and "conformance" not in req.source


def test_levels_strengths_and_roles_follow_the_normalisation_rules(cat):
    strength = {"MUST": "must", "MUST NOT": "must", "SHOULD": "should", "SHOULD NOT": "should", "MAY": "may",
                "READING": "reading"}
    for r in cat:
        assert r.strength == strength[r.level], r.id
        if r.id.startswith("VMSG-"):
            assert r.role == ROLE_OF_CATEGORY[_category(r.id)], r.id
        elif r.id.startswith("READ-"):
            assert r.role in ("device", "bus"), r.id  # readings fill gaps of the device and bus rules
        else:
            assert r.role in ("amp-device", "amp-driver"), r.id
    # compound keywords keep their wording and normalise to the stronger keyword
    assert (cat.get("VMSG-DEV-035").keyword, cat.get("VMSG-DEV-035").level) == ("MUST / MAY", "MUST")
    assert (cat.get("VMSG-DEV-053").keyword, cat.get("VMSG-DEV-053").level) == ("MAY / MUST", "MUST")
    assert (cat.get("VMSG-DRV-071").keyword, cat.get("VMSG-DRV-071").level) == ("SHOULD / MAY", "SHOULD")
    # AMP kinds map to MUST with the source's word kept
    assert (cat.get("AMP-001").keyword, cat.get("AMP-001").level) == ("shall (proposal)", "MUST")
    assert (cat.get("AMP-004").keyword, cat.get("AMP-004").level) == ("RO / RAZ-WI", "MUST")
    # AMP-006 states only QEMU's implementation (access-size hints): a reading, INFO (D30)
    assert all(r.level == "MUST" for r in cat if r.id.startswith("AMP-") and r.id != "AMP-006")
    assert (cat.get("AMP-006").keyword, cat.get("AMP-006").level) == ("impl", "READING")


def test_level_counts_match_the_keywords_of_requirements_md(cat):
    # requirements.md: 126 MUST + 1 MUST (inf) + "MUST / MAY" + "MAY / MUST" = 129 MUST;
    # 27 SHOULD + 2 SHOULD (inf) + "SHOULD / MAY (inf)" = 30; 8 MAY + 3 MAY (inf) = 11.
    levels = Counter(r.level for r in cat if r.id.startswith("VMSG-"))
    assert levels == {"MUST": 129, "MUST NOT": 12, "SHOULD": 30, "SHOULD NOT": 2, "MAY": 11}
    assert {r.id for r in cat if r.level == "SHOULD NOT"} == {"VMSG-BUS-004", "VMSG-BUS-009"}


def test_levels_and_sources_agree_with_requirements_md(cat):
    rows = _md_rows()
    assert set(rows) == set(cat.ids()) - PROJECT_ADDED
    for rid, cells in rows.items():
        req = cat.get(rid)
        written = cells[1].replace("(inf)", "").strip()
        assert req.keyword == written, rid
        assert req.informative == ("(inf)" in cells[1]), rid
        if rid.startswith("VMSG-"):
            assert req.source["lines"] == cells[4], rid
            if cells[3].startswith("("):
                assert req.block is None, rid
            else:
                assert req.block == cells[3] == req.source["block"], rid
                assert req.source["conformance"] == f"conformance.tex {cells[5]}", rid


# Readings REV1 settles normatively (virtio-msg-rev1.md, the R1 entries named in the comment
# above each reading): under rev1-2026 the REV1 rule decides, so these are pr28 only.
SETTLED_BY_REV1 = {"READ-G08", "READ-G09", "READ-G10", "READ-G11", "READ-G13", "READ-G14"}


def test_profiles_split_pr28_from_rev1_and_the_2026_shmem_layout(cat):
    for r in cat:
        n = int(r.id[4:]) if r.id.startswith("AMP-") else 0
        if n >= 101:
            assert r.profiles == ["amp-shmem-2026"] and not r.applies_to("pr28"), r.id
            assert r.untestable, r.id
        elif r.id.startswith(("AMP-", "PCI-")):  # the AMP PCI bus is the same under both drafts
            assert r.profiles == ["pr28", "rev1-2026"], r.id
        elif r.id in SETTLED_BY_REV1 or r.id.startswith("VMSG-"):
            assert r.profiles == ["pr28"], r.id
        else:  # a reading where REV1 is as silent as PR28
            assert r.id.startswith("READ-") and r.profiles == ["pr28", "rev1-2026"], r.id


def test_each_reading_records_its_rev1_decision_in_a_comment():
    text = (Path(catalogue.__file__).parent / "requirements.toml").read_text(encoding="utf-8")
    for rid in EXPECTED_READINGS:
        comment = re.search(r"\[\[requirement\]\]\n# (.*)\nid = \"" + rid + "\"", text)
        assert comment, rid
        expected = "pr28 only: REV1" if rid in SETTLED_BY_REV1 else "rev1-2026 too: REV1"
        assert comment.group(1).startswith(expected), rid


def test_pci_entries_cite_the_pci_specification_and_bind_the_function(cat):
    for rid in EXPECTED_PCI:
        r = cat.get(rid)
        assert r.source["kind"] == "pci" and r.source["document"] and r.source["section"], rid
        assert (r.role, r.level, r.strength) == ("amp-device", "MUST", "must"), rid
        assert r.untestable is None and r.block is None and not r.informative, rid
        assert r.applies_to("pr28"), rid
    assert cat.get("PCI-001").area == "pci" and cat.get("PCI-002").area == "interrupts"
    # only the pci kind may name a PCI document; the other entries keep their own kinds
    assert {r.source["kind"] for r in cat if r.id not in PROJECT_ADDED} == {"spec", "qemu"}


def test_reading_entries_are_the_project_readings_of_virtio_msg_md(cat):
    for n, rid in enumerate(EXPECTED_READINGS, start=1):
        r = cat.get(rid)
        assert r.source == {"kind": "reading", "document": "virtio-msg.md", "section": f"§14.2 G{n}"}, rid
        assert (r.level, r.strength, r.keyword) == ("READING", "reading", "project reading"), rid
        assert r.untestable is None and r.block is None and not r.informative, rid
        assert r.applies_to("pr28"), rid
    # AMP-006 is the one AMP rule read as a reading (its source is only QEMU's implementation)
    assert {r.id for r in cat if r.source["kind"] == "reading"} == set(EXPECTED_READINGS)
    assert {r.id for r in cat if r.level == "READING"} == set(EXPECTED_READINGS) | {"AMP-006"}
    # the readings table of §14.2 has exactly these items
    text = _spec_file("virtio-msg.md").read_text(encoding="utf-8")
    table = text.split("### 14.2", 1)[1].split("\n### ", 1)[0]
    items = re.findall(r"^\| (G\d+) \|", table, flags=re.M)
    assert items == [f"G{n}" for n in range(1, len(EXPECTED_READINGS) + 1)]


def test_untestable_reasons_are_given_where_nothing_is_observable(cat):
    for rid in ("AMP-012", "AMP-018", "VMSG-BUS-005", "VMSG-DRV-063"):
        assert cat.get(rid).untestable, rid
    # plain wire-visible MUSTs stay testable
    for rid in ("VMSG-DEV-059", "VMSG-BUS-028", "VMSG-BUS-047", "VMSG-DRV-012", "AMP-003"):
        assert cat.get(rid).untestable is None, rid
    # a reason is a sentence, not a flag
    assert all(len(r.untestable.split()) >= 6 for r in cat if r.untestable)


def test_paraphrases_are_not_copies_of_requirements_md(cat):
    rows = _md_rows()
    copied = []
    for r in cat:
        if r.id in PROJECT_ADDED:
            continue  # no requirements.md row to compare with
        mine, theirs = _norm(r.text), _norm(rows[r.id][2])
        ratio = difflib.SequenceMatcher(None, mine, theirs).ratio()
        if mine == theirs or ratio >= MAX_SIMILARITY:
            copied.append(f"{r.id} ({ratio:.2f})")
    assert not copied, "paraphrase too close to requirements.md: " + ", ".join(copied)


def _tex_words(text: str) -> list[str]:
    text = re.sub(r"\\[a-zA-Z]+\*?", " ", text).replace("\\_", "_")
    return _norm(text.replace("_", "")).split()


def test_paraphrases_do_not_copy_runs_of_the_tex_wording(cat):
    lines = _spec_file("tex", "transport-msg.tex").read_text(encoding="utf-8").splitlines()
    copied = []
    for r in cat:
        rng = tex.line_range(r)
        if rng is None:
            continue
        source = " ".join(_tex_words(" ".join(lines[rng[0] - 1:rng[1]])))
        words = _norm(r.text.replace("_", "")).split()
        for i in range(len(words) - SHINGLE + 1):
            run = " ".join(words[i:i + SHINGLE])
            if f" {run} " in f" {source} ":
                copied.append(f"{r.id}: {run!r}")
                break
    assert not copied, "paraphrase copies TeX wording: " + "; ".join(copied)


# ---- TeX mapping ------------------------------------------------------------------------

def test_tex_has_75_normative_blocks_of_the_three_kinds():
    blocks = tex.normative_blocks(_spec_file("tex", "transport-msg.tex"))
    assert Counter(b.kind for b in blocks) == {"device": 30, "driver": 29, "bus": 16}
    assert all(not b.label.startswith("Virtio Transport Options") for b in blocks)
    first = blocks[0]
    assert (first.kind, first.line) == ("bus", 118)
    assert first.label == "Basic Concepts / Relationship between bus and transport / Bus Messages"


def test_every_normative_block_maps_to_catalogue_entries(cat):
    path = _spec_file("tex", "transport-msg.tex")
    assert tex.unmapped_blocks(cat, path) == []
    assert tex.unknown_blocks(cat, path) == []
    assert [r.id for r in tex.misplaced(cat, path)] == []


def test_unmapped_and_misplaced_entries_are_detected(cat):
    path = _spec_file("tex", "transport-msg.tex")
    dropped = catalogue.Catalogue(r for r in cat if r.block != "Transport Messages / VIRTIO_MSG_GET_SHM / Device")
    assert [b.label for b in tex.unmapped_blocks(dropped, path)] == [
        "Transport Messages / VIRTIO_MSG_GET_SHM / Device"]
    shm = cat.get("VMSG-DEV-059")
    moved = _replace(shm, source=dict(shm.source, lines="L100-101"))
    renamed = _replace(cat.get("VMSG-DEV-060"), block="Transport Messages / VIRTIO_MSG_NOPE / Device")
    fake = catalogue.Catalogue([moved, renamed])
    assert [r.id for r in tex.misplaced(fake, path)] == ["VMSG-DEV-059"]
    assert [r.id for r in tex.unknown_blocks(fake, path)] == ["VMSG-DEV-060"]


def test_normative_blocks_parses_a_small_file_and_skips_other_macros(tmp_path):
    f = tmp_path / "t.tex"
    f.write_text(
        "\\section{X}\n"
        "\\devicenormative{\\paragraph}{GET\\_SHM}{Virtio Transport Options / Virtio Over Messages /\n"
        "  Transport Messages / VIRTIO_MSG_GET_SHM / Device}\n"
        "\\begin{itemize}\n  \\item a\n\\end{itemize}\n"
        "text\n\\conformance{\\paragraph}{Z}{W}\n")
    (block,) = tex.normative_blocks(f)
    assert (block.kind, block.title, block.line, block.end_line) == ("device", "GET\\_SHM", 2, 6)
    assert block.label == "Transport Messages / VIRTIO_MSG_GET_SHM / Device"


def test_spec_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VMSG_SPEC_DIR", str(tmp_path))
    assert tex.spec_dir() == tmp_path
    assert tex.default_tex_path() is None
    with pytest.raises(FileNotFoundError):
        tex.normative_blocks()


def _replace(req, **changes):
    import dataclasses
    return dataclasses.replace(req, **changes)


# ---- queries ----------------------------------------------------------------------------

def test_get_and_unknown(cat):
    assert cat.get("VMSG-DEV-059").level == "MUST"
    with pytest.raises(KeyError):
        cat.get("VMSG-DEV-999")
    assert cat.unknown(["VMSG-DEV-059", "VMSG-DEV-999", "AMP-000", "VMSG-DEV-999"]) == [
        "VMSG-DEV-999", "AMP-000"]
    assert cat.unknown([]) == []
    assert "AMP-017" in cat and "AMP-021" not in cat
    assert "PCI-002" in cat and "PCI-003" not in cat


def test_select_by_glob_level_area_and_role(cat):
    assert len(cat.select()) == TOTAL
    assert [r.id for r in cat.select("PCI-*")] == list(EXPECTED_PCI)
    assert [r.id for r in cat.select("VMSG-DEV-00?")] == [f"VMSG-DEV-00{i}" for i in range(1, 10)]
    assert len(cat.select("VMSG-DEV-0*")) == 62
    assert len(cat.select("vmsg-dev-0*")) == 62  # case-insensitive
    assert [r.id for r in cat.select(["AMP-01[78]", "VMSG-BUS-047"])] == ["VMSG-BUS-047", "AMP-017", "AMP-018"]
    assert cat.select("VMSG-XYZ-*") == []
    with pytest.raises(KeyError):
        cat.select("VMSG-DEV-999")
    must_not = cat.select(level="MUST NOT")
    assert must_not and all(r.level == "MUST NOT" for r in must_not)
    strong = cat.select(level="must")
    assert {r.level for r in strong} == {"MUST", "MUST NOT"}
    assert len(cat.select(level=["SHOULD", "MAY"])) == len(cat.select(level="should")) + len(cat.select(level="may"))
    assert [r.id for r in cat.select(level="reading")] == ["AMP-006"] + list(EXPECTED_READINGS)
    assert [r.id for r in cat.select("READ-G*")] == list(EXPECTED_READINGS)
    ring = cat.select(area="fifo")
    assert ring and all(r.area == "fifo" for r in ring)
    combo = cat.select("VMSG-*", level="SHOULD", role="device")
    assert combo and all(r.role == "device" and r.strength == "should" for r in combo)
    assert {r.id for r in cat.select(role="amp-driver")} == {"AMP-019", "AMP-020", "AMP-109"}


# ---- coverage ---------------------------------------------------------------------------

def test_coverage_statuses(cat):
    citations = {"suite/test_a.py::test_one": ["VMSG-DEV-059", "VMSG-DEV-059"],
                 "suite/test_a.py::test_two": ["VMSG-DEV-059", "AMP-101"],
                 "suite/test_b.py::test_x": ["VMSG-NOT-001"]}
    rows = {row.requirement.id: row for row in catalogue.coverage(cat, citations)}
    assert len(rows) == TOTAL
    assert rows["VMSG-DEV-059"].status == "tested"
    assert rows["VMSG-DEV-059"].tests == ["suite/test_a.py::test_one", "suite/test_a.py::test_two"]
    assert rows["AMP-101"].status == "not applicable to profile pr28"
    assert rows["AMP-018"].status == "untestable: " + cat.get("AMP-018").untestable
    assert cat.get("VMSG-BUS-002").untestable is None
    assert rows["VMSG-BUS-002"].status == "UNTESTED" and rows["VMSG-BUS-002"].tests == []
    other = {row.requirement.id: row for row in catalogue.coverage(cat, citations, profile="amp-shmem-2026")}
    assert other["AMP-101"].status == "tested"
    assert other["VMSG-DEV-059"].status == "not applicable to profile amp-shmem-2026"


def test_format_coverage_lists_every_row_and_a_summary(cat):
    rows = catalogue.coverage(cat, {"t.py::test_ping": ["VMSG-BUS-047"]})
    text = catalogue.format_coverage(rows)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["ID", "LEVEL", "ROLE", "TESTS"]
    assert sum(1 for ln in lines if re.match(r"^(VMSG|AMP|PCI|READ)-", ln)) == TOTAL
    ping = next(ln for ln in lines if ln.startswith("VMSG-BUS-047"))
    assert ping.split()[-2:] == ["1", "tested"]
    n_untestable = sum(1 for r in cat if r.untestable and r.applies_to("pr28"))
    assert lines[-1] == (f"{TOTAL} requirements: 1 tested, {n_untestable} untestable, 9 not-applicable, "
                         f"{TOTAL - 1 - n_untestable - 9} UNTESTED")
    assert "    t.py::test_ping" in catalogue.format_coverage(rows, show_tests=True)


# ---- bad input --------------------------------------------------------------------------

HEADER = "[catalogue]\nprofiles = [ \"pr28\", \"amp-shmem-2026\" ]\n"
GOOD_ENTRY = """
[[requirement]]
id = "VMSG-DEV-059"
level = "MUST"
keyword = "MUST"
strength = "must"
role = "device"
area = "transport"
profiles = ["pr28"]
text = "Absent shared-memory regions read back with length 0."
source = { kind = "spec", draft = "d", commit = "c", file = "transport-msg.tex", lines = "L1380-1381", block = "B" }
"""


def _load_text(tmp_path, text):
    path = tmp_path / "cat.toml"
    path.write_text(text, encoding="utf-8")
    return catalogue.load(path)


def test_a_minimal_file_loads_from_a_path(tmp_path):
    cat = _load_text(tmp_path, HEADER + GOOD_ENTRY)
    assert cat.ids() == ["VMSG-DEV-059"]
    req = cat.get("VMSG-DEV-059")
    assert (req.block, req.untestable, req.informative) == ("B", None, False)
    assert catalogue.load(str(tmp_path / "cat.toml")).ids() == ["VMSG-DEV-059"]


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t + "id = \n", "invalid TOML"),
    (lambda t: t + GOOD_ENTRY, "VMSG-DEV-059: duplicate"),
    (lambda t: t.replace('level = "MUST"\n', ""), "VMSG-DEV-059: missing field(s) level"),
    (lambda t: t.replace('level = "MUST"', 'level = "MUSTN\'T"'), "VMSG-DEV-059: bad level"),
    (lambda t: t.replace('strength = "must"', 'strength = "may"'), "does not match level"),
    (lambda t: t.replace('role = "device"', 'role = "host"'), "bad role"),
    (lambda t: t.replace('area = "transport"', 'area = "misc"'), "bad area"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "VMSG-DEV-59"'), "VMSG-DEV-59: malformed ID"),
    (lambda t: t.replace('id = "VMSG-DEV-059"\n', ""), "entry #1: missing field(s) id"),
    (lambda t: t.replace('profiles = ["pr28"]', 'profiles = ["pr99"]'), "pr99 not declared"),
    (lambda t: t.replace('profiles = ["pr28"]', "profiles = []"), "profiles must be"),
    (lambda t: t.replace('text = "', 'untestible = "x"\ntext = "'), "unknown field(s) untestible"),
    (lambda t: t.replace('text = "', 'untestable = ""\ntext = "'), "untestable must be"),
    (lambda t: t.replace('text = "', 'informative = "yes"\ntext = "'), "informative must be"),
    (lambda t: t.replace('kind = "spec"', 'kind = "blog"'), "source.kind"),
    (lambda t: t.replace('lines = "L1380-1381", ', ""), "source (spec) lacks lines"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "PCI-01"'), "PCI-01: malformed ID"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "PCIE-001"'), "PCIE-001: malformed ID"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "READ-G1"'), "READ-G1: malformed ID"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "READ-001"'), "READ-001: malformed ID"),
    (lambda t: t.replace('strength = "must"', 'strength = "reading"'), "does not match level"),
    (lambda t: t.replace('kind = "spec", draft = "d", commit = "c", file = "transport-msg.tex", lines = "L1380-1381"',
                         'kind = "pci", document = "PCI LB 3.0"'), "source (pci) lacks section"),
    (lambda t: t.replace('[[requirement]]', '[[requirements]]'), "unknown top-level key"),
    (lambda t: t.replace('"amp-shmem-2026" ]', '"other" ]'), "unknown profile(s) other in [catalogue]"),
    (lambda t: t.replace('id = "VMSG-DEV-059"', 'id = "R1-AMP-001"'), "R1-AMP-001: malformed ID"),
    (lambda t: t.replace('text = "', 'equivalent = "R1-DEV-001"\ntext = "'), "equivalent must be a list"),
    (lambda t: t.replace('text = "', 'equivalent = ["R1-DEV-1"]\ntext = "'), "malformed ID(s) R1-DEV-1"),
    (lambda t: t.replace('text = "', 'equivalent = ["VMSG-DEV-059"]\ntext = "'), "names the entry itself"),
    (lambda t: t.replace('text = "', 'equivalent = ["R1-DEV-001"]\ntext = "'),
     "equivalent names unknown requirement ID R1-DEV-001"),
    (lambda t: t.replace('text = "', 'equivalent = ["R1-DEV-001", "R1-DEV-001"]\ntext = "'), "lists an ID twice"),
])
def test_bad_catalogue_files_raise_catalogue_error_naming_the_entry(tmp_path, edit, needle):
    text = edit(HEADER + GOOD_ENTRY)
    with pytest.raises(CatalogueError) as info:
        _load_text(tmp_path, text)
    assert needle in str(info.value)


@pytest.mark.parametrize("rid, level, kind, document, section", [
    ("PCI-007", "MUST", "pci", "PCI LB 3.0", "6.2.2"),
    ("READ-G16", "READING", "reading", "virtio-msg.md", "§14.2 G16"),
])
def test_project_entries_load_with_their_own_source_kind(tmp_path, rid, level, kind, document, section):
    strength = {"MUST": "must", "READING": "reading"}[level]
    entry = (GOOD_ENTRY.replace('id = "VMSG-DEV-059"', f'id = "{rid}"')
             .replace('level = "MUST"', f'level = "{level}"')
             .replace('strength = "must"', f'strength = "{strength}"')
             .replace('source = { kind = "spec", draft = "d", commit = "c", file = "transport-msg.tex", '
                      'lines = "L1380-1381", block = "B" }',
                      f'source = {{ kind = "{kind}", document = "{document}", section = "{section}" }}'))
    req = _load_text(tmp_path, HEADER + entry).get(rid)
    assert (req.level, req.strength, req.block) == (level, strength, None)
    assert (req.source["kind"], req.source["section"]) == (kind, section)


def test_missing_file_and_empty_file_raise_catalogue_error(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read"):
        catalogue.load(tmp_path / "absent.toml")
    with pytest.raises(CatalogueError, match="no \\[\\[requirement\\]\\] entries"):
        _load_text(tmp_path, "")
    with pytest.raises(CatalogueError, match="invalid TOML"):
        catalogue.loads(b"\xff\xfe")
