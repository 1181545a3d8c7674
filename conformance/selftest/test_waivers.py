"""Waiver file parsing, matching and expiry."""

import datetime as dt

import pytest

from vmsg_conform import waivers
from vmsg_conform.waivers import WaiverError


def test_parses_entries_with_toml_and_string_dates():
    ws = waivers.parse('''
[[waiver]]
test = "suite/test_bus_ping.py::test_ping_*"
reason = "known QEMU bug"
expires = 2030-01-31

[[waiver]]
test = "suite/test_pci.py::test_ids"
req = "AMP-001"
reason = "vendor id pending"
expires = "2031-02-28"
''')
    assert [w.test for w in ws] == ["suite/test_bus_ping.py::test_ping_*", "suite/test_pci.py::test_ids"]
    assert ws[0].expires == dt.date(2030, 1, 31) and ws[0].req is None
    assert ws[1].expires == dt.date(2031, 2, 28) and ws[1].req == "AMP-001"


@pytest.mark.parametrize("body, fragment", [
    ('test = "t"\nexpires = 2030-01-01', "'reason' is required"),
    ('test = "t"\nreason = "  "\nexpires = 2030-01-01', "'reason' is required"),
    ('test = "t"\nreason = "r"', "'expires' (YYYY-MM-DD) is required"),
    ('test = "t"\nreason = "r"\nexpires = "31/01/2030"', "must be a date"),
    ('test = "t"\nreason = "r"\nexpires = "2030-02-30"', "must be a date"),
    ('test = "t"\nreason = "r"\nexpires = 20300101', "must be a date"),
    ('reason = "r"\nexpires = 2030-01-01', "'test' (node id or glob) is required"),
    ('test = "t"\nreason = "r"\nexpires = 2030-01-01\nowner = "me"', "unknown key"),
    ('test = "t"\nreason = "r"\nexpires = 2030-01-01\nreq = 5', "'req' must be"),
])
def test_incomplete_entry_is_a_clear_error_naming_it(body, fragment):
    with pytest.raises(WaiverError) as info:
        waivers.parse("[[waiver]]\n" + body, "w.toml")
    msg = str(info.value)
    assert fragment in msg
    assert "w.toml: waiver #1" in msg


def test_invalid_toml_and_wrong_shape_are_errors():
    with pytest.raises(WaiverError, match="invalid TOML"):
        waivers.parse("[[waiver]\n")
    with pytest.raises(WaiverError, match="array of tables"):
        waivers.parse('waiver = "x"')
    with pytest.raises(WaiverError, match="unknown top-level"):
        waivers.parse('[[waivers]]\ntest = "t"')


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(WaiverError, match="cannot read"):
        waivers.load(tmp_path / "absent.toml")


def test_matching_by_glob_req_and_package_relative_node_id():
    w = waivers.Waiver(test="suite/test_x.py::test_a*", reason="r", expires=dt.date(2030, 1, 1))
    assert w.matches("suite/test_x.py::test_abc")
    assert w.matches("conformance/vmsg_conform/suite/test_x.py::test_abc")
    assert not w.matches("suite/test_x.py::test_b")
    scoped = waivers.Waiver(test="*", req="AMP-002", reason="r", expires=dt.date(2030, 1, 1))
    assert scoped.matches("any::t", ["AMP-001", "AMP-002"])
    assert not scoped.matches("any::t", ["AMP-001"])
    assert waivers.find([w, scoped], "x::y", ["AMP-002"]) is scoped
    assert waivers.find([w], "x::y") is None


def test_expiry_is_inclusive_of_the_last_day():
    w = waivers.Waiver(test="t", reason="r", expires=dt.date(2030, 1, 31))
    assert not w.expired(dt.date(2030, 1, 31))
    assert w.expired(dt.date(2030, 2, 1))
