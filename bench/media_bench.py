#!/usr/bin/env python3
"""Media path cost: engine CPU per relayed packet in bridged SIP calls, beside
a bare UDP echo (bench/udp_echo.c) carrying the same packets in the same run.

  python3 bench/media_bench.py [CALLS] [SECONDS] [--no-jitter-buffer] [--rounds=N] [--workers=N]

With --rounds=N the engine's calls stay up and each of its N windows is
followed by the three echoes, so that a drift in the machine's speed lands
on both sides of each round's ratio; a last line gives the ratios and
their medians. --workers=N runs the engine with N workers (default 2); the
first ratio is to the recvmmsg echo on as many threads.

Sets up CALLS bridged calls (each: a UA here calls the engine, the dialplan
dials a UAS here and bridges; both legs PCMU), then sends 20 ms PCMU packets
(172 bytes) on both legs of every call for SECONDS and reads the engine's
CPU time (utime + stime from /proc/PID/stat) over that window. The engine
relays each packet to the other leg: receive, bridge, send (a plain bridge
relays as packets come, without the jitter buffer; the far ends have
theirs). Then the same generator drives `udp_echo` with 2 x CALLS sockets
(each packet goes back to its sender: one receive and one send, like a
relayed packet): reading with recvfrom until EAGAIN, with recvmmsg, and
with recvmmsg on two threads (the engine runs two workers here).

Prints one line per target: packets the target received, CPU µs, µs per
packet, µs per call-second (a bridged call = 2 legs x 50 packets/s in).
"""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(REPO, "build"))
import harness  # noqa: E402
import sipua  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000000 // TICK


def pump(pairs, seconds):
    """Every 20 ms one packet on each (socket, destination); drains replies.
    Returns (sent, received)."""
    payload = bytes(160)
    socks = [s for s, _ in pairs]
    for s in socks:
        s.setblocking(False)
    sent = received = 0
    start = time.time()
    tick = 0
    ssrc = random.getrandbits(32)
    while time.time() - start < seconds:
        for s, dest in pairs:
            s.sendto(sipua.rtp_packet(0, tick, tick * 160, ssrc, payload), dest)
            sent += 1
        tick += 1
        while True:
            busy = False
            for s in socks:
                try:
                    while True:
                        s.recv(2048)
                        received += 1
                        busy = True
                except BlockingIOError:
                    pass
            if not busy or time.time() > start + tick * 0.02:
                break
        time.sleep(max(0, start + tick * 0.02 - time.time()))
    return sent, received


def measure(pid, pairs, seconds):
    time.sleep(0.5)  # settle: jitter buffers filled, timers running
    c0 = cpu_us(pid)
    sent, received = pump(pairs, seconds)
    return sent, received, cpu_us(pid) - c0


def bench_engine(calls, seconds, jitter_buffer, between=None, rounds=1, workers=2):
    """The engine's windows; with `rounds`, `between()` runs after each one
    while the calls stay up (idle). Returns [(sent, received, cpu)]."""
    d = tempfile.mkdtemp(prefix="tandem-mediabench-")
    sip_port = harness.free_port()
    rtp_base, _ = harness.free_rtp_range(4 * calls + 40)
    with open(os.path.join(d, "tandem.lua"), "w") as f:
        f.write("return { modules = { 'sip' }, workers = %d, shutdown_grace = 1, log = { level = 'warning' },\n"
                "  module_config = { sip = { listen = 'sip:127.0.0.1:%d', rtp_port_min = %d,\n"
                "    rtp_port_max = %d, jitter_buffer = %s } } }\n"
                % (workers, sip_port, rtp_base, rtp_base + 4 * calls + 40, "true" if jitter_buffer else "false"))
    with open(os.path.join(d, "dialplan.lua"), "w") as f:
        f.write("return { contexts = { default = { ['_X.'] = function(call)\n"
                "  call:answer()\n"
                "  local s, peer = call:dial('sip/peer@127.0.0.1:' .. call.exten)\n"
                "  if s == 'answer' then call:bridge(peer) end\n"
                "  call:hangup()\n"
                "end } } }\n")
    engine = harness.Instance(os.path.join(d, "tandem.lua")).start()
    uacs, uass = [], []
    try:
        for _ in range(calls):
            b = sipua.UA()
            a = sipua.UA()

            def answer(b=b):
                invite, addr = b.wait_request("INVITE")
                b.answer(invite, addr)

            t = threading.Thread(target=answer)
            t.start()
            a.call(str(b.port), sip_port)
            t.join(10)
            uacs.append(a)
            uass.append(b)
        pairs = [(a.rtp, a.remote_media) for a in uacs] + [(b.rtp, b.remote_media) for b in uass]
        windows = []
        for _ in range(rounds):
            windows.append(measure(engine.proc.pid, pairs, seconds))
            if between:
                between()
        for a in uacs:
            a.bye()
    finally:
        for ua in uacs + uass:
            ua.close()
        engine.stop()
        engine.cleanup()
        shutil.rmtree(d, ignore_errors=True)
    return windows


