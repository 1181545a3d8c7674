"""Bus PING: exact echo, header fields, bursts, every FIFO
(virtio-msg.md §5.2; VMSG-BUS-020, VMSG-BUS-022, VMSG-BUS-027, VMSG-BUS-028, VMSG-BUS-047)."""

from __future__ import annotations

import pytest

from . import helpers as h


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


DATA = [0, 1, 0x12345678, 0x80000000, 0xDEADBEEF, 0xFFFFFFFF]


def assert_echo(resp: bytes, data: int) -> None:
    h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_PING, dev_num=0, msg_size=12)
    assert h.u32(resp, 8) == data, f"echoed 0x{h.u32(resp, 8):08x}, sent 0x{data:08x}"


@pytest.mark.req("VMSG-BUS-047", "VMSG-BUS-020", "VMSG-BUS-022")
@pytest.mark.parametrize("data", DATA, ids=[f"0x{d:08x}" for d in DATA])
def test_ping_echoes_data_exactly(dut, fifo, data):
    assert_echo(h.request(h.RawFifo(dut, fifo), h.ping(data)), data)


@pytest.mark.req("VMSG-BUS-047", "VMSG-BUS-026")
@pytest.mark.parametrize("token", [0, 1, 0x8001, 0xFFFF])
def test_ping_is_answered_whatever_the_token(dut, token):
    assert_echo(h.request(h.RawFifo(dut, 0), h.ping(0xA0 + token, token=token)), 0xA0 + token)


@pytest.mark.req("VMSG-BUS-020", "VMSG-BUS-047")
@pytest.mark.parametrize("dev_num", [1, 31, 0xFFFF])
def test_ping_with_nonzero_dev_num_is_answered_with_dev_num_0(dut, dev_num):
    assert_echo(h.request(h.RawFifo(dut, 0), h.ping(0x1234, dev_num=dev_num)), 0x1234)


@pytest.mark.req("VMSG-BUS-028", "VMSG-BUS-027", "VMSG-BUS-047")
def test_ping_burst_gets_exactly_one_echo_each_in_order(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    data = [0x51000 + 3 * i for i in range(40)]
    got = h.exchange(raw, [h.ping(d) for d in data], steps=8)
    assert len(got) == len(data), f"{len(got)} echoes for {len(data)} PINGs"
    for resp, d in zip(got, data):
        assert_echo(resp, d)


@pytest.mark.req("VMSG-BUS-047")
def test_each_fifo_answers_its_own_pings(dut):
    raws = [h.RawFifo(dut, q) for q in range(dut.description.num_fifos)]
    for q, r in enumerate(raws):
        r.post_all([h.ping(0xF1F0_0000 + q)])
    for r in raws:
        r.ring()
    for q, r in enumerate(raws):
        got = r.collect()
        assert len(got) == 1, f"FIFO {q}: {len(got)} frames"
        assert_echo(got[0], 0xF1F0_0000 + q)
