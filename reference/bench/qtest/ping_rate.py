"""PING round trips per second over qtest, from Python, through the driver stack.

Opens the ``qtest`` target (vmsg-ref-qtest by default; ``--target qemu`` for a
QEMU with the virtio-msg series) the way the conformance suite does, then
times N ``BusDriver.request(PING)`` calls: each is one FifoLink exchange over
the qtest socket. Per run it prints the rate, and the CPU time per PING of
this process and of the target process (when the target is a process), so a
rate below the CPU bound shows time spent waiting to be scheduled. The best
run is the summary, since the machine may be shared. Needs the vmsg_conform
package installed (pip) and, for the qtest target, VMSG_REF_QTEST or
vmsg-ref-qtest on PATH.

    VMSG_REF_QTEST=build/reference/tools/vmsg-ref-qtest \\
        .venv/bin/python reference/bench/qtest/ping_rate.py -n 20000 -r 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process, or None where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _target_pid(dut) -> int | None:
    proc = getattr(getattr(dut, "native", None), "process", None)
    return proc().pid if callable(proc) else None


def run(target: str, count: int, runs: int, fifo: int) -> list[tuple[float, float, float | None]]:
    """(PING/s, client CPU us/PING, target CPU us/PING or None) per run."""
    from vmsg_conform import _vmsg as v  # noqa: PLC0415
    from vmsg_conform import targets  # noqa: PLC0415

    t = targets.resolve(target)
    reason = t.available()
    if reason is not None:
        raise SystemExit(f"target {target!r} unavailable: {reason}")
    out = []
    with t.open() as dut:
        bus = dut.bus(fifo)
        pid = _target_pid(dut)
        make = v.wire.Message
        ping = v.wire.PingReq
        for _ in range(runs):
            served0 = _process_cpu_s(pid) if pid else None
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            for i in range(count):
                resp = bus.request(make(dev_num=0, token=0, body=ping(data=i)))
                if resp.body.data != i:  # cheap check that each answer is the echo
                    raise SystemExit(f"PING {i}: echo {resp.body.data}")
            wall = time.perf_counter() - t0
            client = (time.process_time() - cpu0) * 1e6 / count
            served1 = _process_cpu_s(pid) if pid else None
            server = None if served0 is None or served1 is None else (served1 - served0) * 1e6 / count
            out.append((count / wall, client, server))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="qtest", help="--vmsg-target spec (default: qtest)")
    ap.add_argument("-n", "--count", type=int, default=10_000, help="PINGs per run")
    ap.add_argument("-r", "--runs", type=int, default=3, help="timed runs")
    ap.add_argument("--fifo", type=int, default=0)
    a = ap.parse_args(argv)
    results = run(a.target, a.count, a.runs, a.fifo)
    for rate, client, server in results:
        target_cpu = "-" if server is None else f"{server:.1f}"
        print(f"{rate:10.0f} PING/s   CPU per PING: client {client:.1f} us, target {target_cpu} us")
    print(f"best {max(r[0] for r in results):.0f} PING/s ({a.count} PINGs x {a.runs} runs, target {a.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
