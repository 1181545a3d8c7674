"""Dut: one opened target with the driver stack on top, as tests use it.

Everything except ``violations`` and ``stimulus`` goes through the port, so
a Dut over QEMU or a vendor library behaves like one over the reference.
The driver objects are created on first use and cached; ``close`` drops them
before the target.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable


class Stimulus:
    """Target-side actions. The base has none: each skips the calling test."""

    def config_change(self, dev_num: int, fifo: int = 0) -> None:
        _skip("this target cannot change a device's configuration on its own")

    # Device behaviours a driver must cope with (REV1-2026 driver rules);
    # only the reference can be made to show them on demand.
    def config_event_without_data(self, dev_num: int, fifo: int = 0) -> None:
        """A device-side change announced by EVENT_CONFIG with no data, offset and length 0."""
        _skip("this target cannot send an EVENT_CONFIG without data on demand")

    def slow_reset(self, dev_num: int, reads: int, fifo: int = 0) -> None:
        """The next reset answers non-zero, and so do the next ``reads - 1`` status reads."""
        _skip("this target cannot make a device reset complete late")

    def drop_requests(self, dev_num: int, n: int, fifo: int = 0) -> None:
        """The next ``n`` requests to the device go unanswered."""
        _skip("this target cannot make a device stop answering")

    def send_frame(self, frame: bytes, fifo: int = 0) -> None:
        """Raw bytes into the FIFO's device queue, as a device->driver frame."""
        _skip("this target cannot put arbitrary frames in its device queue")


def _skip(reason: str) -> None:
    import pytest  # noqa: PLC0415 (only tests reach this)
    pytest.skip(reason)


def _native():
    from . import _vmsg  # noqa: PLC0415
    return _vmsg


class Dut:
    """An opened target (see conformance/README.md, "What a test sees")."""

    def __init__(self, port: Any, description: Any, profile: Any, *, target: Any = None,
                 faults: Iterable[str] = (), violations: Callable[[], list] | None = None,
                 stimulus: Any = None, native: Any = None, on_close: Callable[[], None] | None = None) -> None:
        v = _native()
        self.port = port
        self.description = description
        self.profile = profile
        self.target = target
        self.faults = list(faults)
        #: The target's own object (ReferenceTarget on ref), for white-box checks.
        self.native = native
        self.stimulus = stimulus if stimulus is not None else Stimulus()
        self.pci_address = v.port.PciAddress(*description.pci_address)
        amap = port.address_map()
        self.ram = v.driver.GuestAllocator(amap)
        self.window = v.driver.BarWindowAllocator(amap)
        self._violations = violations
        self._on_close = on_close
        self._amp = None
        self._buses: dict[int, Any] = {}
        self._transports: dict[tuple[int, int], Any] = {}
        self._tolerated: list[tuple[str, str]] = []
        self._closed = False

    # ---- the driver stack -------------------------------------------------------

    def open_amp(self, **options: Any):
        """Opens the amp function with non-default AmpDriverOptions (before
        the first use of ``amp``); returns the AmpDriver."""
        if self._amp is not None:
            raise RuntimeError("Dut.open_amp: the amp function is already open")
        v = _native()
        options.setdefault("profile", self.profile)
        self._amp = v.driver.AmpDriver.open(self.port, self.ram, self.window, v.driver.AmpDriverOptions(**options))
        return self._amp

    @property
    def amp(self):
        """The driver.AmpDriver, opened on first use (BARs, MEM|BME, MSI-X)."""
        if self._amp is None:
            self.open_amp()
        return self._amp

    def link(self, fifo: int = 0):
        """The driver.FifoLink of a FIFO."""
        return self.amp.fifo(fifo)

    def bus(self, fifo: int = 0):
        """The driver.BusDriver of a FIFO, shared by the transports on it."""
        b = self._buses.get(fifo)
        if b is None:
            b = _native().driver.BusDriver(self.link(fifo))
            self._buses[fifo] = b
        return b

    def transport(self, dev_num: int, fifo: int = 0):
        """A driver.TransportDriver for a device (cached per device)."""
        key = (fifo, dev_num)
        t = self._transports.get(key)
        if t is None:
            drv = _native().driver
            # Setup goes on where a real driver would (e.g. a non-zero cur_size
            # before SET_VQUEUE) and records the deviation; strict checks stay
            # the drivers' default, for tests of the drivers themselves.
            options = drv.TransportDriverOptions()
            if hasattr(options, "tolerate_deviations"):
                options.tolerate_deviations = True
            t = drv.TransportDriver(self.bus(fifo), dev_num, options)
            self._transports[key] = t
        return t

    def tolerate(self, req: str, detail: str) -> None:
        """Records a deviation the test's setup worked around (it does not
        change the verdict; reports list it beside the test)."""
        if (req, detail) not in self._tolerated:
            self._tolerated.append((req, detail))

    def deviations(self) -> list[tuple[str, str]]:
        """(requirement, detail) of every deviation tolerated so far, by the
        suite's helpers and by the driver stack."""
        out = list(self._tolerated)
        for fifo, bus in sorted(self._buses.items()):
            strays = bus.link().stray_responses() if hasattr(bus.link(), "stray_responses") else 0
            if strays:
                out.append(("VMSG-BUS-028", f"FIFO {fifo}: the driver dropped {strays} response(s) "
                                            "that answered no request"))
        for t in self._transports.values():
            for d in getattr(t, "deviations", lambda: [])():
                pair = (d.requirement, d.detail)
                if pair not in out:
                    out.append(pair)
        return out

    def devices(self, kind: str | None = None) -> list:
        """Expected devices from the description, optionally of one kind."""
        return [d for d in self.description.devices if kind is None or d.kind == kind]

    # ---- target-side facts ---------------------------------------------------------

    def violations(self) -> list | None:
        """Driver-rule violations the target recorded, or None when it does not validate."""
        return None if self._violations is None else list(self._violations())

    def close(self) -> None:
        """Drops the driver stack, then the target. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._transports.clear()
        self._buses.clear()
        self._amp = None
        self.ram = self.window = None
        self.stimulus = None
        self.port = None
        self.native = None
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> "Dut":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        name = getattr(self.target, "name", None) or self.description.name
        return f"Dut({name!r}, faults={self.faults!r})"
