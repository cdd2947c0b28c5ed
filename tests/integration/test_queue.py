#!/usr/bin/env python3
"""The queue module on a running engine: its configuration, agents' states
changed from the console, the queue log those changes write, the Erlang C
forecast, and a reload that changes queues without a restart.

  test_show                       queues, strategies and members as configured; a
                                  `login = true` agent is available, the others logged out
  test_agent_states_and_queue_log login, pause with a reason, unpause, logout from the
                                  console: each state shows, and queue_log.jsonl gets
                                  LOGIN, PAUSE (with the reason), UNPAUSE, LOGOUT in order
  test_forecast                   200 calls/h, AHT 180 s, 80/20 needs 14 agents (10 Erlangs);
                                  the queue's own threshold by default; bad input refused
  test_reload                     a new member and strategy by `reload` + `module reload queue`; the
                                  states of agents already logged in are kept
  test_bad_config                 an unknown strategy or member: the module refuses to load
                                  and the log names the key
  test_feature_codes              SIPp calls feature codes whose dialplan calls
                                  agent_login / agent_pause / agent_state / agent_logout: the
                                  agent's state follows, each call logs the state returned,
                                  and an unknown agent gives nil and a reason
  test_agent_state_events         every change is an agent_state event (tandem ctl events)
  test_queue_stats_events         stats_interval = 1: each queue's queue_stats event once a second
  test_members_from_console       queue add-member / remove-member; unknown names refused
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

AGENTS = """agents = {
    { name = "alice", contact = "sip/1001", skills = "sales:5, english:3", login = true },
    { name = "bob", contact = "sip/1002" },
    { name = "carol", contact = "sip/1003", capacity = 2.0 },
  },"""

QUEUES = """queues = {
    { name = "support", strategy = "longest-idle", service_level = 30, members = { "alice", "bob tier=2" } },
    { name = "sales", strategy = "skills", relax = { "30:1", "60:2" }, members = { "alice order=1" } },
  },"""


class QueueModule(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-queue-")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write("return { contexts = { default = { ['_.'] = function(call) call:hangup() end } } }\n")
        self.engine = None

    def tearDown(self):
        if self.engine:
            harness.end_engine(self, self.engine)
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, agents=AGENTS, queues=QUEUES, extra=""):
        with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
            f.write("return { modules = { 'queue' }, workers = 1, shutdown_grace = 1,\n"
                    "  module_config = { queue = {\n  %s\n  %s\n  %s\n} } }\n" % (agents, queues, extra))

    def start(self, **kw):  # write()'s arguments
        self.write(**kw)
        self.engine = harness.Instance(os.path.join(self.dir, "tandem.lua")).start()
        return self.engine

    def show(self):
        code, reply = self.engine.ctl("queue", "show", json_output=True)
        self.assertEqual(code, 0, reply)
        return {q["name"]: q for q in reply["data"]}

    def agent(self, name):
        code, reply = self.engine.ctl("agent", "show", name, json_output=True)
        self.assertEqual(code, 0, reply)
        return reply["data"][0]

    def queue_log(self, want, timeout=10):
        """queue_log.jsonl's rows once `want` of them are there."""
        path = os.path.join(self.engine.tmp, "data", "records", "queue_log.jsonl")
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    rows = [json.loads(line) for line in f if line.strip()]
                if len(rows) >= want:
                    return rows
            time.sleep(0.05)
        self.fail("queue_log.jsonl has %d rows, not %d:\n%s\n%s" % (len(rows), want, rows, self.engine.read_log()))

    def test_show(self):
        self.start()
        self.assertIn("queue: 2 queue(s), 3 agent(s)", self.engine.read_log())
        queues = self.show()
        self.assertEqual(sorted(queues), ["sales", "support"])
        support = queues["support"]
        self.assertEqual(support["strategy"], "longest-idle")
        self.assertEqual(support["waiting"], 0)
        self.assertEqual([(m["agent"], m["state"], m["tier"]) for m in support["members"]],
                         [("alice", "available", 1), ("bob", "logged-out", 2)])
        self.assertEqual(support["agents"]["available"], 1)
        self.assertEqual(support["agents"]["logged-out"], 1)
        self.assertEqual(queues["sales"]["strategy"], "skills")
        # live statistics: nobody has called yet; alice is staffed, none needed
        self.assertEqual(sorted(support["stats"]), ["15m", "1h", "today"])
        self.assertEqual(support["stats"]["1h"], {"offered": 0, "answered": 0, "abandoned": 0, "timed_out": 0,
                                                 "service_level": 1.0, "asa_s": 0.0, "talk_s": 0.0, "aht_s": 0.0})
        self.assertEqual((support["staffed"], support["needed"]), (1, 0))
        alice = self.agent("alice")
        self.assertEqual((alice["contact"], alice["skills"], alice["queues"]),
                         ("sip/1001", "sales:5,english:3", ["support", "sales"]))
        self.assertEqual(alice["stats"]["today"], {"answered": 0, "missed": 0, "talk_s": 0.0})
        code, out = self.engine.ctl("queue", "show", "nosuch")
        self.assertNotEqual(code, 0)
        self.assertIn("no queue named 'nosuch'", out)

    def test_agent_states_and_queue_log(self):
        self.start()
        steps = (("login", (), "available", ""), ("pause", ("lunch", "break"), "paused", "lunch break"),
                 ("unpause", (), "available", ""), ("logout", (), "logged-out", ""))
        for action, extra, state, reason in steps:
            code, out = self.engine.ctl("agent", action, "bob", *extra)
            self.assertEqual(code, 0, out)
            bob = self.agent("bob")
            self.assertEqual((bob["state"], bob["pause_reason"]), (state, reason), action)
        rows = [r for r in self.queue_log(5) if r["agent"] == "bob"]
        self.assertEqual([r["event"] for r in rows], ["LOGIN", "PAUSE", "UNPAUSE", "LOGOUT"])
        self.assertEqual(rows[1]["reason"], "lunch break")
        self.assertTrue(all(r["kind"] == "queue_log" and r["id"] and r["time"] for r in rows), rows)
        code, out = self.engine.ctl("agent", "login", "nobody")
        self.assertNotEqual(code, 0)
        self.assertIn("no agent named 'nobody'", out)

    def test_forecast(self):
        self.start()
        code, reply = self.engine.ctl("queue", "forecast", "support", "--calls-per-hour", "200", "--aht", "180",
                                      "--sl", "80/20", json_output=True)
        self.assertEqual(code, 0, reply)
        f = reply["data"]
        self.assertEqual(f["agents_needed"], 14)
        self.assertAlmostEqual(f["traffic_erlangs"], 10.0)
        self.assertGreaterEqual(f["service_level"], 0.8)
        self.assertEqual(f["staffed"], 1)  # alice
        code, text = self.engine.ctl("queue", "forecast", "support", "--calls-per-hour", "200", "--aht", "180")
        self.assertEqual(code, 0, text)
        self.assertIn("for 80% answered within 30 s", text)  # the queue's service_level
        for bad in (("--sl", "120/20"), ("--aht", "0"), ("--calls-per-hour",)):
            code, out = self.engine.ctl("queue", "forecast", "support", "--calls-per-hour", "200", "--aht", "180", *bad)
            self.assertNotEqual(code, 0, bad)
            self.assertIn("queue forecast:", out)

    def test_reload(self):
        self.start()
        self.engine.ctl("agent", "pause", "alice", "training")
        self.write(queues=QUEUES.replace('"longest-idle", service_level = 30, members = { "alice", "bob tier=2" }',
                                         '"round-robin", members = { "alice", "bob tier=2", "carol order=3" }'))
        for command in (("reload",), ("module", "reload", "queue")):  # tandem.lua, then the module
            code, out = self.engine.ctl(*command)
            self.assertEqual(code, 0, out)
        support = self.show()["support"]
        self.assertEqual(support["strategy"], "round-robin")
        self.assertEqual([m["agent"] for m in support["members"]], ["alice", "bob", "carol"])
        alice = self.agent("alice")
        self.assertEqual((alice["state"], alice["pause_reason"]), ("paused", "training"))

    def custom_events(self, kind, count, act=lambda: None, timeout=10):
        """The first `count` custom events of type `kind` after `act()`."""
        events = subprocess.Popen([harness.BIN, "ctl", "-s", self.engine.socket, "--json", "events", "custom"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            lines = []
            threading.Thread(target=lambda: lines.extend(events.stdout), daemon=True).start()
            time.sleep(0.3)  # subscribed
            act()
            deadline = time.time() + timeout
            seen = []
            while len(seen) < count and time.time() < deadline:
                time.sleep(0.05)
                seen = [e for e in map(json.loads, list(lines)) if e.get("type") == kind]
            return seen[:count]
        finally:
            events.kill()
            events.wait()
            events.stdout.close()

    def test_agent_state_events(self):
        self.start()
        seen = self.custom_events("agent_state", 2, lambda: (self.engine.ctl("agent", "login", "bob"),
                                                             self.engine.ctl("agent", "pause", "bob", "meeting")))
        self.assertEqual([(e["agent"], e["from"], e["state"], e["reason"], e["module"]) for e in seen],
                         [("bob", "logged-out", "available", "login", "queue"),
                          ("bob", "available", "paused", "meeting", "queue")])
        self.assertTrue(all(e["ts_us"] > 0 for e in seen), seen)

    def test_queue_stats_events(self):
        self.start(extra="stats_interval = 1,")
        seen = self.custom_events("queue_stats", 4)
        by_queue = {e["queue"]: e for e in seen}
        self.assertEqual(sorted(by_queue), ["sales", "support"])
        support = by_queue["support"]
        self.assertEqual((support["waiting"], support["staffed"], support["available"], support["offered_15m"],
                          support["service_level_15m"]), ("0", "1", "1", "0", "1.0000"))
        # once a second, not more
        self.assertEqual(len([e for e in seen if e["queue"] == "support"]), 2)
        stamps = [e["ts_us"] for e in seen if e["queue"] == "support"]
        self.assertGreater(stamps[1] - stamps[0], 900000)

    def test_members_from_console(self):
        self.start()
        code, out = self.engine.ctl("queue", "add-member", "support", "carol", "tier=3")
        self.assertEqual(code, 0, out)
        self.assertIn("carol logged-out (tier 3)", out)
        code, out = self.engine.ctl("queue", "remove-member", "support", "bob")
        self.assertEqual(code, 0, out)
        self.assertEqual([m["agent"] for m in self.show()["support"]["members"]], ["alice", "carol"])
        for args, says in ((("support", "zed"), "no agent named 'zed'"), (("nosuch", "bob"), "no queue named 'nosuch'"),
                           (("support", "bob", "tier=12"), "usage: queue add-member")):
            code, out = self.engine.ctl("queue", "add-member", *args)
            self.assertNotEqual(code, 0, args)
            self.assertIn(says, out)

    def test_bad_config(self):
        for queues, says in (('queues = { { name = "q", strategy = "fastest" } },',
                              "queues[1].strategy: 'fastest' is not one of"),
                             ('queues = { { name = "q", members = { "zed" } } },',
                              "queues[1].members: 'zed' is not in agents"),
                             ('queues = { { name = "q", ring_timeout = "soon" } },',
                              "queues[1].ring_timeout: must be seconds")):
            with self.subTest(says=says):
                self.start(queues=queues)
                self.assertTrue(self.engine.wait_log("module queue: load() failed"), self.engine.read_log())
                self.assertIn(says, self.engine.read_log())
                harness.end_engine(self, self.engine)
                self.engine = None


FEATURE_DIALPLAN = """
local function report(call, what, state, err)
  call:log(what .. ": " .. tostring(state) .. (err and (" " .. err) or ""))
  call:answer()
  call:hangup()
end
return { contexts = { default = {
  ["*701"] = function(call) report(call, "login", call:agent_login("bob")) end,
  ["*702"] = function(call) report(call, "pause", call:agent_pause("bob", "coffee")) end,
  ["*703"] = function(call) report(call, "state", call:agent_state("bob")) end,
  ["*704"] = function(call) report(call, "logout", call:agent_logout("bob")) end,
  ["*709"] = function(call) report(call, "nobody", call:agent_login("nobody")) end,
} } }
"""


@unittest.skipUnless(shutil.which("sipp"), "sipp (package sip-tester) is not installed")
class FeatureCodes(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-queue-fc-")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(FEATURE_DIALPLAN)
        config = "queue = { %s %s }," % (AGENTS, QUEUES)
        self.engine = harness.start_listening(
            self, lambda: harness.sip_instance(self.dir, modules=("sip", "queue"), module_config=config))

    def tearDown(self):
        harness.end_engine(self, self.engine, self.dir)

    def dial(self, code):
        """One SIPp call to `code`; returns SIPp's exit status and stderr."""
        p = subprocess.run(["sipp", "-sn", "uac", "-s", code, "-m", "1", "-i", "127.0.0.1",
                            "-p", str(harness.free_port()), "-timeout", "15", "-timeout_error", "-nostdin",
                            "127.0.0.1:%d" % self.engine.sip_port],
                           cwd=self.dir, capture_output=True, text=True, timeout=30)
        return p.returncode, p.stderr

    def state(self):
        code, reply = self.engine.ctl("agent", "show", "bob", json_output=True)
        return reply["data"][0]["state"], reply["data"][0]["pause_reason"]

    def test_feature_codes(self):
        for code, logged, state in (("*701", "login: available", ("available", "")),
                                    ("*702", "pause: paused", ("paused", "coffee")),
                                    ("*703", "state: paused", ("paused", "coffee")),
                                    ("*704", "logout: logged-out", ("logged-out", "coffee"))):
            # SIPp's uac scenario wants the call answered, and the dialplan
            # hangs up at once: its BYE makes SIPp's exit code non-zero
            self.dial(code)
            self.assertTrue(self.engine.wait_log(logged), self.engine.read_log())
            self.assertEqual(self.state(), state, code)
        self.dial("*709")
        self.assertTrue(self.engine.wait_log("nobody: nil no agent named 'nobody'"), self.engine.read_log())


if __name__ == "__main__":
    unittest.main()
