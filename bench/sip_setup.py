#!/usr/bin/env python3
"""SIP call setup cost: Tandem against sofia-sip's own floor, same load.

SIPp's built-in `uac` scenario (INVITE, 200, ACK, BYE, 200; no media) places
CALLS calls at RATE calls/s against each server in turn:

  floor   build/bin/sofia_floor: a bare sofia-sip NUA answering 200 with a
          fixed SDP; no engine, no dialplan, no RTP socket. Twice: as
          nua_create() sets it up by default (the SIP stack in a thread of
          its own) -- the "bare NUA program" the 1.3x target is measured
          against -- and with --one-thread (su_root_threading off, as
          Tandem's SIP thread runs it), a stricter reference: that program
          does nothing but SIP, so Tandem's SIP thread alone costs about as
          much (see bench/BENCHMARKS.md, "Which floor");
  tandem  the real engine with the sip module: each call gets an RTP socket
          on a worker, a leg, a call, a Lua coroutine running
          `call:answer()` then waiting for the BYE, events and a CDR through
          the durable spool into the file sink.

The server's CPU (utime + stime of every thread, from /proc/PID/stat) is read
after a warm-up and after the run; CPU per call is the difference divided by
the calls. A run is clean when SIPp counts no failed call, no
retransmission, and achieved a rate (SIPp's calls over its own elapsed
time) within 1% of the one offered.

  python3 bench/sip_setup.py [--calls 4000] [--rate 200] [--rounds N]
          --rounds: the three servers N times in turn (this machine's speed
          drifts by a tenth within minutes); a last line gives each
          server's median and Tandem's median ratio to each floor, the
          ratios taken within a round
  python3 bench/sip_setup.py --find-max [--seconds 10]   each server from
          250 calls/s up in steps of 250, each step SECONDS of calls, until
          a run is not clean; reports the highest clean rate

Tandem's per-thread CPU per call is printed after its row (--threads).
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
    """Runs the load; returns (successful, failed, retransmissions, seconds)."""
    stat = os.path.join(workdir, "sipp_stat.csv")
    if os.path.exists(stat):
        os.unlink(stat)
    start = time.time()
    subprocess.run(["sipp", "-sn", "uac", "-i", "127.0.0.1", "-p", str(harness.free_port()),
                    "-r", str(rate), "-m", str(calls), "-l", str(max(rate * 2, 400)), "-d", "0",
                    "-timeout", "120", "-nostdin", "-trace_stat", "-stf", stat,
                    "127.0.0.1:%d" % port],
                   cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    seconds = time.time() - start
    with open(stat) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    head, last = rows[0], rows[-1]
    col = lambda name: int(last[head.index(name)])  # noqa: E731
    # SIPp's own clock for the rate: its start to its last statistics line
    # (each time field ends with the epoch in seconds, to the microsecond)
    epoch = lambda name: float(last[head.index(name)].split()[-1])  # noqa: E731
    elapsed = epoch("CurrentTime") - epoch("StartTime")
    return col("SuccessfulCall(C)"), col("FailedCall(C)"), col("Retransmissions(C)"), elapsed or seconds


def thread_cpu(pid):
    """{thread name: CPU seconds} summed over threads of the same name."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def measure(name, proc, port, calls, rate, workdir, threads=False, quiet=False):
    """One run after a warm-up; prints a row; returns (clean, CPU µs per call)."""
    sipp(port, 200, min(rate, 200), workdir)  # warm-up: caches, sockets, Lua
    before, before_threads = cpu_seconds(proc.pid), thread_cpu(proc.pid)
    ok, failed, retrans, seconds = sipp(port, calls, rate, workdir)
    used = cpu_seconds(proc.pid) - before
    achieved = ok / seconds
    clean = failed == 0 and retrans == 0 and ok == calls and achieved >= rate * 0.99
    per_call = used / max(ok, 1) * 1e6
    if not quiet:
        print("| %s | %d | %d | %d | %d | %.1f | %.2f | %.1f | %s |"
              % (name, calls, rate, failed, retrans, achieved, used, per_call, "yes" if clean else "no"))
    if threads:
        after = thread_cpu(proc.pid)
        parts = ["%s %.0f" % (t, (after[t] - before_threads.get(t, 0)) / max(ok, 1) * 1e6)
                 for t in sorted(after) if after[t] - before_threads.get(t, 0) > 0]
        print("|  | per thread, µs/call: %s | | | | | | | |" % ", ".join(parts))
    return clean, per_call


