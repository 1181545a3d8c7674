"""Self-tests of the `lib` target (vmsg_conform/targets/lib.py) and of the
native LibPort it opens (vmsg_dut.h, pybind/bind_dut.cpp)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from vmsg_conform.targets import lib


def _default_description():
    dev = SimpleNamespace
    return SimpleNamespace(
        num_fifos=2,
        pci_address=(0, 4, 0),
        devices=[
            dev(fifo=0, dev_num=1, kind="virtio-rng-device", device_id=4),
            dev(fifo=0, dev_num=2, kind="virtio-blk-device", device_id=2, props={"capacity": "1M"}),
            dev(fifo=1, dev_num=1, kind="virtio-balloon-device", device_id=5),
        ],
    )


def _native_dut():
    try:
        from vmsg_conform import _vmsg
    except ImportError:
        pytest.skip("native module not built")
    if not hasattr(_vmsg, "dut"):
        pytest.skip("native module built without the dut submodule")
    return _vmsg


def _ref_library() -> Path:
    path = lib.find_ref_library()
    if path is None or not path.exists():
        pytest.skip("libvmsg_ref_dut.so not built (VMSG_BUILD_PYTHON=ON copies it next to _vmsg)")
    return path


# ---- pure helpers -------------------------------------------------------------


def test_config_for_writes_the_default_topology():
    text = lib.config_for(_default_description())
    assert text == (
        "num-fifos=2 addr=04.0 profile=pr28 device=virtio-rng-device,fifo=0,dev=1 "
        "device=virtio-blk-device,fifo=0,dev=2,capacity=1M device=virtio-balloon-device,fifo=1,dev=1"
    )


def test_config_for_appends_faults_and_profile():
    text = lib.config_for(_default_description(), faults=["lose-on-full-ring", "no-size-check"], profile="pr28")
    assert text.endswith(" fault=lose-on-full-ring,no-size-check")
    assert lib.with_faults("num-fifos=1", []) == "num-fifos=1"


def test_config_for_refuses_what_the_grammar_cannot_carry():
    d = _default_description()
    d.devices[0].props = {"serial": "a b"}
    with pytest.raises(ValueError):
        lib.config_for(d)
    with pytest.raises(ValueError):
        lib.with_faults("", ["bad name"])
    d2 = _default_description()
    d2.pci_address = (1, 4, 0)
    with pytest.raises(ValueError, match="bus 1"):
        lib.config_for(d2)


def test_parse_spec_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("VMSG_REF_DUT", "/opt/ref.so")
    ref = lib.parse_spec("ref")
    assert ref.library == Path("/opt/ref.so") and ref.config is None and ref.discover
    so = lib.parse_spec("/x/libvendor.so")
    assert so.library == Path("/x/libvendor.so") and so.description_toml is None and so.discover
    toml = tmp_path / "vendor.toml"
    toml.write_text('[lib]\npath = "libvendor.so"\nconfig = "num-fifos=1"\nram_size = 8388608\n')
    t = lib.parse_spec(str(toml))
    assert t.library == tmp_path / "libvendor.so"
    assert t.config == "num-fifos=1" and t.ram_size == 8 << 20 and t.description_toml == toml and not t.discover


def test_parse_spec_refuses_bad_specs(tmp_path):
    with pytest.raises(ValueError):
        lib.parse_spec("")
    toml = tmp_path / "nolib.toml"
    toml.write_text('name = "x"\n')
    with pytest.raises(ValueError, match=r"\[lib\]"):
        lib.parse_spec(str(toml))
    toml.write_text('[lib]\npath = "a.so"\nram_size = -1\n')
    with pytest.raises(ValueError, match="ram_size"):
        lib.parse_spec(str(toml))


# ---- native LibPort over the reference library -------------------------------------


def test_native_config_grammar_accepts_what_config_for_writes():
    _vmsg = _native_dut()
    text = lib.config_for(_default_description(), faults=["duplicate-response"])
    assert sorted(_vmsg.dut.normalise_config(text).split()) == sorted(text.split())
    with pytest.raises(ValueError):
        _vmsg.dut.normalise_config("colour=blue")


def test_libport_over_the_reference_library_reads_the_amp_identity():
    _vmsg = _native_dut()
    path = _ref_library()
    port = _vmsg.dut.LibPort(str(path), lib.config_for(_default_description()), 16 << 20)
    fn = _vmsg.port.PciAddress(bus=0, device=4, function=0)
    assert port.config_read(fn, 0, 2) == 0x10EE
    assert port.config_read(fn, 2, 2) == 0x9039
    assert port.config_read(_vmsg.port.PciAddress(bus=0, device=5, function=0), 0, 4) == 0xFFFFFFFF
    assert "reference" in port.library_name()
    # RAM is host-owned: a write reads back without involving the library.
    port.mem_write(0x200000, b"\x01\x02\x03\x04")
    assert port.mem_read(0x200000, 4) == b"\x01\x02\x03\x04"


def test_libport_refusals_raise_port_error_with_the_library_message():
    _vmsg = _native_dut()
    path = _ref_library()
    with pytest.raises(_vmsg.port.PortError, match="num-fifos|FIFO|3"):
        _vmsg.dut.LibPort(str(path), "num-fifos=3", 16 << 20)
    with pytest.raises(_vmsg.port.PortError, match="not-a-fault"):
        _vmsg.dut.LibPort(str(path), "fault=not-a-fault", 16 << 20)
    with pytest.raises(_vmsg.port.PortError, match="cannot load"):
        _vmsg.dut.LibPort("/nonexistent/lib.so", "", 16 << 20)


# ---- the registered target -------------------------------------------------------------


def _targets():
    from vmsg_conform import targets

    return targets


def test_lib_ref_target_opens_a_working_dut():
    _native_dut()
    _ref_library()
    targets = _targets()
    t = targets.resolve("lib:ref")
    assert t.available() is None, t.available()
    assert t.info()["kind"] == "lib"
    assert "reference" in t.info()["library_name"]
    dut = t.open()
    try:
        assert dut.port.config_read(dut.pci_address, 0, 2) == 0x10EE
        # The driver stack runs over the library unchanged: PING through FIFO 1.
        v = _native_dut()
        resp = dut.link(1).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=0x5A5A)))
        assert resp.body.data == 0x5A5A
        assert dut.port.stats().msis >= 1
    finally:
        dut.close()


def test_lib_toml_description_with_its_own_config(tmp_path):
    _native_dut()
    path = _ref_library()
    toml = tmp_path / "vendor.toml"
    toml.write_text(
        'name = "vendor"\nvendor_id = 0x10EE\ndevice_id = 0x9039\nnum_fifos = 1\npci_address = "00:04.0"\n'
        f'[lib]\npath = "{path}"\nconfig = "num-fifos=1"\nram_size = 16777216\n'
    )
    t = _targets().resolve(f"lib:{toml}")
    assert t.available() is None, t.available()
    assert t.config(faults=["duplicate-response"]) == "num-fifos=1 fault=duplicate-response"
    dut = t.open(faults=["duplicate-response"])
    try:
        assert dut.amp.num_fifos() == 1
    finally:
        dut.close()


def test_lib_target_refusing_a_fault_fails_to_open():
    _native_dut()
    _ref_library()
    targets = _targets()
    t = targets.resolve("lib:ref")
    with pytest.raises(targets.TargetOpenError, match="not-a-fault") as ei:
        t.open(faults=["not-a-fault"])
    assert "fault=not-a-fault" in ei.value.asked


def test_lib_target_with_a_missing_library_is_unavailable(tmp_path):
    _native_dut()
    targets = _targets()
    t = targets.resolve(f"lib:{tmp_path / 'missing.so'}")
    reason = t.available()
    assert reason and "does not exist" in reason
