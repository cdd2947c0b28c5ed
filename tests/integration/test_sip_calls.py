#!/usr/bin/env python3
"""The SIP channel against a real peer (SIPp), both directions.

Each test starts its own engine (its own temp dirs, control socket, free SIP
port and RTP range on 127.0.0.1) and runs SIPp by PID with a time bound:

  inbound (SIPp calls Tandem)
    test_caller_hangs_up     sipp -sn uac; the dialplan answers and plays a tone
    test_engine_hangs_up     tests/sip/uac_expect_bye.xml; dialplan hangs up -> BYE
    test_cancel              tests/sip/uac_cancel.xml; dialplan rings -> CANCEL -> 487
    test_early_media         call:progress() -> 183 with SDP, RTP before the answer
    test_busy                tests/sip/uac_busy.xml; call:hangup("user_busy") -> 486
    test_no_answer           uac_busy.xml expecting 480; ring, then hangup("no_answer") -> 480
    test_no_common_codec     G.729-only offer -> 488
    test_rtp_echo            sipp -rtp_echo: our tone comes back, RTP flows both ways
    test_rtp_pcap_in         tests/sip/uac_pcap.xml plays a G.711 A-law pcap to us
    test_dtmf_in             tests/sip/uac_dtmf.xml plays an RFC 2833 "1": one digit read
    test_dtmf_echo           send_dtmf("4#7") echoed by SIPp comes back as "4#7"
    test_junk_is_ignored     garbage datagrams to the SIP and RTP ports change nothing
    test_shutdown_with_call_up  SIGTERM with a call up: BYE, exit 0
    test_unload_and_load     module unload + load at runtime, then a call
  outbound (Tandem calls SIPp)
    test_originate_to_uas    tandem ctl originate sip/service@127.0.0.1:PORT -> sipp -sn uas
    test_originate_busy      a 486 from the far end ends the call with cause 17
    test_originate_unavailable  480 -> cause 18
    test_originate_cancel    tests/sip/uas_ring_cancel.xml; the engine hangs up while ringing -> CANCEL
    test_dial_no_answer      dial(..., { timeout = 1 }) to a SIPp UAS that only rings:
                             CANCEL, and dial() returns "noanswer"
    test_bad_destination     sip/no-at-sign fails at once
    test_dial_caller_id      call:dial(..., { caller_num = "4711", caller_name = "Alice" }):
                             the INVITE's From is "Alice" <sip:4711@...> (SIPp checks it)
    test_dial_inherits_caller_id  without options the dialled leg presents the
                             inbound SIP caller's identity ("sipp" <sip:sipp@...>)
  configuration
    test_port_in_use         the listen port is taken: load fails with a clear message

SipEndpoints (endpoints_file, digest auth, registrar; tests/sip/reg_*.xml, uac_auth.xml):
    test_register_with_auth  SIPp REGISTER -> 401 -> REGISTER with [authentication] -> 200 + Contact
    test_wrong_password_and_unknown_user_look_the_same  both get 401 again, header for header
    test_contacts_expiry_and_unregister  423 below 60 s, several contacts, cap at 3600 s,
                             Expires: 0 for one contact, Contact: * for all
    test_unauthenticated_invite_gets_407
    test_ban_after_failures  auth_fail_limit failures -> log line and 403 even with the password
    test_dial_registered_endpoint  1001 calls 2000 (with 407 + credentials); the dialplan's
                             call:dial("sip/1002") reaches the SIPp UAS registered as 1002
    test_dial_unregistered_endpoint  sip/1003 with no contact -> 480 internally, "noanswer" (18)
    test_registrations_survive_a_restart  a contact registered for an hour is saved
                             (DATA/sip-registrations), restored by a new engine on the same
                             data directory and dialled; an unregistered one is not restored
SipDemo (dialplans/demo/tandem.lua, port moved with TANDEM_DEMO_SIP_LISTEN):
    test_passwords_generated_once  0600 file, printed once, kept across a restart;
                             `tandem ctl endpoints --json` says where
    test_endpoint_calls_endpoint_and_601  1001 -> 1002 by number (bridged), 1003 -> 601

Run: python3 tests/integration/test_sip_calls.py -v   (needs `sipp`, package sip-tester)
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SCENARIOS = os.path.join(harness.REPO, "tests", "sip")
SIPP = shutil.which("sipp")

DIALPLAN = """
return { contexts = { default = {
  ["service"] = function(call)
    call:answer()
    call:play("tone:440/1000")
    call:sleep(20000)
  end,
  ["hangup"] = function(call)
    call:answer()
    call:play("tone:440/300")
    call:hangup()
  end,
  ["early"] = function(call)
    call:progress()
    call:play("tone:440/500")
    call:answer()
    call:hangup()
  end,
  ["ringing"] = function(call)
    call:ring()
    call:sleep(20000)
  end,
  ["busy"] = function(call)
    call:hangup("user_busy")
  end,
  ["echo"] = function(call)
    call:answer()
    call:play("tone:440/2000")
    call:sleep(20000)
  end,
  ["dtmfin"] = function(call)
    call:answer()
    local d = call:read({ max = 2, timeout = 4000, digit_timeout = 800, terminator = "" })
    call:log("dtmf in: " .. tostring(d))
    call:sleep(20000)
  end,
  ["dtmfecho"] = function(call)
    call:answer()
    call:send_dtmf("4#7")
    local d = call:read({ max = 3, timeout = 4000, terminator = "" })
    call:log("dtmf echoed: " .. tostring(d))
    call:sleep(20000)
  end,
  ["callerid"] = function(call)
    call:answer()
    local status = call:dial("sip/service@127.0.0.1:@UAS_PORT@",
                             { caller_num = "4711", caller_name = "Alice" })
    call:log("callerid dial: " .. tostring(status))
    call:hangup()
  end,
  ["inherit"] = function(call)
    call:answer()
    local status = call:dial("sip/service@127.0.0.1:@UAS_PORT@")
    call:log("inherit dial: " .. tostring(status))
    call:hangup()
  end,
  ["noanswer"] = function(call)
    call:ring()
    call:sleep(300)
    call:hangup("no_answer")
  end,
  ["dialnoanswer"] = function(call)
    call:answer()
    local status = call:dial("sip/service@127.0.0.1:@UAS_PORT@", { timeout = 1 })
    call:log("dialnoanswer dial: " .. tostring(status))
    call:hangup()
  end,
  ["outcall"] = function(call)
    call:log("outbound leg answered, sip_status=" .. tostring(call:get("sip_status")))
    call:play("tone:440/1000")
    call:hangup()
  end,
} } }
"""


def free_rtp_base(count=40):
    """An even port with `count` free ports from it."""
    return harness.free_rtp_range(count)[0]


def with_auth_uri(args):
    """SIPp signs its digest answers for sip:REMOTE_IP:PORT unless told
    otherwise, and Tandem wants the request's own URI there (RFC 2617
    3.2.2.5): our scenarios send REGISTER to sip:HOST:PORT and everything
    else to sip:SERVICE@HOST:PORT."""
    if "-au" not in args or "-auth_uri" in args or "-sf" not in args:
        return args
    target = next(a for a in reversed(args) if re.fullmatch(r"[\d.]+:\d+|\[[0-9a-f:]+\]:\d+", a))
    register = os.path.basename(args[args.index("-sf") + 1]).startswith("reg")
    user = "" if register else args[args.index("-s") + 1] + "@"
    return [*args, "-auth_uri", user + target]  # SIPp writes the "sip:" itself


def launch_sipp(test, args, name, port=None, calls=1, ip="127.0.0.1", media_ip="127.0.0.1", timeout=20):
    """SIPp in the background for `calls` calls, traced into test.dir/NAME.msg,
    .err and .stderr; returns the Popen (appended to test.sipp_procs).

    Ports are picked free but another test running in parallel can take
    them before SIPp binds; a SIPp that exits at once saying so is started
    again on fresh ports (unless the caller fixed `port`), up to 3 times."""
    args = with_auth_uri(args)
    for attempt in range(3):
        # SIPp instances started together must not pick the same media ports
        # (each binds audio and video, RTP and RTCP, from -mp up)
        used = getattr(test, "_media_bases", [])
        media = free_rtp_base(4 * calls)
        for _ in range(20):
            if all(abs(media - b) >= 8 * calls for b in used):
                break
            media = free_rtp_base(4 * calls)
        test._media_bases = used + [media]
        cmd = [SIPP, *args, "-i", ip, "-p", str(port or harness.free_port()), "-mi", media_ip,
               "-mp", str(media), "-m", str(calls), "-timeout", str(timeout), "-timeout_error",
               "-nostdin", "-trace_err", "-error_file", os.path.join(test.dir, name + ".err"),
               "-trace_msg", "-message_file", os.path.join(test.dir, name + ".msg")]
        stderr_path = os.path.join(test.dir, name + ".stderr")
        with open(stderr_path, "w") as err:
            p = subprocess.Popen(cmd, cwd=test.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(0.15)
        if p.poll() is None or attempt == 2:
            break
        with open(stderr_path, errors="replace") as f:
            lost_a_port = re.search(r"(?i)bind|address already in use", f.read())
        if not lost_a_port or port:
            break
    test.sipp_procs.append(p)
    return p


def own_tests(*classes):
    """A load_tests() result for a file whose classes extend SipCalls: only
    the tests those classes define (SipCalls's own run in this file)."""
    suite = unittest.TestSuite()
    for cls in classes:
        for name in sorted(vars(cls)):
            if name.startswith("test_"):
                suite.addTest(cls(name))
    return suite


@unittest.skipUnless(SIPP, "sipp (package sip-tester) is not installed")
class SipCalls(unittest.TestCase):
    # what a subclass (test_sip_dialog.py) replaces: the dialplan, and more
    # keys for the sip module's table in tandem.lua
    dialplan = DIALPLAN
    extra_sip_config = ""
    modules = ("sip",)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sip-")

        def make_instance():
            self.sip_port = harness.free_port()
            self.rtp_base = free_rtp_base()
            self.uas_port = harness.free_port()  # where the dialplan's dial() tests call SIPp
            with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
                f.write("return { modules = { %s }, workers = 2, shutdown_grace = 1,\n"
                        "  module_config = { sip = { listen = 'sip:127.0.0.1:%d',\n"
                        "    rtp_port_min = %d, rtp_port_max = %d, %s } } }\n"
                        % (", ".join("'%s'" % m for m in self.modules),
                           self.sip_port, self.rtp_base, self.rtp_base + 39, self.extra_sip_config))
            with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
                f.write(self.dialplan.replace("@UAS_PORT@", str(self.uas_port)))
            return harness.Instance(os.path.join(self.dir, "tandem.lua"))
        self.engine = harness.start_listening(self, make_instance)
        self.sipp_procs = []

    def tearDown(self):
        for p in self.sipp_procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        harness.end_engine(self, self.engine, self.dir)

    # --- helpers ---

    def sipp(self, args, name, port=None):
        """Starts SIPp (one call) in the background; returns the Popen."""
        return launch_sipp(self, args, name, port)

    def wait_sipp(self, p, name, timeout=30):
        try:
            code = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.fail("sipp %s did not finish\n%s" % (name, self.engine.read_log()))
        return code, self.sipp_story(name)

    def sipp_story(self, name):
        out = []
        for ext in (".msg", ".err"):
            path = os.path.join(self.dir, name + ext)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f.read()[-6000:])
        return "\n".join(out) + "\n--- engine log ---\n" + self.engine.read_log()

    def uac(self, exten, scenario=None, extra=()):
        target = "127.0.0.1:%d" % self.sip_port
        args = ["-sf", os.path.join(SCENARIOS, scenario)] if scenario else ["-sn", "uac"]
        return self.sipp([*args, "-s", exten, *extra, target], exten)

    def uac_call(self, exten, scenario=None, extra=()):
        """self.uac()'s call, which must pass; returns SIPp's story."""
        p = self.uac(exten, scenario, extra)
        code, story = self.wait_sipp(p, exten)
        self.assertEqual(code, 0, story)
        return story

    def rx_packets(self):
        m = re.findall(r"RTP in (\d+), out (\d+)", self.engine.read_log())
        return [(int(a), int(b)) for a, b in m]

    # --- inbound ---

    def test_caller_hangs_up(self):
        story = self.uac_call("service", extra=("-d", "1500"))
        e = self.engine
        self.assertTrue(e.wait_log("sip: inbound call from sipp to service@default, PCMU"), story)
        self.assertTrue(e.wait_log("sip: far end hung up (SIP 0, cause 16)"), story)
        self.assertTrue(e.wait_log("call ended"), story)

    def test_engine_hangs_up(self):
        story = self.uac_call("hangup", "uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("sip: engine hangs up (cause 16)"), story)
        self.assertIn("BYE sip:", story)

    def test_early_media(self):
        # progress() -> 183 with SDP, and the tone flows before the 200.
        story = self.uac_call("early", "uac_expect_bye.xml")
        self.assertIn("SIP/2.0 183 Session Progress", story)
        self.assertTrue(self.engine.wait_log("RTP in"), story)
        (_rx, tx), = self.rx_packets()
        self.assertGreater(tx, 10, story)  # ~25 packets of early tone

    def test_cancel(self):
        story = self.uac_call("ringing", "uac_cancel.xml")
        self.assertTrue(self.engine.wait_log("sip: far end hung up (SIP 487, cause 16)"), story)
        self.assertTrue(self.engine.wait_log("call ended"), story)

    def test_busy(self):
        story = self.uac_call("busy", "uac_busy.xml")
        self.assertIn("SIP/2.0 486 Busy Here", story)
        self.assertTrue(self.engine.wait_log("answering Busy Here"), story)

    def test_no_answer(self):
        # The dialplan rings, then gives up with no_answer (cause 19): 480.
        scen = os.path.join(self.dir, "uac_noanswer.xml")
        with open(os.path.join(SCENARIOS, "uac_busy.xml")) as src, open(scen, "w") as f:
            f.write(src.read().replace('<recv response="486"/>', '<recv response="480"/>'))
        story = self.uac_call("noanswer", scen)
        self.assertIn("SIP/2.0 180 Ringing", story)

    def test_no_common_codec(self):
        # A G.729-only offer: 488, and the engine never sees a call.
        scen = os.path.join(self.dir, "g729.xml")
        with open(os.path.join(SCENARIOS, "uac_busy.xml")) as f:
            text = f.read()
        text = text.replace("RTP/AVP 0", "RTP/AVP 18").replace("0 PCMU/8000", "18 G729/8000")
        text = text.replace('response="486"', 'response="488"')
        with open(scen, "w") as f:
            f.write(text)
        p = self.sipp(["-sf", scen, "-s", "service", "127.0.0.1:%d" % self.sip_port], "g729")
        code, story = self.wait_sipp(p, "g729")
        self.assertEqual(code, 0, story)
        self.assertNotIn("enters dialplan", self.engine.read_log())

    def test_rtp_echo(self):
        # SIPp echoes whatever RTP reaches its media port: our 2 s tone must
        # come back to our socket, so both directions of RTP work.
        story = self.uac_call("echo", extra=("-d", "2500", "-rtp_echo"))
        self.assertTrue(self.engine.wait_log("RTP in"), story)
        (rx, tx), = self.rx_packets()
        self.assertGreater(tx, 50, story)   # ~100 packets for 2 s of tone
        self.assertGreater(rx, 25, story)   # most of them echoed back

    def test_rtp_pcap_in(self):
        story = self.uac_call("service", "uac_pcap.xml")
        self.assertTrue(self.engine.wait_log("sip: inbound call from sipp to service@default, PCMA"), story)
        self.assertTrue(self.engine.wait_log("RTP in"), story)
        (rx, _tx), = self.rx_packets()
        self.assertGreater(rx, 50, story)   # 2 s of the pcap at 50 packets/s

    def test_dtmf_in(self):
        # One key press, sent as RFC 2833 with the usual three end packets:
        # exactly one digit reaches the dialplan (max = 2 would take a second).
        story = self.uac_call("dtmfin", "uac_dtmf.xml")
        self.assertTrue(self.engine.wait_log("dtmf in: 1\n", timeout=8), story)

    def test_dtmf_echo(self):
        # send_dtmf -> our RFC 4733 events -> SIPp echoes the packets -> we
        # decode them again: both directions, one digit per event.
        # uac_dtmf.xml without its pcap: an offer with telephone-event, a pause, BYE
        with open(os.path.join(SCENARIOS, "uac_dtmf.xml")) as f:
            text = f.read()
        text = re.sub(r"<nop>.*?</nop>", "", text, flags=re.S)
        scen = os.path.join(self.dir, "te.xml")
        with open(scen, "w") as f:
            f.write(text)
        story = self.uac_call("dtmfecho", scen, extra=("-rtp_echo",))
        self.assertTrue(self.engine.wait_log("dtmf echoed: 4#7", timeout=8), story)

    def test_junk_is_ignored(self):
        # Garbage to the SIP port and to a live call's RTP port: nothing
        # crashes, the call goes on, and the next call still works.
        p = self.uac("service", "uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("RTP port"), self.engine.read_log())
        rtp_port = int(re.search(r"RTP port (\d+)", self.engine.read_log()).group(1))
        junk = [b"", b"\x00", b"\x80", b"\x80" * 11, b"\x8f" + b"\x00" * 20,  # 15 CSRCs, short
                b"\x90\x00" + b"\x00" * 10 + b"\x00\x00\xff\xff",             # huge extension
                b"\xa0\x00" + b"\x00" * 10 + b"\xff",                           # padding > length
                b"\x80\x65" + b"\x00" * 10 + b"\x10\x80",                      # short telephone-event
                b"INVITE sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 200\r\n", os.urandom(1400)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for j in junk:
                s.sendto(j, ("127.0.0.1", self.sip_port))
                s.sendto(j, ("127.0.0.1", rtp_port))
        self.assertEqual(self.engine.ctl("status")[0], 0)
        # a well-formed OPTIONS still gets its 200
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(5)
            me = s.getsockname()[1]
            s.sendto(("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-opt-1\r\n"
                      "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                      "Call-ID: opt-1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                      "Content-Length: 0\r\n\r\n" % (self.sip_port, me)).encode(),
                     ("127.0.0.1", self.sip_port))
            reply = s.recv(4096).decode(errors="replace")
            self.assertTrue(reply.startswith("SIP/2.0 200"), reply)
        # the call is still up: hang it up from the console; SIPp gets its BYE
        rc, out = self.engine.ctl("calls", json_output=True)
        self.assertEqual(rc, 0, out)
        self.engine.ctl("hangup", re.search(r"\[([0-9a-f]+-\d+)\] sip: inbound", self.engine.read_log()).group(1))
        code, story = self.wait_sipp(p, "service")
        self.assertEqual(code, 0, story)
        story = self.uac_call("hangup", "uac_expect_bye.xml")

    def test_shutdown_with_call_up(self):
        # SIGTERM while a call is up: after the grace period the engine hangs
        # up (BYE), unloads the stack and exits 0 (checked in tearDown).
        p = self.uac("service", "uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("enters dialplan"), self.engine.read_log())
        self.engine.signal(signal.SIGTERM)
        code, story = self.wait_sipp(p, "service")
        self.assertEqual(code, 0, story)
        self.assertEqual(self.engine.proc.wait(20), 0, story)

    def test_unload_and_load(self):
        # The SIP thread stops and starts again with the module; calls work after.
        e = self.engine
        self.assertEqual(e.ctl("module", "unload", "sip")[0], 0, e.read_log())
        self.assertEqual(e.ctl("module", "load", "sip")[0], 0, e.read_log())
        story = self.uac_call("hangup", "uac_expect_bye.xml")

    # --- outbound ---

    def uas(self, name, scenario=None):
        """SIPp as the called party; returns (Popen, its SIP port)."""
        p = self.sipp(["-sf", scenario] if scenario else ["-sn", "uas"], name)
        return p, int(p.args[p.args.index("-p") + 1])  # the port self.sipp() chose

    def originate_to_uas(self, name, scenario, exten, expect, dest="sip/service@127.0.0.1:{port}"):
        """A SIPp UAS `name` running SCENARIO (in tests/sip unless a full
        path; SIPp's built-in uas when None) and, once it is bound, `tandem
        ctl originate DEST EXTEN default` to it ({port}: the UAS's); SIPp
        must pass and each of `expect` ({port} again) show in the engine's
        log. Returns SIPp's story."""
        p, port = self.uas(name, scenario and os.path.join(SCENARIOS, scenario))
        time.sleep(0.3)  # let SIPp bind
        rc, out = self.engine.ctl("originate", dest.format(port=port), exten, "default")
        self.assertEqual(rc, 0, out)
        code, story = self.wait_sipp(p, name)
        self.assertEqual(code, 0, story)
        for text in expect:
            self.assertTrue(self.engine.wait_log(text.format(port=port)), story)
        return story

    def test_originate_to_uas(self):
        self.originate_to_uas("uas", None, "outcall", ("sip: sip:service@127.0.0.1:{port} answered (PCMU)",
                                                       "outbound leg answered, sip_status=200",
                                                       "sip: engine hangs up (cause 16)", "call ended"))

    def test_originate_busy(self):
        scen = os.path.join(self.dir, "uas_busy.xml")
        with open(scen, "w") as f:
            f.write(UAS_BUSY)
        self.originate_to_uas("uasbusy", scen, "outcall", ("far end hung up (SIP 486, cause 17)",),
                              dest="sip/sip:service@127.0.0.1:{port}")


    def test_originate_cancel(self):
        # The far end rings; the console hangs the call up: CANCEL, 487, ACK.
        p, port = self.uas("uascancel", os.path.join(SCENARIOS, "uas_ring_cancel.xml"))
        time.sleep(0.3)
        rc, out = self.engine.ctl("originate", "sip/service@127.0.0.1:%d" % port, "outcall")
        self.assertEqual(rc, 0, out)
        call_id = out.split()[-1]
        self.assertTrue(self.engine.wait_log("sip: calling sip:service@127.0.0.1"), self.engine.read_log())
        time.sleep(0.5)  # let the 180 arrive
        rc, out = self.engine.ctl("hangup", call_id)
        self.assertEqual(rc, 0, out + self.engine.ctl("calls")[1] + self.engine.read_log())
        code, story = self.wait_sipp(p, "uascancel")
        self.assertEqual(code, 0, story)
        self.assertTrue(self.engine.wait_log("sip: engine hangs up"), story)
        self.assertIn("CANCEL sip:service@127.0.0.1", story)

    def test_originate_unavailable(self):
        # 480 from the far end: cause 18 (no_user_response).
        scen = os.path.join(self.dir, "uas_480.xml")
        with open(scen, "w") as f:
            f.write(UAS_BUSY.replace("486 Busy Here", "480 Temporarily Unavailable"))
        self.originate_to_uas("uas480", scen, "outcall", ("far end hung up (SIP 480, cause 18)",))

    def dial_with_from_check(self, exten, from_regexp):
        """An inbound SIPp call to `exten`, whose dialplan dials the SIPp UAS
        on self.uas_port; the UAS fails unless the INVITE's From matches."""
        scen = os.path.join(self.dir, "uas_from_%s.xml" % exten)
        with open(scen, "w") as f:
            f.write(UAS_CHECK_FROM.replace("@FROM_REGEXP@", from_regexp))
        uas = self.sipp(["-sf", scen], "uasfrom", port=self.uas_port)
        time.sleep(0.3)  # let SIPp bind
        uac = self.uac(exten, "uac_expect_bye.xml")
        code, uas_story = self.wait_sipp(uas, "uasfrom")
        self.assertEqual(code, 0, uas_story)
        code, story = self.wait_sipp(uac, exten)
        self.assertEqual(code, 0, story)
        self.assertTrue(self.engine.wait_log("%s dial: answer" % exten), story)
        return uas_story  # SIPp's trace of the INVITE it received

    def test_dial_caller_id(self):
        # caller_num/caller_name given to dial() become the INVITE's From.
        story = self.dial_with_from_check(
            "callerid", r'^ *&quot;Alice&quot; *&lt;sip:4711@127\.0\.0\.1:%d&gt;;tag=' % self.sip_port)
        self.assertRegex(story, r'From: "Alice" <sip:4711@127\.0\.0\.1:%d>;tag=' % self.sip_port)

    def test_dial_inherits_caller_id(self):
        # Without options the dialled leg presents the inbound caller's
        # identity: SIPp's uac sends From: sipp <sip:sipp@...>.
        self.dial_with_from_check(
            "inherit", r'^ *&quot;sipp&quot; *&lt;sip:sipp@127\.0\.0\.1:%d&gt;;tag=' % self.sip_port)

    def test_dial_no_answer(self):
        # dial()'s timeout runs out while the far end rings: CANCEL, and
        # dial() returns "noanswer".
        uas = self.sipp(["-sf", os.path.join(SCENARIOS, "uas_ring_cancel.xml")], "uasring", port=self.uas_port)
        time.sleep(0.3)  # let SIPp bind
        uac = self.uac("dialnoanswer", "uac_expect_bye.xml")
        code, uas_story = self.wait_sipp(uas, "uasring")
        self.assertEqual(code, 0, uas_story)
        self.assertIn("CANCEL sip:service@127.0.0.1", uas_story)
        code, story = self.wait_sipp(uac, "dialnoanswer")
        self.assertEqual(code, 0, story)
        self.assertTrue(self.engine.wait_log("dialnoanswer dial: noanswer"), story)

    def test_bad_destination(self):
        # Not a usable SIP destination: refused at once, nothing sent.
        rc, out = self.engine.ctl("originate", "sip/no-at-sign", "outcall")
        self.assertTrue(self.engine.wait_log("originate to sip/no-at-sign failed: invalid_number_format"),
                        out + self.engine.read_log())


class SipConfig(unittest.TestCase):
    def test_port_in_use(self):
        # The listen port is taken: the module refuses to load and says why;
        # the instance runs without it.
        d = tempfile.mkdtemp(prefix="tandem-sip-")
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        try:
            with open(os.path.join(d, "tandem.lua"), "w") as f:
                f.write("return { modules = { 'sip' }, module_config = { sip = {"
                        " listen = 'sip:127.0.0.1:%d' } } }\n" % busy.getsockname()[1])
            with open(os.path.join(d, "dialplan.lua"), "w") as f:
                f.write("return { contexts = { default = {} } }\n")
            e = harness.Instance(os.path.join(d, "tandem.lua")).start()
            try:
                self.assertTrue(e.wait_log("sip: cannot start the SIP stack on sip:127.0.0.1:%d"
                                           % busy.getsockname()[1]), e.read_log())
                self.assertEqual(e.stop(), 0, e.read_log())
            finally:
                e.cleanup()
        finally:
            busy.close()
            shutil.rmtree(d, ignore_errors=True)



REG_DIALPLAN = """
return { contexts = {
  default = {
    ["service"] = function(call) call:answer() call:hangup() end,
  },
  internal = {
    ["2000"] = function(call)
      call:log("endpoint call from " .. tostring(call.caller_num) .. " in internal")
      call:answer()
      local status, leg = call:dial("sip/1002")
      call:log("dial 1002: " .. tostring(status))
      if status == "answer" then call:bridge(leg) end
      call:hangup()
    end,
    ["2001"] = function(call)
      call:answer()
      local status = call:dial("sip/1003")
      call:log("dial 1003: " .. tostring(status))
      call:sleep(10000)
    end,
  },
} }
"""


class Registrar:
    """A tiny digest client on a raw UDP socket, for what SIPp cannot do
    (register a contact that is not its own, count exact replies)."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()[1]
        self.cseq = 0

    def close(self):
        self.sock.close()

    def request(self, method, user, headers, ruri=None, body=""):
        self.cseq += 1
        ruri = ruri or "sip:127.0.0.1:%d" % self.port
        msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d%d;rport\r\n"
               "From: <sip:%s@127.0.0.1>;tag=t%d\r\nTo: <sip:%s@127.0.0.1>\r\n"
               "Call-ID: c%d-%d@test\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n%s"
               "Content-Length: %d\r\n\r\n%s"
               % (method, ruri, self.local, os.getpid(), self.cseq, user, os.getpid(), user,
                  os.getpid(), self.local, self.cseq, method,
                  "".join(h + "\r\n" for h in headers), len(body), body))
        self.sock.sendto(msg.encode(), ("127.0.0.1", self.port))
        while True:
            data = self.sock.recv(65536).decode(errors="replace")
            status = int(data.split(" ", 2)[1])
            if status >= 200:
                if method == "INVITE":  # ACK the final response
                    pass
                return status, data

    @staticmethod
    def header(data, name):
        for line in data.split("\r\n"):
            if line.lower().startswith(name.lower() + ":"):
                return line.split(":", 1)[1].strip()
        return None

    @staticmethod
    def digest(challenge, user, password, method, uri, nc=1):
        import hashlib
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1 = md5("%s:%s:%s" % (user, p["realm"], password))
        ha2 = md5("%s:%s" % (method, uri))
        resp = md5("%s:%s:%08x:abc:auth:%s" % (ha1, p["nonce"], nc, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5, qop=auth, nc=%08x, cnonce="abc"'
                % (user, p["realm"], p["nonce"], uri, resp, nc))

    def register(self, user, password, contact, expires=3600):
        uri = "sip:127.0.0.1:%d" % self.port
        hdrs = ["Contact: <%s>" % contact if contact != "*" else "Contact: *",
                "Expires: %d" % expires]
        status, data = self.request("REGISTER", user, hdrs)
        if status != 401:
            return status, data
        auth = self.digest(self.header(data, "WWW-Authenticate"), user, password, "REGISTER", uri)
        return self.request("REGISTER", user, hdrs + ["Authorization: " + auth])


@unittest.skipUnless(SIPP, "sipp (package sip-tester) is not installed")
class SipEndpoints(unittest.TestCase):
    """Endpoints, digest authentication and the registrar (endpoints_file)."""
    sipp = SipCalls.sipp
    wait_sipp = SipCalls.wait_sipp
    sipp_story = SipCalls.sipp_story

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipreg-")
        with open(os.path.join(self.dir, "endpoints"), "w") as f:
            f.write("# test endpoints\n1001 password=secret1 context=internal\n"
                    "1002 password=secret2 context=internal\n1003 password=secret3\n")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(REG_DIALPLAN)

        def make_instance():
            self.sip_port = harness.free_port()
            self.rtp_base = free_rtp_base()
            with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
                f.write("return { modules = { 'sip' }, workers = 2, shutdown_grace = 1,\n"
                        "  module_config = { sip = { listen = 'sip:127.0.0.1:%d',\n"
                        "    endpoints_file = 'endpoints', auth_fail_limit = 5, auth_ban_seconds = 60,\n"
                        "    rtp_port_min = %d, rtp_port_max = %d } } }\n"
                        % (self.sip_port, self.rtp_base, self.rtp_base + 39))
            return harness.Instance(os.path.join(self.dir, "tandem.lua"))
        self.engine = harness.start_listening(self, make_instance)
        self.assertIn("3 endpoint(s)", self.engine.read_log())
        self.sipp_procs = []
        self.reg = Registrar(self.sip_port)

    def tearDown(self):
        self.reg.close()
        SipCalls.tearDown(self)

    def reg_sipp(self, name, scenario, user, password, expires=120):
        p = self.sipp(["-sf", os.path.join(SCENARIOS, scenario), "-s", user, "-au", user,
                       "-ap", password, "-key", "expires", str(expires),
                       "127.0.0.1:%d" % self.sip_port], name)
        return self.wait_sipp(p, name)

    def test_register_with_auth(self):
        code, story = self.reg_sipp("reg", "reg_auth.xml", "1001", "secret1")
        self.assertEqual(code, 0, story)
        self.assertRegex(story, r"(?i)WWW-Authenticate: Digest realm=\"tandem\"")
        self.assertRegex(story, r"(?i)Contact: <sip:1001@127\.0\.0\.1:\d+>;expires=1[12]\d")
        self.assertIn("sip: 1001 registered", self.engine.read_log())

    def test_wrong_password_and_unknown_user_look_the_same(self):
        code, story = self.reg_sipp("regbad", "reg_refused.xml", "1001", "wrong")
        self.assertEqual(code, 0, story)
        code, story2 = self.reg_sipp("regunknown", "reg_refused.xml", "9999", "whatever")
        self.assertEqual(code, 0, story2)
        # the raw replies, header by header (the nonce aside)
        replies = []
        for user, pw in (("1001", "wrong"), ("9999", "wrong")):
            status, data = self.reg.register(user, pw, "sip:%s@127.0.0.1:9" % user)
            self.assertEqual(status, 401, data)
            names = sorted(l.split(":")[0] for l in data.split("\r\n")[1:] if ":" in l)
            chal = re.sub(r'nonce="[^"]*"', "", self.reg.header(data, "WWW-Authenticate"))
            replies.append((names, chal))
        self.assertEqual(replies[0], replies[1])
        self.assertNotIn("registered", self.engine.read_log())

    def test_contacts_expiry_and_unregister(self):
        s, d = self.reg.register("1002", "secret2", "sip:a@127.0.0.1:7001", 30)
        self.assertEqual(s, 423, d)  # below the minimum of 60 s
        self.assertEqual(self.reg.header(d, "Min-Expires"), "60")
        s, d = self.reg.register("1002", "secret2", "sip:a@127.0.0.1:7001", 100)
        self.assertEqual(s, 200, d)
        s, d = self.reg.register("1002", "secret2", "sip:b@127.0.0.1:7002", 99999)
        self.assertEqual(s, 200, d)
        self.assertIn("sip:a@127.0.0.1:7001", d)
        self.assertRegex(d, r"sip:b@127\.0\.0\.1:7002>;expires=3600")  # capped
        s, d = self.reg.register("1002", "secret2", "sip:a@127.0.0.1:7001", 0)
        self.assertEqual(s, 200, d)
        self.assertNotIn("sip:a@127.0.0.1:7001", d)
        self.assertIn("sip:b@127.0.0.1:7002", d)
        s, d = self.reg.register("1002", "secret2", "*", 0)
        self.assertEqual(s, 200, d)
        self.assertIsNone(self.reg.header(d, "Contact"), d)

    def test_unauthenticated_invite_gets_407(self):
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 9 RTP/AVP 0\r\n")
        s, d = self.reg.request("INVITE", "1001", ["Contact: <sip:1001@127.0.0.1:9>",
                                                   "Content-Type: application/sdp"],
                                ruri="sip:2000@127.0.0.1:%d" % self.sip_port, body=sdp)
        self.assertEqual(s, 407, d)
        self.assertRegex(self.reg.header(d, "Proxy-Authenticate"), r'Digest realm="tandem", nonce="')
        self.assertNotIn("endpoint call from", self.engine.read_log())

    def test_a_replayed_answer_is_refused(self):
        """A captured Authorization sent again (same nonce, same count) gets a
        stale challenge; the phone's next count on that nonce is accepted."""
        hdrs = ["Contact: <sip:1001@127.0.0.1:9>", "Expires: 120"]
        s, d = self.reg.request("REGISTER", "1001", hdrs)
        self.assertEqual(s, 401, d)
        challenge = self.reg.header(d, "WWW-Authenticate")
        uri = "sip:127.0.0.1:%d" % self.sip_port
        first = self.reg.digest(challenge, "1001", "secret1", "REGISTER", uri)
        s, d = self.reg.request("REGISTER", "1001", hdrs + ["Authorization: " + first])
        self.assertEqual(s, 200, d)
        s, d = self.reg.request("REGISTER", "1001", hdrs + ["Authorization: " + first])
        self.assertEqual(s, 401, d)
        self.assertIn("stale=true", self.reg.header(d, "WWW-Authenticate"))
        second = self.reg.digest(challenge, "1001", "secret1", "REGISTER", uri, nc=2)
        s, d = self.reg.request("REGISTER", "1001", hdrs + ["Authorization: " + second])
        self.assertEqual(s, 200, d)
        # a stale answer is not a failed password: no ban however often it comes
        for _ in range(6):
            s, d = self.reg.request("REGISTER", "1001", hdrs + ["Authorization: " + first])
            self.assertEqual(s, 401, d)
        self.assertNotIn("failed authentication", self.engine.read_log())

    def test_an_answer_for_another_target_is_refused(self):
        """An answer computed for one request URI does not authenticate a
        request to another (the digest `uri` must be the request's own)."""
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 9 RTP/AVP 0\r\n")
        hdrs = ["Contact: <sip:1001@127.0.0.1:9>", "Content-Type: application/sdp"]
        allowed = "sip:2000@127.0.0.1:%d" % self.sip_port
        s, d = self.reg.request("INVITE", "1001", hdrs, ruri=allowed, body=sdp)
        self.assertEqual(s, 407, d)
        auth = self.reg.digest(self.reg.header(d, "Proxy-Authenticate"), "1001", "secret1", "INVITE", allowed)
        s, d = self.reg.request("INVITE", "1001", hdrs + ["Proxy-Authorization: " + auth],
                                ruri="sip:900442079460000@127.0.0.1:%d" % self.sip_port, body=sdp)
        self.assertEqual(s, 400, d)
        self.assertIn("Digest URI Mismatch", d.split("\r\n")[0])
        self.assertNotIn("endpoint call from", self.engine.read_log())

    def test_ban_after_failures(self):
        for i in range(5):  # the 5th failure (auth_fail_limit) is answered 403 already
            s, d = self.reg.register("1001", "bad%d" % i, "sip:1001@127.0.0.1:9")
            self.assertEqual(s, 401 if i < 4 else 403, d)
        self.assertTrue(self.engine.wait_log("sip: banning 127.0.0.1 for 60 s"), self.engine.read_log())
        # even the right password is refused now
        s, d = self.reg.register("1001", "secret1", "sip:1001@127.0.0.1:9")
        self.assertEqual(s, 403, d)

    def call_1002_from_1001(self, uas_port):
        """1001 (SIPp, with credentials) calls 2000, whose dialplan dials
        sip/1002, registered at a SIPp UAS on uas_port; that UAS's story."""
        uas = self.sipp(["-sn", "uas"], "uas", port=uas_port)
        time.sleep(0.3)
        uac = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "2000", "-au", "1001",
                         "-ap", "secret1", "127.0.0.1:%d" % self.sip_port], "uacauth")
        code, story = self.wait_sipp(uac, "uacauth")
        self.assertEqual(code, 0, story)
        code, story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, story)
        return story

    def test_dial_registered_endpoint(self):
        uas_port = harness.free_port()
        s, d = self.reg.register("1002", "secret2", "sip:1002@127.0.0.1:%d" % uas_port, 120)
        self.assertEqual(s, 200, d)
        story = self.call_1002_from_1001(uas_port)
        log = self.engine.read_log()
        self.assertIn("endpoint call from 1001 in internal", log)
        self.assertRegex(story, r"INVITE sip:1002@127\.0\.0\.1:%d" % uas_port)

    def test_registrations_survive_a_restart(self):
        # A contact registered for an hour is dialled at once after a restart
        # (the snapshot in DATA/sip-registrations); one unregistered before
        # the stop is not restored.
        uas_port = harness.free_port()
        s, d = self.reg.register("1002", "secret2", "sip:1002@127.0.0.1:%d" % uas_port, 3600)
        self.assertEqual(s, 200, d)
        for expires in (3600, 0):
            s, d = self.reg.register("1003", "secret3", "sip:gone@127.0.0.1:7003", expires)
            self.assertEqual(s, 200, d)
        old = self.engine
        self.assertEqual(old.stop(), 0, old.read_log())
        data_dir = os.path.join(self.dir, "data")
        shutil.copytree(old.args[old.args.index("--data-dir") + 1], data_dir)
        old.cleanup()
        with open(os.path.join(data_dir, "sip-registrations")) as f:
            saved = f.read()
        self.assertRegex(saved, r"^1002 \d+ \d+ sip:1002@127\.0\.0\.1:%d\n$" % uas_port)

        self.engine = harness.Instance(os.path.join(self.dir, "tandem.lua"))
        self.engine.args[self.engine.args.index("--data-dir") + 1] = data_dir
        self.engine.start()
        self.assertTrue(self.engine.wait_log("sip: 1 registration(s) restored"), self.engine.read_log())
        rc, out = self.engine.ctl("endpoints", json_output=True)
        self.assertEqual(rc, 0, out)
        contacts = {e["id"]: e["contacts"] for e in out["data"]["endpoints"]}
        self.assertEqual([c["uri"] for c in contacts["1002"]], ["sip:1002@127.0.0.1:%d" % uas_port])
        self.assertGreater(contacts["1002"][0]["expires_in"], 3500)
        self.assertEqual(contacts["1003"], [])
        self.call_1002_from_1001(uas_port)

    def test_dial_unregistered_endpoint(self):
        uac = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "2001", "-au", "1001",
                         "-ap", "secret1", "127.0.0.1:%d" % self.sip_port], "uacauth2")
        code, story = self.wait_sipp(uac, "uacauth2")
        self.assertEqual(code, 0, story)
        self.assertIn("sip: endpoint 1003 is not registered", story)
        self.assertRegex(self.engine.read_log(), r"dial 1003: noanswer")



