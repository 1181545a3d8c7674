"""--profile auto: telling PR28 from REV1-2026 by the GET_DEVICE_INFO response
size, and the typed error for a device that answers neither way (or not at all)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from vmsg_conform import profiles
from vmsg_conform.targets.description import TargetDescription


class ScriptedLink:
    """A FifoLink stand-in: records what is posted, answers with scripted frames."""

    def __init__(self, answers: list[bytes], delay: int = 0) -> None:
        self.posted: list[bytes] = []
        self.rings = 0
        self._answers = list(answers)
        self._delay = delay  # polls that find nothing before the answers appear

    def post(self, frame: bytes) -> None:
        self.posted.append(bytes(frame))

    def ring(self) -> None:
        self.rings += 1

    def poll(self):
        if not self.rings:
            return None
        if self._delay:
            self._delay -= 1
            return None
        return self._answers.pop(0) if self._answers else None


def info_response(size: int, dev_num: int = 1, msg_id: int = 0x02, type_: int = 0x01) -> bytes:
    return struct.pack("<BBHHH", type_, msg_id, dev_num, 0, size) + bytes(max(0, size - 8))


def detect(link: ScriptedLink, dev_num: int = 1):
    clock: list[int] = []
    found = profiles.detect(link, clock.append, dev_num, fifo=0)
    return found, clock


@pytest.mark.parametrize("size,name", [(32, "pr28"), (52, "rev1-2026")])
def test_the_response_size_names_the_draft(size, name):
    link = ScriptedLink([info_response(size)], delay=3)
    found, clock = detect(link)
    assert found.profile == name and found.msg_size == size and found.dev_num == 1
    # the request is the 8-byte GET_DEVICE_INFO both drafts share, to the asked device
    assert link.posted == [bytes.fromhex("00 02 0100 0000 0800")]
    assert len(clock) == 3  # the target's time moved while nothing had come
    assert f"answered with {size} bytes" in found.describe()


def test_other_frames_before_the_answer_are_passed_over():
    event = struct.pack("<BBHHH", 0x00, 0x40, 1, 0, 24) + bytes(16)  # EVENT_CONFIG
    other_dev = info_response(52, dev_num=2)
    found, _ = detect(ScriptedLink([event, other_dev, info_response(32)]))
    assert found.profile == "pr28"


@pytest.mark.parametrize("size", [8, 20, 40, 48, 60, 64])
def test_a_device_answering_neither_way_is_a_typed_error(size):
    with pytest.raises(profiles.ProfileDetectionError) as e:
        detect(ScriptedLink([info_response(size)]))
    msg = str(e.value)
    assert f"answered with {size} bytes" in msg and "neither" in msg and "--profile pr28 or rev1-2026" in msg


def test_no_answer_is_a_typed_error_after_a_bounded_wait():
    link = ScriptedLink([info_response(32, msg_id=0x03)])  # a GET_DEVICE_FEATURES answer, not ours
    with pytest.raises(profiles.ProfileDetectionError) as e:
        detect(link)
    assert "got no response" in str(e.value) and "0103" in str(e.value)


def test_names_are_checked():
    assert profiles.check_name(None) == "pr28"
    assert profiles.check_name("auto") == "auto"
    with pytest.raises(ValueError, match="unknown profile 'rev2'"):
        profiles.check_name("rev2")
    with pytest.raises(ValueError, match="unknown profile 'auto'"):
        profiles.check_name("auto", allow_auto=False)


def test_a_description_names_known_profiles_only():
    with pytest.raises(ValueError, match="unknown profile 'pr29'"):
        TargetDescription(name="t", profile="pr29")
    with pytest.raises(ValueError, match="unknown profile 'auto'"):
        TargetDescription(name="t", device_profile="auto")
    d = TargetDescription.from_dict({"name": "t", "device_profile": "rev1-2026"})
    assert d.device_profile == "rev1-2026" and d.to_dict()["device_profile"] == "rev1-2026"
    assert "device_profile" not in TargetDescription(name="t").to_dict()


def test_auto_on_the_reference_detects_its_draft():
    from vmsg_conform import targets

    target = targets.resolve("ref")
    if target.available():
        pytest.skip(target.available())
    name, found = profiles.resolve(target, "auto")
    assert name == "pr28" and found is not None and found.msg_size == 32
    assert profiles.resolve(target, "rev1-2026") == ("rev1-2026", None)


def _ref_with(tmp_path, **fields):
    from vmsg_conform import targets

    base = (Path(targets.__file__).with_name("ref.toml")).read_text()
    lines = [ln for ln in base.splitlines() if not ln.startswith("profile =")]
    extra = [f'{k} = "{v}"' for k, v in fields.items()]
    # top-level keys go before the first [[devices]] table
    first = next(i for i, ln in enumerate(lines) if ln.startswith("[["))
    path = tmp_path / "t.toml"
    path.write_text("\n".join(lines[:first] + extra + lines[first:]) + "\n")
    return targets.resolve(f"ref:{path}")


def test_auto_finds_a_rev1_reference(tmp_path):
    target = _ref_with(tmp_path, profile="rev1-2026")
    if target.available():
        pytest.skip(target.available())
    name, found = profiles.resolve(target, "auto")
    assert name == "rev1-2026" and found.msg_size == 52


def test_a_pr28_device_judged_under_rev1_answers_in_its_own_layout(tmp_path):
    target = _ref_with(tmp_path, device_profile="pr28")
    if target.available():
        pytest.skip(target.available())
    dut = target.open(profile="rev1-2026")
    try:
        assert dut.profile.layout == dut.profile.layout.__class__.Rev1  # the checker reads REV1
        found = profiles.detect(dut.link(0), dut.port.advance_time, 1)
        assert found.profile == "pr28"  # the device still speaks PR28
    finally:
        dut.close()


@pytest.mark.parametrize("spec", ["ref", "lib:ref", "qtest"])
@pytest.mark.parametrize("draft", ["pr28", "rev1-2026"])
def test_auto_names_the_device_draft_on_every_reference_target(tmp_path, spec, draft):
    # the run's description says PR28; the device is built in `draft` (device_profile)
    from vmsg_conform import targets
    from vmsg_conform.targets.description import TargetDescription

    _ref_with(tmp_path, profile="pr28", device_profile=draft)  # writes t.toml
    desc = TargetDescription.from_toml(tmp_path / "t.toml")
    target = targets.resolve(spec)
    if target.available():
        pytest.skip(target.available())
    target = target.with_description(desc)
    name, found = profiles.resolve(target, "auto")
    assert name == draft and found.msg_size == (52 if draft == "rev1-2026" else 32)
