"""A tiny fake catalogue and test tree for the plugin/CLI/report self-tests,
so they run fast and do not depend on the real catalogue or native module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from vmsg_conform import verdicts as _verdicts  # noqa: F401 (imported for its identity, see below)
from vmsg_conform.cli import _child_env, _plugin_args

# pytester's in-process runs forget the modules each run imported, while the
# package keeps its attribute to the old one: a plugin imported afresh would
# then grade with another Deviation class than the fake tests raise. Imported
# here, before any run, one verdicts module serves every run.

# -p vmsg_conform.plugin only where the installed entry point does not load it.
PLUGIN = (*_plugin_args(), "-p", "no:cacheprovider")


def run(pytester, *args):
    """Run in-process; returns (pytest result, results JSON as dict)."""
    res = pytester.runpytest(*PLUGIN, "--vmsg-json", "r.json", *args)
    path = pytester.path / "r.json"
    data = json.loads(path.read_text()) if path.exists() else None
    return res, data


def run_suite(tmp_path, *args):
    """``python -m vmsg_conform run ARGS -q`` in a child process, as a user
    runs the packaged suite; returns (the process, results JSON as dict)."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "vmsg_conform", "run", *args, "--json", str(out), "-q"],
                          cwd=tmp_path, env=_child_env(), capture_output=True, text=True, timeout=600, check=False)
    return proc, json.loads(out.read_text()) if out.exists() else None


def verdicts(data):
    """Test name (without the file) -> verdict, from the results JSON."""
    return {t["nodeid"].split("::")[-1]: t["verdict"] for t in data["tests"]}

# conftest.py of a fake tree: a catalogue of five requirements handed to the
# plugin through its pytest_vmsg_catalogue hook.
CONFTEST = textwrap.dedent('''
    import fnmatch
    from dataclasses import dataclass, field

    @dataclass
    class Req:
        id: str
        level: str
        strength: str
        role: str
        area: str
        text: str
        profiles: list = field(default_factory=lambda: ["pr28"])
        untestable: str = None
        informative: bool = False
        source: dict = field(default_factory=dict)

    class Cat:
        spec = {"draft": "fake/draft", "commit": "0123abc"}
        def __init__(self, reqs):
            self._reqs = {r.id: r for r in reqs}
        def __iter__(self):
            return iter(self._reqs.values())
        def get(self, rid):
            return self._reqs[rid]
        def ids(self):
            return list(self._reqs)
        def unknown(self, ids):
            return [i for i in ids if i not in self._reqs]
        def select(self, ids_or_globs=None, level=None, area=None, role=None):
            out = []
            for r in self:
                if ids_or_globs and not any(fnmatch.fnmatchcase(r.id, g) for g in ids_or_globs):
                    continue
                if level and r.level != level or area and r.area != area or role and r.role != role:
                    continue
                out.append(r)
            return out

    CAT = Cat([
        Req("FAKE-001", "MUST", "must", "device", "bus", "device answers ping"),
        Req("FAKE-002", "MUST", "must", "device", "fifo", "ring keeps order"),
        Req("FAKE-003", "SHOULD", "should", "device", "bus", "should-level rule"),
        Req("FAKE-004", "MUST", "must", "driver", "transport", "internal rule",
            untestable="not observable from outside"),
        Req("FAKE-005", "MUST", "must", "amp-device", "fifo", "other profile rule",
            profiles=["amp-shmem-2026"]),
    ])

    def pytest_vmsg_catalogue(config):
        return CAT
''')

# A test file with one test per interesting outcome; the fault option makes
# test_ping fail, the way a reference fault breaks a real suite test.
TESTS = textwrap.dedent('''
    import pytest

    @pytest.mark.req("FAKE-001")
    def test_ping(request):
        print("ping sent")
        assert "break-ping" not in (request.config.getoption("vmsg_fault") or [])

    @pytest.mark.req("FAKE-002")
    def test_order_fails():
        assert 1 + 1 == 3, "order broken"

    @pytest.mark.req("FAKE-003")
    def test_should_level():
        pass

    @pytest.mark.req("FAKE-005")
    def test_other_profile():
        pass

    @pytest.mark.req("FAKE-001", "FAKE-002")
    def test_skips_itself():
        pytest.skip("target cannot do it")
''')


# q35's own functions (machine/q35_platform.hpp): what a machine without them lacks.
Q35_CHIPSET = {(0, 0, 0), (0, 0x1F, 0), (0, 0x1F, 2), (0, 0x1F, 3)}


def without_chipset(inner):
    """A target like `inner` on a machine that has none of q35's chipset
    functions (as the reference machine had none before): their config space
    reads all-ones, writes vanish; the device under test is untouched."""
    from vmsg_conform import _vmsg as v  # noqa: PLC0415 (only native self-tests call this)
    from vmsg_conform.targets import Target  # noqa: PLC0415

    class _BarePort(v.port.Port):
        def __init__(self, port):
            super().__init__()
            self.port = port

        def _hidden(self, fn):
            return (fn.bus, fn.device, fn.function) in Q35_CHIPSET

        def config_read(self, fn, offset, size):
            return (1 << 8 * size) - 1 if self._hidden(fn) else self.port.config_read(fn, offset, size)

        def config_write(self, fn, offset, size, value):
            if not self._hidden(fn):
                self.port.config_write(fn, offset, size, value)

        def mmio_read(self, addr, size):
            return self.port.mmio_read(addr, size)

        def mmio_write(self, addr, size, value):
            self.port.mmio_write(addr, size, value)

        def mem_read(self, addr, length):
            return self.port.mem_read(addr, length)

        def mem_write(self, addr, data):
            self.port.mem_write(addr, data)

        def advance_time(self, ns):
            self.port.advance_time(ns)

        def address_map(self):
            return self.port.address_map()

    class _Bare(Target):
        kind = "bare"

        def open(self, faults=(), profile="pr28"):
            dut = inner.open(faults=faults, profile=profile)
            dut.port = _BarePort(dut.port)
            return dut

    return _Bare(inner.name + "-without-chipset", inner.description)