def start_floor(one_thread):
    port = harness.free_port()
    args = [os.path.join(harness.BUILD, "bin", "sofia_floor"), "sip:127.0.0.1:%d" % port]
    proc = subprocess.Popen(args + (["--one-thread"] if one_thread else []), stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def start_tandem(work):
    port = harness.free_port()
    rtp = 16384 + (port % 4000) & ~1  # below the ephemeral ports
    with open(os.path.join(work, "tandem.lua"), "w") as f:
        f.write("return { modules = { 'sip' }, workers = 2, log = { level = 'warning' },\n"
                "  module_config = { sip = { listen = 'sip:127.0.0.1:%d',\n"
                "    rtp_port_min = %d, rtp_port_max = %d } } }\n" % (port, rtp, rtp + 10000))
    with open(os.path.join(work, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN)
    engine = harness.Instance(os.path.join(work, "tandem.lua")).start()
    return engine, port


SERVERS = (("sofia floor (stack thread)", lambda w: start_floor(False)),
           ("sofia floor (one thread)", lambda w: start_floor(True)),
           ("tandem", start_tandem))


def stop(server):
    if isinstance(server, harness.Instance):
        server.stop()
        server.cleanup()
    else:
        server.kill()
        server.wait()


def find_max(seconds, work):
    """Highest clean rate of each server, each step SECONDS long, in steps
    of 250 calls/s."""
    print("| server | highest clean rate (calls/s) | first rate not clean | CPU per call at the clean rate (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, start in SERVERS:
        best, per_call, rate = 0, 0.0, 250
        while rate <= 4000:
            calls = rate * seconds
            server, port = start(work)
            try:
                proc = server.proc if isinstance(server, harness.Instance) else server
                clean, cost = measure(name, proc, port, calls, rate, work, quiet=True)
            finally:
                stop(server)
            if not clean:
                break
            best, per_call = rate, cost
            rate += 250
        print("| %s | %d | %s | %.0f |" % (name, best, rate if rate <= 4000 else "-", per_call))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--find-max", action="store_true", help="search each server's highest clean rate")
    ap.add_argument("--seconds", type=int, default=10, help="with --find-max: how long each step runs")
    ap.add_argument("--rounds", type=int, default=1, help="run the servers this many times in turn; report medians")
    args = ap.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp (package sip-tester) is not installed")
    work = tempfile.mkdtemp(prefix="tandem-bench-sip-")
    try:
        if args.find_max:
            find_max(args.seconds, work)
            return 0
        unclean = 0
        print("| server | calls | rate (calls/s) | failed | retransmissions | achieved (calls/s) | CPU (s) "
              "| CPU per call (µs) | clean |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        costs = {name: [] for name, _ in SERVERS}
        for _ in range(args.rounds):
            for name, start in SERVERS:
                server, port = start(work)
                try:
                    proc = server.proc if isinstance(server, harness.Instance) else server
                    clean, cost = measure(name, proc, port, args.calls, args.rate, work, threads=name == "tandem")
                    unclean += not clean
                    costs[name].append(cost)
                finally:
                    stop(server)
        if args.rounds > 1:
            median = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
            tandem = costs["tandem"]
            ratios = ["%.2f× %s" % (median([t / f for t, f in zip(tandem, costs[name])]), name)
                      for name, _ in SERVERS if name != "tandem"]
            print("| medians of %d rounds: %s; tandem / floor within a round: %s | | | | | | | | |"
                  % (args.rounds, ", ".join("%s %.1f µs" % (n, median(v)) for n, v in costs.items()),
                     ", ".join(ratios)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if unclean else 0


if __name__ == "__main__":
    sys.exit(main())
