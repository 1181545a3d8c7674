"""The embedded reference target ("ref"): the C++ reference machine with the
amp device and real virtio backends, built in-process through the native
module. Every device is wrapped in the validating endpoint, so the Dut can
report the driver rules a test broke."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from .. import profiles as _profiles
from ..dut import Stimulus
from .base import Target, split_faults
from .description import TargetDescription

DEFAULT_DESCRIPTION = Path(__file__).with_name("ref.toml")


def _native():
    from .. import _vmsg  # noqa: PLC0415 (imported lazily: the module may be unbuilt)
    return _vmsg


def profile_of(name: str | None):
    """The wire.Profile of a concrete profile name (None: the default)."""
    return _profiles.profile_of(name)


def device_profile_of(description: TargetDescription, run_profile: str | None):
    """The wire.Profile the reference device is built in: the description's
    device_profile when it has one, else the run's profile."""
    return _profiles.profile_of(description.device_profile or run_profile or description.profile)


class RefStimulus(Stimulus):
    """Target-side actions on the reference."""

    def __init__(self, endpoints: dict[tuple[int, int], Any], stimuli: dict[tuple[int, int], Any] | None = None,
                 channel: Callable[[int], Any] | None = None) -> None:
        self._endpoints = endpoints
        self._stimuli = stimuli or {}
        self._channel = channel

    def _stimulus(self, dev_num: int, fifo: int):
        st = self._stimuli.get((fifo, dev_num))
        if st is None:
            raise KeyError(f"no device at FIFO {fifo} dev_num {dev_num}")
        return st

    def config_event_without_data(self, dev_num: int, fifo: int = 0) -> None:
        """A generation bump announced by EVENT_CONFIG with offset and length 0 (REV1 L1046-1049)."""
        ep = self._endpoints.get((fifo, dev_num))
        if ep is None:
            raise KeyError(f"no device at FIFO {fifo} dev_num {dev_num}")
        ep.config_changed(0, 0)

    def slow_reset(self, dev_num: int, reads: int, fifo: int = 0) -> None:
        self._stimulus(dev_num, fifo).slow_reset(reads)

    def drop_requests(self, dev_num: int, n: int, fifo: int = 0) -> None:
        self._stimulus(dev_num, fifo).drop_requests(n)

    def send_frame(self, frame: bytes, fifo: int = 0) -> None:
        if self._channel is None:
            super().send_frame(frame, fifo)
            return
        self._channel(fifo).send(bytes(frame))

    def backend(self, dev_num: int, fifo: int = 0):
        """The backend behind (fifo, dev_num) (white-box; reference only)."""
        ep = self._endpoints.get((fifo, dev_num))
        if ep is None:
            raise KeyError(f"no device at FIFO {fifo} dev_num {dev_num}")
        return ep.backend()

    def config_change(self, dev_num: int, fifo: int = 0) -> None:
        """A device-side configuration change (generation bump + EVENT_CONFIG),
        the same action the DUT library and vmsg-ref-qtest run: the balloon asks
        for a different target size, blk grows by one block. Skips for device
        types whose configuration the device never changes on its own."""
        b = self.backend(dev_num, fifo)
        if not _native().devices.apply_stimulus(f"config-change fifo={int(fifo)} dev={int(dev_num)}", b):
            import pytest  # noqa: PLC0415
            pytest.skip(f"{type(b).__name__} has no device-side config change")


class RefTarget(Target):
    """The reference built from a description."""

    kind = "ref"

    def __init__(self, description: TargetDescription | None = None, name: str | None = None) -> None:
        desc = description or TargetDescription.from_toml(DEFAULT_DESCRIPTION)
        super().__init__(name or desc.name, desc)

    def with_description(self, description: TargetDescription) -> "RefTarget":
        """The same target built from another description (a topology variant)."""
        return RefTarget(description, name=self.name)

    def available(self) -> str | None:
        try:
            _native()
        except ImportError as exc:
            return f"native module vmsg_conform._vmsg not built ({exc})"
        return None

    def info(self) -> dict[str, Any]:
        info = super().info()
        try:
            info["native"] = str(Path(_native().__file__).name)
        except ImportError:
            pass
        return info

    def open(self, faults: Iterable[str] = (), profile: str = "pr28"):
        from ..dut import Dut  # noqa: PLC0415

        v = _native()
        desc = self.description
        wprofile = profile_of(profile or desc.profile)
        device_wprofile = device_profile_of(desc, profile)
        fault_set = v.fault.FaultSet.parse_list(",".join(split_faults(faults)))

        log = v.transport.DriverRuleLog()
        endpoints: dict[tuple[int, int], Any] = {}
        stimuli: dict[tuple[int, int], Any] = {}
        slots = []
        for d in desc.devices:
            backend = v.devices.make_backend(d.kind, dict(d.props))
            options = v.transport.TransportOptions(max_msg_size=device_wprofile.max_msg_size, faults=fault_set,
                                                   layout=device_wprofile.layout)
            transport = v.transport.DeviceTransport(backend, options)
            transport.set_driver_rule_sink(log)  # the device type's driver rules, seen by the backend
            endpoints[(d.fifo, d.dev_num)] = transport
            # Armable device behaviours (dut.stimulus), seen by the validator as the device's own.
            stimulus = v.transport.StimulusEndpoint(transport)
            stimuli[(d.fifo, d.dev_num)] = stimulus
            # the validator judges the suite's drivers, which speak the run's draft
            validating = v.transport.ValidatingEndpoint(
                stimulus, log, v.transport.ValidationProfile(layout=wprofile.layout))
            slots.append(v.target.DeviceSlot(fifo=d.fifo, dev_num=d.dev_num, endpoint=validating))

        amp = v.amp.AmpConfig(num_fifos=desc.num_fifos, profile=device_wprofile, faults=fault_set)
        bus = amp.bus
        bus.rule_layout = wprofile.layout  # the bus's driver-frame rules too, in the run's draft
        amp.bus = bus
        spec = v.target.ReferenceSpec(amp=amp, devices=slots, address=v.port.PciAddress(*desc.pci_address))
        if desc.ram_size is not None:
            spec.ram_size = desc.ram_size
        ref = v.target.ReferenceTarget(spec, rule_log=log)

        return Dut(
            port=ref.port(),
            description=desc,
            profile=wprofile,
            target=self,
            faults=split_faults(faults),
            violations=lambda: list(log.violations()),
            stimulus=RefStimulus(endpoints, stimuli, lambda fifo: ref.device().channel(fifo)),
            native=ref,
        )
