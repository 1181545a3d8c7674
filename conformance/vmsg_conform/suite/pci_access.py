"""PCI configuration, MSI-X and MMIO helpers over the port (PCI Local Bus 3.0;
amp-pci-device.md §2, §7, §9.4)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# ---- PCI config (PCI Local Bus 3.0) -----------------------------------------------

CFG_VENDOR = 0x00
CFG_DEVICE = 0x02
CFG_COMMAND = 0x04
CFG_STATUS = 0x06
CFG_REVISION = 0x08
CFG_HEADER_TYPE = 0x0E
CFG_BAR0 = 0x10
CFG_CAP_PTR = 0x34
CMD_MEM = 0x0002
CMD_BUS_MASTER = 0x0004
STATUS_CAP_LIST = 0x0010
CAP_MSIX = 0x11
MSIX_ENABLE = 0x8000
MSIX_FUNCTION_MASK = 0x4000



# ---- PCI helpers -------------------------------------------------------------------------


def cfg_read(dut, offset: int, size: int = 4) -> int:
    return int(dut.port.config_read(dut.pci_address, offset, size))


def cfg_write(dut, offset: int, size: int, value: int) -> None:
    dut.port.config_write(dut.pci_address, offset, size, value)


def bar_base(dut, n: int) -> int:
    """Assigned base of memory BAR n (32-bit BARs, as this device has)."""
    return cfg_read(dut, CFG_BAR0 + 4 * n) & ~0xF


def capabilities(dut) -> list[tuple[int, int]]:
    """(id, offset) of every capability, bounded against loops."""
    caps: list[tuple[int, int]] = []
    if not cfg_read(dut, CFG_STATUS, 2) & STATUS_CAP_LIST:
        return caps
    ptr = cfg_read(dut, CFG_CAP_PTR, 1) & 0xFC
    seen: set[int] = set()
    while ptr and ptr not in seen and len(caps) < 48:
        seen.add(ptr)
        caps.append((cfg_read(dut, ptr, 1), ptr))
        ptr = cfg_read(dut, ptr + 1, 1) & 0xFC
    return caps


@dataclass(frozen=True)
class MsixLayout:
    cap: int
    table_size: int
    table_bir: int
    table_offset: int
    pba_bir: int
    pba_offset: int
    table_addr: int
    pba_addr: int

    def entry(self, vector: int) -> int:
        return self.table_addr + 16 * vector


def msix_layout(dut) -> MsixLayout:
    cap = next((off for cid, off in capabilities(dut) if cid == CAP_MSIX), None)
    assert cap is not None, "no MSI-X capability"
    control = cfg_read(dut, cap + 2, 2)
    table = cfg_read(dut, cap + 4)
    pba = cfg_read(dut, cap + 8)
    tb, pb = table & 7, pba & 7
    return MsixLayout(cap, (control & 0x7FF) + 1, tb, table & ~7, pb, pba & ~7,
                      bar_base(dut, tb) + (table & ~7), bar_base(dut, pb) + (pba & ~7))


def msix_control(dut) -> int:
    return cfg_read(dut, msix_layout(dut).cap + 2, 2)


def set_msix_function_mask(dut, masked: bool) -> None:
    m = msix_layout(dut)
    c = cfg_read(dut, m.cap + 2, 2)
    cfg_write(dut, m.cap + 2, 2, (c | MSIX_FUNCTION_MASK) if masked else (c & ~MSIX_FUNCTION_MASK))


def set_vector_masked(dut, vector: int, masked: bool) -> None:
    m = msix_layout(dut)
    addr = m.entry(vector) + 12
    v = int(dut.port.mmio_read(addr, 4))
    dut.port.mmio_write(addr, 4, (v | 1) if masked else (v & ~1))


def pba_pending(dut, vector: int) -> bool:
    m = msix_layout(dut)
    word = int(dut.port.mmio_read(m.pba_addr + 4 * (vector // 32), 4))
    return bool(word >> (vector % 32) & 1)


# ---- memory helpers (MMIO only, so every target supports them) -----------------------------


def read_bytes(port, addr: int, n: int) -> bytes:
    out = bytearray()
    for off in range(0, n, 4):
        out += struct.pack("<I", int(port.mmio_read(addr + off, 4)))
    return bytes(out[:n])


def write_bytes(port, addr: int, data: bytes) -> None:
    assert len(data) % 4 == 0
    for off in range(0, len(data), 4):
        port.mmio_write(addr + off, 4, struct.unpack_from("<I", data, off)[0])
