#!/usr/bin/env python3
"""contrib/example-module as a vendor would use it.

Installs the engine's SDK into a temp prefix, builds the example module out
of tree against that prefix only (CMake package and pkg-config), then runs
the real engine with it: load, registry, dialplan functions (one of them
suspending), console command, event subscriber, CDR sink, "in use"
protection on unload, cancel on hang-up, unload/load again, and a clean
SIGTERM exit.

Environment (all optional):
  TANDEM_SOURCE_DIR  the repository            (default: two levels up)
  TANDEM_BUILD_DIR   a configured, built tree  (default: <repo>/build)
  TANDEM_BIN         the engine binary         (default: <build>/bin/tandem)

Every path is under a fresh tempfile.mkdtemp(), so runs can overlap.
Run: python3 tests/integration/test_example_module.py -v
"""
import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

REPO = os.environ.get("TANDEM_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TANDEM_BUILD_DIR") or os.path.join(REPO, "build")
BIN = os.environ.get("TANDEM_BIN") or os.path.join(BUILD, "bin", "tandem")
MODULE_SRC = os.path.join(REPO, "contrib", "example-module")

STRICT_C = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
LONG_WAIT_MS = 4000  # a call parked in example_wait while the test pokes at it


def run(cmd, timeout=120, **kw):
    """Runs cmd; returns the CompletedProcess (text, output captured)."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def inside(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


def include_dirs(args):
    """The -I/-isystem/-iquote/-idirafter directories of a compiler command."""
    out = []
    flags = ("-isystem", "-iquote", "-idirafter", "-I")
    i = 0
    while i < len(args):
        a = args[i]
        for f in flags:
            if a == f and i + 1 < len(args):
                out.append(args[i + 1])
                i += 1
                break
            if a.startswith(f) and len(a) > len(f):
                out.append(a[len(f):])
                break
        i += 1
    return out


def exported_functions(so_path):
    """Names of the functions a shared object exports (nm -D)."""
    p = run(["nm", "-D", "--defined-only", so_path])
    if p.returncode != 0:
        raise AssertionError("nm failed on %s: %s" % (so_path, p.stderr))
    names = []
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "t", "W", "i"):
            names.append(parts[2])
    return names


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


DIALPLAN = r'''
-- Written by test_example_module.py.
return {
  on_error = function(call, err)
    call:log("error", "EXAMPLE-TEST dialplan failure: " .. err)
  end,

  contexts = {
    example = {
      -- Reached through the local channel: exercises the module functions.
      ["greet"] = function(call)
        call:answer()
        local greeting = call:example_greet("tandem")
        call:set("greeting", greeting)
        call:log("info", "EXAMPLE-TEST greeting=" .. call:get("greeting"))
        local want = math.tointeger(tonumber(call:get("wait_ms") or "50"))
        local waited = call:example_wait(want)
        if math.type(waited) ~= "integer" or waited ~= want then
          error("example_wait(" .. want .. ") returned " .. tostring(waited))
        end
        call:log("info", "EXAMPLE-TEST example_wait returned " .. waited)
        call:hangup()
      end,

      -- The originating side: holds until the far end hangs up.
      ["hold"] = function(call)
        call:sleep(20000)
      end,
    },
  },
}
'''


class ExampleModuleTest(unittest.TestCase):
    """setUpClass installs the SDK and builds the module once; the tests
    then use those artefacts (each engine run has its own temp dirs)."""

    @classmethod
    def setUpClass(cls):
        for what, path in (("engine binary", BIN), ("build tree", os.path.join(BUILD, "CMakeCache.txt")),
                           ("module source", os.path.join(MODULE_SRC, "CMakeLists.txt"))):
            if not os.path.exists(path):
                raise unittest.SkipTest("no %s at %s (build the project first)" % (what, path))
        cls.tmp = tempfile.mkdtemp(prefix="tandem-example-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.module_build = os.path.join(cls.tmp, "example-build")

        # (1) The SDK, installed into a private prefix.
        p = run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        if p.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + p.stdout + p.stderr)

        # (2) The module's own CMake project against that prefix only.
        p = run(["cmake", "-G", "Ninja", "-S", MODULE_SRC, "-B", cls.module_build,
                 "-DCMAKE_PREFIX_PATH=" + cls.prefix,
                 "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
                 "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF",
                 "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                 "-DCMAKE_C_FLAGS=-Werror"])
        if p.returncode != 0:
            raise AssertionError("configuring contrib/example-module failed:\n" + p.stdout + p.stderr)
        p = run(["cmake", "--build", cls.module_build, "--verbose"])
        cls.build_output = p.stdout + p.stderr
        if p.returncode != 0:
            raise AssertionError("building contrib/example-module failed:\n" + cls.build_output)
        cls.module_so = os.path.join(cls.module_build, "example.so")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------------
    # Building

    def test_1_cmake_build_sees_only_the_installed_sdk(self):
        self.assertTrue(os.path.isfile(self.module_so), "no example.so in " + self.module_build)

        # find_package(Tandem) resolved to the prefix, not to the build tree.
        with open(os.path.join(self.module_build, "CMakeCache.txt")) as f:
            cache = f.read()
        tandem_dir = [l.split("=", 1)[1] for l in cache.splitlines() if l.startswith("Tandem_DIR:")]
        self.assertEqual(len(tandem_dir), 1, "Tandem_DIR not in CMakeCache.txt")
        self.assertTrue(inside(tandem_dir[0], self.prefix),
                        "find_package(Tandem) used %s, not the installed SDK in %s" % (tandem_dir[0], self.prefix))

        # The compile command's include path points into the prefix only.
        with open(os.path.join(self.module_build, "compile_commands.json")) as f:
            commands = json.load(f)
        self.assertEqual(len(commands), 1, commands)
        entry = commands[0]
        args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
        dirs = include_dirs(args)
        self.assertIn(os.path.realpath(os.path.join(self.prefix, "include")),
                      [os.path.realpath(d) for d in dirs], "prefix/include not on the include path: %s" % args)
        for d in dirs:
            self.assertFalse(inside(d, REPO) and not inside(d, self.tmp),
                             "the module build sees the source tree through %s" % d)
            self.assertFalse(inside(d, BUILD), "the module build sees the engine build tree through %s" % d)

        # And the header the compiler actually read (ninja's dependency log).
        p = run(["ninja", "-C", self.module_build, "-t", "deps"])
        self.assertEqual(p.returncode, 0, p.stderr)
        headers = [l.strip() for l in p.stdout.splitlines() if l.strip().endswith("tandem/module.h")]
        self.assertTrue(headers, "module.h is not among the recorded dependencies:\n" + p.stdout)
        for h in headers:
            self.assertTrue(inside(os.path.join(self.module_build, h), self.prefix),
                            "compiled against %s, not the installed header" % h)

        # The ABI contract: exactly one exported function.
        self.assertEqual(exported_functions(self.module_so), ["tandem_module_entry"])

        # `cmake --install` of the module puts it in the SDK's TANDEM_MODULE_DIR.
        p = run(["cmake", "--install", self.module_build])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        local = [os.path.join(d, f) for d, _, files in os.walk(self.prefix) for f in files if f == "local.so"]
        self.assertEqual(len(local), 1, "expected the engine's local.so once under the prefix: %s" % local)
        installed = os.path.join(os.path.dirname(local[0]), "example.so")
        self.assertTrue(os.path.isfile(installed), "module not installed next to local.so (%s):\n%s"
                        % (installed, p.stdout))

    def test_2_pkg_config_route(self):
        pcs = [os.path.join(d, f) for d, _, files in os.walk(self.prefix) for f in files if f == "tandem.pc"]
        self.assertEqual(len(pcs), 1, "expected one tandem.pc under %s, found %s" % (self.prefix, pcs))
        with open(pcs[0]) as f:
            pc_text = f.read()
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        env.pop("PKG_CONFIG_LIBDIR", None)
        p = run(["pkg-config", "--cflags", "tandem"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        cflags = shlex.split(p.stdout)
        dirs = include_dirs(cflags)
        self.assertTrue(dirs and all(inside(d, self.prefix) for d in dirs),
                        "`pkg-config --cflags tandem` gives %r for an SDK installed in %s; tandem.pc:\n%s"
                        % (p.stdout.strip(), self.prefix, pc_text))
        p = run(["pkg-config", "--variable=moduledir", "tandem"], env=env)
        self.assertTrue(inside(p.stdout.strip(), self.prefix), "moduledir=%r" % p.stdout.strip())

        # The README's command line, made strict.
        out_dir = os.path.join(self.tmp, "pkgconfig-build")
        os.makedirs(out_dir, exist_ok=True)
        so = os.path.join(out_dir, "example.so")
        cc = os.environ.get("CC", "cc")
        p = run([cc, "-shared", "-fPIC", *STRICT_C, *cflags, os.path.join(MODULE_SRC, "example.c"), "-o", so])
        self.assertEqual(p.returncode, 0, "pkg-config build failed:\n" + p.stderr)
        self.assertIn("tandem_module_entry", exported_functions(so))

    # ------------------------------------------------------------------
    # Running

    def start_engine(self, modules):
        """Starts an engine with its own temp dirs; returns its state dict."""
        d = tempfile.mkdtemp(prefix="run-", dir=self.tmp)
        eng = {
            "dir": d,
            "sock": os.path.join(d, "ctl.sock"),
            "log": os.path.join(d, "engine.log"),
            "cdr": os.path.join(d, "cdr.jsonl"),
        }
        cfg_dir = os.path.join(d, "cfg")
        os.makedirs(cfg_dir)
        with open(os.path.join(cfg_dir, "tandem.lua"), "w") as f:
            f.write("return {\n"
                    '  instance = "example-test",\n'
                    "  workers = 2,\n"
                    "  modules = { %s },\n"
                    '  dialplan = "dialplan.lua",\n'
                    '  log = { level = "info" },\n'
                    "  shutdown_grace = 5,\n"
                    "  module_config = { example = { greeting_suffix = \"!\", cdr_file = %s } },\n"
                    "}\n" % (", ".join(lua_string(m) for m in modules), lua_string(eng["cdr"])))
        with open(os.path.join(cfg_dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        self.assertLess(len(eng["sock"]), 100, "temp path too long for a unix socket: " + eng["sock"])

        log = open(eng["log"], "w")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [BIN, "-c", os.path.join(cfg_dir, "tandem.lua"), "--data-dir", os.path.join(d, "data"),
             "--control-socket", eng["sock"], "--module-dir", self.module_build],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        eng["proc"] = proc
        self.addCleanup(self.kill_engine, proc)

        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                self.fail("engine exited early with %s:\n%s" % (proc.returncode, self.read_log(eng)))
            if os.path.exists(eng["sock"]):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(eng["sock"])
                    connected = True
                except OSError:
                    connected = False
                finally:
                    s.close()
                if connected and self.ctl(eng, "status")[0] == 0:
                    return eng
            if time.monotonic() > deadline:
                self.fail("engine did not open its control socket in 10 s:\n" + self.read_log(eng))
            time.sleep(0.05)

    @staticmethod
    def kill_engine(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def ctl(self, eng, *args):
        """`tandem ctl --json ARGS`; returns (exit code, reply object)."""
        p = run([BIN, "ctl", "-s", eng["sock"], "--json", *args], timeout=20)
        try:
            reply = json.loads(p.stdout)
        except ValueError:
            reply = {"ok": False, "data": None, "raw": p.stdout + p.stderr}
        return p.returncode, reply

    def ctl_ok(self, eng, *args):
        rc, reply = self.ctl(eng, *args)
        self.assertEqual(rc, 0, "`tandem ctl %s` failed: %s" % (" ".join(args), reply))
        self.assertTrue(reply["ok"], reply)
        return reply["data"]

    def ctl_fails(self, eng, *args):
        """Asserts the command is refused; returns its error text."""
        rc, reply = self.ctl(eng, *args)
        self.assertNotEqual(rc, 0, "`tandem ctl %s` should have failed: %s" % (" ".join(args), reply))
        self.assertFalse(reply["ok"], reply)
        data = reply.get("data")
        if isinstance(data, dict) and "error" in data:
            return data["error"]
        return json.dumps(data)

    def read_log(self, eng):
        with open(eng["log"], errors="replace") as f:
            return f.read()

    def wait_until(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail("timed out after %s s waiting for %s" % (timeout, what))
            time.sleep(0.05)

    def module_info(self, eng, name):
        for m in self.ctl_ok(eng, "modules"):
            if m["name"] == name:
                return m
        return None

    def calls(self, eng):
        return self.ctl_ok(eng, "calls")

    def wait_no_calls(self, eng, timeout=10):
        self.wait_until("every call to end", lambda: self.calls(eng) == [], timeout)

    def wait_idle_module(self, eng, timeout=2):
        """Waits until no call or operation holds the example module."""
        self.wait_until("the example module's users to drop to 0",
                        lambda: self.module_info(eng, "example")["users"] == 0, timeout)

    def wait_in_example_wait(self, eng, timeout=5):
        """Waits until a call sits in example_wait (the module has users)."""
        self.wait_until("a call to enter example_wait",
                        lambda: (self.module_info(eng, "example") or {}).get("users", 0) > 0, timeout)

    def cdr_lines(self, eng):
        if not os.path.exists(eng["cdr"]):
            return []
        with open(eng["cdr"]) as f:
            return [l for l in f.read().splitlines() if l.strip()]

    def stats(self, eng):
        text = self.ctl_ok(eng, "example-stats")["output"]
        words = text.split()
        self.assertTrue(len(words) >= 2 and words[0] == "example-stats:" and words[1].isdigit(),
                        "unexpected example-stats output: %r" % text)
        return int(words[1])

    def registry_names(self, eng):
        reg = self.ctl_ok(eng, "registry")
        return ({f["name"]: f for f in reg["functions"]},
                {c["name"]: c for c in reg["commands"]},
                {s["name"]: s for s in reg["cdr_sinks"]})

    def test_3_engine_lifecycle(self):
        eng = self.start_engine(["local"])

        # (5) Load it at runtime from --module-dir.
        self.assertIsNone(self.module_info(eng, "example"), "example loaded before anyone asked")
        data = self.ctl_ok(eng, "module", "load", "example")
        self.assertEqual(data, {"module": "example", "action": "load"})
        info = self.module_info(eng, "example")
        self.assertIsNotNone(info, "`modules` does not list example after loading it")
        self.assertEqual(os.path.realpath(info["path"]), os.path.realpath(self.module_so))
        self.assertEqual(info["version"], "1.0")
        self.assertEqual(info["depends"], ["local"])
        self.assertEqual(info["users"], 0)
        self.assertIn("already loaded", self.ctl_fails(eng, "module", "load", "example"))
        # The dependency is enforced the other way round too.
        self.assertIn("needed by example", self.ctl_fails(eng, "module", "unload", "local"))

        functions, commands, sinks = self.registry_names(eng)
        self.assertEqual(functions.get("example_greet", {}).get("module"), "example", functions)
        self.assertEqual(functions["example_greet"]["signature"], "s")
        self.assertFalse(functions["example_greet"]["may_suspend"])
        self.assertEqual(functions.get("example_wait", {}).get("module"), "example", functions)
        self.assertEqual(functions["example_wait"]["signature"], "i")
        self.assertTrue(functions["example_wait"]["may_suspend"])
        self.assertEqual(commands.get("example-stats", {}).get("module"), "example", commands)
        self.assertEqual(sinks.get("example-file", {}).get("module"), "example", sinks)
        self.assertEqual(self.stats(eng), 0)

        # (6) A call through the local channel runs the module's functions.
        call_id = self.ctl_ok(eng, "originate", "local/greet@example", "hold", "example")["call_id"]
        self.wait_no_calls(eng)
        log = self.read_log(eng)
        self.assertIn("EXAMPLE-TEST greeting=hello, tandem!", log)
        self.assertIn("EXAMPLE-TEST example_wait returned 50", log)
        self.assertNotIn("EXAMPLE-TEST dialplan failure", log)
        self.assertNotIn("dialplan error", log)

        # Two calls ended (the originated one and the local channel's other
        # half): two CDR lines, one call_end event each.
        lines = self.wait_until("2 CDR lines in " + eng["cdr"],
                                lambda: self.cdr_lines(eng) if len(self.cdr_lines(eng)) >= 2 else None, 10)
        self.assertEqual(len(lines), 2, lines)
        records = [json.loads(l) for l in lines]
        for r in records:
            self.assertIsInstance(r, dict)
            self.assertTrue(r.get("id"), r)
            self.assertEqual(r.get("linked_id"), call_id, r)
        self.assertIn(call_id, [r["call_id"] for r in records])  # ids are record ids (UUIDv7), not call ids
        self.assertEqual(len({r["id"] for r in records}), 2, "duplicate CDR ids: %s" % lines)
        self.wait_until("example-stats to count 2 call_end events", lambda: self.stats(eng) >= 2, 5)
        self.assertEqual(self.stats(eng), 2)

        # (7) A call inside example_wait holds the module: unload refuses.
        long_s = LONG_WAIT_MS / 1000
        started = time.monotonic()
        self.ctl_ok(eng, "originate", "local/greet@example", "hold", "example", "wait_ms=%d" % LONG_WAIT_MS)
        self.wait_in_example_wait(eng)
        error = self.ctl_fails(eng, "module", "unload", "example")
        self.assertIn("in use", error)
        self.assertLess(time.monotonic() - started, long_s, "too slow: the wait may have ended before unload")
        self.assertIsNotNone(self.module_info(eng, "example"), "refused unload removed the module anyway")
        self.assertIn("example_greet", self.registry_names(eng)[0])

        self.wait_no_calls(eng, timeout=long_s + 10)
        self.assertIn("EXAMPLE-TEST example_wait returned %d" % LONG_WAIT_MS, self.read_log(eng))
        self.assertGreaterEqual(time.monotonic() - started, long_s, "example_wait returned early")
        self.wait_idle_module(eng)
        self.assertEqual(self.ctl_ok(eng, "module", "unload", "example"), {"module": "example", "action": "unload"})
        self.assertIsNone(self.module_info(eng, "example"))
        functions, commands, sinks = self.registry_names(eng)
        for name in ("example_greet", "example_wait"):
            self.assertNotIn(name, functions)
        self.assertNotIn("example-stats", commands)
        self.assertNotIn("example-file", sinks)
        self.assertIn("unknown command", self.ctl_fails(eng, "example-stats"))

        # ... and loads again.
        self.ctl_ok(eng, "module", "load", "example")
        functions, commands, sinks = self.registry_names(eng)
        self.assertIn("example_greet", functions)
        self.assertIn("example_wait", functions)
        self.assertIn("example-stats", commands)
        self.assertIn("example-file", sinks)
        self.assertEqual(self.stats(eng), 0, "a fresh load starts counting from zero")

        # Hang-up during example_wait: cancel() stops the timer, so the
        # module is free again well before the wait would have ended.
        cdr_before = len(self.cdr_lines(eng))
        started = time.monotonic()
        self.ctl_ok(eng, "originate", "local/greet@example", "hold", "example", "wait_ms=%d" % LONG_WAIT_MS)
        self.wait_in_example_wait(eng)
        greet_calls = [c["id"] for c in self.calls(eng) if c["exten"] == "greet"]
        self.assertEqual(len(greet_calls), 1, self.calls(eng))
        self.ctl_ok(eng, "hangup", greet_calls[0])
        self.wait_no_calls(eng, timeout=long_s - 1)
        self.wait_idle_module(eng, timeout=max(0.2, started + long_s - 0.5 - time.monotonic()))
        self.assertLess(time.monotonic() - started, long_s - 0.5,
                        "the module stayed in use after the hang-up: was the timer cancelled?")
        self.assertEqual(self.read_log(eng).count("EXAMPLE-TEST example_wait returned %d" % LONG_WAIT_MS), 1,
                         "a cancelled example_wait still returned")
        self.wait_until("2 more CDR lines", lambda: len(self.cdr_lines(eng)) >= cdr_before + 2, 10)
        self.wait_until("example-stats to count 2 call_end events", lambda: self.stats(eng) >= 2, 5)
        self.ctl_ok(eng, "module", "unload", "example")
        self.ctl_ok(eng, "module", "load", "example")

        # (8) A module that does not exist.
        error = self.ctl_fails(eng, "module", "load", "no-such-example-module")
        self.assertIn("no-such-example-module", error)
        self.assertIn("not found", error)

        # (9) SIGTERM: a clean, bounded stop.
        eng["proc"].terminate()
        try:
            code = eng["proc"].wait(15)
        except subprocess.TimeoutExpired:
            self.fail("engine did not exit within 15 s of SIGTERM:\n" + self.read_log(eng))
        self.assertEqual(code, 0, "exit code %s after SIGTERM:\n%s" % (code, self.read_log(eng)))
        log = self.read_log(eng)
        self.assertNotIn("dialplan error", log)
        self.assertIn("loaded example 1.0 from", log)

    def test_4_dependency_loads_first(self):
        # Configured alone, example pulls in local before its own load().
        eng = self.start_engine(["example"])
        names = [m["name"] for m in self.ctl_ok(eng, "modules")]
        self.assertEqual(names, ["local", "example"])
        self.ctl_ok(eng, "originate", "local/greet@example", "hold", "example")
        self.wait_no_calls(eng)
        self.assertIn("EXAMPLE-TEST greeting=hello, tandem!", self.read_log(eng))
        eng["proc"].terminate()
        self.assertEqual(eng["proc"].wait(15), 0, self.read_log(eng))


if __name__ == "__main__":
    unittest.main()
