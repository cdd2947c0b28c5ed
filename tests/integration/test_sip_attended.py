#!/usr/bin/env python3
"""Attended transfer by REFER with Replaces, with the real engine and four
SIP parties of tests/integration/sipua.py on loopback:

  A calls "toB" (call X: A bridged with B) and "toC" (call Y: A bridged with
  C), then, in its dialog of Y, sends REFER with
  Refer-To: <sip:b@...?Replaces=(its dialog of X)>. The engine joins B with
  C (channels/sip/README.md, "Attended transfer by REFER"):

  test_refer_with_replaces_joins_the_other_parties
      A gets 202, NOTIFY 100 then NOTIFY 200 (subscription terminated), then
      BYE on both dialogs; B and C then hear each other: what each sends
      reaches the other byte for byte; hanging up Y ends X as well (B and C
      both get BYE), and both calls' records list the join's halves.
  test_refer_naming_an_unbridged_call_is_declined
      the dialog Replaces names is not bridged (still in the dialplan): final
      NOTIFY 603 and both calls go on.

Run: python3 tests/integration/test_sip_attended.py -v
"""
import os
import re
import tempfile
import time
import unittest
import urllib.parse

import harness
import sipua

DIALPLAN = """
return { contexts = { default = {
  ["toB"] = function(call)
    call:answer()
    local status, leg = call:dial("sip/b@127.0.0.1:@B_PORT@")
    if status == "answer" then call:log("toB bridge: " .. tostring(call:bridge(leg))) end
  end,
  ["toC"] = function(call)
    call:answer()
    local status, leg = call:dial("sip/c@127.0.0.1:@C_PORT@")
    if status == "answer" then call:log("toC bridge: " .. tostring(call:bridge(leg))) end
  end,
  ["ivr"] = function(call)
    call:answer()
    call:sleep(20000)
  end,
} } }
"""


class SipAttendedTransfer(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-attended-")
        self.b, self.c = sipua.UA(), sipua.UA()
        self.uas = [self.b, self.c]
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN.replace("@B_PORT@", str(self.b.port)).replace("@C_PORT@", str(self.c.port)))
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(self.dir))
        self.sip_port = self.engine.sip_port

    def tearDown(self):
        for ua in self.uas:
            ua.close()
        harness.end_engine(self, self.engine, self.dir)

    def ua(self):
        ua = sipua.UA()
        self.uas.append(ua)
        return ua

    def refer(self, a, replaces_dialog_of):
        """A REFER on a's dialog naming `replaces_dialog_of`'s dialog; returns
        the sipfrags of the NOTIFYs (each answered 200) up to the final one."""
        x = replaces_dialog_of
        replaces = "%s;to-tag=%s;from-tag=%s" % (x.call_id, x.to_tag, x.tag)
        a.request("REFER", a.uri, a.target,
                  extra="Refer-To: <sip:b@127.0.0.1?Replaces=%s>\r\nReferred-By: <sip:sipua@127.0.0.1>\r\n"
                  % urllib.parse.quote(replaces, safe=""))
        frags, accepted = [], None
        deadline = time.time() + 10
        while time.time() < deadline:
            msg, addr = a.read_sip(deadline - time.time())
            if a.status(msg) and "REFER" in a.header(msg, "CSeq"):
                accepted = a.status(msg)
            elif msg.startswith("NOTIFY "):
                a.reply(msg, addr)
                frags.append(a.body(msg).strip())
                if "terminated" in (a.header(msg, "Subscription-State") or ""):
                    break
        self.assertEqual(accepted, 202, self.engine.read_log())
        return frags

    def expect_bye(self, ua, what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg, addr = ua.read_sip(deadline - time.time())
            if msg.startswith("BYE "):
                ua.reply(msg, addr)
                return
            if msg.startswith("NOTIFY "):
                ua.reply(msg, addr)
        self.fail("no BYE at %s\n%s" % (what, self.engine.read_log()))

    def assert_calls(self, n):
        """Within a few seconds the engine has exactly n calls."""
        deadline = time.time() + 5
        while True:
            rc, out = self.engine.ctl("status", json_output=True)
            if rc == 0 and out["data"]["calls"] == n or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(out["data"]["calls"], n, self.engine.read_log())

    def test_refer_with_replaces_joins_the_other_parties(self):
        a1, a2 = self.ua(), self.ua()
        sipua.bridged_call(a1, self.b, "toB", self.sip_port)
        sipua.bridged_call(a2, self.c, "toC", self.sip_port)
        self.assertTrue(self.engine.wait_log("sip: inbound call from sipua to toC"), self.engine.read_log())
        frags = self.refer(a2, replaces_dialog_of=a1)
        self.assertEqual(frags[0], "SIP/2.0 100 Trying")
        self.assertEqual(frags[-1], "SIP/2.0 200 OK", self.engine.read_log())
        self.expect_bye(a2, "A's dialog of Y")
        self.expect_bye(a1, "A's dialog of X")
        log = self.engine.read_log()
        m = re.search(r"\[([0-9a-f]+-\d+)\] sip: attended transfer: joined with call ([0-9a-f]+-\d+)", log)
        self.assertTrue(m, log)
        call_y, call_x = m.groups()

        # B and C hear each other: every frame one sends reaches the other.
        sent_b = [sipua.random_payload(160) for _ in range(60)]
        sent_c = [sipua.random_payload(160) for _ in range(60)]
        got_b, got_c = sipua.paced_two_way(self.b, self.c, sent_b, sent_c, 100, 900)
        at_c = {p["payload"] for p in got_c if p and p["pt"] == 0}
        at_b = {p["payload"] for p in got_b if p and p["pt"] == 0}
        self.assertGreaterEqual(sum(x in at_c for x in sent_b), 55, "B's audio at C\n" + self.engine.read_log())
        self.assertGreaterEqual(sum(x in at_b for x in sent_c), 55, "C's audio at B\n" + self.engine.read_log())

        # Ending Y ends the join, and so X: B and C both get BYE.
        rc, out = self.engine.ctl("hangup", call_y)
        self.assertEqual(rc, 0, out)
        self.expect_bye(self.c, "C")
        self.expect_bye(self.b, "B")
        self.assertTrue(self.engine.wait_log("[%s] call ended" % call_x), self.engine.read_log())
        self.assert_calls(0)

    def test_refer_naming_an_unbridged_call_is_declined(self):
        a1, a2 = self.ua(), self.ua()
        a1.call("ivr", self.sip_port)  # answered, not bridged
        sipua.bridged_call(a2, self.c, "toC", self.sip_port)
        self.assertTrue(self.engine.wait_log("sip: inbound call from sipua to toC"), self.engine.read_log())
        frags = self.refer(a2, replaces_dialog_of=a1)
        self.assertEqual(frags[-1], "SIP/2.0 603 Decline", self.engine.read_log())
        self.assertIn("attended transfer refused: the call named by Replaces is not bridged (603)",
                      self.engine.read_log())
        # Both calls go on: C still hears nothing but A's silence; A ends Y.
        a2.bye()
        self.expect_bye(self.c, "C")
        self.assert_calls(1)  # the IVR call


if __name__ == "__main__":
    unittest.main()
