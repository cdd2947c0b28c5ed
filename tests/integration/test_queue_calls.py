#!/usr/bin/env python3
"""Callers in queues over real SIP: SIPp callers dial an extension whose
dialplan calls call:queue(); the agents are SIPp user agents that the engine
rings, each on its own port. What is asserted comes from both sides: the
queue log the engine writes and what each agent's SIPp received.

  test_strategies               for every strategy, callers one after another: the
                                order of offers (queue-log OFFER rows, and the INVITEs
                                each agent received) is the strategy's
  test_skills_and_priority      a caller needing sales:5 goes to the agent who has it;
                                a priority caller who came second is served first
  test_tiers_and_relaxed_skills tier 2 rings only after tier_wait; a skill need relaxes
                                after its step and the agent who has less then takes it
  test_ring_all                 every available agent rings; one connects, the others
                                are cancelled or hung up, and nobody stays reserved
  test_caller_hangs_up_while_agent_rings
                                ABANDON; the ringing agent gets CANCEL and is available again
  test_no_answer_next_agent_and_auto_pause
                                ring_timeout passes: NOANSWER, the next agent connects,
                                the first is paused ("auto: 1 unanswered")
  test_timeout_goes_on_in_the_dialplan
                                max_wait passes with nobody logged in: EXITWITHTIMEOUT and
                                call:queue returns "timeout", so the script overflows
  test_refused_at_entry         max_callers and join_when_empty: "full" / "joinempty"
  test_wrapup_respected         a queue's wrap-up keeps its only agent from the next
                                caller for that long
  test_agent_with_two_phones    an agent's contacts ring at once; the one that answers is
                                connected, the other is cancelled
  test_transfer_by_the_agent    the agent's REFER sends the caller on in the dialplan: a
                                TRANSFER row with the talk time, no COMPLETE row
  test_data_travels_to_the_agent
                                the caller's sip_h_X-... variables and the queue's own
                                X-Tandem-Queue headers reach the agent's INVITE and the
                                queue_offer event, and the queue-log rows carry the call id
  test_callback                 the caller presses callback_key and hangs up; when an agent
                                logs in the engine calls the agent, then the customer, and
                                puts them through: CALLBACK, ENTER, OFFER, CONNECT,
                                COMPLETECALLER, CALLBACKDONE completed, on the caller's call id
  test_callback_retries_then_gives_up
                                a busy customer is called again after callback_retry, then
                                CALLBACKDONE failed after callback_attempts
  test_music_and_announcements  a waiting caller hears the moh class, or announcements over
                                silence, or nothing: RTP packets sent to it tell which
  test_whisper_to_the_agent     the agent hears the whisper, with the caller's wait filled
                                in, before the bridge (RTP sent to the agent, none without)
  test_agent_hangs_up_during_the_whisper
                                the caller is not left waiting: call:queue returns, COMPLETEAGENT
  test_exit_key                 a digit in exit_keys (RFC 4733): "exitkey", EXITWITHKEY
  test_statistics_match_the_calls
                                `queue show` counts what the calls did; `queue acd`
                                counts its offers and splits its busy time
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_sip_calls as base  # noqa: E402
from sip_testing import SipTestMixin  # noqa: E402

DIALPLAN = r"""
local function enter(call, name, priority, skills)
  call:answer()
  local status, detail = call:queue(name, priority, skills)
  call:log("queue " .. name .. " returned " .. tostring(status) .. " " .. tostring(detail))
  if status == "timeout" then call:play("en/goodbye") end -- the overflow
  if status == "exitkey" then call:sleep(5000) end       -- the caller hangs up
  if status == "callback" then                            -- a confirmed number, in real life
    local queued, position = call:queue_callback(name, "5551234")
    call:log("callback " .. tostring(queued) .. " " .. tostring(position))
    call:sleep(5000)
  end
