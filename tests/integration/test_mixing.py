#!/usr/bin/env python3
"""Mixing bridges over real SIP on 127.0.0.1: conferences and supervisor
spies. Every party is a small SIP UA (sipua.py) that sends its own tone as
PCMU and records what it receives; a Goertzel filter says which tones each
party hears. The engine runs 3 workers and gives calls out round robin, so
the supervisor's call and the agent's call are on different workers.

  test_spy_modes       customer (440 Hz) calls the agent (1000 Hz) through
                       the engine; the supervisor (1700 Hz) runs
                       call:spy{target = <agent's leg name>, mode = "listen"}:
                       listen  - the supervisor hears 440 and 1000, neither
                                 customer nor agent hears 1700;
                       whisper - (ctl spy mode ... whisper) the agent hears
                                 1700, the customer does not;
                       barge   - (ctl spy mode ... barge) all hear all;
                       ctl spy stop - the supervisor's call:spy returns
                                 "stopped" and customer and agent still hear
                                 each other (the plain bridge is back);
                       the custom "spy" events start, mode, mode, stop
                       came out in that order.
  test_spy_from_dialplan_whisper_then_hangup  mode = "whisper" from the
                       dialplan; a second supervisor gets "busy"; when the
                       customer hangs up, the supervisor's call:spy returns
                       "ended".
  test_spy_modes_by_dtmf  the supervisor's RFC 4733 digits switch the mode:
                       5 whisper, 6 barge (heard as above); # ends the spy.
  test_spy_target_not_found_and_bad_mode  call:spy returns "not_found" at
                       once; an unknown mode is a script error naming it.
  test_conference_at_the_openers_rate  without `rate` a room opened by a
                       PCMU caller mixes at 8 kHz; two callers hear each
                       other; `#` (an exit digit) leaves the room.
  test_conference_three_parties  three callers (440, 1000, 1700 Hz; one of
                       them PCMA, the others PCMU) in one call:conference
                       mixing at 16 kHz: each hears the other two, not
                       itself. ctl conference list shows the room; ctl
                       conference mute takes one out of the others' mix,
                       unmute puts it back; ctl conference kick ends one's
                       call:conference ("stopped") and the other two still
                       hear each other; "conference" events join x3, leave.

Run: python3 tests/integration/test_mixing.py -v
"""
import math
import os
import json
import subprocess
import struct
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tones  # noqa: E402
import sipua  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # G.711 decoding; deprecated in 3.11, fine for a test

CUSTOMER, AGENT, SUPERVISOR = 440, 1000, 1700
HEARD, SILENT = 2000, 400  # Goertzel amplitude; the tones are sent at 8000

DIALPLAN = """
local agent = "sip/agent@127.0.0.1:@AGENT_PORT@"
return { contexts = { default = {
  ["agent"] = function(call)
    call:answer()
    local status, peer = call:dial(agent)
    if status == "answer" then call:bridge(peer) end
    call:hangup()
  end,
  ["spy"] = function(call)
    call:answer()
    call:log("spy ended: " .. call:spy{ target = agent, mode = "listen" })
  end,
  ["whisper"] = function(call)
    call:answer()
    call:log("spy ended: " .. call:spy{ target = agent, mode = "whisper" })
  end,
  ["badmode"] = function(call)
    call:answer()
    call:spy{ target = agent, mode = "loud" }
  end,
  ["nobody"] = function(call)
    call:answer()
    call:log("spy ended: " .. call:spy{ target = "sip/nobody" })
  end,
  ["conf8"] = function(call)
    call:conference("narrow", { exit_digits = "#" })
    call:log("left the narrow room")
  end,
  ["conf"] = function(call)
    call:log("conference ended: " .. call:conference("room 1", { rate = 16000 }))
  end,
} } }
"""



