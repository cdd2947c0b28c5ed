"""SIGTERM with calls running: no new calls, a grace period, then the rest
are hung up, records flushed, exit 0. JSON log lines carry the call id."""
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONFIG = "return { modules = { 'local' }, workers = 2, shutdown_grace = 1 }\n"
DIALPLAN = """
return { contexts = { default = {
  ["long"] = function(call)
    call:answer()
    call:on_hangup(function(c) c:log("hook ran for " .. c.call_id) end)
    call:sleep(60000)
  end,
  ["peer"] = function(call) call:answer() call:sleep(60000) end,
} } }
"""


class ShutdownAndLogs(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-shutdown-")
        with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
            f.write(CONFIG)
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        self.engine = harness.Instance(os.path.join(self.dir, "tandem.lua"), ["--log-json"]).start()

    def tearDown(self):
        self.engine.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_sigterm_with_running_calls(self):
        e = self.engine
        rc, out = e.ctl("originate", "local/peer", "long")
        self.assertEqual(rc, 0, out)
        call_id = out.split()[-1]
        self.assertTrue(e.wait_log('"msg":"local/peer enters dialplan at long@default'), e.read_log())
        started = time.time()
        e.signal(signal.SIGTERM)
        # Refuses new calls at once, but the running one goes on for the grace period.
        self.assertTrue(e.wait_log("no new calls; waiting up to 1 s for 2 running calls"), e.read_log())
        rc, out = e.ctl("originate", "local/peer", "long")
        self.assertEqual(rc, 1)
        self.assertIn("shutting down", out)
        code = e.proc.wait(20)
        self.assertEqual(code, 0, e.read_log())
        self.assertGreaterEqual(time.time() - started, 1.0)
        lines = [json.loads(line) for line in e.read_log().splitlines() if line.startswith("{")]
        msgs = [line["msg"] for line in lines]
        self.assertTrue(any("grace period over: hanging up" in m for m in msgs), msgs)
        self.assertIn("hook ran for " + call_id, msgs)
        self.assertTrue(any(m.startswith("call ended") for m in msgs))
        self.assertEqual(msgs[-1], "stopped")
        # Every call-related line names its call.
        for line in lines:
            if "enters dialplan" in line["msg"] or line["msg"].startswith("call ended"):
                self.assertIn("call_id", line)



class DescriptorLimit(unittest.TestCase):
    def test_soft_limit_raised_to_the_hard_limit(self):
        # Started with a soft limit of 256, the engine runs with the hard one
        # (a bridged SIP call holds 4 descriptors).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard <= 256:
            self.skipTest("the hard limit is too low to tell")
        d = tempfile.mkdtemp(prefix="tandem-nofile-")
        with open(os.path.join(d, "tandem.lua"), "w") as f:
            f.write(CONFIG)
        with open(os.path.join(d, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        try:
            e = harness.Instance(os.path.join(d, "tandem.lua")).start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            with open("/proc/%d/limits" % e.proc.pid) as f:
                line = next(l for l in f if l.startswith("Max open files"))
            self.assertEqual(line.split()[3:5], [str(hard), str(hard)], line)
            self.assertIn("open files limit raised from 256 to %d" % hard, e.read_log())
            self.assertEqual(e.stop(), 0)
        finally:
            e.cleanup()
            shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    unittest.main()