end
return { contexts = { default = {
  ['_q.'] = function(call) enter(call, call.exten:sub(2)) end,
  ['_vip.'] = function(call) enter(call, call.exten:sub(4), 10) end,
  ['_sales.'] = function(call) enter(call, call.exten:sub(6), 0, "sales:5") end,
  ['queue-callback'] = function(call)                   -- the agent's side of a callback
    call:log("callback to " .. call:get("callback_number") .. " for " .. call:get("queue_agent"))
    call:log("callback run " .. tostring(call:queue_callback_run()))
  end,
  ['target'] = function(call)
    call:log("transferred to target")
    call:sleep(300)
  end,
  ['_data.'] = function(call)
    call:set("sip_h_X-Account", "4711")
    enter(call, call.exten:sub(5))
  end,
} } }
"""

STRATEGIES = ["linear", "round-robin", "longest-idle", "least-recent", "fewest-calls", "least-talk-time",
              "random", "weighted-random", "ring-progressively"]


@unittest.skipUnless(base.SIPP, "sipp (package sip-tester) is not installed")
class QueueCalls(SipTestMixin, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-qcalls-")
        self.sipp_procs = []
        self.engine = None
        self.agents = {}  # name -> (Popen, port)

    # --- set-up ---

    def agent(self, name, scenario=None, calls=50, extra=()):
        """A SIPp agent phone: SIPp's built-in uas answers at once; a scenario
        in tests/sip does what it says (with `extra` SIPp arguments). Returns
        its SIP port."""
        args = ["-sf", os.path.join(base.SCENARIOS, scenario), *extra] if scenario else ["-sn", "uas"]
        p = base.launch_sipp(self, args, "agent-" + name, calls=calls, timeout=300)
        port = int(p.args[p.args.index("-p") + 1])
        self.agents[name] = (p, port)
        return port

    def start(self, agents, queues, modules=("sip", "queue"), more_agents=()):
        """`agents`: (name, scenario, Lua fields[, SIPp arguments]) — each gets
        a SIPp phone and is its contact; `queues`: Lua tables for
        module_config.queue.queues."""
        lines = []
        for name, scenario, fields, *extra in agents:
            port = self.agent(name, scenario, calls=1 if scenario else 50, extra=extra[0] if extra else ())
            lines.append("{ name = '%s', contact = 'sip/%s@127.0.0.1:%d'%s }"
                         % (name, name, port, ", " + fields if fields else ""))
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        lines += more_agents  # Lua tables of agents whose phones the test started itself
        config = "queue = { agents = { %s }, queues = { %s } }," % (", ".join(lines), ", ".join(queues))
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(
            self.dir, modules=modules, module_config=config, workers=2))
        time.sleep(0.2)  # the agents' SIPp are bound

    # --- calls ---

    def caller(self, exten, name, talk_ms=600, scenario=None):
        """A SIPp caller to `exten` that hangs up `talk_ms` after the engine
        answered (the engine answers at once: this is wait + talk); with
        `scenario` (tests/sip) instead, it does what that says."""
        how = ["-sf", os.path.join(base.SCENARIOS, scenario)] if scenario else ["-sn", "uac", "-d", str(talk_ms)]
        return self.sipp(how + ["-s", exten, "127.0.0.1:%d" % self.engine.sip_port], name)

    FINAL = ("COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY")

    def call(self, queue, name, talk_ms=600, prefix="q", scenario=None):
        """One caller to queue `queue`, which must pass and leave its final
        queue-log row (a refused caller writes none: check its script's log)."""
        finals = len([r for r in self.rows() if r["event"] in self.FINAL])
        code, story = self.wait_sipp(self.caller(prefix + queue, name, talk_ms, scenario), name)
        self.assertEqual(code, 0, story)
        if scenario is None:
            deadline = time.time() + 10
            while len([r for r in self.rows() if r["event"] in self.FINAL]) <= finals and time.time() < deadline:
                time.sleep(0.05)
            self.assertGreater(len([r for r in self.rows() if r["event"] in self.FINAL]), finals, story)

    def rows(self, want=0, timeout=10, event=None, queue=None):
        """The queue-log rows (of `event`, of `queue`, when given) once there
        are `want` of them."""
        path = os.path.join(self.engine.tmp, "data", "records", "queue_log.jsonl")
        deadline = time.time() + timeout
        rows = []
        while True:
            if os.path.exists(path):
                with open(path) as f:
                    rows = [json.loads(line) for line in f if line.strip()]
                rows = [r for r in rows if (not event or r["event"] == event) and (not queue or r["queue"] == queue)]
            if len(rows) >= want or time.time() > deadline:
                break
            time.sleep(0.05)
        if len(rows) < want:
            self.fail("%d %s rows, not %d:\n%s\n%s" % (len(rows), event or "", want, rows, self.engine.read_log()))
        return rows

    def offers(self, queue):
        return [r["agent"] for r in self.rows() if r["event"] == "OFFER" and r["queue"] == queue]

    def invites(self, name):
        """The INVITEs agent `name`'s SIPp received so far."""
        path = os.path.join(self.dir, "agent-%s.msg" % name)
        with open(path, errors="replace") as f:
            return re.findall(r"INVITE sip:.*?\n\n", f.read(), re.S)

    def state(self, name):
        code, reply = self.engine.ctl("agent", "show", name, json_output=True)
        self.assertEqual(code, 0, reply)
        return reply["data"][0]["state"]

    def wait_state(self, name, state, timeout=10):
        deadline = time.time() + timeout
        while self.state(name) != state and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.state(name), state, self.engine.read_log())

    # --- tests ---

    def test_strategies(self):
        members = "members = { 'a order=1 weight=1000000', 'b order=2', 'c order=3' }"
        self.start([(n, None, "login = true") for n in "abc"],
                   ["{ name = '%s', strategy = '%s', ring_timeout = 5, %s }" % (s, s, members) for s in STRATEGIES])
        for s in STRATEGIES:
            with self.subTest(strategy=s):
                # least-talk-time: the second call is the shortest, so its agent has the least talk
                talks = [1200, 600, 900, 600] if s == "least-talk-time" else [600] * 4
                for i, talk in enumerate(talks):
                    self.call(s, "%s-%d" % (s, i), talk_ms=talk)
                    for n in "abc":
                        self.wait_state(n, "available")
                got = self.offers(s)
                self.assertEqual(len(got), 4, self.rows())
                if s in ("linear", "ring-progressively", "weighted-random"):
                    # the first member in order answers at once every time; weighted: a
                    # has a million times b's and c's weight
                    self.assertEqual(got, ["a", "a", "a", "a"])
                elif s == "round-robin":
                    self.assertEqual(got, ["a", "b", "c", "a"])
                elif s == "random":
                    self.assertTrue(set(got) <= {"a", "b", "c"}, got)
                else:
                    # each call makes its agent the least idle, the most recently
                    # offered, with the most calls or talk: the next caller goes to
                    # another agent until all three had one
                    self.assertEqual(sorted(got[:3]), ["a", "b", "c"], got)
                    self.assertEqual(got[3], got[1] if s == "least-talk-time" else got[0], got)
        # what the agents' phones saw is what the queue log says
        offers = [r["agent"] for r in self.rows() if r["event"] == "OFFER"]
        for n in "abc":
            self.assertEqual(len(self.invites(n)), offers.count(n), self.engine.read_log())

    def test_skills_and_priority(self):
        self.start([("a", None, "login = true, skills = 'sales:2'"), ("b", None, "login = true, skills = 'sales:8'"),
                    ("c", None, "")],
                   ["{ name = 'skilled', strategy = 'skills', members = { 'a', 'b' } }",
                    "{ name = 'line', strategy = 'linear', members = { 'c' } }"])
        self.call("skilled", "needs-sales", prefix="sales")
        self.assertEqual(self.offers("skilled"), ["b"])
        # nobody staffs 'line' yet: a caller, then a VIP; once c logs in the VIP goes first
        plain = self.caller("qline", "plain", talk_ms=2500)
        self.rows(1, event="ENTER", queue="line")
        vip = self.caller("vipline", "vip", talk_ms=2500)
        enters = self.rows(2, event="ENTER", queue="line")
        self.assertEqual(enters[1]["position"], 1)  # the VIP is ahead on entry
        self.assertEqual(self.engine.ctl("agent", "login", "c")[0], 0)
        first = self.rows(1, event="OFFER", queue="line")[0]
        self.assertEqual(first["call_id"], enters[1]["call_id"])
        self.wait_sipp(vip, "vip")
        self.wait_sipp(plain, "plain")

    def test_tiers_and_relaxed_skills(self):
        self.start([("a", None, ""), ("b", None, "login = true, skills = 'sales:3'")],
                   ["{ name = 'tiered', strategy = 'linear', tier_wait = 1.5, members = { 'a', 'b tier=2' } }",
                    "{ name = 'skilled', strategy = 'skills', relax = { '1:2' }, members = { 'b' } }"])
        # a (tier 1) is logged out: b (tier 2) is offered the caller only after tier_wait
        self.call("tiered", "tiered", talk_ms=2500)
        connect = self.rows(1, event="CONNECT", queue="tiered")[0]
        self.assertEqual(connect["agent"], "b")
        self.assertGreaterEqual(connect["wait_ms"], 1500)
        # the caller needs sales:5, b has 3: after a second the need drops by 2 and b takes it
        self.call("skilled", "skilled", talk_ms=2500, prefix="sales")
        connect = self.rows(1, event="CONNECT", queue="skilled")[0]
        self.assertEqual(connect["agent"], "b")
        self.assertGreaterEqual(connect["wait_ms"], 1000)

    def test_ring_all(self):
        self.start([("a", None, "login = true"), ("b", "uas_ring_cancel.xml", "login = true"),
                    ("c", "uas_ring_cancel.xml", "login = true")],
                   ["{ name = 'all', strategy = 'ring-all', members = { 'a', 'b', 'c' } }"])
        self.call("all", "caller")
        self.assertEqual(sorted(self.offers("all")), ["a", "b", "c"])
        connect = self.rows(1, event="CONNECT", queue="all")
        self.assertEqual([r["agent"] for r in connect], ["a"])
        for n in "bc":
            p, _ = self.agents[n]
            code, story = self.wait_sipp(p, "agent-" + n)  # each got its CANCEL and ended its one call
        for n in "abc":
            self.wait_state(n, "available")

    def test_caller_hangs_up_while_agent_rings(self):
        self.start([("a", "uas_ring_cancel.xml", "login = true")],
                   ["{ name = 'sales', strategy = 'linear', ring_timeout = 30, members = { 'a' } }"])
        self.call("sales", "caller", talk_ms=1000)
        abandon = self.rows(1, event="ABANDON")[0]
        self.assertEqual(abandon["position"], 1)
        self.assertGreaterEqual(abandon["wait_ms"], 900)
        p, _ = self.agents["a"]
        code, story = self.wait_sipp(p, "agent-a")
        self.assertEqual(code, 0, story)  # it got the CANCEL
        self.wait_state("a", "available")

    def test_no_answer_next_agent_and_auto_pause(self):
        self.start([("a", "uas_ring_cancel.xml", "login = true"), ("b", None, "login = true")],
                   ["{ name = 'sales', strategy = 'linear', ring_timeout = 1, auto_pause_after = 1, "
                    "members = { 'a order=1', 'b order=2' } }"])
        self.call("sales", "caller", talk_ms=2500)
        events = [(r["event"], r["agent"]) for r in self.rows(6) if r["queue"] == "sales"]
        self.assertEqual(events[:5], [("ENTER", ""), ("OFFER", "a"), ("NOANSWER", "a"), ("OFFER", "b"),
                                      ("CONNECT", "b")], self.rows())
        self.wait_state("a", "paused")
        code, reply = self.engine.ctl("agent", "show", "a", json_output=True)
        self.assertEqual(reply["data"][0]["pause_reason"], "auto: 1 unanswered")
        self.assertEqual(self.rows(1, event="COMPLETECALLER")[0]["agent"], "b")

    def test_timeout_goes_on_in_the_dialplan(self):
        self.start([("a", None, "")],
                   ["{ name = 'night', strategy = 'linear', max_wait = 1, members = { 'a' } }"])
        self.call("night", "caller", scenario="uac_expect_bye.xml")
        self.assertIn("queue night returned timeout nil", self.engine.read_log())
        row = self.rows(1, event="EXITWITHTIMEOUT")[0]
        self.assertGreaterEqual(row["wait_ms"], 1000)

    def test_refused_at_entry(self):
        self.start([("a", None, "")],
                   ["{ name = 'closed', strategy = 'linear', join_when_empty = 'none-logged-in', members = { 'a' } }",
                    "{ name = 'small', strategy = 'linear', max_callers = 1, members = { 'a' } }"])
        self.call("closed", "closed", scenario="uac_expect_bye.xml")
        self.assertIn("queue closed returned joinempty nil", self.engine.read_log())
        first = self.caller("qsmall", "first", talk_ms=3000)
        self.rows(1, event="ENTER")
        self.call("small", "second", scenario="uac_expect_bye.xml")
        self.assertIn("queue small returned full nil", self.engine.read_log())
        self.wait_sipp(first, "first")

    def test_wrapup_respected(self):
        self.start([("a", None, "login = true")],
                   ["{ name = 'support', strategy = 'linear', wrapup = 2, members = { 'a' } }"])
        self.call("support", "one", talk_ms=500)
        self.call("support", "two", talk_ms=3500)
        rows = self.rows()
        done = [r for r in rows if r["event"] == "COMPLETECALLER"][0]
        second_offer = [r for r in rows if r["event"] == "OFFER"][1]
        gap = iso_ms(second_offer["time"]) - iso_ms(done["time"])
        self.assertGreaterEqual(gap, 1900, rows)

    def test_data_travels_to_the_agent(self):
        self.start([("a", None, "login = true")],
                   ["{ name = 'billing', strategy = 'linear', members = { 'a' } }"])
        events = subprocess.Popen([harness.BIN, "ctl", "-s", self.engine.socket, "--json", "events", "custom"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)  # subscribed before the call
            p = self.sipp(["-sn", "uac", "-s", "databilling", "-d", "800", "127.0.0.1:%d" % self.engine.sip_port],
                          "caller")
            code, story = self.wait_sipp(p, "caller")
            self.assertEqual(code, 0, story)
            offer = None
            while offer is None:
                line = events.stdout.readline()
                self.assertTrue(line, "no queue_offer event\n" + self.engine.read_log())
                ev = json.loads(line)
                if ev.get("type") == "queue_offer":
                    offer = ev
        finally:
            events.terminate()
            events.wait()
            events.stdout.close()
        # what the IVR collected, for the agent's screen
        self.assertEqual((offer["queue"], offer["agent"], offer["X-Account"]), ("billing", "a", "4711"), offer)
        self.assertTrue(offer.get("call_id"), offer)
        invite = self.invites("a")[0]
        self.assertRegex(invite, r"(?m)^X-Account: 4711$")
        self.assertRegex(invite, r"(?m)^X-Tandem-Queue: billing$")
        self.assertRegex(invite, r"(?m)^X-Tandem-Queue-Wait: \d+$")
        rows = [r for r in self.rows(4) if r.get("caller")]
        call_ids = {r.get("call_id") for r in rows}
        self.assertEqual(len(call_ids), 1, rows)
        self.assertTrue(call_ids.pop())

    def rtp_out(self, call_id, side):
        """Packets the engine sent to one side of call `call_id` ("far end
        hung up": the caller here; "engine hangs up": the agent)."""
        m = re.search(r"\[%s\] sip: %s.*RTP in \d+, out (\d+)" % (re.escape(call_id), side), self.engine.read_log())
        self.assertTrue(m, self.engine.read_log())
        return int(m.group(1))

    def test_music_and_announcements(self):
        self.start([("a", None, "")],
                   ["{ name = 'music', strategy = 'linear', members = { 'a' } }",
                    "{ name = 'spoken', strategy = 'linear', moh = '', announce_every = 1, "
                    "announce = { 'en/please-hold' }, members = { 'a' } }",
                    "{ name = 'silent', strategy = 'linear', moh = '', members = { 'a' } }"],
                   modules=("sip", "moh", "queue"))
        sent = {}
        for q in ("music", "spoken", "silent"):
            self.call(q, q, talk_ms=2200)  # nobody logged in: the caller waits, then hangs up
            call_id = self.rows(1, event="ABANDON", queue=q)[0]["call_id"]
            self.assertTrue(self.engine.wait_log("[%s] sip: far end hung up" % call_id))
            sent[q] = self.rtp_out(call_id, "far end hung up")
        # 2.2 s of music is about 110 packets; "please hold" and "you are caller
        # number one" after a second are fewer; with neither the caller hears nothing
        self.assertGreater(sent["music"], 80, sent)
        self.assertGreater(sent["spoken"], 20, sent)
        self.assertEqual(sent["silent"], 0, sent)
        self.assertNotIn("no music-on-hold stream", self.engine.read_log())

    def test_whisper_to_the_agent(self):
        self.start([("a", None, "login = true")],
                   ["{ name = 'told', strategy = 'linear', moh = '', whisper = { 'en/please-hold', 'number:{wait}' }, "
                    "members = { 'a' } }",
                    "{ name = 'plain', strategy = 'linear', moh = '', members = { 'a' } }"])
        sent = {}
        for q in ("told", "plain"):
            self.call(q, q, talk_ms=2500)
            call_id = self.rows(1, event="CONNECT", queue=q)[0]["call_id"]
            self.assertTrue(self.engine.wait_log("[%s] sip: engine hangs up" % call_id))
            sent[q] = self.rtp_out(call_id, "engine hangs up")
        # SIPp callers send no audio: what the agent got is the whisper
        self.assertGreater(sent["told"], 20, sent)
        self.assertEqual(sent["plain"], 0, sent)

    def test_agent_hangs_up_during_the_whisper(self):
        self.start([("a", "uas_answer_hangup.xml", "login = true")],  # hangs up a second after answering
                   ["{ name = 'told', strategy = 'linear', moh = '', "
                    "whisper = { 'en/please-hold', 'en/please-hold', 'en/please-hold' }, members = { 'a' } }"])
        self.call("told", "caller", scenario="uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("queue told returned completed a"))
        self.assertEqual([r["event"] for r in self.rows(4, queue="told")][-2:], ["CONNECT", "COMPLETEAGENT"])
        self.wait_state("a", "available")

    def test_exit_key(self):
        self.start([("a", None, "")],
                   ["{ name = 'keys', strategy = 'linear', exit_keys = '1', members = { 'a' } }"])
        self.call("keys", "caller", scenario="uac_dtmf.xml")
        self.assertTrue(self.engine.wait_log("queue keys returned exitkey 1"))
        self.assertEqual(len(self.rows(1, event="EXITWITHKEY", queue="keys")), 1)

    def test_agent_with_two_phones(self):
        desk = self.agent("desk", "uas_ring_cancel.xml", calls=1)
        mobile = self.agent("mobile", calls=1)
        self.start([], ["{ name = 'sales', strategy = 'linear', members = { 'a' } }"],
                   more_agents=["{ name = 'a', login = true, contact = { 'sip/desk@127.0.0.1:%d', "
                                "'sip/mobile@127.0.0.1:%d' } }" % (desk, mobile)])
        self.call("sales", "caller")
        # both rang; the mobile answered and the desk phone got its CANCEL
        self.assertEqual(len(self.invites("desk")), 1)
        self.assertEqual(len(self.invites("mobile")), 1)
        for phone in ("desk", "mobile"):
            p, _ = self.agents[phone]
            code, story = self.wait_sipp(p, "agent-" + phone)
            self.assertEqual(code, 0, story)
        self.assertEqual([r["agent"] for r in self.rows(1, event="CONNECT")], ["a"])
        code, reply = self.engine.ctl("agent", "show", "a", json_output=True)
        self.assertEqual(reply["data"][0]["contact"], "sip/desk@127.0.0.1:%d, sip/mobile@127.0.0.1:%d" % (desk, mobile))

    def test_transfer_by_the_agent(self):
        self.start([("a", "uas_refer.xml", "login = true", ("-key", "refer_to", "target"))],
                   ["{ name = 'sales', strategy = 'linear', members = { 'a' } }"])
        self.call("sales", "caller", scenario="uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("transferred to target"))
        p, _ = self.agents["a"]
        code, story = self.wait_sipp(p, "agent-a")
        self.assertEqual(code, 0, story)  # REFER accepted, then the engine's BYE to the transferor
        ends = [r for r in self.rows(1, event="TRANSFER") if r["queue"] == "sales"]
        self.assertEqual([(r["agent"], r["event"]) for r in ends], [("a", "TRANSFER")])
        self.assertGreaterEqual(ends[0]["talk_ms"], 700)  # the scenario talks 800 ms before its REFER
        self.assertFalse([r for r in self.rows() if r["event"].startswith("COMPLETE")], self.rows())
        self.wait_state("a", "available")

    def callback_queue(self, customer_scenario, calls, more=""):
        customer = self.agent("customer", customer_scenario, calls=calls)
        self.start([("a", None, "")],
                   ["{ name = 'cb', strategy = 'linear', callback_key = '1', callback_retry = 1, "
                    "callback_dial = 'sip/{number}@127.0.0.1:%d'%s, members = { 'a' } }" % (customer, more)])
        self.call("cb", "caller", scenario="uac_dtmf.xml")  # presses 1 while nobody is logged in
        self.assertTrue(self.engine.wait_log("queue cb returned callback nil"))
        self.assertTrue(self.engine.wait_log("callback queued 1"), self.engine.read_log())
        rows = self.rows(3, queue="cb")
        self.assertEqual([r["event"] for r in rows[:3]], ["ENTER", "CALLBACK", "ENTER"], rows)
        self.assertEqual(rows[2]["call_id"], rows[0]["call_id"])  # the callback is the caller's call
        self.assertEqual(self.engine.ctl("agent", "login", "a")[0], 0)
        return rows[0]["call_id"]

    def test_callback(self):
        call_id = self.callback_queue("uas_answer_hangup.xml", 1)
        done = self.rows(1, event="CALLBACKDONE", timeout=20)[0]
        self.assertEqual((done["outcome"], done["attempts"], done["agent"], done["call_id"]),
                         ("completed", 1, "a", call_id))
        events = [r["event"] for r in self.rows(queue="cb")]
        self.assertEqual(events[3:], ["OFFER", "CONNECT", "COMPLETECALLER", "CALLBACKDONE"], events)
        self.assertTrue(self.engine.wait_log("callback to 5551234 for a"))
        self.assertTrue(self.engine.wait_log("callback run completed"))
        p, _ = self.agents["customer"]
        code, story = self.wait_sipp(p, "agent-customer")
        self.assertEqual(code, 0, story)
        self.assertRegex(self.invites("customer")[0], r"(?m)^X-Tandem-Callback: cb$")
        self.wait_state("a", "available")

    def test_callback_retries_then_gives_up(self):
        self.callback_queue("uas_busy.xml", 2, ", callback_attempts = 2")
        done = self.rows(1, event="CALLBACKDONE", timeout=20)[0]
        self.assertEqual((done["outcome"], done["attempts"]), ("failed", 2))
        events = [r["event"] for r in self.rows(queue="cb")]
        self.assertEqual(events[3:], ["OFFER", "CONNECT", "CALLBACKFAILED", "ENTER", "OFFER", "CONNECT",
                                      "CALLBACKFAILED", "CALLBACKDONE"], events)
        self.assertEqual(len(self.invites("customer")), 2)
        self.wait_state("a", "available")

    def test_statistics_match_the_calls(self):
        self.start([("a", None, "login = true")],
                   ["{ name = 'support', strategy = 'linear', max_wait = 30, members = { 'a' } }"])
        self.call("support", "one", talk_ms=500)
        self.assertEqual(self.engine.ctl("agent", "logout", "a")[0], 0)
        self.call("support", "two", talk_ms=500)  # nobody to answer: hangs up waiting
        self.rows(1, event="ABANDON")
        code, reply = self.engine.ctl("queue", "show", "support", json_output=True)
        stats = reply["data"][0]["stats"]["15m"]
        self.assertEqual((stats["offered"], stats["answered"], stats["abandoned"]), (2, 1, 1), stats)
        self.assertLess(stats["asa_s"], 2)
        # the ACD thread's own account: one offer (one decision), and its
        # busy time split between deciding and telling (rows, events, posts)
        code, reply = self.engine.ctl("queue", "acd", json_output=True)
        self.assertEqual(code, 0, reply)
        work = reply["data"]
        self.assertEqual(work["offers"], len([r for r in self.rows() if r["event"] == "OFFER"]), work)
        self.assertGreaterEqual(work["tasks"], 4, work)  # two entries, the answer, the hang-ups
        self.assertGreater(work["output_us"], 0, work)   # it wrote rows
        self.assertGreaterEqual(work["deciding_us"], 0, work)
        self.assertAlmostEqual(work["busy_us"], work["deciding_us"] + work["output_us"], delta=1)
        code, out = self.engine.ctl("queue", "acd")
        self.assertRegex(out, r"^ACD thread: 1 offers, \d+ tasks, busy [0-9.]+ s: ")


def iso_ms(text):
    """Milliseconds of an ISO-8601 UTC time such as 2026-11-23T22:11:56.170735Z."""
    from datetime import datetime
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000


if __name__ == "__main__":
    unittest.main()