class Party:
    """A UA sending one tone (PCMU, or PCMA with alaw=True) and keeping what
    it hears, with arrival times; press() sends an RFC 4733 digit instead."""

    def __init__(self, freq, alaw=False):
        self.ua = sipua.UA()
        self.freq = freq
        self.pt = 8 if alaw else 0
        if alaw:
            self.ua.codecs = "8 101"
            self.ua.extra_sdp = "a=rtpmap:8 PCMA/8000\r\n"
        # exactly one second: whole cycles, so it loops without a click
        pcm = b"".join(int(8000 * math.sin(2 * math.pi * freq * i / 8000)).to_bytes(2, "little", signed=True)
                       for i in range(8000))
        self.tone = audioop.lin2alaw(pcm, 2) if alaw else audioop.lin2ulaw(pcm, 2)
        self.seq = 0
        self.active = False
        self.digits = []  # RFC 4733 packets still to send: (event, index)
        self.heard = []  # (time, [samples])
        self.payload_types = set()  # of the audio received

    def press(self, digit):
        event = "0123456789*#".index(digit)
        self.digits += [(event, i) for i in range(6)]

    def pump(self):
        if not self.active:
            return
        ts = 160 * self.seq
        if self.digits:
            event, i = self.digits.pop(0)
            if i == 0:
                self.digit_ts = ts
            end = i >= 3  # three updates, then the end packet three times
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, 160 * min(i + 1, 4))
            self.ua.rtp.sendto(sipua.rtp_packet(101, self.seq, self.digit_ts, self.ua.ssrc, payload, i == 0),
                               self.ua.remote_media)
        else:
            off = ts % 8000
            self.ua.send_rtp(self.seq, ts, self.tone[off:off + 160], pt=self.pt)
        self.seq += 1
        now = time.time()
        for d in self.ua.drain(self.ua.rtp):
            p = sipua.parse_rtp(d)
            if p and p["pt"] in (0, 8):
                self.payload_types.add(p["pt"])
                decode = audioop.alaw2lin if p["pt"] == 8 else audioop.ulaw2lin
                pcm = decode(p["payload"], 2)
                self.heard.append((now, [int.from_bytes(pcm[i:i + 2], "little", signed=True)
                                         for i in range(0, len(pcm), 2)]))

    def levels(self, since, until, freqs):
        samples = [x for t, frame in self.heard if since <= t <= until for x in frame]
        return {f: tones.amplitude(samples, f) for f in freqs}, len(samples)


