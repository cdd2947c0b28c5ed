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
    test_ipv6_profile        a profile on [::1]: SIPp calls over IPv6, a static trunk
                             with allowed_ips = { "::1/128" } recognises it
    test_ipv6_media_inbound  SIPp on ::1 offers c=IN IP6 ::1 (-mi ::1, -rtp_echo) to a
                             tone on the IPv6 profile: our answer says c=IN IP6 ::1 and
                             o=... IN IP6, our tone goes out and comes back over IPv6
                             (RTP in/out counts at hang-up)
    test_ipv6_endpoint_contact_gets_ipv6_media  1002 registers (over IPv4) a contact on
                             [::1]: originate to sip/1002 offers c=IN IP6 ::1 through the
                             IPv6 profile, and RTP comes back
    test_ipv6_media_outbound  originate to sip/service@[::1]:PORT (a SIPp UAS on ::1
                             with -rtp_echo): our INVITE offers c=IN IP6 ::1, RTP both ways
    test_ipv6_rtp_ip6_off    rtp_ip6 = "": an IPv6 offer is answered with IPv4 media
                             (the fallback), the call still completes
    test_media_address_families  rtp_ip6 = "127.0.0.1" on a profile: load fails, said why
    test_ipv6_profile_rtp_ip6  the module has rtp_ip6 = "" but the IPv6 profile its own
                             rtp_ip6 = "::1": calls on that profile get IPv6 media
    test_tls_client_certificates  tls_verify_client: baresip with a certificate from
                             tls_ca registers; an OPTIONS over TLS is answered with the
                             certificate and refused without
    test_tls_verify_client_needs_a_ca  tls_verify_client without tls_ca: load() fails, says why
  (the IPv6 tests are skipped when the machine has no ::1)

