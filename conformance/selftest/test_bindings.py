"""Self-tests of the native module: codec round trip, typed decode failures,
a Python Port driving the C++ driver stack, and error mapping."""

from __future__ import annotations

import pytest

_vmsg = pytest.importorskip("vmsg_conform._vmsg", reason="native module not built")
wire, port, driver, target, devices, transport, fault = (
    _vmsg.wire, _vmsg.port, _vmsg.driver, _vmsg.target, _vmsg.devices, _vmsg.transport, _vmsg.fault)


def test_codec_round_trip_through_python():
    p = wire.Profile.pr28()
    bodies = [
        wire.GetConfigReq(offset=4, length=8),
        wire.SetConfigReq(generation=3, offset=0, data=b"\x01\x02\x03"),
        wire.SetDriverFeaturesReq(block_index=1, features=[0x1, 0x80000000]),
        wire.SetVqueueReq(index=0, size=64, desc_addr=0x100000, driver_addr=0x101000, device_addr=0x102000),
        wire.GetDevicesResp(offset=0, next_offset=0, bitmap=b"\x06" + bytes(7)),
        wire.EventConfig(device_status=0xF, generation=9, offset=0, length=4, data=b"abcd"),
        wire.PingReq(data=0xDEADBEEF),
    ]
    for i, body in enumerate(bodies):
        msg = wire.Message(dev_num=i, token=100 + i, body=body)
        raw = wire.encode(msg, p)
        assert raw[1] == msg.msg_id()
        assert int.from_bytes(raw[6:8], "little") == len(raw) == wire.encoded_size(msg, p)
        back = wire.decode(raw, p)
        assert back == msg, (msg, back)
        assert type(back.body) is type(body)


def test_keyword_constructor_rejects_unknown_fields_and_keeps_defaults():
    r = wire.GetVqueueResp(index=2)
    assert (r.index, r.max_size, r.desc_addr) == (2, 0, 0)
    with pytest.raises(TypeError):
        wire.GetConfigReq(offest=1)
    c = wire.SetConfigReq(data=bytearray(b"xy"))
    assert c.data == b"xy" and isinstance(c.data, bytes)


def test_decode_failure_on_junk():
    with pytest.raises(wire.DecodeFailure) as ei:
        wire.decode(b"\x00\x05", wire.Profile.pr28())
    assert ei.value.error == wire.DecodeError.ShortBuffer
    assert ei.value.value == 2
    assert ei.value.rule.startswith("VMSG-")
    # A valid header whose msg_size disagrees with the message kind.
    good = wire.encode(wire.Message(body=wire.PingReq(data=1)), wire.Profile.pr28())
    bad = good[:6] + (len(good) + 4).to_bytes(2, "little") + good[8:] + bytes(4)
    with pytest.raises(wire.DecodeFailure) as ei:
        wire.decode(bad, wire.Profile.pr28())
    assert ei.value.error == wire.DecodeError.SizeMismatch
    assert isinstance(ei.value, ValueError)


def test_encode_failure_for_oversized_message():
    msg = wire.Message(dev_num=1, body=wire.SetConfigReq(data=bytes(100)))
    with pytest.raises(wire.EncodeFailure) as ei:
        wire.encode(msg, wire.Profile.pr28())
    assert ei.value.error == wire.EncodeError.TooLarge


def _reference():
    spec = target.ReferenceSpec(amp=_vmsg.amp.AmpConfig(num_fifos=1), ram_size=16 << 20)
    spec.devices = [target.DeviceSlot(fifo=0, dev_num=1,
                                      endpoint=transport.DeviceTransport(devices.make_backend("virtio-rng-device")))]
    return target.ReferenceTarget(spec)


