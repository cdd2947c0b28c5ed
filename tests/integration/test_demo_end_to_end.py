"""The shipped demo, run by the real binary: the scripted call goes through
the IVR, a transfer, the sales queue ringing two agents and a bridge; the console shows it;
SIGHUP reloads; SIGTERM stops cleanly."""
import json
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class DemoEndToEnd(unittest.TestCase):
    def setUp(self):
        # The demo's SIP listener moves to a free port: tests never take 5060.
        self.engine = harness.start_listening(self, lambda: harness.Instance(
            os.path.join(harness.REPO, "dialplans", "demo", "tandem.lua"), ["--workers", "2"],
            env={"TANDEM_DEMO_SIP_LISTEN": f"sip:127.0.0.1:{harness.free_port()}"}))

    def tearDown(self):
        self.engine.cleanup()

    def test_scripted_call_runs_every_step(self):
        e = self.engine
        self.assertTrue(e.wait_log("menu choice 1"), e.read_log())
        self.assertTrue(e.wait_log("transfer to 200@demo"), e.read_log())
        # the sales queue rings both scripted agents; agent-2 answers and is bridged
        deadline = time.time() + 10
        while not re.search(r"\[queue\] \[\S+\] bridged ", e.read_log()) and time.time() < deadline:
            time.sleep(0.05)
        self.assertRegex(e.read_log(), r"\[queue\] \[\S+\] bridged ")
        # While bridged, the console shows the call and its legs.
        rc, calls = e.ctl("calls", json_output=True)
        self.assertEqual(rc, 0)
        rc, legs = e.ctl("legs", json_output=True)
        self.assertEqual(rc, 0)
        bridged = [leg for leg in legs["data"] if "bridged_to" in leg]
        self.assertTrue(calls["data"], "no calls listed during the scripted call")
        self.assertEqual(len(bridged), 2, json.dumps(legs))
        self.assertTrue(e.wait_log("scripted caller hangs up"), e.read_log())
        self.assertTrue(e.wait_log("caller left after 1"), e.read_log())
        # agent-1 was busy; agent-2 took the call; the queue log says so.
        log = e.read_log()
        self.assertIn("local/agent-1@agents) hung up: user_busy (17)", log)
        with open(os.path.join(e.tmp, "data", "records", "queue_log.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        self.assertIn(("BUSY", "agent-1"), [(r["event"], r["agent"]) for r in rows])
        self.assertIn(("CONNECT", "agent-2"), [(r["event"], r["agent"]) for r in rows])
        # The IVR's prompts are the shipped ones, found and played; the
        # loader decoded the whole shipped set at start.
        self.assertNotIn("play: prompt", log)
        preloaded = re.search(r"preloaded (\d+) prompts", log)
        self.assertTrue(preloaded, log)
        self.assertGreaterEqual(int(preloaded.group(1)), 100)
        # Every call ends, nothing leaks.
        deadline = time.time() + 5
        while time.time() < deadline:
            rc, status = e.ctl("status", json_output=True)
            if status["data"]["calls"] == 0:
                break
            time.sleep(0.1)
        self.assertEqual(status["data"]["calls"], 0)
        self.assertGreaterEqual(status["data"]["calls_total"], 4)

    def test_console_commands(self):
        e = self.engine
        rc, out = e.ctl("modules")
        self.assertEqual(rc, 0)
        self.assertIn("local", out)
        self.assertIn("sip", out)  # the demo's SIP listener came up on its own port
        rc, out = e.ctl("registry", json_output=True)
        codecs = [c["name"] for c in out["data"]["codecs"]]
        self.assertIn("PCMU", codecs)
        self.assertIn("opus", codecs)  # the demo loads the codec modules
        self.assertIn("G722", codecs)
        rc, out = e.ctl("originate", "local/600@demo", "600", "demo")
        self.assertEqual(rc, 0, out)
        call_id = out.split()[-1]
        self.assertTrue(e.wait_log(f"[{call_id}] local/600@demo enters dialplan at 600@demo"), e.read_log())
        rc, out = e.ctl("hangup", call_id)
        self.assertEqual(rc, 0, out)
        rc, out = e.ctl("hangup", "no-such-call")
        self.assertEqual(rc, 1)
        rc, out = e.ctl("module", "unload", "nonexistent")
        self.assertEqual(rc, 1)
        self.assertIn("not loaded", out)
        rc, out = e.ctl("frobnicate")
        self.assertEqual(rc, 1)
        self.assertIn("unknown command", out)

    def test_events_stream_shows_a_call(self):
        import subprocess
        e = self.engine
        stream = subprocess.Popen([harness.BIN, "ctl", "-s", e.socket, "--json", "events", "call_start", "call_end"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)
            rc, out = e.ctl("originate", "local/601@demo", "601", "demo")  # playback ends by itself
            self.assertEqual(rc, 0, out)
            call_id = out.split()[-1]
            seen = []
            deadline = time.time() + 15
            while time.time() < deadline and ("call_end", call_id) not in seen:
                line = stream.stdout.readline()
                if not line:
                    break
                ev = json.loads(line)
                self.assertIn(ev["type"], ("call_start", "call_end"))  # the filter holds
                seen.append((ev["type"], ev.get("call_id")))
            self.assertIn(("call_start", call_id), seen)
            self.assertIn(("call_end", call_id), seen)
        finally:
            stream.terminate()
            stream.wait(5)
        self.assertNotIn("play: prompt", e.read_log())  # 601's shipped prompts were found
        # The engine noticed the console leaving and still answers.
        self.assertEqual(e.ctl("status")[0], 0)

    def test_sighup_reload_and_sigterm_exit(self):
        e = self.engine
        e.signal(signal.SIGHUP)
        self.assertTrue(e.wait_log("reloaded; running calls finish on their old code"), e.read_log())
        self.assertEqual(e.stop(), 0)
        self.assertIn("stopped", e.read_log())
        self.assertFalse(os.path.exists(e.socket), "control socket left behind")

    def test_ctl_without_engine_exits_2(self):
        import subprocess
        p = subprocess.run([harness.BIN, "ctl", "-s", "/nonexistent/ctl.sock", "status"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot reach the engine", p.stderr)


if __name__ == "__main__":
    unittest.main()