Run: python3 tests/integration/test_sip_profiles.py -v
"""
import os
import re
import socket
import ssl
import sys
import tempfile
import time
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
    ["tone"] = function(call)
      call:answer()
      call:play("tone:440/2000")
      call:sleep(20000)
    end,
    ["outcall"] = function(call)
      call:play("tone:440/1500")
      call:hangup()
    end,
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


def v4_and_v6(v4, v6, v6_keys=""):
    """Profiles v4 on 127.0.0.1:v4 and v6 on [::1]:v6 (with `v6_keys` more)."""
    return ("{ name = 'v4', listen = 'sip:127.0.0.1:%d' }, { name = 'v6', listen = 'sip:[::1]:%d'%s }"
            % (v4, v6, v6_keys))


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(base.SIPP, "sipp (package sip-tester) is not installed")
def tls_options(port, cafile, client_cert):
    """An OPTIONS over TLS to 127.0.0.1:port (client_cert: (cert, key) or
    None); the response's text. In TLS 1.3 a refused client learns it at
    its first read (ssl.SSLError, or the connection simply closes)."""
    ctx = ssl.create_default_context(cafile=cafile)
    if client_cert:
        ctx.load_cert_chain(*client_cert)
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            local = s.getsockname()[1]
            s.sendall(("OPTIONS sip:127.0.0.1:%d;transport=tls SIP/2.0\r\n"
                       "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bKtls%d\r\nMax-Forwards: 70\r\n"
                       "From: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tls%d@probe\r\n"
                       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (port, local, local, local)).encode())
            return s.recv(4096).decode(errors="replace")


class SipProfiles(SipTestMixin, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipprof-")
        self.rtp_base = base.free_rtp_base()
        self.engine = None
        self.sipp_procs = []

    def start(self, profiles, ports=1, extra="", endpoints=None, expect_fail=False, env=None):
        """profiles(*ports): the Lua profile list for `ports` listen ports,
        picked free again on each start attempt; returns those ports."""
        picked = []

        def make_instance():
            picked[:] = [harness.free_port() for _ in range(ports)]
            return harness.Instance(self.write_instance(
                "rtp_port_min = %d, rtp_port_max = %d, profiles = { %s } %s"
                % (self.rtp_base, self.rtp_base + 39, profiles(*picked), extra), DIALPLAN, endpoints), env=env)
        if expect_fail:
            self.engine = make_instance().start()
        else:
            self.engine = harness.start_listening(self, make_instance)
        return picked

    def test_profiles_have_their_contexts(self):
        a, b = self.start(lambda a, b: "{ name = 'lan', listen = 'sip:127.0.0.1:%d' },"
                          " { name = 'office', listen = 'sip:127.0.0.1:%d', context = 'office' }" % (a, b), ports=2)
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
        udp, tls = self.start(lambda udp, tls: "{ name = 'udp', listen = 'sip:127.0.0.1:%d' },"
                              " { name = 'tls', listen = 'sips:127.0.0.1:%d', tls_cert = '%s', tls_key = '%s' }"
                              % (udp, tls, cert, key), ports=2, endpoints="1001 password=tlspw\n",
                              env=harness.LSAN_SOFIA_TLS)
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

    @unittest.skipUnless(baresip.BARESIP and baresip.OPENSSL, "baresip or openssl missing")
    def test_tls_client_certificates(self):
        # tls_verify_client: a phone with a certificate signed by tls_ca
        # registers; a client without one is refused in the handshake and its
        # OPTIONS never answered, while the same OPTIONS with the certificate
        # is (Python's ssl: baresip without a certificate retries for ever).
        cert, key = baresip.make_cert(self.dir)
        client_dir = os.path.join(self.dir, "client")
        os.makedirs(client_dir)
        ccert, ckey = baresip.make_cert(client_dir)  # self-signed: it is its own CA
        client_pem = os.path.join(client_dir, "client.pem")
        with open(client_pem, "w") as out:
            for path in (ccert, ckey):
                with open(path) as f:
                    out.write(f.read())
        tls, = self.start(lambda tls: "{ name = 'tls', listen = 'sips:127.0.0.1:%d', tls_cert = '%s', tls_key = '%s',"
                          " tls_ca = '%s', tls_verify_client = true }" % (tls, cert, key, ccert),
                          endpoints="1001 password=pw1\n1002 password=pw2\n", env=harness.LSAN_SOFIA_TLS)
        tone = os.path.join(self.dir, "tone.wav")
        baresip.write_tone_wav(tone, 440, 1)
        with_cert = baresip.Baresip(self.dir, "1001", "pw1", tls, tone, transport="tls", cafile=cert,
                                    certificate=client_pem)
        with_cert.run(seconds=3, trace=True)
        log = self.engine.read_log()
        self.assertIn("{0/TLS/v4} 200 OK", with_cert.read_log(), with_cert.read_log() + log)
        self.assertIn("sip: 1001 registered", log)
        self.assertEqual(tls_options(tls, cert, (ccert, ckey))[:12], "SIP/2.0 200 ")
        try:
            answer = tls_options(tls, cert, None)
        except (ssl.SSLError, ConnectionError) as e:  # the alert, or the connection closed on us
            answer = "refused: %s" % e
        self.assertFalse(answer.startswith("SIP/2.0"), answer)

    def test_tls_verify_client_needs_a_ca(self):
        cert, key = baresip.make_cert(self.dir) if baresip.OPENSSL else ("cert.pem", "key.pem")
        self.start(lambda port: "{ name = 'tls', listen = 'sips:127.0.0.1:%d', tls_cert = '%s', tls_key = '%s',"
                   " tls_verify_client = true }" % (port, cert, key), expect_fail=True)
        self.assertTrue(self.engine.wait_log("module sip: load() failed"), self.engine.read_log())
        self.assertIn("tls_verify_client needs a sips: listen and tls_ca", self.engine.read_log())

    def test_tls_needs_a_certificate(self):
        self.start(lambda port: "{ name = 'tls', listen = 'sips:127.0.0.1:%d' }" % port, expect_fail=True)
        self.assertTrue(self.engine.wait_log("module sip: load() failed"), self.engine.read_log())
        self.assertIn("profile tls listens on sips:127.0.0.1", self.engine.read_log())
        self.assertIn("tls_cert and tls_key needed", self.engine.read_log())

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_profile(self):
        v4, v6 = self.start(v4_and_v6, ports=2, extra=", trunks = { { name = 'pbx6', host = '[::1]:9',"
                            " context = 'from-pbx', allowed_ips = { '::1/128' } } }")
        p = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                       "[::1]:%d" % v6], "v6", ip="::1")
        code, story = self.wait_sipp(p, "v6")
        self.assertEqual(code, 0, story)
        self.assertIn("Via: SIP/2.0/UDP [::1]", story)
        self.assertTrue(self.engine.wait_log("context from-pbx"), story)


    def rtp_counts(self):
        return [(int(a), int(b)) for a, b in re.findall(r"RTP in (\d+), out (\d+)", self.engine.read_log())]

    def start_v6(self, extra="", v6_keys=""):
        v4, v6 = self.start(lambda v4, v6: v4_and_v6(v4, v6, v6_keys), ports=2, extra=extra)
        return v6

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_media_inbound(self):
        v6 = self.start_v6()
        # SIPp's built-in uac says c=IN IP6 [media_ip]; -rtp_echo sends our tone back
        p = self.sipp(["-sn", "uac", "-s", "tone", "-d", "2500", "-rtp_echo", "[::1]:%d" % v6], "in6",
                      ip="::1", media_ip="::1")
        code, story = self.wait_sipp(p, "in6")
        self.assertEqual(code, 0, story)
        self.assertIn("c=IN IP6 ::1", story)
        self.assertRegex(story, r"SIP/2\.0 200 OK[\s\S]*o=tandem \d+ \d+ IN IP6 ::1\r?\n[\s\S]*c=IN IP6 ::1")
        self.assertTrue(self.engine.wait_log("RTP in"), story)
        (rx, tx), = self.rtp_counts()
        self.assertGreater(tx, 50, story + self.engine.read_log())  # ~100 packets of tone in 2 s
        self.assertGreater(rx, 25, story + self.engine.read_log())  # echoed back to our IPv6 socket

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_media_outbound(self):
        self.start_v6()
        port = harness.free_port()
        p = self.sipp(["-sn", "uas", "-rtp_echo"], "out6", port=port, ip="::1", media_ip="::1")
        time.sleep(0.3)  # let SIPp bind
        rc, out = self.engine.ctl("originate", "sip/service@[::1]:%d" % port, "outcall", "default")
        self.assertEqual(rc, 0, out)
        code, story = self.wait_sipp(p, "out6")
        self.assertEqual(code, 0, story)
        invite = story[story.index("INVITE sip:"):]
        self.assertRegex(invite, r"o=tandem \d+ \d+ IN IP6 ::1\r?\n")
        self.assertIn("c=IN IP6 ::1", invite)
        self.assertNotIn("IN IP4", invite[:invite.index("m=audio")])
        self.assertTrue(self.engine.wait_log("sip: engine hangs up"), story)
        (rx, tx), = self.rtp_counts()
        self.assertGreater(tx, 50, story + self.engine.read_log())  # 1.5 s of tone
        self.assertGreater(rx, 25, story + self.engine.read_log())  # SIPp's echo of it

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_endpoint_contact_gets_ipv6_media(self):
        v4, v6 = self.start(v4_and_v6, ports=2, endpoints="1002 password=secret2\n")
        port = harness.free_port()
        reg = base.Registrar(v4)
        try:
            s, d = reg.register("1002", "secret2", "sip:1002@[::1]:%d" % port, 3600)
        finally:
            reg.close()
        self.assertEqual(s, 200, d)
        p = self.sipp(["-sn", "uas", "-rtp_echo"], "ep6", port=port, ip="::1", media_ip="::1")
        time.sleep(0.3)  # let SIPp bind
        rc, out = self.engine.ctl("originate", "sip/1002", "outcall", "default")
        self.assertEqual(rc, 0, out)
        code, story = self.wait_sipp(p, "ep6")
        self.assertEqual(code, 0, story)
        invite = story[story.index("INVITE sip:"):]
        self.assertIn("c=IN IP6 ::1", invite)
        self.assertIn("Via: SIP/2.0/UDP [::1]", invite)
        (rx, tx), = self.rtp_counts()
        self.assertGreater(rx, 25, story + self.engine.read_log())  # SIPp's echo came back over IPv6

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_rtp_ip6_off(self):
        v6 = self.start_v6(extra=", rtp_ip6 = ''")
        p = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                       "[::1]:%d" % v6], "off6", ip="::1", media_ip="::1")
        code, story = self.wait_sipp(p, "off6")
        self.assertEqual(code, 0, story)
        self.assertRegex(story, r"SIP/2\.0 200 OK[\s\S]*c=IN IP4 127\.0\.0\.1")


    def test_media_address_families(self):
        self.start(lambda port: "{ name = 'odd', listen = 'sip:127.0.0.1:%d', rtp_ip6 = '127.0.0.1' }" % port,
                   expect_fail=True)
        self.assertTrue(self.engine.wait_log("module sip: load() failed"), self.engine.read_log())
        self.assertIn("sip: profile odd: rtp_ip must be a numeric IPv4 address (\"127.0.0.1\") and rtp_ip6 a "
                      "numeric IPv6 one", self.engine.read_log())

    @unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
    def test_ipv6_profile_rtp_ip6(self):
        v6 = self.start_v6(extra=", rtp_ip6 = ''", v6_keys=", rtp_ip6 = '::1'")
        p = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                       "[::1]:%d" % v6], "prof6", ip="::1", media_ip="::1")
        code, story = self.wait_sipp(p, "prof6")
        self.assertEqual(code, 0, story)
        self.assertRegex(story, r"SIP/2\.0 200 OK[\s\S]*c=IN IP6 ::1")


if __name__ == "__main__":
    unittest.main()
