#!/usr/bin/env python3
"""A soak of the queue module without SIP: callers and agents' phones are
local channels whose dialplan behaves at random, callers arrive at random
into two queues that share agents, and the console pauses, unpauses, logs
out and logs in agents at random meanwhile. Afterwards the queue log, the
engine's log and the agents' states must keep the module's invariants.

  test_random_callers_and_agents
        for TANDEM_SOAK_SECONDS (default 45) seconds: callers arrive into
        `sales` (round-robin) and `support` (longest-idle, tiers, max_wait)
        about every 0.3 s, each hanging up after a random patience; each
        offer rings a local "phone" that answers after a while and talks,
        never answers, is busy, or answers and hangs up at once. Then every
        agent is logged in and unpaused and the engine must come quiet, and:
        every caller who entered has exactly one final row, after its ENTER;
        a CONNECT belongs to a caller who entered, once, and ends in
        COMPLETECALLER/COMPLETEAGENT; every end of an offer follows its
        OFFER; an agent never has two calls at once; what call:queue
        returned agrees with the final row; each agent's LOGIN, LOGOUT,
        PAUSE and UNPAUSE rows are those the console's actions call for; no
        agent is left reserved, on-call or in wrap-up; no error in the
        engine's log; and calls connected, abandoned and met busy or
        unanswered phones (runs of 20 s or more).

TANDEM_SOAK_KEEP=DIR keeps the engine's log and queue_log.jsonl there.
TANDEM_SOAK_SEED reproduces a run: the seed drives the Python side (arrival
times, queues, patience, console actions) and seeds the dialplan's Lua
random numbers (the agents' phones). Thread scheduling still varies, so a
failure may need a few runs with its seed; every failure message names it.
"""
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SECONDS = float(os.environ.get("TANDEM_SOAK_SECONDS", "45"))
MEAN_GAP_S = 0.3      # callers arrive this often on average
ACTION_EVERY_S = 2.0  # a console action on an agent about this often
QUIET_TIMEOUT_S = 30  # once arrivals stop, the engine is quiet within this
MAX_WAIT_MS = 4000    # support's max_wait

AGENTS = ["alice", "bob", "carol", "dave", "erin", "frank"]

QUEUES = """queues = {
    { name = 'sales', strategy = 'round-robin', ring_timeout = 2, wrapup = 0, moh = '',
      noanswer_delay = 0.5, busy_delay = 1, reject_delay = 1,
      members = { 'alice', 'bob', 'carol', 'frank' } },
    { name = 'support', strategy = 'longest-idle', ring_timeout = 2, wrapup = 0.5, max_wait = %g, moh = '',
      tier_wait = 1, noanswer_delay = 0.5, busy_delay = 1, reject_delay = 1,
      members = { 'carol', 'dave', 'erin', 'alice tier=2', 'bob tier=2' } },
  },""" % (MAX_WAIT_MS / 1000)

# %(seed)d is the run's seed. `callers`: the person calling, who answers and
# hangs up after the patience in its extension (p<MS>); `inbound`: the
# originated call that waits in the queue its extension names; `agents`: the
# agents' phones, each offer doing one of four things at random.
DIALPLAN = r"""
math.randomseed(%(seed)d)
return { contexts = {
  callers = {
    ['_p.'] = function(call)
      call:answer()
      call:sleep(tonumber(call.exten:sub(2)))
      call:hangup()
    end,
  },
  inbound = {
    ['_.'] = function(call)
      call:log("soak: entering " .. call.exten)
      local status, detail = call:queue(call.exten)
      call:log("soak: queue " .. call.exten .. " returned " .. tostring(status) .. " " .. tostring(detail))
    end,
  },
  agents = {
    ['_agent-.'] = function(call)
      local r = math.random()
      if r < 0.5 then
        local ring, talk = math.random(0, 1500), math.random(300, 2000)
        call:log("soak: phone answers after " .. ring .. " ms, talks " .. talk .. " ms")
        call:sleep(ring)
        call:answer()
        call:sleep(talk)
      elseif r < 0.7 then
        call:log("soak: phone never answers")
        call:sleep(5000)
      elseif r < 0.85 then
        call:log("soak: phone is busy")
        call:hangup("busy")
      else
        call:log("soak: phone answers and hangs up")
        call:answer()
      end
    end,
  },
} }
"""

