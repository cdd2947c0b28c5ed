"""Shared pieces of the call-record tests: a fast console client, an
instance directory with the CDR test dialplan, and readers for the file
sink's output."""
import json
import os
import socket
import tempfile
import time

import harness

# Routes the record tests call through the local channel:
#   originate local/ROUTE@cdr wait cdr VAR=VALUE...
# "wait" runs on the originating side once the far half answers and lasts
# until the far half hangs up, so each originate makes two calls (two
# records, one linked_id).
DIALPLAN = """
return { contexts = { cdr = {
  ["answer"] = function(call)
    call:answer()
    call:sleep(tonumber(call:get("hold_ms") or "5"))
  end,
  ["busy"] = function(call) call:hangup("busy") end,
  ["long"] = function(call) call:answer() call:sleep(60000) end,
  ["wait"] = function(call) call:sleep(60000) end,
} } }
"""


def config(extra=""):
    return ("return { modules = { 'local' }, workers = 2, shutdown_grace = 1,\n"
            "  records = { variables = { 'crm_id' }, %s } }\n" % extra)


def make_instance_dir(records_extra=""):
    d = tempfile.mkdtemp(prefix="tandem-cdr-")
    with open(os.path.join(d, "tandem.lua"), "w") as f:
        f.write(config(records_extra))
    with open(os.path.join(d, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN)
    return d


def console(sock_path, *args):
    """One console request; returns (ok, text, data). Much faster than
    spawning `tandem ctl` when a test makes thousands of calls."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock_path)
    s.sendall((json.dumps({"args": list(args), "json": True}) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    reply = json.loads(buf)
    return reply.get("ok"), reply.get("text", ""), reply.get("data")


def originate(sock_path, route, **vars_):
    """Starts one call pair; returns (ok, call_id or error text)."""
    args = ["originate", "local/%s@cdr" % route, "wait", "cdr"] + ["%s=%s" % kv for kv in vars_.items()]
    ok, text, data = console(sock_path, *args)
    return ok, (data or {}).get("call_id") if ok else text


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def wait_for(what, fn, timeout=30, step=0.05):
    """Polls fn until it returns a true value; fails the test with `what`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def sink_caught_up(sock_path, name):
    ok, _, data = console(sock_path, "records")
    if not ok:
        return False
    return any(s["name"] == name and s["caught_up"] for s in data["sinks"])


class CdrInstance(harness.Instance):
    """An engine on an instance directory from make_instance_dir()."""

    def __init__(self, instance_dir, extra_args=(), data_dir=None):
        super().__init__(os.path.join(instance_dir, "tandem.lua"), extra_args)
        if data_dir:  # keep the data (spool, file sink output) across restarts
            i = self.args.index("--data-dir")
            self.args[i + 1] = data_dir
        self.data_dir = self.args[self.args.index("--data-dir") + 1]

    def records(self, kind="cdr"):
        return read_jsonl(os.path.join(self.data_dir, "records", kind + ".jsonl"))
