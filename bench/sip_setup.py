#!/usr/bin/env python3
"""SIP call setup cost: Tandem against sofia-sip's own floor, same load.

SIPp's built-in `uac` scenario (INVITE, 200, ACK, BYE, 200; no media) places
CALLS calls at RATE calls/s against each server in turn:

  floor   build/bin/sofia_floor: a bare sofia-sip NUA answering 200 with a
          fixed SDP; no engine, no dialplan, no RTP socket;
  tandem  the real engine with the sip module: each call gets an RTP socket
          on a worker, a leg, a call, a Lua coroutine running
          `call:answer()` then waiting for the BYE, events and a CDR.

The server's CPU (utime + stime of every thread, from /proc/PID/stat) is read
after a warm-up and after the run; CPU per call is the difference divided by
the calls. SIPp's failed-call count must be 0 for a figure to count.

  python3 bench/sip_setup.py [--calls 4000] [--rate 200]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DIALPLAN = """
return { contexts = { default = {
  ["_."] = function(call) call:answer() call:sleep(600000) end,
} } }
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def sipp(port, calls, rate, workdir):
    """Runs the load; returns (successful, failed, seconds)."""
    stat = os.path.join(workdir, "sipp_stat.csv")
    start = time.time()
    subprocess.run(["sipp", "-sn", "uac", "-i", "127.0.0.1", "-p", str(harness.free_port()),
                    "-r", str(rate), "-m", str(calls), "-l", str(rate * 2), "-d", "0",
                    "-timeout", "120", "-nostdin", "-trace_stat", "-stf", stat,
                    "127.0.0.1:%d" % port],
                   cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    seconds = time.time() - start
    with open(stat) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    head, last = rows[0], rows[-1]
    return int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")]), seconds


def measure(name, proc, port, calls, rate, workdir):
    sipp(port, 200, rate, workdir)  # warm-up: caches, sockets, Lua
    before = cpu_seconds(proc.pid)
    ok, failed, seconds = sipp(port, calls, rate, workdir)
    used = cpu_seconds(proc.pid) - before
    print("| %s | %d | %d | %d | %.1f | %.2f | %.1f |"
          % (name, calls, rate, failed, ok / seconds, used, used / max(ok, 1) * 1e6))
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--rate", type=int, default=200)
    args = ap.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp (package sip-tester) is not installed")
    work = tempfile.mkdtemp(prefix="tandem-bench-sip-")
    failed = 0
    print("| server | calls | rate (calls/s) | failed | achieved (calls/s) | CPU (s) | CPU per call (µs) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        port = harness.free_port()
        floor = subprocess.Popen([os.path.join(harness.BUILD, "bin", "sofia_floor"), "sip:127.0.0.1:%d" % port],
                                 stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            failed += measure("sofia floor", floor, port, args.calls, args.rate, work)
        finally:
            floor.kill()
            floor.wait()

        port = harness.free_port()
        rtp = 20000 + (port % 20000) & ~1
        with open(os.path.join(work, "tandem.lua"), "w") as f:
            f.write("return { modules = { 'sip' }, workers = 2, log = { level = 'warning' },\n"
                    "  module_config = { sip = { listen = 'sip:127.0.0.1:%d',\n"
                    "    rtp_port_min = %d, rtp_port_max = %d } } }\n" % (port, rtp, rtp + 4000))
        with open(os.path.join(work, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        engine = harness.Instance(os.path.join(work, "tandem.lua")).start()
        try:
            failed += measure("tandem", engine.proc, port, args.calls, args.rate, work)
        finally:
            engine.stop()
            engine.cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
