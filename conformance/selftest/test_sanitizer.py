"""Sanitizer reports: the parser (sanitizer.py) against recorded stderr
fixtures, and what a crash becomes downstream: the grade, the root causes
grouped by crash signature, the JSON, text and HTML reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lhtml

from vmsg_conform import results as R
from vmsg_conform import sanitizer, verdicts
from vmsg_conform.reports import html, text
from vmsg_fakes import run_suite

FIXTURES = Path(__file__).with_name("fixtures") / "sanitizer"
HBO = "AddressSanitizer: heap-buffer-overflow in __virtio_queue_reset hw/virtio/virtio.c:2059"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# ---- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, signature", [
    ("asan_heap_buffer_overflow.txt", HBO),
    ("asan_segv.txt", "AddressSanitizer: SEGV in __virtio_queue_reset hw/virtio/virtio.c:2059"),
    # SUMMARY names libc; the first frame in the program's own code names the bug
    ("asan_segv_in_libc.txt", "AddressSanitizer: SEGV in vmsg_bus_amp_pci_process hw/misc/virtio-msg-amp-pci.c:298"),
    ("ubsan_runtime_error.txt",
     "UndefinedBehaviorSanitizer: undefined-behavior in virtio_queue_notify hw/virtio/virtio.c:2296"),
    ("ubsan_no_stack.txt", "UndefinedBehaviorSanitizer: undefined-behavior hw/misc/virtio-msg-amp-pci.c:187"),
    # LSan inside ASan: the ERROR line names LeakSanitizer, SUMMARY only counts bytes
    ("lsan_leak.txt", "LeakSanitizer: memory-leak in virtio_msg_bus_new_request hw/virtio/virtio-msg-bus.c:88"),
    ("tsan_data_race.txt",
     "ThreadSanitizer: data race in vmsg_bus_amp_pci_process /src/qemu/hw/misc/virtio-msg-amp-pci.c:305"),
    ("msan_uninit.txt",
     "MemorySanitizer: use-of-uninitialized-value in virtio_msg_get_vqueue /src/qemu/hw/virtio/virtio-msg.c:341"),
    ("interleaved.txt",
     "AddressSanitizer: heap-use-after-free in virtio_msg_bus_process hw/virtio/virtio-msg-bus.c:154"),
])
def test_each_report_gets_its_signature(name, signature):
    (report,) = sanitizer.parse_all(fixture(name))
    assert report.signature == signature
    assert report.complete


def test_the_report_keeps_its_header_frames_and_summary():
    r = sanitizer.parse(fixture("asan_heap_buffer_overflow.txt"))
    assert (r.tool, r.kind, r.function, r.location) == (
        "AddressSanitizer", "heap-buffer-overflow", "__virtio_queue_reset", "hw/virtio/virtio.c:2059")
    assert r.headline.startswith("AddressSanitizer: heap-buffer-overflow on address 0x62d0000a8000")
    assert r.summary == ("SUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/virtio/virtio.c:2059:29 "
                         "in __virtio_queue_reset")
    # the faulting access's stack only; the allocation stack is not the bug
    assert [f.function for f in r.frames[:3]] == ["__virtio_queue_reset", "virtio_queue_reset",
                                                  "virtio_msg_reset_vqueue"]
    assert len(r.frames) == 14 and all(f.function != "virtio_init" for f in r.frames)
    assert not r.frames[11].in_program and r.frames[11].function == "__libc_start_call_main"
    assert r.frames[13].location == "(/opt/qemu-asan/bin/qemu-system-x86_64+0x1c6e8e4)"  # BuildId dropped
    # the report's lines, from its ERROR line to its SUMMARY line (the shadow bytes after it are not needed)
    assert r.lines[0].startswith("==31807==ERROR: AddressSanitizer")
    assert r.lines[-1].startswith("SUMMARY: AddressSanitizer")
    lines = fixture("asan_heap_buffer_overflow.txt").splitlines()
    assert list(r.lines) == lines[r.span[0]:r.span[1]]


def test_runtime_and_library_frames_are_not_the_programs():
    r = sanitizer.parse(fixture("lsan_leak.txt"))
    calloc, glib, own = r.frames[:3]
    assert not calloc.in_program  # the sanitizer's interceptor
    assert not glib.in_program and not glib.has_source  # a library without source
    assert own.in_program and own.location == "hw/virtio/virtio-msg-bus.c:88"


def test_plain_stderr_has_no_report():
    assert sanitizer.parse_all(fixture("plain_stderr.txt")) == []
    assert sanitizer.parse("") is None
    assert sanitizer.find([None, "", fixture("plain_stderr.txt")]) is None


def test_a_report_cut_short_still_names_the_bug():
    r = sanitizer.parse(fixture("truncated.txt"))
    assert r.signature == HBO and not r.complete
    assert [f.function for f in r.frames] == ["__virtio_queue_reset", "virtio_queue_reset", "virtio_msg_rese"]


def test_a_tail_that_lost_the_head_still_names_the_bug():
    r = sanitizer.parse(fixture("summary_only_tail.txt"))
    assert r.signature == HBO and r.complete and r.frames == ()


def test_interleaved_lines_do_not_break_the_stack():
    r = sanitizer.parse(fixture("interleaved.txt"))
    assert [f.function for f in r.frames] == ["virtio_msg_bus_process", "vmsg_bus_amp_pci_process",
                                              "memory_region_write_accessor"]
    assert r.lines[-1].startswith("SUMMARY:")  # the trailing program lines are no part of it


def test_several_reports_are_read_in_order_and_the_first_leads():
    both = fixture("ubsan_no_stack.txt") + "some program output\n" + fixture("asan_segv.txt")
    reports = sanitizer.parse_all(both)
    assert [r.tool for r in reports] == ["UndefinedBehaviorSanitizer", "AddressSanitizer"]
    assert sanitizer.parse(both) == reports[0]
    assert sanitizer.find([fixture("plain_stderr.txt"), fixture("asan_segv.txt")]).kind == "SEGV"


def test_ubsan_summary_ends_in_an_empty_function_name():
    """UBSan writes "in " and nothing after it when it has no function (the
    fixtures keep no trailing blanks, so the exact line is here)."""
    r = sanitizer.parse("SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior ../hw/x.c:7:3 in \n")
    assert (r.kind, r.function, r.location) == ("undefined-behavior", None, "hw/x.c:7")


def test_a_report_inside_an_error_message_is_found():
    """In-process targets carry the report in the exception text."""
    msg = "device 0:4.0 crashed: " + fixture("asan_heap_buffer_overflow.txt")
    assert sanitizer.parse(msg).signature == HBO


# ---- what a crash becomes -------------------------------------------------------------------------


def _strength(rid):
    return {"R-MUST": "must", "R-SHOULD": "should"}.get(rid)


def test_a_crash_is_a_fail_against_the_primary_requirement_whatever_failed():
    check = verdicts.Deviation("R-SHOULD", "late")
    assert verdicts.grade(check, ["R-MUST", "R-SHOULD"], _strength).verdict == "WARN"
    g = verdicts.grade(check, ["R-MUST", "R-SHOULD"], _strength, crashed=True)
    assert (g.verdict, g.broken, g.blocked_by) == ("FAIL", ["R-MUST"], None)
    pre = verdicts.Deviation("R-OTHER", "setup", precondition=True)
    assert verdicts.grade(pre, ["R-SHOULD"], _strength, crashed=True).verdict == "FAIL"


def _crash_run() -> R.RunResult:
    T = R.TestResult
    other = "UndefinedBehaviorSanitizer: undefined-behavior hw/misc/virtio-msg-amp-pci.c:187"
    return R.RunResult(
        requirements=[R.RequirementRow("R-A", text="text of R-A"), R.RequirementRow("R-B", text="text of R-B")],
        tests=[
            T("t::a1", ["R-A"], "FAIL", 0.2, message=f"{HBO}; QEMU exit code 1: gone", broken=["R-A"], crash=HBO),
            T("t::b1", ["R-B"], "FAIL", 0.1, message=f"{HBO}; QEMU exit code 1: gone", broken=["R-B"], crash=HBO),
            T("t::b2", ["R-B"], "FAIL", broken=["R-B"], crash=HBO),
            T("t::b3", ["R-B"], "FAIL", broken=["R-B"]),
            T("t::b4", ["R-B"], "FAIL", broken=["R-B"]),
            T("t::b5", ["R-B"], "FAIL", broken=["R-B"]),
            T("t::a2", ["R-A"], "WARN", broken=["R-A"], crash=other),
            T("t::ok", ["R-A"], "PASS"),
        ])


def test_root_causes_group_crashes_by_signature_ranked_as_fail():
    causes = _crash_run().root_causes()
    assert [(c.verdict, c.req, len(c.tests)) for c in causes] == [
        ("FAIL", f"CRASH: {HBO}", 3), ("FAIL", "R-B", 3),
        ("FAIL", "CRASH: UndefinedBehaviorSanitizer: undefined-behavior hw/misc/virtio-msg-amp-pci.c:187", 1)]
    crash = causes[0]
    assert crash.crash == HBO and crash.level == ""
    assert crash.text == "the target crashed; the tests are graded against R-A, R-B"
    assert crash.example.nodeid == "t::a1"  # no transcripts: the first by node id (stable across runs)
    # the per-test requirement is kept: the matrix and the requirement verdicts use it
    rv = {v.row.id: v.verdict for v in _crash_run().requirement_verdicts()}
    assert rv == {"R-A": "FAIL", "R-B": "FAIL"}


def test_json_carries_the_crash_and_old_files_still_load():
    run = _crash_run()
    data = R.to_dict(run)
    assert data["root_causes"][0]["crash"] == HBO and data["root_causes"][1]["crash"] is None
    assert data["tests"][0]["crash"] == HBO
    assert R.from_json(R.to_json(run)) == run
    old = {"schema": R.SCHEMA, "tests": [{"nodeid": "a::b", "reqs": ["X"], "verdict": "FAIL", "broken": ["X"]}]}
    back = R.from_dict(old)
    assert back.tests[0].crash is None
    assert [c.req for c in back.root_causes()] == ["X"]


def test_text_summary_puts_the_crash_signature_on_its_own_line():
    lines = text.summary_lines(_crash_run())
    i = lines.index(f"  FAIL CRASH: {HBO}")
    assert lines[i + 1].strip().startswith("3 test(s)  e.g. t::a1")
    assert lines[i + 2].strip() == "the target crashed; the tests are graded against R-A, R-B"


def test_html_root_causes_and_test_rows_name_the_crash():
    doc = lhtml.fromstring(html.render(_crash_run()))
    (cause,) = doc.xpath('//section[@id="root-causes"]//li[@data-crash]')[:1]
    assert cause.get("data-req") == f"CRASH: {HBO}" and cause.get("data-tests") == "3"
    assert "crash(es)" in doc.xpath('//section[@id="root-causes"]/h2')[0].text_content()
    rows = doc.xpath('//tr[@class="test"][@data-crash]')
    assert sorted(r.get("data-test") for r in rows) == ["t::a1", "t::a2", "t::b1", "t::b2"]
    assert "the target crashed" in rows[0].text_content()


# ---- in process: the device dies, the run goes on ---------------------------------------------------


def test_a_crash_of_the_embedded_reference_fails_its_tests_and_the_run_goes_on(tmp_path):
    """The ref target runs the reference inside the pytest process: the fault
    must fail the crashing tests (PortError carrying the report) and leave the
    others, before and after, to run normally."""
    pytest.importorskip("vmsg_conform._vmsg")
    proc, data = run_suite(tmp_path, "--target", "ref", "--fault", "asan-reset-vqueue-overflow", "-k", "huge_index")
    assert proc.returncode == 1 and data, proc.stdout[-3000:]
    tests = {t["nodeid"].rsplit("::", 1)[-1]: t for t in data["tests"]}
    crashed = {k: t for k, t in tests.items() if t["verdict"] == "FAIL"}
    assert sorted(crashed) == [f"test_reset_vqueue_with_huge_index_leaves_device_alive[{i}]"
                               for i in ("0x10000", "0x400", "0xffff", "0xffffffff")]
    for t in crashed.values():
        assert t["crash"] == HBO and t["message"].startswith(f"{HBO}; ") and "device 0:4.0 crashed" in t["message"]
    others = [t for k, t in tests.items() if k not in crashed]
    assert others and {t["verdict"] for t in others} == {"PASS"}
