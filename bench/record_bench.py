#!/usr/bin/env python3
"""Call recording cost (modules/record): engine CPU per recorded call-second,
bytes written per minute, and whether the media clock kept up.

  python3 bench/record_bench.py [CALLS] [SECONDS] [FORMAT ...]     (default 1000 20 wav opus)
  (RECORD_WRITERS=N: the module's writer threads, default 2)

For each run the engine (2 workers, modules local + record) gets CALLS
calls through the local channel: the originated half plays a 1000 Hz tone,
the other half a 440 Hz tone, so both directions of every recorded leg
carry audio. A baseline run has no recording; each FORMAT run records
every call in stereo at 8 kHz. Over SECONDS the engine's CPU time (utime +
stime, /proc/PID/stat) and `tandem ctl status`'s media_overruns (media-clock
periods skipped because a tick ran late) are read; the recording's cost is
the run's CPU minus the baseline's, per call-second. The files' sizes over
their durations (from the "recording" records) give bytes per minute; failed
recordings (the writer could not keep up: buffer full) are counted.
"""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(REPO, "build"))
import harness  # noqa: E402
from cdr_support import console, read_jsonl  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
WRITERS = int(os.environ.get("RECORD_WRITERS", "2"))

DIALPLAN = """
return { contexts = { bench = {
  ["rec"] = function(call)
    call:answer()
    local fmt = call:get("fmt")
    if fmt ~= "none" then
      local file, why = call:record_start("@DIR@/${call_id}." .. fmt, "stereo")
      if not file then call:log("record_start failed: " .. why) end
    end
    call:play("tone:1000/@MS@")
  end,
  ["src"] = function(call)
    call:answer()
    call:play("tone:440/@MS@")
  end,
} } }
"""


def cpu_us(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000000 // TICK


def thread_cpu_us(pid, prefix):
    """CPU of the process's threads whose name starts with prefix."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1].startswith(prefix):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) * 1000000 // TICK
    return total


def status(sock):
    ok, text, data = console(sock, "status")
    return data


def run(calls, seconds, fmt):
    d = tempfile.mkdtemp(prefix="tandem-recbench-")
    rec = os.path.join(d, "rec")
    hold_ms = int((seconds + 8 + calls / 200) * 1000)
    with open(os.path.join(d, "tandem.lua"), "w") as f:
        f.write("return { modules = { 'local', 'record' }, workers = 2, shutdown_grace = 1,\n"
                "  module_config = { record = { writers = %d } } }\n" % WRITERS)
    with open(os.path.join(d, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN.replace("@DIR@", rec).replace("@MS@", str(hold_ms)))
    eng = harness.Instance(os.path.join(d, "tandem.lua")).start()
    try:
        for _ in range(calls):
            ok, text, _ = console(eng.socket, "originate", "local/src@bench", "rec", "bench", "fmt=" + fmt)
            if not ok:
                raise RuntimeError(text)
        deadline = time.time() + 30
        while status(eng.socket)["calls"] < 2 * calls and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # every script is playing, every recording running
        pid = eng.proc.pid
        s0, c0, t0 = status(eng.socket), cpu_us(pid), time.time()
        w0, r0 = thread_cpu_us(pid, "tandem-w"), thread_cpu_us(pid, "tandem-record")
        time.sleep(seconds)
        s1, c1, t1 = status(eng.socket), cpu_us(pid), time.time()
        w1, r1 = thread_cpu_us(pid, "tandem-w"), thread_cpu_us(pid, "tandem-record")
        if s1["calls"] < 2 * calls:
            raise RuntimeError("calls ended early: %d" % s1["calls"])
        for_console = console(eng.socket, "record", "list")[1] if fmt != "none" else ""
        running = for_console.count("recording") if fmt != "none" else 0
    finally:
        code = eng.stop(timeout=120)
    records = read_jsonl(os.path.join(eng.tmp, "data", "records", "recording.jsonl"))
    eng.cleanup()
    shutil.rmtree(d, ignore_errors=True)
    ok_recs = [r for r in records if r["status"] == "ok" and r["duration_ms"] > 0]
    per_min = (sum(r["bytes"] for r in ok_recs) / (sum(r["duration_ms"] for r in ok_recs) / 60000)
               if ok_recs else 0)
    return {"fmt": fmt, "cpu_us": c1 - c0, "wall": t1 - t0, "overruns": s1["media_overruns"] - s0["media_overruns"],
            "slow": s1["media_slow_ticks"] - s0["media_slow_ticks"], "workers_us": w1 - w0, "writers_us": r1 - r0,
            "running": running, "failed": sum(r["status"] == "failed" for r in records), "per_min": per_min,
            "exit": code}


def main():
    args = sys.argv[1:]
    calls = int(args[0]) if args else 1000
    seconds = float(args[1]) if len(args) > 1 else 20
    formats = args[2:] or ["wav", "opus"]
    base = run(calls, seconds, "none")
    call_s = calls * base["wall"]
    print("%d calls (%d legs), %.1f s, %d writer threads" % (calls, 2 * calls, base["wall"], WRITERS))
    print("none: %.2f CPU-s (workers %.2f), %.1f µs per call-second; media: %d slow ticks, %d skipped periods"
          % (base["cpu_us"] / 1e6, base["workers_us"] / 1e6, base["cpu_us"] / call_s, base["slow"], base["overruns"]))
    for fmt in formats:
        r = run(calls, seconds, fmt)
        cs = calls * r["wall"]
        print("%-4s: %.2f CPU-s (workers %.2f, writers %.2f); recording costs %.1f µs per recorded call-second "
              "(workers +%.1f, writers %.1f); %d recording at the end, %d failed; %.0f bytes per minute; "
              "media: %d slow ticks, %d skipped periods; exit %s"
              % (fmt, r["cpu_us"] / 1e6, r["workers_us"] / 1e6, r["writers_us"] / 1e6, (r["cpu_us"] - base["cpu_us"]) / cs,
                 (r["workers_us"] - base["workers_us"]) / cs, r["writers_us"] / cs, r["running"], r["failed"],
                 r["per_min"], r["slow"], r["overruns"], r["exit"]))


if __name__ == "__main__":
    main()