@unittest.skipUnless(SIPP, "sipp (package sip-tester) is not installed")
class SipDemo(unittest.TestCase):
    """The shipped demo (dialplans/demo/tandem.lua) as a PBX, its SIP port
    moved with TANDEM_DEMO_SIP_LISTEN so it runs beside a real demo."""
    sipp = SipCalls.sipp
    wait_sipp = SipCalls.wait_sipp
    sipp_story = SipCalls.sipp_story

    def start_demo(self):
        """The demo on a fresh self.sip_port, its data dir kept across restarts."""
        def make_instance():
            self.sip_port = harness.free_port()
            e = harness.Instance(os.path.join(harness.REPO, "dialplans", "demo", "tandem.lua"), ["--workers", "2"],
                                 env={"TANDEM_DEMO_SIP_LISTEN": "sip:127.0.0.1:%d" % self.sip_port})
            e.args[e.args.index("--data-dir") + 1] = self.data
            return e
        return harness.start_listening(self, make_instance)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipdemo-")
        self.data = os.path.join(self.dir, "data")
        self.sipp_procs = []
        self.engine = self.start_demo()
        self.reg = Registrar(self.sip_port)

    def tearDown(self):
        self.reg.close()
        SipCalls.tearDown(self)

    def passwords(self):
        out = {}
        with open(os.path.join(self.data, "sip-passwords")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    parts = line.split()
                    out[parts[0]] = parts[1].split("=", 1)[1]
        return out

    def test_passwords_generated_once(self):
        path = os.path.join(self.data, "sip-passwords")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        pw = self.passwords()
        self.assertEqual(sorted(pw), ["%d" % i for i in range(1001, 1011)])
        log = self.engine.read_log()
        for user, secret in pw.items():
            self.assertEqual(log.count(secret), 1, log)
        self.assertEqual(len(set(pw.values())), 10)
        # the console says where they are (and never shows them)
        rc, out = self.engine.ctl("endpoints", json_output=True)
        self.assertEqual(rc, 0, out)
        info = out["data"]  # the module's JSON document is the reply's data
        self.assertEqual(info["file"], path)
        self.assertEqual([e["id"] for e in info["endpoints"]], sorted(pw))
        self.assertEqual({e["context"] for e in info["endpoints"]}, {"demo"})
        rc, out = self.engine.ctl("endpoints")
        self.assertEqual(rc, 0, out)
        self.assertIn("file: " + path, out)
        for secret in pw.values():
            self.assertNotIn(secret, out)
        # a restart keeps them and does not print them again
        self.assertEqual(self.engine.stop(), 0)
        self.engine.cleanup()
        self.engine = self.start_demo()
        self.assertEqual(self.passwords(), pw)
        log = self.engine.read_log()
        self.assertNotIn("generated passwords", log)
        for secret in pw.values():
            self.assertNotIn(secret, log)

    def test_endpoint_calls_endpoint_and_601(self):
        pw = self.passwords()
        uas_port = harness.free_port()
        s, d = self.reg.register("1002", pw["1002"], "sip:1002@127.0.0.1:%d" % uas_port, 120)
        self.assertEqual(s, 200, d)
        uas = self.sipp(["-sn", "uas"], "uas", port=uas_port)
        time.sleep(0.3)
        uac = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "1002", "-au", "1001",
                         "-ap", pw["1001"], "127.0.0.1:%d" % self.sip_port], "to1002")
        code, story = self.wait_sipp(uac, "to1002")
        self.assertEqual(code, 0, story)
        code, story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, story)
        self.assertIn("call to endpoint 1002: answer", self.engine.read_log())
        uac = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_expect_bye_auth.xml"), "-s", "601", "-au",
                         "1003", "-ap", pw["1003"], "127.0.0.1:%d" % self.sip_port], "to601")
        code, story = self.wait_sipp(uac, "to601")
        self.assertEqual(code, 0, story)
        self.assertIn("inbound call from 1003 to 601@demo", self.engine.read_log())

UAS_BUSY = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas busy">
  <recv request="INVITE"/>
  <send>
    <![CDATA[

      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""

# The called party for the dial() tests: fails (check_it) unless the INVITE's
# From header matches @FROM_REGEXP@ (XML-escaped), then answers and waits
# for the engine's BYE.
UAS_CHECK_FROM = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas checking From">
  <recv request="INVITE">
    <action>
      <ereg regexp="@FROM_REGEXP@" search_in="hdr" header="From:" check_it="true"
            assign_to="from_seen"/>
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      X-From-Seen: [$from_seen]
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv request="ACK" optional="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""

if __name__ == "__main__":
    unittest.main()
