#!/usr/bin/env python3
"""Memory and file descriptors per bridged call, with thousands of calls up.

  python3 bench/media_scale.py [CALLS] [--rtcp-mux]

A real engine (sip module, 2 workers) answers CALLS calls from one UDP
socket here (each INVITE its own dialog), and its dialplan dials each one
back to a UAS on another socket here and bridges: CALLS bridged calls,
2 x CALLS SIP legs, each with its RTP (and RTCP) socket. Our SDP points both
sides' media at one sink socket (no media is sent: this measures what a
call holds, bench/media_bench.py what relaying costs). With --rtcp-mux both
sides offer a=rtcp-mux.

Reports the engine's resident memory (VmRSS) and open descriptors before
and with every call up, per call, and the descriptor limit (RLIMIT_NOFILE)
the engine runs with. Then hangs every call up.
"""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(HERE, "..", "build"))
import harness  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["_X."] = function(call)
    call:answer()
    local status, leg = call:dial("sip/b" .. call.exten .. "@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:bridge(leg) end
  end,
} } }
"""


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def nofile_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3]
    return "?"


def sdp(port, mux):
    return ("v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n%sa=sendrecv\r\n" % (port, "a=rtcp-mux\r\n" if mux else ""))


def header(msg, name):
    m = re.search(r"^%s:\s*(.*?)\r$" % name, msg, re.M | re.I)
    return m.group(1) if m else ""


class Side:
    """One UDP socket carrying many dialogs."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def send(self, text, addr):
        self.sock.sendto(text.encode(), addr)

    def recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None, None
        data, addr = self.sock.recvfrom(65535)
        return data.decode(errors="replace"), addr

    def reply(self, req, addr, status, reason, body="", tag="b"):
        to = header(req, "To")
        if ";tag=" not in to:
            to += ";tag=" + tag
        vias = "\r\n".join(re.findall(r"^(Via:.*?)\r$", req, re.M | re.I))
        self.send("SIP/2.0 %d %s\r\n%s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                  "Contact: <sip:b@127.0.0.1:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
                  % (status, reason, vias, header(req, "From"), to, header(req, "Call-ID"), header(req, "CSeq"),
                     self.port, "Content-Type: application/sdp\r\n" if body else "", len(body), body), addr)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 2000
    mux = "--rtcp-mux" in sys.argv
    work = tempfile.mkdtemp(prefix="tandem-bench-scale-")
    a, b = Side(), Side()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink_port = sink.getsockname()[1]
    port = harness.free_port()
    with open(os.path.join(work, "tandem.lua"), "w") as f:
        f.write("return { modules = { 'sip' }, workers = 2, log = { level = 'warning' },\n"
                "  module_config = { sip = { listen = 'sip:127.0.0.1:%d', rtp_port_min = 20000,"
                " rtp_port_max = 60000 } } }\n" % port)
    with open(os.path.join(work, "dialplan.lua"), "w") as f:
        f.write(DIALPLAN.replace("@UAS_PORT@", str(b.port)))
    engine = harness.Instance(os.path.join(work, "tandem.lua")).start()
    pid = engine.proc.pid
    try:
        time.sleep(0.5)
        rss0, fds0 = proc_status(pid, "VmRSS"), fd_count(pid)
        engine_addr = ("127.0.0.1", port)
        dialogs = {}  # our Call-ID -> (to header with tag)
        up = 0
        started = time.time()
        for i in range(calls):
            cid = "scale-%d@bench" % i
            body = sdp(sink_port, mux)
            invite = ("INVITE sip:%d@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKs%d\r\n"
                      "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1:%d>;tag=a%d\r\nTo: <sip:%d@127.0.0.1:%d>\r\n"
                      "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:%d>\r\n"
                      "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
                      % (1000 + i, port, a.port, i, a.port, i, 1000 + i, port, cid, a.port, len(body), body))
            a.send(invite, engine_addr)
            deadline = time.time() + 10
            while cid not in dialogs and time.time() < deadline:
                # the engine's INVITE to B, and its answers to A
                for side in (b, a):
                    msg, addr = side.recv(0.01)
                    if not msg:
                        continue
                    if side is b and msg.startswith("INVITE "):
                        side.reply(msg, addr, 200, "OK", sdp(sink_port, mux))
                    elif side is a and msg.startswith("SIP/2.0 200") and "INVITE" in header(msg, "CSeq"):
                        to = header(msg, "To")
                        a.send("ACK sip:%d@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKa%d\r\n"
                               "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1:%d>;tag=a%d\r\nTo: %s\r\nCall-ID: %s\r\n"
                               "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
                               % (1000 + i, port, a.port, i, a.port, i, to, header(msg, "Call-ID")), engine_addr)
                        dialogs[header(msg, "Call-ID")] = to
            if cid not in dialogs:
                print("call %d was not answered; stopping at %d calls" % (i, up))
                break
            up += 1
        setup_s = time.time() - started
        # let ACKs and late messages settle, answering whatever B still gets
        end = time.time() + 1
        while time.time() < end:
            msg, addr = b.recv(0.05)
            if msg and msg.startswith("INVITE "):
                b.reply(msg, addr, 200, "OK", sdp(sink_port, mux))
        rc, status = engine.ctl("status", json_output=True)
        live = status["data"]["calls"] if rc == 0 else -1
        rss1, fds1 = proc_status(pid, "VmRSS"), fd_count(pid)
        print("| calls up | rtcp-mux | engine calls | RSS before (KB) | RSS with calls (KB) | per call (KB) "
              "| fds before | fds with calls | fds per call | RLIMIT_NOFILE (soft) | setup (calls/s) |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("| %d | %s | %d | %d | %d | %.1f | %d | %d | %.2f | %s | %.0f |"
              % (up, "yes" if mux else "no", live, rss0, rss1, (rss1 - rss0) / max(up, 1), fds0, fds1,
                 (fds1 - fds0) / max(up, 1), nofile_limit(pid), up / setup_s))
    finally:
        engine.stop(timeout=60)
        engine.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        for s in (a.sock, b.sock, sink):
            s.close()


if __name__ == "__main__":
    main()
