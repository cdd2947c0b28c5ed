#!/usr/bin/env python3
"""SRTP with SDES (RFC 4568) against baresip, and the `srtp` policy.

  test_baresip_srtp_echo   baresip (mediaenc=srtp-mand: an RTP/SAVP offer
                           with a=crypto) registers as 1001 and calls the
                           echo test while playing a 1 kHz tone. The answer is
                           RTP/SAVP with our own key; the engine only counts
                           packets that libsrtp authenticated; what baresip
                           hears back (its sndfile recording) holds the 1 kHz
                           tone (Goertzel); and, where a raw socket is
                           allowed, the packets on the wire towards baresip
                           carry the 10-byte auth tag and a payload that looks
                           random, not the periodic G.711 of a tone.
  test_mandatory_refuses_plain  srtp = "mandatory": a plain RTP/AVP offer gets 488.
  test_off_refuses_savp    srtp = "off": an RTP/SAVP offer gets 488.
  test_mandatory_offer     srtp = "mandatory", outbound: the INVITE offers
                           RTP/SAVP with both suites and distinct tags; an
                           answer without a key is hung up at once (BYE).

Run: python3 tests/integration/test_sip_srtp.py -v   (needs baresip)
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresip  # noqa: E402
import harness  # noqa: E402
import tones  # noqa: E402
import loopback_capture  # noqa: E402
import sipua  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["600"] = function(call) call:answer() call:echo() end,
} } }
"""


class SipSrtp(unittest.TestCase):
    def start_engine(self, srtp, endpoints=True):
        self.dir = tempfile.mkdtemp(prefix="tandem-srtp-")
        with open(os.path.join(self.dir, "endpoints"), "w") as f:
            f.write("1001 password=srtp-test-1\n")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(
            self.dir, "srtp = '%s'%s" % (srtp, ", endpoints_file = 'endpoints'" if endpoints else "")))
        self.sip_port, self.rtp_range = self.engine.sip_port, self.engine.rtp_range

    def tearDown(self):
        harness.end_engine(self, self.engine, self.dir)

    @unittest.skipUnless(baresip.BARESIP, "baresip is not installed")
    def test_baresip_srtp_echo(self):
        self.start_engine("optional")
        tone = os.path.join(self.dir, "tone.wav")
        baresip.write_tone_wav(tone, 1000, 4)
        bs_rtp = baresip.free_port_range(20)
        phone = baresip.Baresip(self.dir, "1001", "srtp-test-1", self.sip_port, tone, mediaenc="srtp-mand",
                                rtp_ports=bs_rtp)
        cap = loopback_capture.capture_if_allowed()
        try:
            phone.run(["/dial 600"], 6)
        finally:
            if cap:
                cap.close()
        log, bs_log = self.engine.read_log(), phone.read_log()
        story = "--- engine ---\n%s\n--- baresip ---\n%s" % (log, bs_log[-4000:])
        self.assertIn("SRTP is Enabled", bs_log, story)
        import re
        m = re.search(r"RTP in (\d+), out (\d+)", log)
        self.assertTrue(m, story)
        self.assertGreater(int(m.group(1)), 100, "authenticated SRTP packets from baresip\n" + story)
        self.assertGreater(int(m.group(2)), 100, story)
        # what baresip heard back is our echo of its tone
        wav = phone.received_wav()
        self.assertTrue(wav, story)
        samples, rate = baresip.read_wav(wav)
        self.assertGreater(len(samples), rate * 2, story)
        middle = samples[len(samples) // 4: 3 * len(samples) // 4]
        self.assertGreater(tones.relative_power(middle, 1000, rate), 0.5, "the 1 kHz tone came back")
        self.assertLess(tones.relative_power(middle, 600, rate), 0.05)
        if cap:
            loopback_capture.assert_srtp_pcmu(self, cap.rtp(self.rtp_range, bs_rtp, 0))

    def test_mandatory_refuses_plain(self):
        self.start_engine("mandatory", endpoints=False)  # no 407 first: the offer is judged
        ua = sipua.UA()
        try:
            with self.assertRaisesRegex(AssertionError, "answered 488"):
                ua.call("600", self.sip_port)
        finally:
            ua.close()

    def test_off_refuses_savp(self):
        self.start_engine("off", endpoints=False)
        ua = sipua.UA()
        ua.sdp_proto = "RTP/SAVP"
        ua.extra_sdp = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
        try:
            with self.assertRaisesRegex(AssertionError, "answered 488"):
                ua.call("600", self.sip_port)
        finally:
            ua.close()

    def test_mandatory_offer(self):
        self.start_engine("mandatory", endpoints=False)
        ua = sipua.UA()
        try:
            rc, out = self.engine.ctl("originate", "sip/peer@127.0.0.1:%d" % ua.port, "600", "default")
            self.assertEqual(rc, 0, out)
            invite, addr = ua.wait_request("INVITE")
            body = sipua.UA.body(invite)
            self.assertIn("RTP/SAVP", body)
            self.assertRegex(body, r"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}\r\n")
            self.assertRegex(body, r"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}\r\n")
            ua.answer(invite, addr)  # plain RTP/AVP, no key
            bye, _ = ua.wait_request("BYE", 10)
        finally:
            ua.close()
        self.assertTrue(self.engine.wait_log("answered without usable SDP"), self.engine.read_log())


if __name__ == "__main__":
    unittest.main()
