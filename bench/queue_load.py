#!/usr/bin/env python3
"""Queue decisions through the running engine (issue 5 target: p99 agent-free
to offer < 1 ms, < 20 µs CPU per decision, with 10,000 callers waiting and
2,000 agents). bench/acd_bench.cpp measures the ACD's decision core alone;
this measures the same through the real engine: the queue module's ACD
thread, the worker that dials the agent's phone, the local channels, Lua,
the log and the queue-log rows through the record spool.

  python3 bench/queue_load.py [AGENTS [CALLERS]] [--seconds S] [--rate R]
          [--talk MIN-MAX] [--strategy NAME] [--warmup S] [--log-level LEVEL]
          [--keep DIR]
          defaults: 2000 10000, --seconds 20, --rate 1000, --strategy
          longest-idle, --warmup 3 s + 2 x the longest talk

Set-up: 10 queues (`moh = ''`, a ring_timeout of 60 s, no wrap-up), AGENTS
agents each a member of 2 of them at random (seeded), logged out. Each
agent's phone is its own local channel, `local/agent-NAME@agents`, whose
dialplan answers at once, talks a random MIN-MAX ms and hangs up: by
default 0.5-1.5 x AGENTS/RATE seconds, so that the agents ask for RATE
decisions/s whatever their number (1,000/s: 1-3 s of talk for 2,000
agents, 100-300 ms for 200). A caller is `originate local/hold@callers qN
inbound`: the `hold` half answers and sleeps for a day, the other half
runs `call:queue("qN")` (priority 0-2 at random, as in the decision-core
bench; a skills requirement for `--strategy skills`) and, each time its
call with an agent ends, enters the line again at its back -- a caller
served leaves, a new one joins, so the line stays full without placing
new calls. CALLERS + AGENTS callers are placed (console socket, several
connections at once) and the script waits until all are in line; then
every agent is logged in from the console, each is offered a caller at
once, answers, talks, hangs up, is offered the next one: after --warmup
seconds the measured phase runs for --seconds, with CALLERS waiting and
every agent on a call or being offered one.

Figures over the measured window:
  decisions       OFFER rows of the queue log
  CPU/decision    CPU time (utime + stime, /proc/PID/task/TID/stat) of the
                  ACD thread (`tandem-acd`: the decision, the queue-log rows'
                  JSON and spool append, the messages to the workers) and of
                  the whole engine (plus the workers: the dial, the agent's
                  local call, Lua, the bridge, the caller entering again; the
                  log; the record spool and the file sink) over the decisions
  ACD's work      the ACD thread's own account (`tandem ctl queue acd`, its
                  monotonic clock around each batch of tasks): busy time per
                  offer, split into deciding (the Acd: entering, choosing,
                  answering, ending) and output (queue-log rows, events, the
                  posts to the workers); the OS's CPU figure above also has
                  the thread's sleeping and waking
  latency, for each agent's call that ended in the window, from
    COMPLETE* row -> that agent's next OFFER row    the ACD alone (both rows
                  are written on the ACD thread, in the same task)
    COMPLETE* row -> the engine log's "dialling local/agent-NAME@agents" line
                  on the offered caller's call: the ACD and the hop to the
                  caller's worker, which dials the phone
    the phone's hang-up ("leg ... (local/agent-NAME@agents) hung up", logged
                  on the worker) -> that dial: end to end, with the hop from
                  the worker to the ACD thread
  load            the machine's CPU busy besides the engine's (/proc/stat)
                  and stolen by the hypervisor over the window: whether the
                  figures were taken on a quiet machine
Log level `info` is needed for the last two (the "dialling" and "hung up"
lines); with --log-level notice only the first is measured (the cost of the
log shows in the CPU figures).

The engine inherits this process's nice value: `nice -n 19 python3
bench/queue_load.py` keeps a shared machine usable, but then any other
busy process delays the engine's threads, which shows in the latencies'
tail (see the load line).
Exits non-zero, naming what gave, when the engine cannot hold the load: a
refused originate, a caller not in line, the engine gone, an error in its
log, or a measured decision rate far below what the agents' talk time
asks for (the engine saturated).
"""
import argparse
import bisect
import json
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(HERE, "..", "build"))