def bench_echo(mode, legs, seconds, threads):
    exe = os.path.join(os.environ["TANDEM_BUILD_DIR"], "bin", "udp_echo")
    first, _ = harness.free_rtp_range(2 * legs)
    p = subprocess.Popen([exe, mode, str(first), str(legs), str(threads)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        socks = []
        for i in range(legs):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append((s, ("127.0.0.1", first + 2 * i)))
        sent, received, cpu = measure(p.pid, socks, seconds)
        for s, _ in socks:
            s.close()
    finally:
        p.terminate()
        p.wait(5)
    return sent, received, cpu


def report(name, calls, seconds, sent, received, cpu):
    per_packet = cpu / sent if sent else 0
    per_call_second = cpu / (calls * seconds)
    print("%-34s in %7d  back %7d  cpu %9d us  %6.2f us/packet  %7.1f us/call-second"
          % (name, sent, received, cpu, per_packet, per_call_second))


ECHOES = (("recvfrom", 1), ("recvmmsg", 1), ("recvmmsg", 2))


def echo_name(mode, threads, calls):
    return "udp_echo %s, %d sockets, %d thread%s" % (mode, 2 * calls, threads, "s" if threads > 1 else "")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    calls = int(args[0]) if args else 50
    seconds = float(args[1]) if len(args) > 1 else 10
    jb = "--no-jitter-buffer" not in sys.argv
    option = lambda name, default: next(  # noqa: E731
        (int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--%s=" % name)), default)
    rounds, workers = option("rounds", 1), option("workers", 2)
    print("# %d bridged calls, %d packets/s into the target, %.0f s each" % (calls, calls * 100, seconds))
    engine_name = "tandem bridge, %d worker%s (jitter buffer %s)" % (
        workers, "s" if workers > 1 else "", "on, unused by a plain relay" if jb else "off")
    if rounds == 1:
        report(engine_name, calls, seconds, *bench_engine(calls, seconds, jb, workers=workers)[0])
        for mode, threads in ECHOES:
            report(echo_name(mode, threads, calls), calls, seconds, *bench_echo(mode, 2 * calls, seconds, threads))
        return
    # Rounds: each engine window is followed by the echoes (the engine's
    # calls stay up, idle), so a drift in the machine's speed lands on both
    # sides of a round's ratio.
    echoes = []

    def run_echoes():
        echoes.append([bench_echo(mode, 2 * calls, seconds, threads) for mode, threads in ECHOES])
    windows = bench_engine(calls, seconds, jb, run_echoes, rounds, workers)
    same = ECHOES.index(("recvmmsg", min(workers, 2)))
    ratios_same, ratios_best = [], []
    for r, (window, echo) in enumerate(zip(windows, echoes), 1):
        print("## round %d" % r)
        report(engine_name, calls, seconds, *window)
        for (mode, threads), result in zip(ECHOES, echo):
            report(echo_name(mode, threads, calls), calls, seconds, *result)
        per_packet = lambda res: res[2] / res[0]  # noqa: E731
        ratios_same.append(per_packet(window) / per_packet(echo[same]))
        ratios_best.append(per_packet(window) / min(per_packet(e) for e in echo))
    median = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    print("# tandem / %d-thread echo per round: %s (median %.2f×); / best echo: %s (median %.2f×)"
          % (min(workers, 2), ", ".join("%.2f×" % x for x in ratios_same), median(ratios_same),
             ", ".join("%.2f×" % x for x in ratios_best), median(ratios_best)))


if __name__ == "__main__":
    main()
