"""Runs the real tandem binary for integration tests: its own temp dirs and
control socket, started and stopped by PID, so tests run in parallel and
beside a running demo."""
import json
import os
import random
import socket
import shutil
import signal
import subprocess
import tempfile
import threading
import time

REPO = os.environ.get("TANDEM_SOURCE_DIR",
                      os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("TANDEM_BUILD_DIR", os.path.join(REPO, "build"))
BIN = os.environ.get("TANDEM_BIN", os.path.join(BUILD, "bin", "tandem"))

# The engine's environment for tests with a TLS listener: under ASan,
# sofia-sip's own TLS leak (see the file) is not ours to fail on.
LSAN_SOFIA_TLS = {"LSAN_OPTIONS": ":".join(filter(None, [os.environ.get("LSAN_OPTIONS"), "suppressions=" + os.path.join(
    REPO, "tests", "sip", "lsan-sofia-tls.supp")]))}


# Listener ports (SIP, control, PostgreSQL) and RTP ranges come from below
# the kernel's ephemeral ports (32768 and up by default), where no port-0
# socket or outgoing connection of a parallel test (SIPp, baresip, the
# Python UAs) can land; only another test's pick can, and each is drawn at
# random and checked.
LISTEN_FLOOR, LISTEN_CEILING = 10000, 16384


def _free_run(floor, ceiling, count, kinds, even=False):
    """The first of `count` consecutive ports in [floor, ceiling) that
    nothing on loopback uses right now for each socket kind in `kinds`,
    drawn at random (an even one when `even`)."""
    for _ in range(200):
        base = random.randrange(floor, ceiling - count)
        base &= ~1 if even else ~0
        socks = []
        try:
            for p in range(base, base + count):
                for kind in kinds:
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no %d free ports in %d-%d" % (count, floor, ceiling))


def free_ports(count=1):
    """The first of `count` consecutive ports free for UDP and TCP both
    (baresip's TLS listener is its SIP port + 1)."""
    return _free_run(LISTEN_FLOOR, LISTEN_CEILING, count, (socket.SOCK_DGRAM, socket.SOCK_STREAM))


def free_port():
    """A port nothing on loopback uses right now (UDP and TCP both free)."""
    return free_ports(1)


RTP_RANGE_FLOOR, RTP_RANGE_CEILING = 16384, 32000


def free_rtp_range(count=40):
    """An even port with `count` free UDP ports from it: (first, last)."""
    base = _free_run(RTP_RANGE_FLOOR, RTP_RANGE_CEILING, count, (socket.SOCK_DGRAM,), even=True)
    return base, base + count - 1


class Instance:
    """One engine process. `config` is a path to a tandem.lua."""

    def __init__(self, config, extra_args=(), env=None):
        self.tmp = tempfile.mkdtemp(prefix="tandem-it-")
        self.socket = os.path.join(self.tmp, "ctl.sock")
        self.log_path = os.path.join(self.tmp, "engine.log")
        self.config = config
        self.args = [BIN, "-c", config, "--data-dir", os.path.join(self.tmp, "data"),
                     "--control-socket", self.socket, *extra_args]
        self.proc = None
        self.env = dict(os.environ, **(env or {}))

    def start(self, timeout=10):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("engine exited early:\n" + self.read_log())
            if os.path.exists(self.socket) and self.ctl("status")[0] == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("engine did not open its console:\n" + self.read_log())

    def ctl(self, *args, json_output=False):
        cmd = [BIN, "ctl", "-s", self.socket] + (["--json"] if json_output else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        out = p.stdout if p.returncode == 0 else p.stdout + p.stderr
        if json_output and p.stdout:
            return p.returncode, json.loads(p.stdout)
        return p.returncode, out

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        return self.wait_log_first(text, timeout=timeout) is not None

    def wait_log_first(self, *texts, timeout=10):
        """The first of `texts` (in that order) the log holds, once one does;
        None after `timeout` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            log = self.read_log()
            for text in texts:
                if text in log:
                    return text
            time.sleep(0.05)
        return None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def sip_instance(directory, sip_fields="", modules=("sip",), module_config="", workers=2, rtp_ports=40, env=None):
    """A make_instance for start_listening: directory/tandem.lua loading
    `modules`, the sip module listening on a fresh port (the Instance's
    sip_port) with RTP on `rtp_ports` ports from a fresh even one (its
    rtp_range, inclusive) and `sip_fields` (Lua, after a comma) more;
    `module_config` (Lua) goes beside sip's. The dialplan is the test's
    directory/dialplan.lua."""
    port = free_port()
    rtp, _ = free_rtp_range(rtp_ports)
    path = os.path.join(directory, "tandem.lua")
    with open(path, "w") as f:
        f.write("return { modules = { %s }, workers = %d, shutdown_grace = 1,\n"
                "  module_config = { %s sip = { listen = 'sip:127.0.0.1:%d',\n"
                "    rtp_port_min = %d, rtp_port_max = %d%s } } }\n"
                % (", ".join("'%s'" % m for m in modules), workers, module_config, port, rtp, rtp + rtp_ports - 1,
                   ", " + sip_fields if sip_fields else ""))
    engine = Instance(path, env=env)
    engine.sip_port, engine.rtp_range = port, (rtp, rtp + rtp_ports - 1)
    return engine


# How a listener the engine could not bind shows in its log: the sip
# module's own check ("... TCP port N: Address already in use") and
# sofia-sip's transports (on stderr, which the log holds too) both print
# strerror(EADDRINUSE).
PORT_TAKEN = "Address already in use"


def start_listening(test, make_instance, ready="sip: listening on", attempts=5):
    """Starts the Instance `make_instance()` returns (it picks free ports and
    writes the config for them) and waits for `ready` in its log; returns
    the running Instance.

    A port picked free can be taken by a test running in parallel before
    the engine binds it. An engine that logs so is stopped and a fresh
    make_instance(), with new ports, started instead, `attempts` times in
    all. Any other failure to get ready fails `test` with the engine's log."""
    for attempt in range(attempts):
        engine = make_instance().start()
        seen = engine.wait_log_first(ready, PORT_TAKEN)
        if seen == ready:
            return engine
        log = engine.read_log()
        engine.stop()
        engine.cleanup()
        if seen != PORT_TAKEN or attempt + 1 == attempts:
            test.fail("the engine did not log %r (attempt %d):\n%s" % (ready, attempt + 1, log))


def end_engine(test, engine, work_dir=None):
    """A test's tearDown: stops `engine` (SIGTERM), removes its files and
    `work_dir`, and fails `test` with the engine's log unless it exited 0.
    Returns that log, for a test with more to check in it."""
    code = engine.stop() if engine else 0
    log = engine.read_log() if engine else ""
    if engine:
        engine.cleanup()
    if work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    test.assertEqual(code, 0, log)
    return log


class CallEnds:
    """`tandem ctl events call_end` on `engine`, read in the background: the
    record of every call that ends, as the engine publishes it, for `test`."""

    def __init__(self, test, engine):
        self.test, self.engine = test, engine
        self.cdrs = []
        self.proc = subprocess.Popen([BIN, "ctl", "-s", engine.socket, "--json", "events", "call_end"],
                                     stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)  # the subscription is in place before the first call

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            if ev.get("type") == "call_end":
                self.cdrs.append(json.loads(ev["cdr"]))

    def wait(self, exten, timeout=10):
        """The first record for `exten`; fails the test when none comes in time."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for c in list(self.cdrs):
                if c.get("exten") == exten:
                    return c
            time.sleep(0.05)
        self.test.fail("no CDR for %s\n%s" % (exten, self.engine.read_log()))

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()
