#!/usr/bin/env python3
"""SIP profiles (several listeners per instance): each with its own
context, TLS with a certificate from the config, and IPv6.

    test_profiles_have_their_contexts  two UDP/TCP profiles: a call to each
                             enters that profile's context (SIPp)
    test_tls_with_baresip    a sips: profile with a throwaway self-signed
                             certificate (openssl); baresip registers over TLS
                             (its contact says transport=tls), calls the echo
                             test, audio flows both ways (RTP counts) and the
                             call ends with BYE over TLS
    test_tls_needs_a_certificate  sips: without tls_cert/tls_key: load fails, said why
    test_ipv6_profile        a profile on [::1]: SIPp calls over IPv6 (media on
                             127.0.0.1: IPv6 media is not done), a static trunk
                             with allowed_ips = { "::1/128" } recognises it
                             (skipped when the machine has no ::1)

Run: python3 tests/integration/test_sip_profiles.py -v
"""
import os
import re
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresip  # noqa: E402
import harness  # noqa: E402
import test_sip_calls as base  # noqa: E402  (as a module: its test classes must not run here)
from sip_testing import SipTestMixin  # noqa: E402

DIALPLAN = """
return { contexts = {
  default = {
    ["service"] = function(call) call:log("context default"); call:answer(); call:hangup() end,
    ["600"] = function(call)
      call:log("echo for " .. tostring(call.caller_num))
      call:answer()
      call:echo()
    end,
  },
  office = {
    ["service"] = function(call) call:log("context office"); call:answer(); call:hangup() end,
  },
  ["from-pbx"] = {
    ["service"] = function(call) call:log("context from-pbx"); call:answer(); call:hangup() end,
  },
} }
"""


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(base.SIPP, "sipp (package sip-tester) is not installed")
class SipProfiles(SipTestMixin, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipprof-")
        self.rtp_base = base.free_rtp_base()
        self.engine = None
        self.sipp_procs = []

    def start(self, profiles, extra="", endpoints=None, expect_fail=False, env=None):
        self.write_instance("rtp_port_min = %d, rtp_port_max = %d, profiles = { %s } %s"
                            % (self.rtp_base, self.rtp_base + 39, profiles, extra), DIALPLAN, endpoints)
        self.engine = harness.Instance(os.path.join(self.dir, "tandem.lua"), env=env).start()
        if not expect_fail:
            self.assertTrue(self.engine.wait_log("sip: listening on"), self.engine.read_log())

    def test_profiles_have_their_contexts(self):
        a, b = base.free_udp_port(), base.free_udp_port()
        self.start("{ name = 'lan', listen = 'sip:127.0.0.1:%d' },"
                   " { name = 'office', listen = 'sip:127.0.0.1:%d', context = 'office' }" % (a, b))
        self.assertIn("sip: profile office listening on sip:127.0.0.1:%d, context office" % b,
                      self.engine.read_log())
        for port, ctx in ((a, "default"), (b, "office")):
            p = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                           "127.0.0.1:%d" % port], ctx)
            code, story = self.wait_sipp(p, ctx)
            self.assertEqual(code, 0, story)
            self.assertTrue(self.engine.wait_log("context " + ctx), story)

    @unittest.skipUnless(baresip.BARESIP and baresip.OPENSSL, "baresip or openssl missing")
    def test_tls_with_baresip(self):
        cert, key = baresip.make_cert(self.dir)
        udp, tls = harness.free_port(), harness.free_port()
        self.start("{ name = 'udp', listen = 'sip:127.0.0.1:%d' },"
                   " { name = 'tls', listen = 'sips:127.0.0.1:%d', tls_cert = '%s', tls_key = '%s' }"
                   % (udp, tls, cert, key), endpoints="1001 password=tlspw\n", env=harness.LSAN_SOFIA_TLS)
        tone = os.path.join(self.dir, "tone.wav")
        baresip.write_tone_wav(tone, 440, 4)
        phone = baresip.Baresip(self.dir, "1001", "tlspw", tls, tone, transport="tls", cafile=cert)
        phone.run(["/dial 600"], seconds=5, trace=True)
        out = phone.read_log()
        log = self.engine.read_log()
        self.assertIn("{0/TLS/v4} 200 OK", out, out + log)
        self.assertRegex(log, r"sip: 1001 registered sip:1001[^ ]*;transport=tls")
        self.assertIn("Call established", out, out + log)
        self.assertTrue(self.engine.wait_log("far end hung up"), out + log)
        rx, tx = map(int, re.search(r"RTP in (\d+), out (\d+)", self.engine.read_log()).groups())
        self.assertGreater(rx, 100, log)  # ~4 s of baresip's tone at 50 packets/s
        self.assertGreater(tx, 100, log)  # echoed back
        # our answers name a Contact baresip can use (not sips:)
        self.assertRegex(out, r"Contact: <sip:127\.0\.0\.1:%d;transport=tls>" % tls)

    def test_tls_needs_a_certificate(self):
        self.start("{ name = 'tls', listen = 'sips:127.0.0.1:%d' }" % base.free_udp_port(), expect_fail=True)
        self.assertTrue(self.engine.wait_log("module sip: load() failed"), self.engine.read_log())
        self.assertIn("profile tls listens on sips:127.0.0.1", self.engine.read_log())
        self.assertIn("tls_cert and tls_key needed", self.engine.read_log())

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_profile(self):
        v4, v6 = base.free_udp_port(), base.free_udp_port()
        self.start("{ name = 'v4', listen = 'sip:127.0.0.1:%d' }, { name = 'v6', listen = 'sip:[::1]:%d' }"
                   % (v4, v6), extra=", trunks = { { name = 'pbx6', host = '[::1]:9', context = 'from-pbx',"
                   " allowed_ips = { '::1/128' } } }")
        p = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                       "[::1]:%d" % v6], "v6", ip="::1")
        code, story = self.wait_sipp(p, "v6")
        self.assertEqual(code, 0, story)
        self.assertIn("Via: SIP/2.0/UDP [::1]", story)
        self.assertTrue(self.engine.wait_log("context from-pbx"), story)


if __name__ == "__main__":
    unittest.main()
