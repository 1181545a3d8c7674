"""REV1 token handling (REV1 L688-694): every response, transport or bus,
carries the token of its request, and the token never changes the answer."""
import struct

import pytest

from vmsg_conform.suite import helpers as h
from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

TOKENS = [0, 1, 0x1234, 0x8001, 0xFFFF]


def _token_of(frame: bytes) -> int:
    return th.header(frame)[3]


REQUESTS = {
    "get-device-info": lambda: th.wire.GetDeviceInfoReq(),
    "get-device-status": lambda: th.wire.GetDeviceStatusReq(),
    "get-device-features": lambda: th.wire.GetDeviceFeaturesReq(block_index=0, num_blocks=2),
    "get-config": lambda: th.wire.GetConfigReq(offset=0, length=4),
    "get-vqueue": lambda: th.wire.GetVqueueReq(index=0),
    "get-shm": lambda: th.wire.GetShmReq(index=0),
}


@pytest.mark.req("R1-DEV-037")
@pytest.mark.parametrize("token", TOKENS, ids=[f"0x{t:04x}" for t in TOKENS])
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_r1_transport_response_copies_the_token(dut, name, token):
    p = th.peer(dut, th.RNG_ID)
    body = REQUESTS[name]()
    # read raw: the token is judged whatever the rest of the answer looks like
    resps = p.send(body, token=token).responses(th.wire.msg_id(body))
    th.require(len(resps) == 1, "R1-DEV-039", f"{name}: {len(resps)} answers")
    got = _token_of(resps[0].raw)
    assert got == token, f"{name}: response token 0x{got:04x}, request token 0x{token:04x}"


@pytest.mark.req("R1-DEV-037")
def test_r1_every_answer_of_an_initialisation_copies_its_token(dut):
    # SET_* answers too: a whole bring-up with a different token per request.
    p = th.peer(dut, th.RNG_ID)
    seen = []
    orig = p.send

    def send(body, token=0, **kw):
        token = (0x4000 + 0x111 * len(seen)) & 0xFFFF
        reply = orig(body, token=token, **kw)
        seen.append((th.wire.name(body), token, reply))
        return reply

    p.send = send
    th.bring_up(p)
    for name, token, reply in seen:
        for f in reply.responses():
            assert _token_of(f.raw) == token, \
                f"{name}: response token 0x{_token_of(f.raw):04x}, request token 0x{token:04x}"


@pytest.mark.req("R1-DEV-036", "R1-DEV-037")
@pytest.mark.parametrize("token", [0, 0x7FFF, 0xFFFF])
def test_r1_answer_does_not_depend_on_the_token(dut, token):
    p = th.peer(dut, th.RNG_ID)
    p.ask(th.wire.GetDeviceInfoReq(), token=0x5A5A)
    ref = bytes(p.last.raw)
    p.ask(th.wire.GetDeviceInfoReq(), token=token)
    got = bytes(p.last.raw)
    # everything but the token field (bytes 4..5) is the same
    assert got[:4] + got[6:] == ref[:4] + ref[6:], f"answer changed with token 0x{token:04x}"
    th.check(_token_of(got) == token, "R1-DEV-037", f"response token 0x{_token_of(got):04x}, sent 0x{token:04x}")


@pytest.mark.req("R1-DEV-037")
@pytest.mark.parametrize("token", TOKENS, ids=[f"0x{t:04x}" for t in TOKENS])
def test_r1_ping_answer_copies_the_token(dut, token):
    resp = h.request(h.RawFifo(dut, 0), h.ping(0xC0DE0000 | token, token=token))
    assert h.u32(resp, 8) == 0xC0DE0000 | token
    assert _token_of(resp) == token, f"PING answer token 0x{_token_of(resp):04x}, request 0x{token:04x}"


@pytest.mark.req("R1-DEV-037")
@pytest.mark.parametrize("token", TOKENS, ids=[f"0x{t:04x}" for t in TOKENS])
def test_r1_get_devices_answer_copies_the_token(dut, token):
    resp = h.request(h.RawFifo(dut, 0), h.get_devices(0, 8, token=token))
    assert _token_of(resp) == token, f"GET_DEVICES answer token 0x{_token_of(resp):04x}, request 0x{token:04x}"


@pytest.mark.req("R1-DEV-037", "R1-BUS-039")
def test_r1_ping_burst_answers_keep_their_own_tokens(dut):
    raw = h.RawFifo(dut, 0)
    tokens = [0xFFFF - 7 * i for i in range(12)]
    got = h.exchange(raw, [h.ping(0x7000 + i, token=t) for i, t in enumerate(tokens)], steps=8)
    assert len(got) == len(tokens)
    for i, (resp, t) in enumerate(zip(got, tokens)):
        assert h.u32(resp, 8) == 0x7000 + i
        assert _token_of(resp) == t, f"answer {i}: token 0x{_token_of(resp):04x}, request 0x{t:04x}"
