#!/usr/bin/env python3
"""ptime other than 20 ms, and rtcp-mux holding one socket, against a peer
that controls every packet (tests/integration/sipua.py), over real sockets
on 127.0.0.1. Each case runs with the jitter buffer (PtimeJitterBuffer)
and without it (PtimeNoJitterBuffer, which also sets the module's
`ptime = 30`):

  test_ptime30_echo   the caller offers a=ptime:30 and sends 3 s of a 1 kHz
                      tone in 30 ms PCMU packets to the echo test: the answer
                      says a=ptime:30; what comes back is 240-byte packets
                      whose timestamps step by 240, about every 30 ms, as
                      many samples as were sent (no drift), the tone intact
                      (Goertzel) and the first 0.5 s byte for byte; the
                      engine's SRs count 240 payload octets a packet.
  test_ptime10_echo   the same with 10 ms packets (80 bytes).
  test_maxptime       an offer of a=ptime:60 a=maxptime:40: 60 ms packets
                      are taken, 40 ms ones (320 bytes) sent and announced.
  test_bridge_30_to_20  a ptime-30 caller bridged to a callee that answers
                      a=ptime:20 (PtimeNoJitterBuffer: no a=ptime, so our
                      `ptime = 30` applies): each hears the other's tone in
                      packets of its own ptime, with the right count.
  test_dtmf_between_30ms_packets  the callee sends an RFC 4733 "5" of 100 ms
                      mid-stream; the ptime-30 caller gets the audio before
                      it ending exactly at the event's timestamp (the waiting
                      part flushed as a shorter packet), event updates 20 ms
                      (160 units) apart, three end packets, then audio again
                      in 240-byte packets with the marker bit, after the event.
  PtimeTrunk.test_trunk_ptime  a trunk with ptime = 30: a call out through
                      it offers a=ptime:30 and, the provider's answer naming
                      none, sends it 240-byte packets of a 20 ms caller.
  test_rtcp_mux_one_socket  with rtcp-mux agreed the engine holds the RTP
                      port only (/proc/net/udp: the odd port is not bound)
                      and its SR arrives on the RTP port; a re-INVITE
                      without rtcp-mux binds the odd port again, and a call
                      without rtcp-mux holds both.

Run: python3 tests/integration/test_sip_ptime.py -v
"""
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sipua  # noqa: E402
import test_sip_media  # noqa: E402  (its engine: "echo" and "bridge" to self.uas)
import tones  # noqa: E402


def bound_udp_ports():
    """Local ports of every IPv4 UDP socket on this host."""
    ports = set()
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            ports.add(int(line.split()[1].split(":")[1], 16))
    return ports


def audio(packets):
    """The PCMU packets of `packets` ((time, parsed) pairs), in arrival order."""
    return [(t, p) for t, p in packets if p and p["pt"] == 0]


