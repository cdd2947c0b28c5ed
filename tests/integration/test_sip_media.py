#!/usr/bin/env python3
"""The SIP channel's media path against a peer that controls every packet
(tests/integration/sipua.py: a small SIP UA with its own RTP and RTCP
sockets), over real sockets on 127.0.0.1:

  test_rtcp_reports_and_stats  an echo call: the peer sends 3 s of PCMU with
                      every 10th packet lost and 0/10 ms alternating delay,
                      an SR, and an RR about the engine's SR. The engine
                      sends SRs on port + 1 about every rtcp_interval_ms
                      whose report block shows our loss and echoes our SR
                      (LSR); on BYE it sends an RTCP BYE; the CDR's vars hold
                      rtp_codec, rtp_rx_packets, rtp_tx_packets,
                      rtcp_loss_pct (~10), rtcp_jitter_ms (~10), rtcp_rtt_ms.
  test_rtcp_mux       the peer offers a=rtcp-mux: the answer accepts it and
                      RTCP arrives on the RTP port.
  test_jitter_buffer_reorders  packets sent out of order come back (echoed)
                      in order: the jitter buffer sorted them.
  test_relay_is_byte_identical  A calls the engine, the dialplan bridges to B
                      (a UAS), both PCMU: random payload bytes sent by A
                      arrive at B unchanged, and B's at A (no transcoding,
                      no concealment when nothing is lost).
  test_relay_passes_timing_on  the same bridge relays each packet as it
                      comes (no jitter buffer: B has it within a few ms,
                      not after the buffer's 40 ms) and passes the sender's
                      timing on: 3 lost packets leave a gap of 3 sequence
                      numbers and 480 timestamp ticks at B, 100 ms of
                      silence suppression a timestamp jump of 800 with the
                      marker bit, a repeated and a late packet are dropped.

SipSocketReuse (rtp_socket_reuse_ms = 300):
  test_rtp_sockets_are_reused  a call's RTP port goes to the next call once
                      it has rested 300 ms; what the old far end sent
                      meanwhile is thrown away, and its late packets (its
                      address, its SSRC) during the new call are neither
                      echoed nor latched to, while the new caller's are
                      echoed; a phone on the old fixed RTP port calling
                      again (its SDP names that address) is echoed at once.

SipDynamicCodec (tests/modules/testl16.c registers an L16 codec with its RTP
encoding, ABI 1.2; the SIP channel knows nothing about it):
  test_offer_lists_registered_codec  an outbound INVITE offers it as
                      a=rtpmap:96 L16/8000 beside PCMU, PCMA, telephone-event
  test_inbound_dynamic_codec  an offer of only L16 on payload type 97 is
                      answered with 97 L16/8000 and echoed back byte for byte

Run: python3 tests/integration/test_sip_media.py -v
"""
import os
import select
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sipua  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["echo"] = function(call)
    call:answer()
    call:echo()
  end,
  ["bridge"] = function(call)
    call:answer()
    local status, peer = call:dial("sip/peer@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:bridge(peer) end
    call:hangup()
  end,
  ["trunk"] = function(call) -- through a trunk "prov" the config may have
    call:answer()
    local status, peer = call:dial("sip/prov/peer")
    if status == "answer" then call:bridge(peer) end
    call:hangup()
  end,
} } }
"""


def start_engine(test, modules=("sip",), sip_extra=""):
    """The engine with DIALPLAN (its "bridge" dials test.uas, a UA made
    here) on free ports: sets test.dir, sip_port, uas and engine.
    `sip_extra`: more keys of the sip module's config (Lua, ", " first;
    @UAS_PORT@ is test.uas's SIP port)."""
    test.dir = tempfile.mkdtemp(prefix="tandem-sipmedia-")
    test.uas = sipua.UA()
    with open(os.path.join(test.dir, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN.replace("@UAS_PORT@", str(test.uas.port)))
    test.engine = harness.start_listening(test, lambda: harness.sip_instance(
        test.dir, "rtcp_interval_ms = 1000" + sip_extra.replace("@UAS_PORT@", str(test.uas.port)), modules=modules))
    test.sip_port = test.engine.sip_port


class SipMedia(unittest.TestCase):
    MODULES = ("sip",)  # a subclass loads more (test_codecs.py: codec_opus)

    def setUp(self):
        start_engine(self, self.MODULES)
        self.call_ends = harness.CallEnds(self, self.engine)

    def tearDown(self):
        self.call_ends.close()
        self.uas.close()
        harness.end_engine(self, self.engine, self.dir)

    def test_rtcp_reports_and_stats(self):
        ua = sipua.UA()
        try:
            ua.call("echo", self.sip_port)
            rtcp_seen, sr_sent, rr_sent = [], False, False
            sent = 0
            start = time.time()
            for i in range(150):
                # every packet on a 20 ms grid, odd ones 10 ms late; every 10th lost
                due = start + 0.02 * i + (0.01 if i % 2 else 0)
                time.sleep(max(0, due - time.time()))
                if i % 10 != 5:
                    ua.send_rtp(1000 + i, 160 * i, sipua.tone_ulaw(440, 160, start=160 * i))
                    sent += 1
                if i == 50 and not sr_sent:
                    sr_sent = time.time(), sipua.ntp_now()
                    ua.send_rtcp(sipua.rtcp_sr(ua.ssrc, sent, sent * 160, 160 * i, sr_sent[1]))
                for data in ua.drain(ua.rtcp):
                    rtcp_seen.append((time.time(), data))
                    for kind, info in sipua.parse_rtcp(data):
                        if kind == 200 and not rr_sent:  # answer the engine's SR: it gets a round trip
                            lsr = (info["ntp"] >> 16) & 0xFFFFFFFF
                            ua.send_rtcp(sipua.rtcp_rr(ua.ssrc, info["ssrc"], lsr, 0))
                            rr_sent = True
                ua.drain(ua.rtp)
            # one more report after the last packet: wait for the report
            # that has seen it (a loaded machine may delay it past one interval)
            deadline = time.time() + 6
            while time.time() < deadline:
                fresh = [(time.time(), d) for d in ua.drain(ua.rtcp)]
                rtcp_seen += fresh
                if any(info["blocks"] and info["blocks"][0]["ext_seq"] == 1000 + 149
                       for _, d in fresh for kind, info in sipua.parse_rtcp(d) if kind in (200, 201)):
                    break
                time.sleep(0.05)
            self.assertEqual(ua.bye(), 200)
            time.sleep(0.3)
            after_bye = ua.drain(ua.rtcp)
        finally:
            ua.close()
        log = self.engine.read_log()
        self.assertGreaterEqual(len(rtcp_seen), 2, log)
        reports = [sipua.parse_rtcp(d) for _, d in rtcp_seen]
        self.assertIn(200, [r[0][0] for r in reports], "the engine echoes media: it reports as a sender")
        self.assertTrue(all(202 in [k for k, _ in r] for r in reports), "SDES CNAME in every compound packet")
        last = reports[-1]
        block = last[0][1]["blocks"][0]
        self.assertEqual(block["ssrc"], ua.ssrc)
        self.assertEqual(block["lost"], 15)  # i = 5, 15, ..., 145
        self.assertEqual(block["ext_seq"], 1000 + 149)
        self.assertNotEqual(block["lsr"], 0, "our SR is echoed (LSR)")
        self.assertEqual(block["lsr"], (sr_sent[1] >> 16) & 0xFFFFFFFF)
        self.assertTrue(any(k == 203 for d in after_bye for k, _ in sipua.parse_rtcp(d)),
                        "an RTCP BYE when the call ends\n" + log)
        v = self.call_ends.wait("echo")["vars"]
        self.assertEqual(v.get("rtp_codec"), "PCMU", v)
        self.assertEqual(int(v["rtp_rx_packets"]), sent, v)
        self.assertGreater(int(v["rtp_tx_packets"]), 100, v)
        self.assertAlmostEqual(float(v["rtcp_loss_pct"]), 10.0, delta=0.1)
        self.assertTrue(2 <= float(v["rtcp_jitter_ms"]) <= 30, v)
        self.assertIn("rtcp_rtt_ms", v)
        self.assertLess(float(v["rtcp_rtt_ms"]), 200, v)

    def test_rtcp_mux(self):
        ua = sipua.UA(rtcp_mux=True)
        try:
            ok = ua.call("echo", self.sip_port)
            self.assertIn("a=rtcp-mux", ok)
            kinds = ua.muxed_rtcp_kinds(100)
            self.assertEqual(ua.drain(ua.rtcp), [], "nothing on port + 1 with rtcp-mux")
            ua.bye()
        finally:
            ua.close()
        self.assertIn(200, kinds, "an SR on the RTP port\n" + self.engine.read_log())

    def test_jitter_buffer_reorders(self):
        ua = sipua.UA()
        try:
            ua.call("echo", self.sip_port)
            order = []
            for i in range(0, 100, 2):  # pairs swapped: 1 0 3 2 5 4 ...
                order += [i + 1, i]
            # each payload a mark the concealment of a lost frame could not produce
            back = ua.paced_exchange([(500 + i, 160 * i, bytes([i, 255 - i]) + b"\xff" * 158, 0) for i in order])
            ua.bye()
        finally:
            ua.close()
        marks = [p["payload"][0] for p in back
                 if p and p["pt"] == 0 and p["payload"][0] < 100 and p["payload"][1] == 255 - p["payload"][0]]
        # the echo returns what the engine played: our frames in sequence order
        seq_of = marks
        self.assertGreater(len(seq_of), 80, self.engine.read_log())
        self.assertEqual(seq_of, sorted(seq_of), "frames came back in order")

    def test_relay_is_byte_identical(self):
        a = sipua.UA()
        b = self.uas
        try:
            sipua.bridged_call(a, b, "bridge", self.sip_port)
            sent_a = [sipua.random_payload(160) for _ in range(100)]
            sent_b = [sipua.random_payload(160) for _ in range(100)]
            got_a, got_b = sipua.paced_two_way(a, b, sent_a, sent_b, 0, 7000)
            a.bye()
        finally:
            a.close()
        log = self.engine.read_log()
        at_b = [p["payload"] for p in got_b if p and p["pt"] == 0]
        at_a = [p["payload"] for p in got_a if p and p["pt"] == 0]
        # every frame A sent arrives at B byte for byte, in order (and B's at
        # A); the only others are the jitter buffer's concealment when a
        # stream pauses or ends (at most 3 frames each time)
        for sent, got, where in ((sent_a, at_b, "B"), (sent_b, at_a, "A")):
            relayed = [x for x in got if x in sent]
            self.assertEqual(relayed, sent[:len(relayed)] if relayed and relayed[0] == sent[0] else
                             sent[sent.index(relayed[0]):][:len(relayed)] if relayed else [],
                             "frames at %s are the sent ones, in order, none missing" % where)
            self.assertGreaterEqual(len(relayed), 95, log)
            self.assertLessEqual(len(got) - len(relayed), 6, "few concealed frames at %s" % where)

    def test_relay_passes_timing_on(self):
        a, b = sipua.UA(), self.uas
        lost, silence_at, extra = {20, 21, 22}, 40, 800
        sent, delays = [], []
        try:
            sipua.bridged_call(a, b, "bridge", self.sip_port)
            start = time.time()
            for n, seq in enumerate(list(range(60)) + [10, 5]):  # then a repeat and a late one
                ts = 160 * seq + (extra if seq >= silence_at else 0)
                if seq not in lost:
                    payload = bytes([seq]) + sipua.random_payload(159)
                    sent.append(payload)
                    t0 = time.time()
                    a.send_rtp(1000 + seq, ts, payload, marker=seq == silence_at)
                    if select.select([b.rtp], [], [], 0.5)[0]:
                        delays.append(time.time() - t0)
                time.sleep(max(0, start + 0.02 * (n + 1) - time.time()))
            time.sleep(0.3)
            got = [sipua.parse_rtp(d) for d in b.drain(b.rtp)]
            a.bye()
        finally:
            a.close()
        log = self.engine.read_log()
        # drain() above read what select() saw too: collect by payload
        by_mark = {}
        for p in got:
            if p and p["pt"] == 0 and len(p["payload"]) == 160 and p["payload"] in sent:
                self.assertNotIn(p["payload"][0], by_mark, "packet %d relayed twice" % p["payload"][0])
                by_mark[p["payload"][0]] = p
        self.assertGreaterEqual(len(delays), 50, log)
        delays.sort()
        self.assertLess(delays[len(delays) // 2], 0.015, "median relay delay %.1f ms" % (delays[len(delays) // 2] * 1000))
        for before, after, seq_gap, ts_gap, marker in ((19, 23, 4, 640, False), (39, 40, 1, 160 + extra, True),
                                                       (30, 31, 1, 160, False)):
            self.assertIn(before, by_mark, log)
            self.assertIn(after, by_mark, log)
            x, y = by_mark[before], by_mark[after]
            self.assertEqual((y["seq"] - x["seq"]) & 0xFFFF, seq_gap, "seq %d -> %d" % (before, after))
            self.assertEqual((y["ts"] - x["ts"]) & 0xFFFFFFFF, ts_gap, "ts %d -> %d" % (before, after))
            self.assertEqual(y["marker"], marker, "marker on %d" % after)


class SipSocketReuse(unittest.TestCase):
    def setUp(self):
        start_engine(self, sip_extra=", rtp_socket_reuse_ms = 300")

    def tearDown(self):
        self.uas.close()
        harness.end_engine(self, self.engine, self.dir)

    def echoes(self, ua, seq0, count=10):
        """Sends `count` tone packets from ua; how many came back to it."""
        back = ua.paced_exchange([(seq0 + i, 160 * (seq0 + i), sipua.tone_ulaw(440, 160, start=160 * i), 0)
                                  for i in range(count)], tail=0.4)
        return len([p for p in back if p and p["pt"] == 0])

    def test_rtp_sockets_are_reused(self):
        old, new = sipua.UA(), sipua.UA()
        try:
            old.call("echo", self.sip_port)
            port = old.remote_media[1]
            self.assertGreater(self.echoes(old, 1000), 5, self.engine.read_log())
            self.assertEqual(old.bye(), 200)
            # into the resting socket, under an SSRC the stale check does not
            # know: only the drain when the pair is taken keeps them out
            first_ssrc, old.ssrc = old.ssrc, old.ssrc ^ 2
            for i in range(5):
                old.send_rtp(2000 + i, 160 * (2000 + i), sipua.tone_ulaw(440, 160))
            old.ssrc = first_ssrc
            time.sleep(0.6)
            new.call("echo", self.sip_port)
            self.assertEqual(new.remote_media[1], port, "the rested pair was not reused")
            # the old stream again, now into the new call: dropped, no echo anywhere
            self.assertEqual(self.echoes(old, 3000), 0)
            self.assertEqual(len(new.drain(new.rtp)), 0, "the old stream reached the new caller")
            self.assertGreater(self.echoes(new, 100), 5, self.engine.read_log())
            # the old address with a new SSRC is a new stream, not a late one
            self.assertEqual(new.bye(), 200)
            time.sleep(0.6)
            again = sipua.UA()
            try:
                again.rtp.close()
                again.rtp, again.rtp_port = old.rtp, old.rtp_port  # the first "phone", its fixed RTP port
                again.call("echo", self.sip_port)
                self.assertEqual(again.remote_media[1], port)
                again.ssrc = first_ssrc ^ 1
                self.assertGreater(self.echoes(again, 5000), 5, self.engine.read_log())
                again.bye()
            finally:
                again.rtp = None
                again.rtcp.close()
                again.sip.close()
        finally:
            old.close()
            new.close()


class SipDynamicCodec(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipcodec-")
        module = os.path.join(os.environ.get("TANDEM_BUILD_DIR", os.path.join(harness.REPO, "build")),
                              "tests", "test-modules", "testl16.so")
        if not os.path.exists(module):
            self.skipTest("tests/modules/testl16 is not built")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN.replace("@UAS_PORT@", "1"))
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(self.dir, modules=(module, "sip")))
        self.sip_port = self.engine.sip_port

    def tearDown(self):
        harness.end_engine(self, self.engine, self.dir)

    def test_offer_lists_registered_codec(self):
        ua = sipua.UA()
        try:
            rc, out = self.engine.ctl("originate", "sip/peer@127.0.0.1:%d" % ua.port, "echo", "default")
            self.assertEqual(rc, 0, out)
            invite, addr = ua.wait_request("INVITE")
        finally:
            ua.close()
        body = sipua.UA.body(invite)
        self.assertRegex(body, r"m=audio \d+ RTP/AVP 0 8 96 101\r\n")
        self.assertIn("a=rtpmap:96 L16/8000\r\n", body)

    def test_inbound_dynamic_codec(self):
        ua = sipua.UA()
        ua.codecs = "97"
        ua.extra_sdp = "a=rtpmap:97 L16/8000\r\n"
        try:
            ok = ua.call("echo", self.sip_port)
            self.assertRegex(sipua.UA.body(ok), r"m=audio \d+ RTP/AVP 97\r\n")
            self.assertIn("a=rtpmap:97 L16/8000", ok)
            sent = [bytes([i, 0x55]) * 160 for i in range(50)]  # 20 ms of L16 each
            back = ua.paced_exchange([(i, 160 * i, payload, 97) for i, payload in enumerate(sent)])
            ua.bye()
        finally:
            ua.close()
        echoed = [p["payload"] for p in back if p and p["pt"] == 97]
        self.assertGreater(len(echoed), 40, self.engine.read_log())
        self.assertTrue(all(p in sent for p in echoed), "L16 frames come back unchanged")


if __name__ == "__main__":
    unittest.main()