class DelegatingPort(port.Port):
    """A Port written in Python that forwards to another port and counts calls."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.calls: dict[str, int] = {}

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def config_read(self, fn, offset, size):
        self._count("config_read")
        return self.inner.config_read(fn, offset, size)

    def config_write(self, fn, offset, size, value):
        self._count("config_write")
        self.inner.config_write(fn, offset, size, value)

    def mmio_read(self, addr, size):
        self._count("mmio_read")
        return self.inner.mmio_read(addr, size)

    def mmio_write(self, addr, size, value):
        self._count("mmio_write")
        self.inner.mmio_write(addr, size, value)

    def mem_read(self, addr, length):
        self._count("mem_read")
        return self.inner.mem_read(addr, length)

    def mem_write(self, addr, data):
        self._count("mem_write")
        self.inner.mem_write(addr, data)

    def advance_time(self, ns):
        self._count("advance_time")
        self.inner.advance_time(ns)

    def address_map(self):
        self._count("address_map")
        return self.inner.address_map()


def test_python_port_drives_amp_driver_open_and_a_request():
    ref = _reference()
    p = DelegatingPort(ref.port())
    amap = p.address_map()
    ram, window = driver.GuestAllocator(amap), driver.BarWindowAllocator(amap)
    amp = driver.AmpDriver.open(p, ram, window)
    assert amp.num_fifos() == 1
    assert amp.bar0() == amap.mmio_base
    assert p.calls["config_read"] > 0 and p.calls["config_write"] > 0
    resp = amp.fifo(0).request(wire.Message(body=wire.PingReq(data=0x1234)))
    assert isinstance(resp.body, wire.PingResp) and resp.body.data == 0x1234
    assert p.calls["mem_write"] > 0 and p.calls["mmio_write"] > 0
    info = driver.TransportDriver(driver.BusDriver(amp.fifo(0)), 1).get_info()
    assert info.device_id == 4


def test_python_port_errors_propagate_to_the_caller():
    class Broken(DelegatingPort):
        def config_read(self, fn, offset, size):
            raise port.PortError("target gone")

    ref = _reference()
    p = Broken(ref.port())
    with pytest.raises(port.PortError, match="target gone"):
        driver.AmpDriver.open(p, driver.GuestAllocator(p.address_map()), driver.BarWindowAllocator(p.address_map()))


def test_short_mem_read_from_a_python_port_is_a_port_error():
    class Short(DelegatingPort):
        def mem_read(self, addr, length):
            return b"\x00"

    ref = _reference()
    p = Short(ref.port())
    amp = driver.AmpDriver.open(p, driver.GuestAllocator(p.address_map()), driver.BarWindowAllocator(p.address_map()))
    with pytest.raises(port.PortError):
        amp.fifo(0).request(wire.Message(body=wire.PingReq(data=1)))


def test_config_error_is_value_error():
    with pytest.raises(ValueError, match="num_fifos|3"):
        _vmsg.amp.AmpPciDevice(_vmsg.amp.AmpConfig(num_fifos=3))
    with pytest.raises(ValueError):
        devices.make_backend("virtio-nonexistent-device")
    with pytest.raises(ValueError):
        fault.FaultSet.parse_list("no-such-fault")


def test_queue_maximum_from_props_and_from_constructors():
    # A description's props arrive as TOML values; numbers must work as well as strings.
    assert devices.make_backend("virtio-rng-device", {"queue-size": 8}).max_queue_size(0) == 8
    assert devices.make_backend("virtio-blk-device", {"queue-size": "64"}).max_queue_size(0) == 64
    with pytest.raises(ValueError, match="queue-size.*power of two"):
        devices.make_backend("virtio-balloon-device", {"queue-size": 12})
    assert devices.RngBackend(max_queue_size=4).max_queue_size(0) == 4
    assert devices.BalloonBackend(max_queue_size=2).max_queue_size(1) == 2
    assert devices.BlkBackend(devices.BlkOptions(max_queue_size=16)).max_queue_size(0) == 16
    assert devices.RngBackend().max_queue_size(0) == devices.RngBackend.kDefaultMaxQueueSize == 256


def test_link_failure_carries_the_code():
    ref = _reference()
    p = ref.port()
    amp = driver.AmpDriver.open(p, driver.GuestAllocator(p.address_map()), driver.BarWindowAllocator(p.address_map()))
    # No device at dev_num 7: the bus drops the request, so nothing answers.
    with pytest.raises(driver.LinkFailure) as ei:
        amp.fifo(0).request(wire.Message(dev_num=7, body=wire.GetDeviceStatusReq()))
    assert ei.value.code == driver.LinkError.NoResponse


def test_virtio_failure_carries_code_and_message():
    ref = _reference()
    p = ref.port()
    amp = driver.AmpDriver.open(p, driver.GuestAllocator(p.address_map()), driver.BarWindowAllocator(p.address_map()))
    t = driver.TransportDriver(driver.BusDriver(amp.fifo(0)), 1)
    with pytest.raises(driver.VirtioFailure) as ei:
        t.read_config(0, 4)  # the rng device has no config space
    assert ei.value.code == driver.VirtioErrc.OutOfRange
    assert ei.value.message


def test_shared_backend_outliving_its_transport_is_inert():
    b = devices.BalloonBackend(initial_target=1)
    t = transport.DeviceTransport(b)
    assert t.backend() is not None and t.backend().target() == 1
    with pytest.raises(ValueError):
        transport.DeviceTransport(b)  # one transport per backend
    del t
    import gc
    gc.collect()
    b.set_target(5)  # no transport any more: must not crash
    assert b.target() == 5


def test_fault_table_round_trips_names():
    names = [f.name for f in fault.all_faults()]
    assert names and len(set(names)) == len(names)
    s = fault.FaultSet.parse_list(",".join(names[:2]))
    assert s.to_string() == ",".join(names[:2])
    assert fault.FaultSet.parse_list("").empty()


def test_ring_over_python_buffer_is_stateful():
    q = _vmsg.fifo.QueueBuffer()
    prod, cons = _vmsg.fifo.RingProducer(q), _vmsg.fifo.RingConsumer(q)
    for i in range(_vmsg.fifo.kUsableSlots):
        assert prod.push(bytes([i]) * 8) == _vmsg.fifo.PushResult.Ok
    assert prod.push(b"x") == _vmsg.fifo.PushResult.Full
    assert q.head() == _vmsg.fifo.kUsableSlots
    first = cons.pop()
    assert first[:8] == bytes(8) and first[8:] == bytes(56)
    q.store_index(_vmsg.fifo.kHeadOffset, 1000)  # hostile producer index: reduced mod 62
    cons.available()
    assert cons.stats().peer_index_out_of_range >= 1


def test_a_clock_step_past_the_top_is_a_port_error_and_advances_nothing():
    p = _reference().port()
    p.advance_time(2**64 - 10)
    with pytest.raises(port.PortError, match="overflow"):
        p.advance_time(10)
    p.advance_time(9)  # up to the top exactly is fine
    with pytest.raises(port.PortError):
        p.advance_time(1)
