"""``vmsg-ref-qtest``: the reference machine behind QEMU's qtest protocol.

The same server as the CMake-built tool (reference/tools/vmsg_ref_qtest.cpp),
run from the native module, so a pip install has it too. It is started the
way QEMU is: ``vmsg-ref-qtest -qtest unix:PATH -device virtio-msg-amp-pci,...``
and connects to the client's socket. Exit status: 0 when the client closes
the connection, 1 for a command line it cannot honour or a crashed device
(its report on stderr), 2 for a socket failure.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from . import _vmsg  # noqa: PLC0415
    except ImportError as exc:
        print(f"vmsg-ref-qtest: native module vmsg_conform._vmsg not built ({exc})", file=sys.stderr)
        return 1
    sys.stdout.flush()
    return int(_vmsg.qtest.ref_qtest_main(args))


if __name__ == "__main__":
    sys.exit(main())