class Mixing(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-mixing-")
        self.agent = Party(AGENT)
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN.replace("@AGENT_PORT@", str(self.agent.ua.port)))
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(self.dir, workers=3))
        self.sip_port = self.engine.sip_port
        self.parties = [self.agent]
        self.events = []  # custom events (conference, spy) as dicts
        self.watcher = subprocess.Popen([harness.BIN, "ctl", "-s", self.engine.socket, "--json", "events", "custom"],
                                        stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._watch, daemon=True).start()
        time.sleep(0.3)  # subscribed before the first call
        self.running = True
        self.pumper = threading.Thread(target=self._pump, daemon=True)
        self.pumper.start()

    def _watch(self):
        for line in self.watcher.stdout:
            self.events.append(json.loads(line))

    def wait_events(self, kind, count, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [e for e in self.events if e["type"] == kind]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        self.fail("fewer than %d %s events: %s" % (count, kind, self.events))

    def _pump(self):
        start, n = time.time(), 0
        while self.running:
            for p in list(self.parties):
                p.pump()
            n += 1
            time.sleep(max(0, start + 0.02 * n - time.time()))

    def tearDown(self):
        self.running = False
        self.pumper.join(5)
        self.watcher.terminate()
        self.watcher.wait()
        self.watcher.stdout.close()
        for p in self.parties:
            p.ua.close()
        harness.end_engine(self, self.engine, self.dir)

    def caller(self, freq, exten, alaw=False):
        p = Party(freq, alaw)
        p.ua.call(exten, self.sip_port)
        p.active = True
        self.parties.append(p)
        return p

    def connect_customer(self):
        """The customer calls the agent through the engine (a bridged call)."""
        answered = threading.Event()

        def answer():
            invite, addr = self.agent.ua.wait_request("INVITE")
            self.agent.ua.answer(invite, addr)
            answered.set()

        t = threading.Thread(target=answer)
        t.start()
        customer = self.caller(CUSTOMER, "agent")
        t.join(10)
        self.assertTrue(answered.is_set(), self.engine.read_log())
        self.agent.ua.wait_request("ACK", 5)
        self.agent.active = True
        return customer

    def hears(self, who, settle=0.6, window=1.0):
        """{party: {freq: amplitude}} over `window` s after `settle` s."""
        time.sleep(settle)
        since = time.time()
        time.sleep(window)
        out = {}
        for name, p in who.items():
            lv, n = p.levels(since, since + window, (CUSTOMER, AGENT, SUPERVISOR))
            self.assertGreater(n, 4000, "%s received audio\n%s" % (name, self.engine.read_log()))
            out[name] = lv
        return out

    def check(self, levels, expect, what):
        """expect: {party: set of frequencies it must hear}; the others it must not."""
        msg = "%s: %s\n%s" % (what, {k: {f: round(a) for f, a in v.items()} for k, v in levels.items()},
                              self.engine.read_log()[-3000:])
        for name, must in expect.items():
            for f, amp in levels[name].items():
                if f in must:
                    self.assertGreater(amp, HEARD, "%s should hear %d Hz. %s" % (name, f, msg))
                else:
                    self.assertLess(amp, SILENT, "%s should not hear %d Hz. %s" % (name, f, msg))

    def spy_list(self):
        code, spies = self.engine.ctl("spy", "list", json_output=True)
        self.assertEqual(code, 0, spies)
        return spies["data"]

    def test_spy_modes(self):
        customer = self.connect_customer()
        parties = {"customer": customer, "agent": self.agent}
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER}}, "bridged, no spy")
        supervisor = self.caller(SUPERVISOR, "spy")
        parties["supervisor"] = supervisor
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER},
                                         "supervisor": {CUSTOMER, AGENT}}, "listen")
        spies = self.spy_list()
        self.assertEqual(len(spies), 1, spies)
        spy = spies[0]
        self.assertEqual(spy["mode"], "listen")
        self.assertEqual(spy["target_name"], "sip/agent@127.0.0.1:%d" % self.agent.ua.port)
        code, calls = self.engine.ctl("calls", json_output=True)
        workers = {c["id"]: c["worker"] for c in calls["data"]}
        self.assertNotEqual(workers[spy["supervisor_call"]], spy["worker"],
                            "the supervisor's call and the spied call are on different workers: %s %s"
                            % (calls, spies))

        code, out = self.engine.ctl("spy", "mode", spy["supervisor"], "whisper")
        self.assertEqual(code, 0, out)
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER, SUPERVISOR},
                                         "supervisor": {CUSTOMER, AGENT}}, "whisper")
        self.assertEqual(self.spy_list()[0]["mode"], "whisper")

        code, out = self.engine.ctl("spy", "mode", spy["target"], "barge")
        self.assertEqual(code, 0, out)
        self.check(self.hears(parties), {"customer": {AGENT, SUPERVISOR}, "agent": {CUSTOMER, SUPERVISOR},
                                         "supervisor": {CUSTOMER, AGENT}}, "barge")

        code, out = self.engine.ctl("spy", "stop", spy["supervisor_call"])
        self.assertEqual(code, 0, out)
        self.assertTrue(self.engine.wait_log("spy ended: stopped", 5), self.engine.read_log())
        del parties["supervisor"]
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER}}, "after the spy")
        self.assertEqual(self.spy_list(), [])
        spy_events = self.wait_events("spy", 4)
        self.assertEqual([(e["action"], e["mode"], e.get("reason")) for e in spy_events],
                         [("start", "listen", None), ("mode", "whisper", None), ("mode", "barge", None),
                          ("stop", "barge", "stopped")])
        self.assertTrue(all(e["supervisor"] == spy["supervisor"] and e["leg_id"] == spy["target"]
                            and e["module"] == "core" for e in spy_events), spy_events)
        self.assertNotEqual(self.engine.ctl("spy", "mode", spy["supervisor"], "barge")[0], 0)
        self.assertNotEqual(self.engine.ctl("spy", "mode", spy["target"], "loud")[0], 0)
        customer.ua.bye()

    def test_spy_from_dialplan_whisper_then_hangup(self):
        customer = self.connect_customer()
        supervisor = self.caller(SUPERVISOR, "whisper")
        parties = {"customer": customer, "agent": self.agent, "supervisor": supervisor}
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER, SUPERVISOR},
                                         "supervisor": {CUSTOMER, AGENT}}, "whisper")
        self.caller(SUPERVISOR, "spy")  # a second supervisor on the same bridge
        self.assertTrue(self.engine.wait_log("spy ended: busy", 5), self.engine.read_log())
        customer.active = False
        self.assertEqual(customer.ua.bye(), 200)
        self.assertTrue(self.engine.wait_log("spy ended: ended", 5), self.engine.read_log())
        self.assertEqual(self.spy_list(), [])

    def test_spy_modes_by_dtmf(self):
        customer = self.connect_customer()
        supervisor = self.caller(SUPERVISOR, "spy")
        parties = {"customer": customer, "agent": self.agent, "supervisor": supervisor}
        time.sleep(0.5)
        supervisor.press("5")
        self.check(self.hears(parties), {"customer": {AGENT}, "agent": {CUSTOMER, SUPERVISOR},
                                         "supervisor": {CUSTOMER, AGENT}}, "whisper by DTMF 5")
        supervisor.press("6")
        self.check(self.hears(parties), {"customer": {AGENT, SUPERVISOR}, "agent": {CUSTOMER, SUPERVISOR},
                                         "supervisor": {CUSTOMER, AGENT}}, "barge by DTMF 6")
        self.assertEqual(self.spy_list()[0]["mode"], "barge")
        supervisor.press("#")
        self.assertTrue(self.engine.wait_log("spy ended: #", 5), self.engine.read_log())

    def test_spy_target_not_found_and_bad_mode(self):
        self.caller(SUPERVISOR, "nobody")
        self.assertTrue(self.engine.wait_log("spy ended: not_found", 5), self.engine.read_log())
        self.caller(SUPERVISOR, "badmode")
        self.assertTrue(self.engine.wait_log('spy: mode is "listen", "whisper" or "barge", got \'loud\'', 5),
                        self.engine.read_log())

    def test_conference_at_the_openers_rate(self):
        a = self.caller(CUSTOMER, "conf8")
        b = self.caller(AGENT, "conf8")
        self.check(self.hears({"a": a, "b": b}), {"a": {AGENT}, "b": {CUSTOMER}}, "two in a narrowband room")
        self.assertEqual([e["rate"] for e in self.wait_events("conference", 2)], ["8000", "8000"])
        a.press("#")
        self.assertTrue(self.engine.wait_log("left the narrow room", 5), self.engine.read_log())

    def test_conference_three_parties(self):
        a = self.caller(CUSTOMER, "conf")
        b = self.caller(AGENT, "conf", alaw=True)  # another codec: its own translators
        c = self.caller(SUPERVISOR, "conf")
        self.check(self.hears({"a": a, "b": b, "c": c}), {"a": {AGENT, SUPERVISOR}, "b": {CUSTOMER, SUPERVISOR},
                                                           "c": {CUSTOMER, AGENT}}, "conference")
        self.assertEqual((a.payload_types, b.payload_types), ({0}, {8}), "PCMU and PCMA legs in one room")
        code, rooms = self.engine.ctl("conference", "list", json_output=True)
        self.assertEqual([(r["room"], r["rate"], len(r["members"])) for r in rooms["data"]], [("room 1", 16000, 3)])
        legs = [m["leg"] for m in rooms["data"][0]["members"]]  # in the order they joined: a, b, c

        code, out = self.engine.ctl("conference", "mute", "room 1", legs[2])
        self.assertEqual(code, 0, out)
        self.check(self.hears({"a": a, "b": b, "c": c}), {"a": {AGENT}, "b": {CUSTOMER},
                                                           "c": {CUSTOMER, AGENT}}, "c muted")
        code, out = self.engine.ctl("conference", "unmute", "room 1", "all")
        self.assertEqual(code, 0, out)
        code, out = self.engine.ctl("conference", "kick", "room 1", legs[1])
        self.assertEqual(code, 0, out)
        self.assertTrue(self.engine.wait_log("conference ended: stopped", 5), self.engine.read_log())
        b.active = False
        self.assertNotEqual(self.engine.ctl("conference", "kick", "room 1", legs[1])[0], 0, "b is gone")
        self.assertNotEqual(self.engine.ctl("conference", "mute", "no such room", "all")[0], 0)
        self.check(self.hears({"a": a, "c": c}), {"a": {SUPERVISOR}, "c": {CUSTOMER}}, "two left")
        conf = self.wait_events("conference", 4)
        self.assertEqual([(e["action"], e["members"], e["room"], e["rate"]) for e in conf],
                         [("join", "1", "room 1", "16000"), ("join", "2", "room 1", "16000"),
                          ("join", "3", "room 1", "16000"), ("leave", "2", "room 1", "16000")])


if __name__ == "__main__":
    unittest.main()