def check_stream(test, got, size, sent_samples, freq, where, sent_bytes=None):
    """`got`: the (time, packet) PCMU packets one side received."""
    log = test.engine.read_log()
    test.assertGreater(len(got), 10, "%s: no audio\n%s" % (where, log))
    sizes = [len(p["payload"]) for _, p in got]
    test.assertEqual(sizes, [size] * len(got), "%s: every packet %d bytes" % (where, size))
    steps = {(b["ts"] - a["ts"]) & 0xFFFFFFFF for (_, a), (_, b) in zip(got, got[1:])}
    test.assertEqual(steps, {size}, "%s: timestamps step by the packet's samples" % where)
    total = size * len(got)
    test.assertLessEqual(abs(total - sent_samples), 640, "%s: %d samples for %d sent" % (where, total, sent_samples))
    span, expected = got[-1][0] - got[0][0], (len(got) - 1) * size / 8000.0
    test.assertLess(abs(span - expected), 0.25, "%s: packets every %d ms (%.2f s for %.2f)"
                    % (where, size // 8, span, expected))
    stream = b"".join(p["payload"] for _, p in got)
    pcm = sipua.ulaw_decode(stream[4000:-4000])
    for i in range(0, len(pcm) - 1600, 1600):
        test.assertGreater(tones.relative_power(pcm[i:i + 1600], freq), 0.9,
                           "%s: the %d Hz tone intact at sample %d" % (where, freq, 4000 + i))
    if sent_bytes is not None:
        test.assertEqual(stream[:4000], sent_bytes[:4000], "%s: the first 0.5 s byte for byte" % where)


def keep_requests(ua):
    """The first request of each method `ua` waits for, as they come."""
    first = {}
    wait = ua.wait_request

    def keeping(method, timeout=10.0):
        msg, addr = wait(method, timeout)
        first.setdefault(method, msg)
        return msg, addr
    ua.wait_request = keeping
    return first


class PtimeCases:
    JITTER_BUFFER = True
    MODULE_PTIME = 20
    CALLEE_PTIME = 20  # what the bridged callee's answer says (None: nothing)

    def setUp(self):
        test_sip_media.start_engine(self, sip_extra=", jitter_buffer = %s, ptime = %d"
                                    % ("true" if self.JITTER_BUFFER else "false", self.MODULE_PTIME))

    def tearDown(self):
        self.uas.close()
        harness.end_engine(self, self.engine, self.dir)

    def echo_case(self, ptime, size, maxptime=None, send_size=None):
        send_size = send_size or size
        ua = sipua.UA()
        ua.ptime = ptime
        if maxptime:
            ua.extra_sdp = "a=maxptime:%d\r\n" % maxptime
        n = 24000 // send_size  # 3 s
        tone = sipua.tone_ulaw(1000, 24000)
        try:
            ok = ua.call("echo", self.sip_port)
            self.assertIn("a=ptime:%d\r\n" % (size // 8), ok)
            back = ua.paced_exchange([(i, 3000 + send_size * i, tone[send_size * i:send_size * (i + 1)], 0)
                                      for i in range(n)], tail=0.5, interval=send_size / 8000.0, stamped=True)
            reports = [info for d in ua.drain(ua.rtcp) for kind, info in sipua.parse_rtcp(d) if kind == 200]
            ua.bye()
        finally:
            ua.close()
        check_stream(self, audio(back), size, 24000, 1000, "echo", tone)
        # rtcp_interval_ms = 1000: reports during the 3 s, each counting
        # the packets it had sent, every one `size` octets of payload
        self.assertGreaterEqual(len(reports), 2, self.engine.read_log())
        for sr in reports:
            self.assertGreater(sr["packets"], 0)
            self.assertEqual(sr["octets"], size * sr["packets"], "SR counts packets of %d bytes" % size)

    def test_ptime30_echo(self):
        self.echo_case(30, 240)

    def test_ptime10_echo(self):
        self.echo_case(10, 80)

    def test_maxptime(self):
        self.echo_case(60, 320, maxptime=40, send_size=480)

    def test_bridge_30_to_20(self):
        a, b = sipua.UA(), self.uas
        a.ptime = 30
        b.ptime = self.CALLEE_PTIME
        b_size = 8 * (self.CALLEE_PTIME or self.MODULE_PTIME)
        invite = keep_requests(b)
        tone_a, tone_b = sipua.tone_ulaw(1000, 24000), sipua.tone_ulaw(600, 24000)
        got_a, got_b = [], []
        try:
            sipua.bridged_call(a, b, "bridge", self.sip_port)
            self.assertIn("a=ptime:%d\r\n" % self.MODULE_PTIME, sipua.UA.body(invite["INVITE"]))
            start = time.time()
            for tick in range(350):  # 3 s on a 10 ms grid, then 0.5 s of what is left
                ms = 10 * tick
                if ms % 30 == 0 and tick < 300:
                    i = ms // 30
                    a.send_rtp(i, 240 * i, tone_a[240 * i:240 * (i + 1)])
                if ms % (b_size // 8) == 0 and tick < 300:
                    i = ms // (b_size // 8)
                    b.send_rtp(7000 + i, b_size * i, tone_b[b_size * i:b_size * (i + 1)])
                time.sleep(max(0, start + 0.01 * (tick + 1) - time.time()))
                now = time.time()
                got_a += [(now, sipua.parse_rtp(d)) for d in a.drain(a.rtp)]
                got_b += [(now, sipua.parse_rtp(d)) for d in b.drain(b.rtp)]
            a.bye()
        finally:
            a.close()
        check_stream(self, audio(got_b), b_size, 24000, 1000, "callee")
        check_stream(self, audio(got_a), 240, 24000, 600, "caller")

    def test_dtmf_between_30ms_packets(self):
        a, b = sipua.UA(), self.uas
        a.ptime = 30
        b.ptime = 20
        got = []
        try:
            sipua.bridged_call(a, b, "bridge", self.sip_port)
            start = time.time()
            tone = sipua.tone_ulaw(600, 16000)
            for i in range(100):  # 2 s of 20 ms packets, a 100 ms "5" from 1 s
                b.send_rtp(7000 + i, 160 * i, tone[160 * i:160 * (i + 1)])
                if 50 <= i < 55:
                    dur = 160 * (i - 49)
                    b.send_rtp(8000 + i, 160 * 50, struct.pack("!BBH", 5, 10, dur), pt=101)
                elif i == 55:
                    for _ in range(3):
                        b.send_rtp(8000 + i, 160 * 50, struct.pack("!BBH", 5, 0x80 | 10, 800), pt=101)
                time.sleep(max(0, start + 0.02 * (i + 1) - time.time()))
                got += [sipua.parse_rtp(d) for d in a.drain(a.rtp)]
            time.sleep(0.3)
            got += [sipua.parse_rtp(d) for d in a.drain(a.rtp)]
            a.bye()
        finally:
            a.close()
        log = self.engine.read_log()
        events = [p for p in got if p and p["pt"] == 101]
        self.assertGreaterEqual(len(events), 5, "the digit reaches the caller as RFC 4733\n" + log)
        first = got.index(events[0])
        ets = events[0]["ts"]
        self.assertTrue(events[0]["marker"])
        self.assertEqual({p["ts"] for p in events}, {ets}, "one event, one timestamp")
        durations = [struct.unpack("!BBH", p["payload"][:4])[2] for p in events]
        ends = [p for p in events if p["payload"][1] & 0x80]
        self.assertEqual(len(ends), 3, "three end packets")
        updates = durations[:len(durations) - 3]
        self.assertEqual(updates, [160 * (k + 1) for k in range(len(updates))], "an update every 20 ms")
        before = [p for p in got[:first] if p and p["pt"] == 0]
        after = [p for p in got[first:] if p and p["pt"] == 0]
        self.assertTrue(before and after, log)
        last = before[-1]
        self.assertEqual((last["ts"] + len(last["payload"])) & 0xFFFFFFFF, ets,
                         "the audio before the event ends where it starts")
        self.assertTrue(all(len(p["payload"]) == 240 for p in before[:-1]))
        self.assertTrue(after[0]["marker"], "audio after the event starts a talk spurt")
        self.assertGreaterEqual((after[0]["ts"] - ets) & 0xFFFFFFFF, durations[-1], "audio resumes after the event")
        self.assertTrue(all(len(p["payload"]) == 240 for p in after[:-1]))
        steps = {(q["ts"] - p["ts"]) & 0xFFFFFFFF for p, q in zip(after, after[1:])}
        self.assertEqual(steps, {240})

    def test_rtcp_mux_one_socket(self):
        ua = sipua.UA(rtcp_mux=True)
        plain = sipua.UA()
        try:
            ok = ua.call("echo", self.sip_port)
            self.assertIn("a=rtcp-mux", ok)
            port = ua.remote_media[1]
            kinds = ua.muxed_rtcp_kinds(75)  # 1.5 s: an SR (rtcp_interval_ms = 1000) comes
            ports = bound_udp_ports()
            self.assertIn(port, ports)
            self.assertNotIn(port + 1, ports, "rtcp-mux: the odd port is not held")
            self.assertIn(200, kinds, "our SR on the RTP port\n" + self.engine.read_log())
            # a re-INVITE without rtcp-mux: RTCP gets its own port back
            ua.rtcp_mux = False
            ua.request("INVITE", ua.uri, ua.target, ua.sdp().replace("o=sipua 1 1", "o=sipua 1 2"))
            deadline = time.time() + 5
            while time.time() < deadline:
                msg, _ = ua.read_sip(deadline - time.time())
                if sipua.UA.status(msg) >= 200 and "INVITE" in (sipua.UA.header(msg, "CSeq") or ""):
                    break
            self.assertEqual(sipua.UA.status(msg), 200, msg)
            self.assertNotIn("a=rtcp-mux", msg)
            ua.request("ACK", ua.uri, ua.target)
            time.sleep(0.2)
            self.assertIn(port + 1, bound_udp_ports(), "without rtcp-mux the odd port is bound again")
            plain.call("echo", self.sip_port)
            self.assertIn(plain.remote_media[1] + 1, bound_udp_ports(), "a call without rtcp-mux holds both")
            plain.bye()
            ua.bye()
        finally:
            ua.close()
            plain.close()


class PtimeTrunk(unittest.TestCase):
    """A trunk's own `ptime`: what calls out through it offer and send."""

    def setUp(self):
        test_sip_media.start_engine(self, sip_extra=", trunks = { { name = 'prov', host = '127.0.0.1:@UAS_PORT@',"
                                    " ptime = 30, allowed_ips = '127.0.0.1' } }")

    def tearDown(self):
        self.uas.close()
        harness.end_engine(self, self.engine, self.dir)

    def test_trunk_ptime(self):
        a, b = sipua.UA(), self.uas
        b.ptime = None  # the provider names none: the trunk's ptime is sent
        invite = keep_requests(b)
        tone = sipua.tone_ulaw(1000, 16000)
        got = []
        try:
            sipua.bridged_call(a, b, "trunk", self.sip_port)
            self.assertIn("a=ptime:30\r\n", sipua.UA.body(invite["INVITE"]))
            start = time.time()
            for i in range(125):  # 2 s of 20 ms packets from the caller, then 0.5 s
                if i < 100:
                    a.send_rtp(i, 160 * i, tone[160 * i:160 * (i + 1)])
                time.sleep(max(0, start + 0.02 * (i + 1) - time.time()))
                now = time.time()
                got += [(now, sipua.parse_rtp(d)) for d in b.drain(b.rtp)]
            a.bye()
        finally:
            a.close()
        check_stream(self, audio(got), 240, 16000, 1000, "provider")


class PtimeJitterBuffer(PtimeCases, unittest.TestCase):
    pass


class PtimeNoJitterBuffer(PtimeCases, unittest.TestCase):
    JITTER_BUFFER = False
    MODULE_PTIME = 30
    CALLEE_PTIME = None


if __name__ == "__main__":
    unittest.main()