import harness  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
QUEUES = 10
STRATEGIES = ("longest-idle", "round-robin", "least-recent", "fewest-calls", "least-talk-time", "random",
              "weighted-random", "linear", "ring-all", "ring-progressively", "skills")
SKILLS = ("sales", "billing", "tech", "english")
COMPLETE = ("COMPLETECALLER", "COMPLETEAGENT", "TRANSFER")

DIALPLAN = r"""
math.randomseed(%(seed)d)
return { contexts = {
  callers = {
    hold = function(call) call:answer() call:sleep(86400000) end,
  },
  inbound = {
    ['_q.'] = function(call)
      local prio, skills = tonumber(call:get('prio') or '0'), call:get('skills') or ''
      while true do
        local status, detail = call:queue(call.exten, prio, skills)
        if status ~= 'completed' then
          call:log('warning', 'queue_load: call:queue returned ' .. tostring(status) .. ' ' .. tostring(detail))
          return
        end
      end
    end,
  },
  agents = {
    ['_agent-.'] = function(call)
      call:answer()
      call:sleep(math.random(%(talk_min)d, %(talk_max)d))
      call:hangup()
    end,
  },
} }
"""


class Failed(Exception):
    """The engine could not hold the load; the message says what gave."""


# --- the console, over its socket (spawning `tandem ctl` is far slower) ---

