"""`tandem check`: validates config and dialplan, names every error with
FILE:LINE, exits non-zero, and starts nothing."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class CheckCommand(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-check-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self, dialplan, config="return { modules = { 'local' } }"):
        write(os.path.join(self.dir, "tandem.lua"), config)
        write(os.path.join(self.dir, "dialplan.lua"), dialplan)
        return subprocess.run([harness.BIN, "check", "-c", os.path.join(self.dir, "tandem.lua")],
                              capture_output=True, text=True, timeout=20)

    def test_the_demo_is_valid(self):
        p = subprocess.run([harness.BIN, "check", "-c",
                            os.path.join(harness.REPO, "dialplans", "demo", "tandem.lua")],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("valid", p.stdout)

    def test_syntax_error_names_file_and_line(self):
        p = self.check("return {\n contexts = {\n  d = { ['1'] = function(call)\n call:answer(\n end } } }")
        self.assertEqual(p.returncode, 1)
        self.assertIn("dialplan.lua:5:", p.stderr)
        self.assertIn("1 error", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "tandem.ctl")))

    def test_config_and_pattern_errors_are_all_reported(self):
        p = self.check("return { contexts = { d = { ['_9[1'] = function(call) end } } }",
                       "return { modules = 'local', workerz = 2 }")
        self.assertEqual(p.returncode, 1)
        self.assertIn("workerz: unknown setting", p.stderr)

    def test_help_documents_the_subcommands(self):
        p = subprocess.run([harness.BIN, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for word in ("check", "ctl", "--config", "--data-dir", "--control-socket", "--module-dir"):
            self.assertIn(word, p.stdout)


if __name__ == "__main__":
    unittest.main()
