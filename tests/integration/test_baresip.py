#!/usr/bin/env python3
"""baresip (the Debian package) as a real softphone against Tandem.

Every baresip runs headless from a temporary config directory (see
baresip.py): it "says" a WAV tone file and records what it hears, and the
test drives it live over its ctrl_tcp socket.

  test_register          1001 registers with its password from the
                         instance's endpoints file; `tandem ctl --json
                         endpoints` shows baresip's contact (its port); 1002
                         with a wrong password is refused and has no contact
  test_echo              baresip calls the echo test (600, call:echo())
                         saying 1 kHz and hears 1 kHz back: Goertzel on its
                         recording, 1 kHz dominates and 600/1400 Hz do not;
                         the CDR's leg variables count RTP both ways
  test_call_between_phones  1001 (saying 600 Hz) dials 1002 (1400 Hz,
                         auto-answer) through the dialplan
                         (call:dial("sip/1002") + call:bridge); each hears
                         the other's tone and not its own
  test_dtmf_read         baresip sends RFC 4733 digits mid-call (menu
                         command `sndcode` over ctrl_tcp); the dialplan's
                         call:read gets "4711" (terminated by #)
  test_tls_srtp_echo     one call that is TLS signalling and SRTP media end
                         to end (Debian's SIPp has no TLS): a sips: profile
                         with a throwaway certificate, srtp = "mandatory",
                         baresip with ;transport=tls and mediaenc=srtp-mand;
                         the tone comes back; on the wire (raw socket, where
                         allowed) no SIP between baresip and the engine is
                         plaintext, and the RTP carries the SRTP auth tag
                         and an encrypted payload

Run: python3 tests/integration/test_baresip.py -v   (needs baresip)
"""
import os
import re
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresip  # noqa: E402
import harness  # noqa: E402
import loopback_capture  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["600"] = function(call) call:answer() call:echo() end,
  ["1002"] = function(call)
    local status, leg = call:dial("sip/1002", { timeout = 10 })
    if leg then call:bridge(leg) end
  end,
  ["700"] = function(call)
    call:answer()
    local digits, why = call:read({ max = 8, timeout = 8000 })
    call:log("read digits " .. tostring(digits) .. " (" .. tostring(why) .. ")")
    call:hangup()
  end,
} } }
"""

PASSWORDS = {"1001": "bs-secret-1", "1002": "bs-secret-2"}
TALK_SECONDS = 2.5


@unittest.skipUnless(baresip.BARESIP, "baresip is not installed")
class Baresip(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-baresip-")
        self.engine = self.call_ends = None
        self.phones = []

    def start_engine(self, sip="listen = 'sip:127.0.0.1:%(port)d'", env=None, modules=(), module_config="",
                     dialplan=DIALPLAN, **values):
        """modules: loaded besides sip; module_config: more entries of
        module_config (Lua text, e.g. "codec_opus = { dtx = true },")."""
        with open(os.path.join(self.dir, "endpoints"), "w") as f:
            f.writelines("%s password=%s\n" % kv for kv in PASSWORDS.items())
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(dialplan)

        def make_instance():
            self.sip_port = harness.free_port()
            self.rtp_range = baresip.free_port_range(40)
            with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
                f.write("return { modules = { %s }, workers = 2, shutdown_grace = 1,\n"
                        "  module_config = { %s sip = { %s, endpoints_file = 'endpoints',\n"
                        "    rtp_port_min = %d, rtp_port_max = %d } } }\n"
                        % (", ".join("'%s'" % m for m in ("sip",) + tuple(modules)), module_config,
                           sip % dict(values, port=self.sip_port), self.rtp_range[0], self.rtp_range[1]))
            return harness.Instance(os.path.join(self.dir, "tandem.lua"), env=env)
        self.engine = harness.start_listening(self, make_instance)
        self.call_ends = harness.CallEnds(self, self.engine)

    def tearDown(self):
        for phone in self.phones:
            phone.stop()
        if self.call_ends:
            self.call_ends.close()
        harness.end_engine(self, self.engine, self.dir)

    def phone(self, user, freq, port=None, **options):
        """A started baresip registered as `user`, saying `freq` Hz."""
        tone = os.path.join(self.dir, "tone-%s.wav" % user)
        baresip.write_tone_wav(tone, freq, 10)
        phone = baresip.Baresip(self.dir, user, PASSWORDS[user], port or self.sip_port, tone, **options)
        self.phones.append(phone)
        phone.start(trace=True)
        self.wait_contact(user, phone)
        return phone

    def wait_contact(self, user, phone, timeout=10):
        """The contact `tandem ctl --json endpoints` shows for `user`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            rc, out = self.engine.ctl("endpoints", json_output=True)
            self.assertEqual(rc, 0, out)
            for ep in out["data"]["endpoints"]:
                if ep["id"] == user and ep["contacts"]:
                    return ep["contacts"][0]
            time.sleep(0.1)
        self.fail("%s did not register\n%s\n%s" % (user, self.engine.read_log(), phone.read_log()[-3000:]))

    def story(self, *phones):
        return "--- engine ---\n%s\n" % self.engine.read_log() + "".join(
            "--- baresip ---\n%s\n" % p.read_log()[-4000:] for p in phones)

    def talk(self, phone, exten, *others):
        """`phone` dials `exten`, talks TALK_SECONDS and hangs up."""
        self.assertTrue(phone.command("dial", exten)["ok"], self.story(phone))
        self.assertTrue(phone.wait_event("CALL_ESTABLISHED"), self.story(phone, *others))
        for other in others:
            self.assertTrue(other.wait_event("CALL_ESTABLISHED"), self.story(phone, *others))
        time.sleep(TALK_SECONDS)
        phone.command("hangup")
        for p in (phone,) + others:
            self.assertTrue(p.wait_event("CALL_CLOSED"), self.story(phone, *others))

    def assertHears(self, phone, freq, others):
        wav = phone.received_wav()
        self.assertTrue(wav, self.story(phone))
        samples, rate = baresip.read_wav(wav)
        self.assertGreater(len(samples), rate * TALK_SECONDS * 0.8, self.story(phone))
        mine, theirs = phone.heard(freq, others)
        self.assertGreater(mine, 0.5, "%d Hz heard back\n%s" % (freq, self.story(phone)))
        for f, power in zip(others, theirs):
            self.assertLess(power, 0.05, "%d Hz is not in what was heard" % f)

    def test_register(self):
        self.start_engine()
        phone = self.phone("1001", 1000)
        contact = self.wait_contact("1001", phone)
        self.assertRegex(contact["uri"], r"^sip:1001[^@]*@127\.0\.0\.1:%d\b" % phone.sip_port, contact)
        self.assertGreater(contact["expires_in"], 30, contact)
        self.assertIn("REGISTER sip:127.0.0.1:%d" % self.sip_port, phone.read_log())
        self.assertIn("401 Unauthorized", phone.read_log(), "the password was asked for")
        # the password matters: 1002 with a wrong one gets no contact (and,
        # as baresip retries at once, 127.0.0.1 ends up banned: so last)
        tone = os.path.join(self.dir, "tone-1002.wav")
        baresip.write_tone_wav(tone, 1000, 1)
        wrong = baresip.Baresip(self.dir, "1002", "not-" + PASSWORDS["1002"], self.sip_port, tone)
        self.phones.append(wrong)
        wrong.start()
        deadline = time.time() + 10
        while "reg: sip:1002@" not in wrong.read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertRegex(wrong.read_log(), r"reg: sip:1002@\S+: (401|403) ", self.story(wrong))
        self.assertIn("failed authentication for '1002'", self.engine.read_log())
        _, out = self.engine.ctl("endpoints", json_output=True)
        self.assertEqual([ep["contacts"] for ep in out["data"]["endpoints"] if ep["id"] == "1002"], [[]])

    def test_echo(self):
        self.start_engine()
        phone = self.phone("1001", 1000)
        self.talk(phone, "600")
        self.assertHears(phone, 1000, (600, 1400))
        v = self.call_ends.wait("600")["vars"]
        self.assertEqual(v.get("rtp_codec"), "PCMU", v)
        self.assertGreater(int(v["rtp_rx_packets"]), 50 * TALK_SECONDS * 0.8, v)
        self.assertGreater(int(v["rtp_tx_packets"]), 50 * TALK_SECONDS * 0.8, v)

    def test_call_between_phones(self):
        self.start_engine()
        callee = self.phone("1002", 1400, answer=True)
        caller = self.phone("1001", 600)
        self.talk(caller, "1002", callee)
        self.assertHears(caller, 1400, (600, 1000))
        self.assertHears(callee, 600, (1400, 1000))
        self.assertEqual(self.call_ends.wait("1002")["vars"].get("sip_status"), "200")

    def test_dtmf_read(self):
        self.start_engine()
        cap = loopback_capture.capture_if_allowed()
        try:
            phone = self.phone("1001", 1000)
            self.assertTrue(phone.command("dial", "700")["ok"], self.story(phone))
            self.assertTrue(phone.wait_event("CALL_ESTABLISHED"), self.story(phone))
            time.sleep(0.3)  # the read is waiting
            self.assertTrue(phone.command("sndcode", "4711#")["ok"], self.story(phone))
            self.assertTrue(self.engine.wait_log("read digits"), self.story(phone))
            self.assertIn("read digits 4711 (terminator)", self.engine.read_log(), self.story(phone))
            self.assertTrue(phone.wait_event("CALL_CLOSED"), self.story(phone))
        finally:
            if cap:
                cap.close()
        if cap is None:
            return
        # the digits went as RFC 4733 events (not SIP INFO, not in-band):
        # one event per RTP timestamp, in the order typed (# is event 11)
        pt = int(re.search(r"a=rtpmap:(\d+) telephone-event/8000", phone.read_log()).group(1))
        events = {}
        for p in cap.rtp(phone.rtp_ports, self.rtp_range, pt):
            events.setdefault(struct.unpack("!I", p[4:8])[0], p[12])
        self.assertEqual([events[ts] for ts in sorted(events)], [4, 7, 1, 1, 11], self.story(phone))
        self.assertNotIn("INFO sip:", phone.read_log())

    @unittest.skipUnless(baresip.OPENSSL, "openssl is missing")
    def test_tls_srtp_echo(self):
        cert, key = baresip.make_cert(self.dir)
        self.start_engine("profiles = { { name = 'tls', listen = 'sips:127.0.0.1:%(port)d', tls_cert = '%(cert)s',"
                          " tls_key = '%(key)s' } }, srtp = 'mandatory'", env=harness.LSAN_SOFIA_TLS,
                          cert=cert, key=key)
        cap = loopback_capture.capture_if_allowed()
        try:
            phone = self.phone("1001", 1000, transport="tls", cafile=cert, mediaenc="srtp-mand")
            self.talk(phone, "600")
        finally:
            if cap:
                cap.close()
        story = self.story(phone)
        self.assertIn("{0/TLS/v4} 200 OK", phone.read_log(), story)
        self.assertIn("SRTP is Enabled", phone.read_log(), story)
        self.assertRegex(self.engine.read_log(), r"sip: 1001 registered sip:1001[^ ]*;transport=tls")
        self.assertHears(phone, 1000, (600, 1400))
        v = self.call_ends.wait("600")["vars"]
        self.assertGreater(int(v["rtp_rx_packets"]), 50 * TALK_SECONDS * 0.8, "authenticated SRTP in\n" + story)
        self.assertGreater(int(v["rtp_tx_packets"]), 50 * TALK_SECONDS * 0.8, story)
        if cap is None:
            return
        engine_sip = (self.sip_port, self.sip_port)
        sip = cap.between(engine_sip, (1, 65535))
        self.assertTrue(all(proto == loopback_capture.TCP for proto, _, _, _ in sip), "SIP only over TCP (TLS)")
        self.assertGreater(sum(len(p) for _, _, _, p in sip), 2000, "the TLS stream was captured")
        for _, _, _, payload in sip:
            for word in (b"SIP/2.0", b"REGISTER", b"INVITE", b"a=crypto"):
                self.assertNotIn(word, payload, "SIP is not plaintext on the wire")
        loopback_capture.assert_srtp_pcmu(self, cap.rtp(self.rtp_range, phone.rtp_ports, 0))

if __name__ == "__main__":
    unittest.main()
