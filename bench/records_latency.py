#!/usr/bin/env python3
"""Call setup latency with and without a flood of records (issue 6: over
5,000 records/s "with no effect on call setup latency").

A real engine with the sip module and both sinks (the built-in file sink
and cdr_pgsql into a throwaway PostgreSQL cluster, default durability)
answers SIPp's built-in `uac` scenario at RATE calls/s (CALLS calls) while a
probe (tests/integration/sipua.py) places PROBES calls one after the other
and times each INVITE -> 200 with a microsecond clock. Two runs:

  quiet   only the calls' own CDRs;
  flood   `tandem ctl module load record_flood` first: a module
          (bench/record_flood.c) emitting FLOOD queue-log records per second
          through host->record_emit from its own thread, so the record path
          (spool, group commit, both sinks) carries FLOOD + the CDRs while
          the workers and the SIP thread do only the calls.

Reports INVITE -> 200 percentiles of both runs and the records PostgreSQL
stored per second during the flood (it must keep up: the lag at the end is
shown).

Usage: bench/records_latency.py [--calls 3000] [--rate 100] [--flood 5000] [--probes 300]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(HERE, "..", "build"))

import cdr_support as cs  # noqa: E402
import harness  # noqa: E402
import sipua  # noqa: E402
from pg_cluster import PgCluster  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["_."] = function(call) call:answer() call:sleep(600000) end,
} } }
"""


def setup_times(port, calls, rate, work, probes):
    """SIPp's `uac` load in the background while a probe places `probes`
    calls one after the other; returns the probe's sorted INVITE -> 200
    times in ms (SIPp's own timer is 1 ms coarse, too coarse here)."""
    load = subprocess.Popen(["sipp", "-sn", "uac", "-i", "127.0.0.1", "-p", str(harness.free_port()),
                             "-r", str(rate), "-m", str(calls), "-d", "0", "-timeout", "120", "-nostdin",
                             "127.0.0.1:%d" % port],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    try:
        time.sleep(0.5)
        for _ in range(probes):
            ua = sipua.UA()
            try:
                t0 = time.perf_counter()
                ua.call("probe", port)
                times.append((time.perf_counter() - t0) * 1000)
                ua.bye()
            finally:
                ua.close()
            time.sleep(0.01)
    finally:
        load.wait()
    return sorted(times)


def pct(times, p):
    return times[min(len(times) - 1, int(len(times) * p))]


def stored(pg):
    return int(pg.query("bench", "SELECT (SELECT count(*) FROM tandem.cdr) + (SELECT count(*) FROM tandem.queue_log)")[0][0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--flood", type=int, default=5000)
    ap.add_argument("--probes", type=int, default=300)
    args = ap.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp (package sip-tester) is not installed")
    work = tempfile.mkdtemp(prefix="tandem-bench-reclat-")
    pg = PgCluster().start()
    engine = None
    try:
        pg.createdb("bench")
        port = harness.free_port()
        rtp = 20000 + (port % 20000) & ~1
        with open(os.path.join(work, "tandem.lua"), "w") as f:
            f.write("return { modules = { 'sip', 'cdr_pgsql' }, workers = 2, log = { level = 'warning' },\n"
                    "  module_config = { sip = { listen = 'sip:127.0.0.1:%d', rtp_port_min = %d, rtp_port_max = %d },\n"
                    "    cdr_pgsql = { conninfo = '%s' }, record_flood = { rate = %d } } }\n"
                    % (port, rtp, rtp + 4000, pg.conninfo("bench"), args.flood))
        with open(os.path.join(work, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        engine = harness.Instance(os.path.join(work, "tandem.lua"),
                                  ["--module-dir", os.path.join(harness.BUILD, "bench-modules")]).start()
        setup_times(port, 200, args.rate, work, 20)  # warm-up
        quiet = setup_times(port, args.calls, args.rate, work, args.probes)

        ok, text, _ = cs.console(engine.socket, "module", "load", "record_flood")
        assert ok, text
        time.sleep(2)  # the flood reaches its pace, PostgreSQL its steady state
        before, t0 = stored(pg), time.time()
        flood = setup_times(port, args.calls, args.rate, work, args.probes)
        after, t1 = stored(pg), time.time()
        ok, text, _ = cs.console(engine.socket, "module", "unload", "record_flood")
        assert ok, text
        t2 = time.time()
        cs.wait_for("pgsql to catch up", lambda: cs.sink_caught_up(engine.socket, "pgsql"), 120, step=0.05)
        lag = time.time() - t2

        print("| run | probe calls | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | records stored in PostgreSQL (per s) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, times, rec in (("quiet", quiet, "CDRs only"),
                                 ("flood %d/s" % args.flood, flood, "%.0f" % ((after - before) / (t1 - t0)))):
            print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %s |"
                  % (name, len(times), pct(times, 0.5), pct(times, 0.9), pct(times, 0.99), times[-1], rec))
        print("PostgreSQL had caught up %.2f s after the flood stopped" % lag)
    finally:
        if engine:
            engine.stop()
            engine.cleanup()
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