def console(sock_path, *args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    try:
        s.connect(sock_path)
        s.sendall((json.dumps({"args": list(args), "json": True}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    reply = json.loads(buf)
    return reply.get("ok"), reply.get("text", ""), reply.get("data")


def acd_workload(sock_path):
    """The ACD thread's own account of its work (`queue acd`)."""
    ok, text, data = console(sock_path, "queue", "acd")
    if not ok or not isinstance(data, dict):
        raise Failed("queue acd: " + text)
    return data


def console_many(sock_path, requests, connections=4):
    """Runs the console requests (lists of args) on `connections` sockets at
    once; raises Failed with the first refusal."""
    errors, lock, it = [], threading.Lock(), iter(requests)

    def work():
        while True:
            with lock:
                if errors:
                    return
                args = next(it, None)
            if args is None:
                return
            try:
                ok, text, _ = console(sock_path, *args)
            except (OSError, ValueError) as e:
                ok, text = False, "no answer from the console: %s" % e
            if not ok:
                with lock:
                    errors.append("tandem ctl %s: %s" % (" ".join(args), text.strip()))
                return

    threads = [threading.Thread(target=work) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Failed(errors[0])


# --- CPU from /proc ---

def thread_cpu(pid):
    """{thread name: CPU seconds} for every thread of `pid` (same-named
    threads summed) and the process total under "*"."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue  # a thread that ended
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["*"] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def machine_busy():
    """CPU seconds all the machine's cores spent busy (user, nice, system,
    irq, softirq) and stolen by the hypervisor, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:3] + fields[5:7]) / TICK, fields[7] / TICK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- the engine's timestamps ---

def ts_us(text):
    """Microseconds since the epoch of an engine timestamp
    (2026-11-23T22:11:56.171441Z)."""
    d = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond


def pct(values, p):
    return values[int(p * (len(values) - 1))] if values else float("nan")


# --- the run ---

def write_config(d, agents, strategy, talk, log_level, rng):
    names = ["a%d" % i for i in range(agents)]
    members = [[] for _ in range(QUEUES)]
    agent_lines = []
    for name in names:
        for q in rng.sample(range(QUEUES), 2):
            members[q].append("%s order=%d weight=%d" % (name, rng.randrange(1000), 1 + rng.randrange(5)))
        skills = ", ".join("%s:%d" % (s, rng.randrange(10)) for s in SKILLS)
        agent_lines.append("    { name = '%s', contact = 'local/agent-%s@agents', skills = '%s' },"
                           % (name, name, skills))
    queue_lines = ["    { name = 'q%d', strategy = '%s', ring_timeout = 60, moh = '', members = {\n      %s } },"
                   % (q, strategy, ", ".join("'%s'" % m for m in members[q])) for q in range(QUEUES)]
    with open(os.path.join(d, "tandem.lua"), "w") as f:
        f.write("return { modules = { 'local', 'queue' }, workers = 2, shutdown_grace = 1,\n"
                "  log = { level = '%s' },\n"
                "  limits = { max_calls = 0 },\n"
                "  module_config = { queue = {\n  agents = {\n%s\n  },\n  queues = {\n%s\n  },\n} } }\n"
                % (log_level, "\n".join(agent_lines), "\n".join(queue_lines)))
    with open(os.path.join(d, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN % {"seed": rng.randrange(1 << 30), "talk_min": talk[0], "talk_max": talk[1]})
    return names


def check_engine(engine, what):
    if engine.proc.poll() is not None:
        tail = "\n".join(engine.read_log().splitlines()[-20:])
        raise Failed("the engine exited (code %s) during %s; its log ends:\n%s" % (engine.proc.returncode, what, tail))


def problems(log, limit=5):
    """Lines of the engine's log that say something gave: errors, warnings
    (a call:queue that returned something else than "completed", a refused
    originate, a Lua limit)."""
    bad = [line for line in log.splitlines() if re.search(r"Z (warning|error|critical|fatal)\b", line)]
    return len(bad), bad[:limit]


def waiting_total(sock):
    ok, text, data = console(sock, "queue", "show")
    if not ok:
        raise Failed("tandem ctl queue show: %s" % text)
    return sum(q["waiting"] for q in data)


def wait_for(what, fn, timeout, engine, step=0.2):
    deadline = time.time() + timeout
    while True:
        check_engine(engine, what)
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            return None
        time.sleep(step)


def read_rows(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
    return rows


def last_row_time(path):
    """The time of the queue log's last row, in µs (0 when none)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4096))
        lines = [line for line in f.read().splitlines() if line.strip()]
    for line in reversed(lines):
        try:
            return ts_us(json.loads(line)["time"])
        except (ValueError, KeyError):
            continue
    return 0


# The worker's dial of an agent's phone, and that phone's hang-up, on the caller's call.
LOG_LINE = re.compile(r"^(\S+Z) info\s+\[(?:queue|core)\] \[([^\]]+)\] "
                      r"(?:dialling local/agent-([^@]+)@agents as leg"
                      r"|leg \S+ \(local/agent-([^@]+)@agents\) hung up)", re.M)


def analyse(rows, log, t0, t1):
    """The figures of the window [t0, t1] (µs): decisions and the three
    latencies, each a sorted list of µs."""
    offers_by_agent, offers_in_window = {}, 0
    completes = []
    for r in rows:
        e = r["event"]
        if e == "OFFER":
            t = ts_us(r["time"])
            offers_by_agent.setdefault(r["agent"], []).append((t, r.get("call_id", "")))
            offers_in_window += t0 <= t < t1
        elif e in COMPLETE:
            t = ts_us(r["time"])
            if t0 <= t < t1:
                completes.append((t, r["agent"], r.get("call_id", "")))
    dials, hangups = {}, {}  # (call_id, agent) -> sorted times
    for m in LOG_LINE.finditer(log):
        t = ts_us(m.group(1))
        if m.group(3):
            dials.setdefault((m.group(2), m.group(3)), []).append(t)
        else:
            hangups.setdefault((m.group(2), m.group(4)), []).append(t)
    for lists in (offers_by_agent, dials, hangups):
        for v in lists.values():
            v.sort()
    acd, dial, e2e = [], [], []
    for tc, agent, call_id in completes:
        offers = offers_by_agent.get(agent, [])
        i = bisect.bisect_left(offers, (tc, ""))
        if i == len(offers):
            continue  # no next offer logged (the window's last moments)
        to, offered_call = offers[i]
        acd.append(to - tc)
        times = dials.get((offered_call, agent), [])
        j = bisect.bisect_left(times, to)
        if j == len(times):
            continue
        td = times[j]
        dial.append(td - tc)
        ends = hangups.get((call_id, agent), [])
        k = bisect.bisect_right(ends, tc) - 1
        if k >= 0 and tc - ends[k] < 10000000:
            e2e.append(td - ends[k])
    return offers_in_window, len(completes), sorted(acd), sorted(dial), sorted(e2e)


def run(args):
    rng = random.Random(args.seed)
    if args.talk:
        talk = tuple(int(x) for x in args.talk.split("-"))
    else:
        mean_ms = args.agents / args.rate * 1000
        talk = (int(round(0.5 * mean_ms)), int(round(1.5 * mean_ms)))
    warmup = args.warmup if args.warmup is not None else 3 + 2 * talk[1] / 1000
    total = args.callers + args.agents
    d = tempfile.mkdtemp(prefix="tandem-qload-")
    engine = None
    timings = {}
    try:
        names = write_config(d, args.agents, args.strategy, talk, args.log_level, rng)
        engine = harness.Instance(os.path.join(d, "tandem.lua")).start(timeout=60)
        pid, sock = engine.proc.pid, engine.socket
        qlog = os.path.join(engine.tmp, "data", "records", "queue_log.jsonl")

        # fill the line: CALLERS + AGENTS callers (every agent will be on one)
        started = time.time()
        reqs = []
        for i in range(total):
            extra = ["prio=%d" % rng.randrange(3)]
            if args.strategy == "skills":
                extra.append("skills=%s:%d" % (rng.choice(SKILLS), rng.randrange(5)))
            reqs.append(["originate", "local/hold@callers", "q%d" % (i % QUEUES), "inbound"] + extra)
        try:
            console_many(sock, reqs, args.connections)
        except Failed as e:
            check_engine(engine, "the fill")
            raise Failed("placing %d callers: %s" % (total, e))
        placed = time.time()
        in_line = wait_for("the fill", lambda: waiting_total(sock) >= total, 120, engine, step=0.5)
        if not in_line:
            n = waiting_total(sock)
            count, bad = problems(engine.read_log())
            raise Failed("%d callers placed, %d in line after 120 s; %d warnings/errors in the log, the first:\n%s"
                         % (total, n, count, "\n".join(bad)))
        timings["fill"] = time.time() - started
        print("fill: %d callers placed in %.1f s (%.0f/s), all in line after %.1f s; engine %d calls"
              % (total, placed - started, total / (placed - started), time.time() - started,
                 console(sock, "status")[2]["calls"]), file=sys.stderr)

        # every agent logs in: offers start
        started = time.time()
        console_many(sock, [["agent", "login", n] for n in names], args.connections)
        timings["login"] = time.time() - started
        print("login: %d agents in %.1f s; warm-up %.0f s" % (len(names), timings["login"], warmup), file=sys.stderr)
        time.sleep(warmup)
        check_engine(engine, "the warm-up")

        # the measured window
        load_before = loadavg()
        waiting0 = waiting_total(sock)
        work0 = acd_workload(sock)
        busy0, cpu0, t0 = machine_busy(), thread_cpu(pid), int(time.time() * 1e6)
        time.sleep(args.seconds)
        busy1, cpu1, t1 = machine_busy(), thread_cpu(pid), int(time.time() * 1e6)
        work1 = acd_workload(sock)
        waiting1 = waiting_total(sock)
        load_after = loadavg()
        check_engine(engine, "the measured phase")

        # the queue log goes through the spool: wait until it is past the window
        caught_up = wait_for("the queue log", lambda: last_row_time(qlog) >= t1 + 500000, 60, engine)
        ok, _, status = console(sock, "status")
        log = engine.read_log()
        rows = read_rows(qlog)
        if not caught_up:
            raise Failed("the queue log did not reach the end of the measured window within 60 s of it "
                         "(last row %.1f s before its end): the record spool fell behind"
                         % ((t1 - last_row_time(qlog)) / 1e6))
        started = time.time()
        engine.stop(timeout=120)
        timings["stop"] = time.time() - started

        decisions, completes, acd, dial, e2e = analyse(rows, log, t0, t1)
        window = (t1 - t0) / 1e6
        if decisions == 0:
            raise Failed("no OFFER in the measured window")
        count, bad = problems(log)
        cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
        expected = args.agents / ((talk[0] + talk[1]) / 2000)
        result = {
            "strategy": args.strategy, "agents": args.agents, "callers": args.callers,
            "waiting": (waiting0, waiting1), "talk": talk, "window": window, "decisions": decisions,
            "rate": decisions / window, "expected_rate": expected,
            "acd_cpu_us": cpu.get("tandem-acd", 0.0) / decisions * 1e6,
            "engine_cpu_us": cpu["*"] / decisions * 1e6,
            "engine_cores": cpu["*"] / window,
            "threads": {k: v / decisions * 1e6 for k, v in sorted(cpu.items()) if k != "*"},
            "work": {k: (work1[k] - work0[k]) / max(1, work1["offers"] - work0["offers"])
                     for k in ("busy_us", "deciding_us", "output_us")},
            "acd": acd, "dial": dial, "e2e": e2e, "completes": completes,
            "load": (load_before, load_after), "others": max(0.0, (busy1[0] - busy0[0] - cpu["*"]) / window),
            "steal": (busy1[1] - busy0[1]) / window,
            "calls": status["calls"] if ok else -1,
        }
        report(args, result, timings)
        if count:
            raise Failed("%d warnings/errors in the engine's log, the first:\n%s" % (count, "\n".join(bad)))
        if result["rate"] < 0.8 * expected:
            raise Failed("%.0f decisions/s where the agents' talk time (%d-%d ms) asks for %.0f: the engine did "
                         "not keep up (engine CPU %.2f cores of %d, the machine's other load %.2f cores; see the "
                         "per-thread line)"
                         % (result["rate"], talk[0], talk[1], expected, result["engine_cores"], os.cpu_count(),
                            result["others"]))
        if min(waiting0, waiting1) < 0.9 * args.callers:
            raise Failed("only %d/%d callers waiting around the window: the line was not full"
                         % (min(waiting0, waiting1), args.callers))
    finally:
        if engine is not None:
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                shutil.copy(engine.log_path, os.path.join(args.keep, "engine.log"))
                q = os.path.join(engine.tmp, "data", "records", "queue_log.jsonl")
                if os.path.exists(q):
                    shutil.copy(q, os.path.join(args.keep, "queue_log.jsonl"))
            try:
                engine.stop(timeout=120)
            except Exception:  # noqa: BLE001 -- killed by stop() itself; cleanup below
                pass
            engine.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def report(args, r, timings):
    def lat(values):
        if not values:
            return "– / – / –"
        return "%.0f / %.0f / %.0f" % (pct(values, 0.5), pct(values, 0.99), values[-1])

    talk = "%d–%d" % r["talk"]
    print("| figure | value |")
    print("| --- | ---: |")
    print("| strategy | %s |" % r["strategy"])
    print("| agents | %d |" % r["agents"])
    print("| callers waiting (window start / end) | %d / %d |" % r["waiting"])
    print("| agents' talk time (ms) | %s |" % talk)
    print("| calls in the engine (callers: 2 each; agents' phones) | %d |" % r["calls"])
    print("| measured window (s) | %.1f |" % r["window"])
    print("| decisions (OFFER rows) | %d |" % r["decisions"])
    print("| decisions/s (talk time asks for) | %.0f (%.0f) |" % (r["rate"], r["expected_rate"]))
    print("| CPU per decision, ACD thread (µs) | %.1f |" % r["acd_cpu_us"])
    print("| the ACD's work per decision by its own clock (`queue acd`): busy = deciding + rows, events and "
          "messages (µs) | %.1f = %.1f + %.1f |"
          % (r["work"]["busy_us"], r["work"]["deciding_us"], r["work"]["output_us"]))
    print("| CPU per decision, whole engine (µs) | %.1f |" % r["engine_cpu_us"])
    print("| engine CPU (cores busy of %d) | %.2f |" % (os.cpu_count(), r["engine_cores"]))
    print("| agent free (COMPLETE row) → OFFER row, p50 / p99 / max (µs) | %s |" % lat(r["acd"]))
    print("| agent free (COMPLETE row) → worker dials the phone, p50 / p99 / max (µs) | %s |" % lat(r["dial"]))
    print("| phone hung up (worker) → worker dials the next caller's phone, p50 / p99 / max (µs) | %s |"
          % lat(r["e2e"]))
    print("| calls ended in the window / measured (ACD, dial, end to end) | %d / %d, %d, %d |"
          % (r["completes"], len(r["acd"]), len(r["dial"]), len(r["e2e"])))
    print("| the machine's other CPU load in the window, besides the engine (cores); stolen | %.2f; %.2f |"
          % (r["others"], r["steal"]))
    print("| load average before / after | %s / %s |" % r["load"])
    print("per-thread CPU per decision (µs): " + ", ".join("`%s` %.1f" % (k, v) for k, v in
                                                           sorted(r["threads"].items(), key=lambda kv: -kv[1])
                                                           if v >= 0.05))
    print("timings (s): fill %.1f, login %.1f, stop %.1f" % (timings["fill"], timings["login"], timings["stop"]))
    print("| date | command | strategy | agents | callers waiting | talk (ms) | decisions | decisions/s | "
          "ACD thread CPU per decision (µs) | ACD deciding per decision (µs) | engine CPU per decision (µs) | "
          "engine CPU (cores) | "
          "agent free → OFFER row, p50 / p99 / max (µs) | agent free → phone dialled (µs) | "
          "phone hung up → next phone dialled (µs) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("| %s | `python3 bench/queue_load.py %d %d%s` | %s | %d | %d | %s | %d | %.0f | %.1f | %.1f | %.1f | %.2f "
          "| %s | %s | %s |"
          % (datetime.now(timezone.utc).strftime("%Y-%m-%d"), r["agents"], r["callers"], args.extra_cmd,
             r["strategy"], r["agents"], r["callers"], talk, r["decisions"], r["rate"], r["acd_cpu_us"],
             r["work"]["deciding_us"], r["engine_cpu_us"], r["engine_cores"], lat(r["acd"]), lat(r["dial"]), lat(r["e2e"])))
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("agents", nargs="?", type=int, default=2000)
    p.add_argument("callers", nargs="?", type=int, default=10000, help="callers waiting (AGENTS more are placed)")
    p.add_argument("--seconds", type=float, default=20, help="the measured window")
    p.add_argument("--warmup", type=float, default=None, help="after the logins (default 3 s + 2 x the longest talk)")
    p.add_argument("--strategy", default="longest-idle", choices=STRATEGIES)
    p.add_argument("--rate", type=float, default=1000,
                   help="decisions/s to ask for: the agents talk AGENTS/RATE s on average (0.5-1.5 x that)")
    p.add_argument("--talk", help="the agents' talk time instead, MIN-MAX ms (uniform)")
    p.add_argument("--log-level", default="info", choices=("info", "notice"),
                   help="info: the dial and hang-up latencies are measured from the log lines")
    p.add_argument("--connections", type=int, default=4, help="console connections at once for the fill and logins")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", help="a directory: the engine's log and queue_log.jsonl are copied there")
    args = p.parse_args()
    if (args.agents < 1 or args.callers < 0 or args.rate <= 0 or args.connections < 1 or args.seconds <= 0
            or args.talk and not re.fullmatch(r"\d+-\d+", args.talk)):
        p.error("AGENTS >= 1, CALLERS >= 0, --rate > 0, --connections >= 1, --seconds > 0, --talk MIN-MAX")
    defaults = {"seconds": 20, "strategy": "longest-idle", "rate": 1000, "talk": None, "log_level": "info"}
    shown = {k: "%g" % getattr(args, k) if k in ("seconds", "rate") else getattr(args, k) for k in defaults}
    args.extra_cmd = "".join(" --%s %s" % (k.replace("_", "-"), shown[k]) for k, v in defaults.items()
                             if getattr(args, k) != v)
    try:
        run(args)
    except Failed as e:
        print("queue_load: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