FINAL = ("COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY")
OFFER_ENDS = ("NOANSWER", "BUSY", "REJECTED", "CONNECT")
BUSY_STATES = ("reserved", "on-call", "wrap-up")

class QueueSoak(unittest.TestCase):
    def setUp(self):
        env_seed = os.environ.get("TANDEM_SOAK_SEED")
        self.seed = int(env_seed) if env_seed else random.randrange(1, 2 ** 31)
        print("\nqueue soak: TANDEM_SOAK_SEED=%d TANDEM_SOAK_SECONDS=%g" % (self.seed, SECONDS), file=sys.stderr)
        self.rng = random.Random(self.seed)
        self.dir = tempfile.mkdtemp(prefix="tandem-qsoak-")
        agents = ", ".join("{ name = '%s', contact = 'local/agent-%s@agents', login = true }" % (a, a)
                           for a in AGENTS)
        with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
            f.write("return { modules = { 'local', 'queue' }, workers = 2, shutdown_grace = 1,\n"
                    "  module_config = { queue = {\n  agents = { %s },\n  %s\n} } }\n" % (agents, QUEUES))
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN % {"seed": self.seed})
        self.engine = harness.Instance(os.path.join(self.dir, "tandem.lua")).start()

    def tearDown(self):
        keep = os.environ.get("TANDEM_SOAK_KEEP")  # a directory: the engine's log and queue log go there
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(self.engine.log_path, os.path.join(keep, "engine.log"))
            qlog = os.path.join(self.engine.tmp, "data", "records", "queue_log.jsonl")
            if os.path.exists(qlog):
                shutil.copy(qlog, os.path.join(keep, "queue_log.jsonl"))
        harness.end_engine(self, self.engine, self.dir)

    # --- helpers ---

    def why(self, what, rows=()):
        """A failure message: the seed to reproduce it, what broke, the rows
        that show it."""
        return "TANDEM_SOAK_SEED=%d TANDEM_SOAK_SECONDS=%g: %s\n%s" % (
            self.seed, SECONDS, what, "\n".join(json.dumps(r, sort_keys=True) for r in rows))

    def ctl_json(self, *args):
        code, reply = self.engine.ctl(*args, json_output=True)
        self.assertEqual(code, 0, self.why("tandem ctl %s: %s" % (" ".join(args), reply)))
        return reply["data"]

    def rows(self):
        path = os.path.join(self.engine.tmp, "data", "records", "queue_log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def busy(self):
        """What still goes on: callers waiting, agents not at rest, calls."""
        left = []
        for q in self.ctl_json("queue", "show"):
            if q["waiting"]:
                left.append("%s: %d waiting" % (q["name"], q["waiting"]))
        for a in self.ctl_json("agent", "show"):
            if a["state"] in BUSY_STATES:
                left.append("%s %s" % (a["name"], a["state"]))
        calls = self.ctl_json("status")["calls"]
        if calls:
            left.append("%d calls" % calls)
        return left

    def wait_quiet(self):
        deadline = time.time() + QUIET_TIMEOUT_S
        left = self.busy()
        while left and time.time() < deadline:
            time.sleep(0.5)
            left = self.busy()
        if left:  # the callers it is about: those without a final row
            rows = self.rows()
            finished = {r.get("caller") for r in rows if r["event"] in FINAL}
            self.fail(self.why("not quiet %d s after the last caller: %s; callers without a final row:"
                               % (QUIET_TIMEOUT_S, left),
                               [r for r in rows if r.get("caller") and r["caller"] not in finished]))
        # the queue log is written through the record spool: wait until it stops growing
        count, stable = -1, 0
        while stable < 3:
            rows = self.rows()
            stable = stable + 1 if len(rows) == count else 0
            count = len(rows)
            time.sleep(0.2)
        return rows

    # --- the soak ---

    def drive(self):
        """Arrivals and console actions for SECONDS; returns the number of
        callers originated and the console actions done."""
        rng = self.rng
        start = time.time()
        next_call = start + rng.expovariate(1 / MEAN_GAP_S)
        next_action = start + rng.uniform(0.5, 2 * ACTION_EVERY_S)
        originated, actions = 0, []
        while True:
            now = time.time()
            if now - start >= SECONDS:
                break
            if now >= next_call:
                queue = rng.choice(["sales", "support"])
                patience = rng.randint(500, 6000)
                code, out = self.engine.ctl("originate", "local/p%d@callers" % patience, queue, "inbound")
                self.assertEqual(code, 0, self.why("originate: %s" % out))
                originated += 1
                next_call += rng.expovariate(1 / MEAN_GAP_S)
            elif now >= next_action:
                agent = rng.choice(AGENTS)
                action = self.pick_action(agent, actions)
                reason = "soak break %d" % len(actions)
                args = ["agent", action, agent] + (reason.split() if action == "pause" else [])
                code, out = self.engine.ctl(*args)
                self.assertEqual(code, 0, self.why("tandem ctl %s: %s" % (" ".join(args), out)))
                actions.append((action, agent, reason))
                next_action += rng.expovariate(1 / ACTION_EVERY_S)
            else:
                time.sleep(max(0.0, min(next_call, next_action, start + SECONDS) - now))
        return originated, actions

    def pick_action(self, agent, actions):
        """Mostly a change that brings `agent` back if it is away (so that
        most agents stay at work) or takes it away if it is not; sometimes
        any action, repeats included."""
        rng = self.rng
        if rng.random() < 0.15:
            return rng.choice(["pause", "unpause", "logout", "login"])
        logged_in, paused = True, False
        for action, name, _ in actions:
            if name == agent:
                logged_in = {"login": True, "logout": False}.get(action, logged_in)
                paused = {"pause": True, "unpause": False}.get(action, paused)
        if not logged_in:
            return "login" if rng.random() < 0.85 else "pause"
        if paused:
            return "unpause" if rng.random() < 0.85 else "logout"
        return "pause" if rng.random() < 0.6 else "logout"

    def test_random_callers_and_agents(self):
        originated, actions = self.drive()
        for agent in AGENTS:  # everyone back at work, so that the line empties
            for action in ("login", "unpause"):
                code, out = self.engine.ctl("agent", action, agent)
                self.assertEqual(code, 0, self.why("tandem ctl agent %s %s: %s" % (action, agent, out)))
                actions.append((action, agent, ""))
        rows = self.wait_quiet()
        log = self.engine.read_log()
        print("queue soak: %d callers originated, %d console actions, %d queue-log rows" %
              (originated, len(actions), len(rows)), file=sys.stderr)
        self.check_rows(rows, originated, log)
        self.check_agent_rows(rows, actions)
        self.check_agents()
        self.check_log(log)

    # --- the invariants ---

    def check_rows(self, rows, originated, log):
        by_caller = {}
        for i, r in enumerate(rows):
            if r.get("caller"):
                by_caller.setdefault(r["caller"], []).append((i, r))
        enters = [r for r in rows if r["event"] == "ENTER"]
        entered = {r["caller"] for r in enters}
        self.assertEqual(len(entered), len(enters), self.why("a caller entered twice", enters))

        # load happened: every originated caller reached its queue (each logs
        # "soak: entering" before call:queue), and each made one ENTER row
        entering = len(re.findall(r"soak: entering ", log))
        self.assertEqual(entering, originated, self.why("%d callers originated, %d reached call:queue"
                                                        % (originated, entering)))
        self.assertEqual(len(enters), entering, self.why("%d ENTER rows for %d callers in call:queue"
                                                         % (len(enters), entering)))
        floor = SECONDS / MEAN_GAP_S / 3  # a third of the arrivals asked for: 50 in 45 s
        self.assertGreater(len(enters), floor, self.why("too few callers: %d" % len(enters)))

        for caller, mine in by_caller.items():
            events = [r["event"] for _, r in mine]
            just_rows = [r for _, r in mine]
            self.assertIn(caller, entered, self.why("rows about caller %s, who never entered" % caller, just_rows))
            self.assertEqual(events[0], "ENTER", self.why("caller %s: a row before its ENTER" % caller, just_rows))
            finals = [e for e in events if e in FINAL]
            self.assertEqual(len(finals), 1, self.why("caller %s: %d final rows" % (caller, len(finals)), just_rows))
            self.assertEqual(events[-1], finals[0], self.why("caller %s: rows after its final row" % caller,
                                                             just_rows))
            connects = [r for r in just_rows if r["event"] == "CONNECT"]
            self.assertLessEqual(len(connects), 1, self.why("caller %s: connected twice" % caller, just_rows))
            if connects:
                self.assertIn(finals[0], ("COMPLETECALLER", "COMPLETEAGENT"),
                              self.why("caller %s: connected, then %s" % (caller, finals[0]), just_rows))
                final_row = just_rows[-1]
                self.assertEqual(final_row["agent"], connects[0]["agent"],
                                 self.why("caller %s: completed with another agent" % caller, just_rows))
            else:
                self.assertNotIn(finals[0], ("COMPLETECALLER", "COMPLETEAGENT"),
                                 self.why("caller %s: completed without a CONNECT" % caller, just_rows))
            # every end of an offer follows an OFFER to that agent
            open_offers = {}
            for r in just_rows:
                if r["event"] == "OFFER":
                    open_offers[r["agent"]] = open_offers.get(r["agent"], 0) + 1
                elif r["event"] in OFFER_ENDS:
                    self.assertGreater(open_offers.get(r["agent"], 0), 0,
                                       self.why("caller %s: %s from %s without an OFFER" % (caller, r["event"],
                                                                                            r["agent"]), just_rows))
                    open_offers[r["agent"]] -= 1
            self.assertTrue(all(r.get("call_id") for r in just_rows),
                            self.why("caller %s: a row without its call_id" % caller, just_rows))
            self.assertEqual(len({r["call_id"] for r in just_rows}), 1,
                             self.why("caller %s: rows of several calls" % caller, just_rows))

        # an agent has one call at a time (capacity 1): CONNECT ... COMPLETE
        talking = {}
        for r in rows:
            if r["event"] == "CONNECT":
                self.assertNotIn(r["agent"], talking, self.why("%s connected to caller %s while on caller %s"
                                                               % (r["agent"], r["caller"], talking.get(r["agent"])),
                                                               by_caller.get(talking.get(r["agent"]), [])))
                talking[r["agent"]] = r["caller"]
            elif r["event"] in ("COMPLETECALLER", "COMPLETEAGENT"):
                self.assertEqual(talking.pop(r["agent"], None), r["caller"],
                                 self.why("%s completed caller %s it was not on" % (r["agent"], r["caller"]), [r]))

        # what call:queue returned agrees with the caller's final row
        final_of = {}
        for r in rows:
            if r["event"] in FINAL:
                final_of[r["call_id"]] = r
        for call_id, status, detail in re.findall(r"\[([^\]\s]+)\] soak: queue \S+ returned (\S+) (\S+)", log):
            r = final_of.get(call_id)
            self.assertIsNotNone(r, self.why("call %s: call:queue returned %s, no final row" % (call_id, status)))
            want = {"completed": ("COMPLETECALLER", "COMPLETEAGENT"), "timeout": ("EXITWITHTIMEOUT",)}.get(status)
            self.assertIsNotNone(want, self.why("call %s: call:queue returned %s %s" % (call_id, status, detail), [r]))
            self.assertIn(r["event"], want, self.why("call %s: call:queue returned %s" % (call_id, status), [r]))
            if status == "completed":
                self.assertEqual(detail, r["agent"], self.why("call %s: returned completed %s" % (call_id, detail),
                                                              [r]))
        # and a caller who timed out saw call:queue return "timeout" (unless it
        # hung up about then: its script may have stopped before the log line)
        patience = {call_id: int(ms) for call_id, ms in
                    re.findall(r"\[([^\]\s]+)\] originate: calling local/p(\d+)@callers", log)}
        returned_timeout = set(re.findall(r"\[([^\]\s]+)\] soak: queue \S+ returned timeout", log))
        unseen = [r for r in rows if r["event"] == "EXITWITHTIMEOUT" and r["call_id"] not in returned_timeout
                  and patience.get(r["call_id"], 0) > MAX_WAIT_MS + 500]
        self.assertEqual(unseen, [], self.why("EXITWITHTIMEOUT, yet call:queue did not return timeout", unseen))

        # the random behaviour really went down every path (in a run of 20 s or more)
        count = {e: len([r for r in rows if r["event"] == e]) for e in
                 ("CONNECT", "ABANDON", "EXITWITHTIMEOUT", "NOANSWER", "BUSY", "COMPLETECALLER", "COMPLETEAGENT")}
        print("queue soak: %s" % count, file=sys.stderr)
        count["NOANSWER+BUSY"] = count["NOANSWER"] + count["BUSY"]
        for e in ("CONNECT", "ABANDON", "NOANSWER+BUSY") if SECONDS >= 20 else ("CONNECT",):
            self.assertGreater(count[e], 0, self.why("no %s row: the soak did not exercise it (%s)" % (e, count)))
        self.assertGreater(count["CONNECT"], len(enters) // 10, self.why("few callers connected: %s" % count))

    def check_agent_rows(self, rows, actions):
        """Each agent's LOGIN/LOGOUT/PAUSE/UNPAUSE rows are what the console
        actions made of it: a row for each change, none for a repeat."""
        want = {a: [("LOGIN", "")] for a in AGENTS}  # login = true
        logged_in, paused = dict.fromkeys(AGENTS, True), dict.fromkeys(AGENTS, False)
        for action, agent, reason in actions:
            if action in ("login", "logout") and logged_in[agent] != (action == "login"):
                logged_in[agent] = action == "login"
                want[agent].append((action.upper(), ""))
            elif action in ("pause", "unpause") and paused[agent] != (action == "pause"):
                paused[agent] = action == "pause"
                want[agent].append((action.upper(), reason if action == "pause" else ""))
        for agent in AGENTS:
            got = [(r["event"], r.get("reason", "")) for r in rows
                   if r["agent"] == agent and r["event"] in ("LOGIN", "LOGOUT", "PAUSE", "UNPAUSE")]
            self.assertEqual(got, want[agent], self.why("agent %s: rows %s after the console's %s" % (
                agent, got, [a for a in actions if a[1] == agent])))

    def check_agents(self):
        for a in self.ctl_json("agent", "show"):
            self.assertEqual(a["state"], "available", self.why("agent %s is %s after the soak" % (a["name"],
                                                                                             a["state"]), [a]))

    def check_log(self, log):
        bad = [line for line in log.splitlines() if re.search(r"Z (error|critical|fatal)\b", line)
               or "queue" in line and re.search(r"Z warning\b", line)
               or re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", line)]
        self.assertEqual(bad, [], self.why("errors in the engine's log"))


if __name__ == "__main__":
    unittest.main()
