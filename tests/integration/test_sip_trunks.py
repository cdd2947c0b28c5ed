#!/usr/bin/env python3
"""The SIP channel's edges against real peers (SIPp): admission (limits,
503 with Retry-After, ACLs), trunks to a provider (registration, static IP
trunks, dialling out with the provider's digest challenge, caller-id rules)
and OPTIONS qualify. Each test starts its own engine on free ports.

  Limits
    test_concurrent_limit_503    max_calls = 2: 10 calls at once -> 2 answered (RTP flows),
                                 8 get 503 with "Retry-After: 7" (SIPp checks it by regexp)
    test_rate_limit_503          cps = 2: a burst of 10 -> about 2 answered, the rest 503
    test_engine_limit_503_has_retry_after  tandem.lua's limits.max_calls refuses: 503 with
                                 Retry-After too
    test_endpoint_limit          an endpoint's max_calls=1 (endpoints file): its second
                                 concurrent call gets 503, another endpoint's call goes on
    test_outbound_limit_cause_34 the global limit reached: call:dial() fails at once with
                                 cause 34 ("congestion"), no INVITE leaves
  ACLs
    test_endpoint_acl            acl=10.0.0.0/8 -> REGISTER from 127.0.0.1 gets 403 even with
                                 the right password (logged); acl=127.0.0.0/8,::1 -> 200
    test_endpoint_acl_invite     the same for an INVITE with the right credentials
    test_bad_config_refuses_to_load  bad CIDR, caller_id rule, register without account,
                                 limits: the module refuses to load and says which
  Trunks
    test_trunk_registers         SIPp as the provider's registrar: 401, REGISTER with the
                                 trunk's credentials (SIPp verifyauth), 200 granting 3 s;
                                 sofia refreshes; `ctl trunks --json` says registered;
                                 event sip_trunk_registered
    test_trunk_registration_retry  a 403 first: sip_trunk_failed event, retry after
                                 register_retry, then registered
    test_trunk_registration_backoff  no provider: failures retried after 1, 2, 4 s
    test_dial_trunk              call:dial("sip/prov/5551234"): SIPp checks the request URI
                                 and From (caller-id rules strip:0,add:+49 and from_domain),
                                 answers 407, checks our credentials (verifyauth), answers
    test_dial_trunk_fixed_caller_id  caller_id = "fixed:4930999" is the From's user
    test_static_trunk_inbound    an INVITE from allowed_ips enters the trunk's context with
                                 no digest although endpoints are configured
    test_unknown_source_403      trunks only: an INVITE from elsewhere gets 403
  NAT
    test_nat_contact_udp         a Contact with a private address registered from 127.0.0.1:P:
                                 the call to sip/1002 goes to 127.0.0.1:P (the phone's socket
                                 gets the INVITE and answers 486 -> "busy")
    test_nat_contact_tcp_flow    the same over TCP: the INVITE arrives on the connection the
                                 phone registered on
  Forking
    test_fork_first_answer_wins  1002 has two contacts: one rings (and must get CANCEL),
                                 one answers: dial() answers, both SIPp scenarios pass
    test_fork_all_busy           both contacts answer 486: dial() says busy (cause 17)
  Qualify
    test_trunk_qualify           OPTIONS to the trunk (SIPp answers): reachable with rtt;
                                 SIPp gone: unreachable after qualify_timeout; both published
                                 as sip_reachability events and shown by `ctl trunks`
    test_endpoint_contact_qualify  qualify = 1: the registered contact (a SIPp UAS) is
                                 reachable, then unreachable; `ctl endpoints [--json]` shows it
    test_options_answered        an OPTIONS to Tandem gets 200 with Allow and Accept (regexps)

Run: python3 tests/integration/test_sip_trunks.py -v   (needs sipp, package sip-tester)
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_sip_calls as base  # noqa: E402  (as a module: its test classes must not run here)
from sip_testing import SipTestMixin  # noqa: E402

SCENARIOS, SIPP, Registrar = base.SCENARIOS, base.SIPP, base.Registrar
free_rtp_base = base.free_rtp_base

DIALPLAN = """
return { contexts = {
  default = {
    ["service"] = function(call)
      call:answer()
      call:play("tone:440/1000")
      call:sleep(20000)
    end,
    ["dialout"] = function(call)
      call:answer()
      local status, leg, cause = call:dial("sip/service@127.0.0.1:9")
      call:log("dialout: " .. tostring(status) .. " cause " .. tostring(cause))
      call:hangup()
    end,
    ["trunkout"] = function(call)
      call:answer()
      local status, leg, cause = call:dial("sip/prov/5551234", { caller_num = "0301234", caller_name = "Alice" })
      call:log("trunk dial: " .. tostring(status) .. " cause " .. tostring(cause))
      if status == "answer" then call:bridge(leg) end
      call:hangup()
    end,
  },
  internal = {
    ["dial1002"] = function(call)
      call:answer()
      local status, leg, cause = call:dial("sip/1002")
      call:log("dial 1002: " .. tostring(status) .. " cause " .. tostring(cause))
      call:hangup()
    end,
    ["service"] = function(call)
      call:log("internal call from " .. tostring(call.caller_num))
      call:answer()
      call:sleep(20000)
    end,
  },
  ["from-pbx"] = {
    ["service"] = function(call)
      call:log("trunk call from " .. tostring(call.caller_num) .. " in from-pbx")
      call:answer()
      call:hangup()
    end,
  },
} }
"""


def digest_ok(header, method, user, password):
    """Is this Authorization/Proxy-Authorization value right for user/password?"""
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', header))
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1 = md5("%s:%s:%s" % (user, p["realm"], password))
    ha2 = md5("%s:%s" % (method, p["uri"]))
    if "qop" in p:
        expect = md5(":".join((ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2)))
    else:
        expect = md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
    return p.get("username") == user and p.get("response") == expect


class RawPhone:
    """A phone on a raw UDP or TCP socket that registers a Contact that is not
    its own address (as behind NAT) and answers what reaches it."""

    def __init__(self, port, transport="udp"):
        self.port, self.transport = port, transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()[1]
        self.buf = b""
        self.cseq = 0

    def close(self):
        self.sock.close()

    def send(self, text):
        if self.transport == "udp":
            self.sock.sendto(text.encode(), ("127.0.0.1", self.port))
        else:
            self.sock.sendall(text.encode())

    def receive(self):
        """One SIP message (text)."""
        if self.transport == "udp":
            return self.sock.recv(65536).decode(errors="replace")
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + sep + rest[:n]).decode(errors="replace")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def register(self, user, password, contact):
        auth = None
        while True:
            self.cseq += 1
            self.send("REGISTER sip:127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bKnat%d;rport\r\n"
                      "From: <sip:%s@127.0.0.1>;tag=nat%d\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: nat%d@test\r\n"
                      "CSeq: %d REGISTER\r\nContact: <%s>\r\nExpires: 600\r\nMax-Forwards: 70\r\n%s"
                      "Content-Length: 0\r\n\r\n"
                      % (self.port, self.transport.upper(), self.local, self.cseq, user, self.local, user,
                         self.local, self.cseq, contact, "Authorization: %s\r\n" % auth if auth else ""))
            reply = self.receive()
            status = int(reply.split(" ", 2)[1])
            if status != 401 or auth:
                return status, reply
            chal = Registrar.header(reply, "WWW-Authenticate")
            auth = Registrar.digest(chal, user, password, "REGISTER", "sip:127.0.0.1:%d" % self.port)

    def answer(self, request, status, phrase):
        lines = [l for l in request.split("\r\n") if re.match(r"(?i)(via|from|to|call-id|cseq):", l)]
        lines = [l + ";tag=natphone" if l.lower().startswith("to:") else l for l in lines]
        self.send("SIP/2.0 %d %s\r\n%s\r\nContent-Length: 0\r\n\r\n" % (status, phrase, "\r\n".join(lines)))


class Events:
    """`tandem ctl --json events custom` in the background, collected."""

    def __init__(self, engine):
        self.items = []
        self.proc = subprocess.Popen([harness.BIN, "ctl", "-s", engine.socket, "--json", "events", "custom"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.items.append(json.loads(line))
            except ValueError:
                pass

    def named(self, name):
        return [e for e in self.items if json.dumps(e).find('"%s"' % name) >= 0]

    def wait(self, name, timeout=10, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.named(name)) >= count:
                return self.named(name)
            time.sleep(0.05)
        return None

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.thread.join(2)
        self.proc.stdout.close()


@unittest.skipUnless(SIPP, "sipp (package sip-tester) is not installed")
class SipEdge(SipTestMixin, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-sipedge-")
        self.rtp_base = free_rtp_base(80)
        self.uas_port = harness.free_port()
        self.engine = None
        self.events = None
        self.sipp_procs = []

    def start(self, config="", endpoints=None, top="", expect_fail=False):
        """Starts the engine with `config` (Lua fields) added to module_config.sip."""
        if config and not config.startswith(","):
            config = ", " + config

        def make_instance():
            self.sip_port = harness.free_port()
            return harness.Instance(self.write_instance(
                "listen = 'sip:127.0.0.1:%d', rtp_port_min = %d, rtp_port_max = %d %s"
                % (self.sip_port, self.rtp_base, self.rtp_base + 79, config), DIALPLAN, endpoints, top))
        if expect_fail:
            self.engine = make_instance().start()
        else:
            self.engine = harness.start_listening(self, make_instance)
        self.events = Events(self.engine)
        time.sleep(0.1)  # the events stream is subscribed

    def tearDown(self):
        if self.events:
            self.events.close()
        SipTestMixin.tearDown(self)

    def count_final(self, story_name):
        with open(os.path.join(self.dir, story_name + ".msg"), errors="replace") as f:
            text = f.read()
        # final responses to INVITEs, one per call (retransmissions aside)
        answered, refused = set(), {}
        for msg in re.findall(r"^SIP/2\.0 (?:200|503) .*?(?=\r?\n\r?\n)", text, re.M | re.S):
            if "CSeq: 1 INVITE" not in msg:
                continue
            call_id = re.search(r"Call-ID: (\S+)", msg).group(1)
            if msg.startswith("SIP/2.0 200"):
                answered.add(call_id)
            else:
                refused[call_id] = msg
        return len(answered), list(refused.values())

    # --- limits ---

    def test_concurrent_limit_503(self):
        self.start("max_calls = 2, retry_after = 7")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_accept_503.xml"), "-s", "service",
                       "-d", "1500", "-rtp_echo",
                       "-r", "20", "-l", "10", "127.0.0.1:%d" % self.sip_port], "load", calls=10)
        code, story = self.wait_sipp(p, "load")
        self.assertEqual(code, 0, story)  # every 503 carried Retry-After: 7
        answered, refused = self.count_final("load")
        self.assertEqual(answered, 2, story)
        self.assertEqual(len(refused), 8, story)
        for r in refused:
            self.assertRegex(r, r"\nRetry-After: 7\r?$|\nRetry-After: 7\r?\n", story)
        self.assertTrue(self.engine.wait_log("over the global call limit: answering 503"), story)
        # the admitted calls' media was clean: the tone went out and came back
        self.assertTrue(self.engine.wait_log("RTP in"), story)
        counts = [(int(a), int(b)) for a, b in re.findall(r"RTP in (\d+), out (\d+)", self.engine.read_log())]
        self.assertEqual(len(counts), 2, story)
        for rx, tx in counts:
            self.assertGreater(tx, 40, story)
            self.assertGreater(rx, 30, story)

    def test_rate_limit_503(self):
        self.start("cps = 2")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_accept_503.xml"), "-s", "service",
                       "-d", "200",
                       "-r", "50", "-l", "10", "127.0.0.1:%d" % self.sip_port], "load", calls=10)
        code, story = self.wait_sipp(p, "load")
        self.assertEqual(code, 0, story)
        answered, refused = self.count_final("load")
        self.assertIn(answered, (2, 3), story)  # the burst of 2, maybe one refilled token
        self.assertEqual(answered + len(refused), 10, story)

    def test_engine_limit_503_has_retry_after(self):
        # the engine's own limits.max_calls refuses the leg: still 503 with Retry-After
        self.start("retry_after = 9", top="limits = { max_calls = 1 },")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_accept_503.xml"), "-s", "service", "-d", "1500",
                       "-r", "10", "-l", "3", "127.0.0.1:%d" % self.sip_port], "load", calls=3)
        code, story = self.wait_sipp(p, "load")
        self.assertEqual(code, 0, story)
        answered, refused = self.count_final("load")
        self.assertEqual((answered, len(refused)), (1, 2), story)
        for r in refused:
            self.assertIn("Retry-After: 9", r, story)

    def test_endpoint_limit(self):
        self.start("", endpoints="1001 password=pw1 context=internal max_calls=1\n"
                               "1002 password=pw2 context=internal\n")
        scen = os.path.join(SCENARIOS, "uac_auth.xml")
        first = self.sipp(["-sf", scen, "-s", "service", "-au", "1001", "-ap", "pw1", "-d", "3000",
                           "127.0.0.1:%d" % self.sip_port], "first")
        self.assertTrue(self.engine.wait_log("internal call from 1001"), self.engine.read_log())
        # the second call of 1001: 407, then 503 with Retry-After
        with open(scen) as f:
            text = f.read()
        busy = os.path.join(self.dir, "second.xml")
        with open(busy, "w") as f:
            text = text.replace('<recv response="200" rtd="true"/>', '<recv response="503"/>')
            f.write(re.sub(r"<pause.*</scenario>", "</scenario>", text, flags=re.S))
        second = self.sipp(["-sf", busy, "-s", "service", "-au", "1001", "-ap", "pw1",
                            "127.0.0.1:%d" % self.sip_port], "second")
        code, story = self.wait_sipp(second, "second")
        self.assertEqual(code, 0, story)
        self.assertIn("Retry-After: 5", story)
        other = self.sipp(["-sf", scen, "-s", "service", "-au", "1002", "-ap", "pw2", "-d", "500",
                           "127.0.0.1:%d" % self.sip_port], "other")
        code, story = self.wait_sipp(other, "other")
        self.assertEqual(code, 0, story)
        code, story = self.wait_sipp(first, "first")
        self.assertEqual(code, 0, story)
        self.assertIn("over the endpoint/trunk call limit of 1001", self.engine.read_log())

    def test_outbound_limit_cause_34(self):
        self.start("max_calls = 1")
        p = self.sipp(["-sn", "uac", "-s", "dialout", "127.0.0.1:%d" % self.sip_port], "dialout")
        self.wait_sipp(p, "dialout")
        self.assertTrue(self.engine.wait_log("dialout: congestion cause 34"), self.engine.read_log())
        self.assertIn("over the global call limit: not calling service@127.0.0.1:9", self.engine.read_log())

    # --- ACLs ---

    def test_endpoint_acl(self):
        self.start("", endpoints="1001 password=pw1 acl=10.0.0.0/8\n"
                               "1002 password=pw2 acl=127.0.0.0/8,::1\n")
        reg = Registrar(self.sip_port)
        try:
            status, data = reg.register("1001", "pw1", "sip:1001@127.0.0.1:9")
            self.assertEqual(status, 403, data)
            status, data = reg.register("1002", "pw2", "sip:1002@127.0.0.1:9")
            self.assertEqual(status, 200, data)
        finally:
            reg.close()
        self.assertIn("sip: endpoint 1001 from 127.0.0.1, outside its acl: 403", self.engine.read_log())

    def test_auth_uri_check_off_accepts_another_signed_uri(self):
        # SIPp signs sip:127.0.0.1:1 here, not the request URI: accepted only
        # because auth_uri_check = false (the default answers 400)
        self.start("auth_uri_check = false", endpoints="1001 password=pw1 context=internal\n")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "service", "-au", "1001",
                       "-ap", "pw1", "-auth_uri", "127.0.0.1:1", "-d", "500",
                       "127.0.0.1:%d" % self.sip_port], "otheruri")
        code, story = self.wait_sipp(p, "otheruri")
        self.assertEqual(code, 0, story)
        self.assertIn('uri="sip:127.0.0.1:1"', story)
        self.assertIn("internal call from 1001", self.engine.read_log())

    def test_endpoint_acl_invite(self):
        # the right password from outside the acl: the INVITE gets 403 after the digest
        self.start("", endpoints="1001 password=pw1 context=internal acl=192.168.0.0/16,fd00::/8\n")
        with open(os.path.join(SCENARIOS, "uac_auth.xml")) as f:
            text = f.read().replace('<recv response="200" rtd="true"/>', '<recv response="403"/>')
        scen = os.path.join(self.dir, "acl.xml")
        with open(scen, "w") as f:
            f.write(re.sub(r"<pause.*</scenario>", "</scenario>", text, flags=re.S))
        p = self.sipp(["-sf", scen, "-s", "service", "-au", "1001", "-ap", "pw1",
                       "127.0.0.1:%d" % self.sip_port], "acl")
        code, story = self.wait_sipp(p, "acl")
        self.assertEqual(code, 0, story)
        self.assertIn("endpoint 1001 from 127.0.0.1, outside its acl: 403", self.engine.read_log())
        self.assertNotIn("enters dialplan", self.engine.read_log())

    def test_bad_config_refuses_to_load(self):
        for bad, says in (("trunks = { { name = 'x', host = 'h', allowed_ips = { '300.1.1.1' } } }",
                           "trunk x allowed_ips: '300.1.1.1' is not an address"),
                          ("trunks = { { name = 'x', host = 'h', caller_id = 'prefix:1' } }",
                           "caller_id must be keep, fixed:NUMBER or strip:P/add:P steps"),
                          ("trunks = { { name = 'x', host = 'h', register = true } }",
                           "register = true needs username and password"),
                          ("max_calls = -1", "max_calls (0-1000000)")):
            with self.subTest(bad=bad):
                self.start(bad, expect_fail=True)
                self.assertTrue(self.engine.wait_log("module sip: load() failed"), self.engine.read_log())
                self.assertIn(says, self.engine.read_log())
                self.assertEqual(self.engine.stop(), 0)
                self.engine.cleanup()
                self.engine = None
                self.events.close()
                self.events = None

    # --- trunks ---

    def trunk_config(self, extra="", register=True):
        return (", trunks = { { name = 'prov', host = '127.0.0.1:%d', username = 'trunkuser',"
                " password = 'trunkpass', from_domain = 'prov.example', caller_id = 'strip:0,add:+49',"
                " register = %s, register_retry = 1 %s },"
                " { name = 'local', host = '127.0.0.1:9', allowed_ips = '127.0.0.1' } }"
                % (self.uas_port, "true" if register else "false", extra))

    def provider(self, scenario, name, calls=1):
        return self.sipp(["-sf", os.path.join(SCENARIOS, scenario), "-key", "expires", "3"],
                         name, port=self.uas_port, calls=calls)

    def trunk_state(self):
        code, data = self.engine.ctl("trunks", json_output=True)
        self.assertEqual(code, 0, data)
        return data["data"]["trunks"][0] if "data" in data else data["trunks"][0]

    def test_trunk_registers(self):
        uas = self.provider("uas_registrar_auth.xml", "registrar")
        self.start(self.trunk_config())
        code, story = self.wait_sipp(uas, "registrar")
        self.assertEqual(code, 0, story)  # the refresh came, our credentials were right
        self.assertRegex(story, r"Authorization: Digest username=\"trunkuser\", realm=\"prov\.example\"")
        self.assertTrue(self.events.wait("sip_trunk_registered"), self.engine.read_log())
        self.assertIn("trunk prov registered for 3 s", self.engine.read_log())
        self.assertIn("trunk prov re-registered", self.engine.read_log())
        t = self.trunk_state()
        self.assertEqual(t["state"], "registered", t)
        self.assertEqual(t["status"], 200, t)

    def test_trunk_registration_retry(self):
        bad = self.provider("uas_register_403.xml", "forbidden")
        self.start(self.trunk_config())
        code, story = self.wait_sipp(bad, "forbidden")
        self.assertEqual(code, 0, story)
        # (retrying in 1 s, or 2 s when SIPp was not listening yet for the first try)
        self.assertTrue(self.engine.wait_log("trunk prov registration failed: 403 Forbidden; retrying in"))
        failed = self.events.wait("sip_trunk_failed")  # the 403, or the retries while nobody listens
        self.assertTrue(failed, self.engine.read_log())
        self.assertIn('"trunk": "prov"', json.dumps(failed[0]))
        self.assertEqual(self.trunk_state()["state"], "failed")
        good = self.provider("uas_registrar_auth.xml", "registrar")
        code, story = self.wait_sipp(good, "registrar", timeout=40)
        self.assertEqual(code, 0, story)
        self.assertTrue(self.events.wait("sip_trunk_registered"), self.engine.read_log())

    def test_trunk_registration_backoff(self):
        # nobody listens at the provider's port: each REGISTER fails at once
        # (ICMP) and the retries come after 1, 2, 4 s
        self.start(self.trunk_config())
        self.assertTrue(self.engine.wait_log("retrying in 4 s", timeout=10), self.engine.read_log())
        # the events stream may have missed the first failure, at load;
        # events arrive a little after the log line
        deadline = time.time() + 5
        while time.time() < deadline and "4" not in [e.get("retry_in") for e in self.events.named("sip_trunk_failed")]:
            time.sleep(0.05)
        delays = [e.get("retry_in") for e in self.events.named("sip_trunk_failed")]
        self.assertGreaterEqual(len(delays), 2, delays)
        self.assertEqual(delays, ["1", "2", "4"][-len(delays):], delays)
        t = self.trunk_state()
        self.assertEqual(t["state"], "failed", t)

    def test_dial_trunk(self):
        uas = self.provider("uas_trunk_invite.xml", "provider")
        self.start(self.trunk_config(register=False))
        p = self.sipp(["-sn", "uac", "-s", "trunkout", "-d", "3000", "127.0.0.1:%d" % self.sip_port], "caller")
        code, story = self.wait_sipp(uas, "provider")
        self.assertEqual(code, 0, story)  # URI and From matched, the credentials were right
        self.assertRegex(story, r"INVITE sip:5551234@127\.0\.0\.1:%d SIP/2\.0" % self.uas_port)
        self.assertRegex(story, r"From: \"Alice\" <sip:\+49301234@prov\.example>")
        auth = re.search(r"Proxy-Authorization: Digest (.*)", story).group(1)
        self.assertTrue(digest_ok(auth, "INVITE", "trunkuser", "trunkpass"), auth)
        self.wait_sipp(p, "caller")
        self.assertIn("trunk dial: answer", self.engine.read_log())

    def test_dial_trunk_fixed_caller_id(self):
        # caller_id = "fixed:..." replaces whatever number the caller has
        with open(os.path.join(SCENARIOS, "uas_trunk_invite.xml")) as f:
            text = f.read().replace(r"\+49301234@prov", r"4930999@prov")
        scen = os.path.join(self.dir, "fixed.xml")
        with open(scen, "w") as f:
            f.write(text)
        uas = self.sipp(["-sf", scen], "provider", port=self.uas_port)
        self.start(self.trunk_config(register=False).replace("caller_id = 'strip:0,add:+49'",
                                                             "caller_id = 'fixed:4930999'"))
        p = self.sipp(["-sn", "uac", "-s", "trunkout", "-d", "3000", "127.0.0.1:%d" % self.sip_port], "caller")
        code, story = self.wait_sipp(uas, "provider")
        self.assertEqual(code, 0, story)
        self.assertRegex(story, r"From: \"Alice\" <sip:4930999@prov\.example>")
        self.wait_sipp(p, "caller")

    def test_static_trunk_inbound(self):
        self.start(", trunks = { { name = 'pbx', host = '127.0.0.1:9', context = 'from-pbx',"
                   " allowed_ips = { '127.0.0.1/32' } } }",
                   endpoints="1001 password=pw1\n")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_expect_bye.xml"), "-s", "service",
                       "127.0.0.1:%d" % self.sip_port], "pbx")
        code, story = self.wait_sipp(p, "pbx")
        self.assertEqual(code, 0, story)
        self.assertNotIn("407 Proxy", story)
        self.assertIn("trunk call from sipp in from-pbx", self.engine.read_log())

    def test_unknown_source_403(self):
        self.start(", trunks = { { name = 'pbx', host = '10.9.9.9', allowed_ips = { '10.9.9.9', 'fd00::/8' } } }")
        with open(os.path.join(SCENARIOS, "uac_busy.xml")) as f:
            text = f.read().replace('response="486"', 'response="403"')
        scen = os.path.join(self.dir, "forbidden.xml")
        with open(scen, "w") as f:
            f.write(text)
        p = self.sipp(["-sf", scen, "-s", "service", "127.0.0.1:%d" % self.sip_port], "stranger")
        code, story = self.wait_sipp(p, "stranger")
        self.assertEqual(code, 0, story)
        self.assertIn("INVITE from 127.0.0.1 is from no trunk's allowed_ips: 403", self.engine.read_log())
        self.assertNotIn("enters dialplan", self.engine.read_log())

    # --- qualify ---

    def test_trunk_qualify(self):
        uas = self.provider("uas_options.xml", "pong", calls=2)
        self.start(self.trunk_config(", qualify = 1", register=False) + ", qualify_timeout = 1")
        up = self.events.wait("sip_reachability")
        self.assertTrue(up, self.engine.read_log())
        self.assertIn('"reachable"', json.dumps(up[0]))
        t = self.trunk_state()
        self.assertEqual(t["reachability"], "reachable", t)
        self.assertGreaterEqual(t["rtt_ms"], 0, t)
        self.wait_sipp(uas, "pong")  # two OPTIONS answered; then nobody answers
        down = self.events.wait("sip_reachability", count=2, timeout=10)
        self.assertTrue(down, self.engine.read_log())
        self.assertIn('"unreachable"', json.dumps(down[1]))
        self.assertEqual(self.trunk_state()["reachability"], "unreachable")

    def test_endpoint_contact_qualify(self):
        uas = self.provider("uas_options.xml", "pong")
        self.start("qualify = 1, qualify_timeout = 1", endpoints="1001 password=pw1\n")
        reg = Registrar(self.sip_port)
        try:
            status, data = reg.register("1001", "pw1", "sip:1001@127.0.0.1:%d" % self.uas_port)
            self.assertEqual(status, 200, data)
        finally:
            reg.close()
        up = self.events.wait("sip_reachability")
        self.assertTrue(up, self.engine.read_log())
        self.assertIn('"kind": "endpoint"', json.dumps(up[0]))
        self.assertIn('"reachable"', json.dumps(up[0]))
        code, data = self.engine.ctl("endpoints", json_output=True)
        ep = (data.get("data") or data)["endpoints"][0]
        self.assertEqual(ep["contacts"][0]["uri"], "sip:1001@127.0.0.1:%d" % self.uas_port, ep)
        self.assertEqual(ep["contacts"][0]["reachability"], "reachable", ep)
        self.wait_sipp(uas, "pong")
        down = self.events.wait("sip_reachability", count=2)
        self.assertTrue(down, self.engine.read_log())
        self.assertIn('"unreachable"', json.dumps(down[1]))
        code, text = self.engine.ctl("endpoints")
        self.assertIn("contact sip:1001@127.0.0.1:%d" % self.uas_port, text)
        self.assertIn("unreachable", text)

    def nat_call(self, transport):
        """1002 registers a private Contact from 127.0.0.1 over `transport`;
        a call to sip/1002 must reach the phone's real address (its socket)."""
        self.start("", endpoints="1001 password=pw1 context=internal\n1002 password=pw2 context=internal\n")
        phone = RawPhone(self.sip_port, transport)
        try:
            status, reply = phone.register("1002", "pw2", "sip:1002@192.168.1.10:5060" +
                                           (";transport=tcp" if transport == "tcp" else ""))
            self.assertEqual(status, 200, reply)
            self.assertIn("Contact: <sip:1002@192.168.1.10:5060", reply)  # listed as sent
            self.assertTrue(self.engine.wait_log("reached at sip:1002@127.0.0.1:%d" % phone.local))
            caller = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "dial1002", "-au", "1001",
                                "-ap", "pw1", "127.0.0.1:%d" % self.sip_port], "caller")
            invite = phone.receive()
            while not invite.startswith("INVITE"):
                invite = phone.receive()
            self.assertTrue(invite.startswith("INVITE sip:1002@127.0.0.1:%d" % phone.local), invite)
            phone.answer(invite, 486, "Busy Here")
            self.assertTrue(self.engine.wait_log("dial 1002: busy cause 17"), self.engine.read_log())
            code, data = self.engine.ctl("endpoints", json_output=True)
            contact = (data.get("data") or data)["endpoints"][1]["contacts"][0]
            self.assertEqual(contact["uri"], "sip:1002@192.168.1.10:5060" +
                             (";transport=tcp" if transport == "tcp" else ""), contact)
            self.assertTrue(contact["target"].startswith("sip:1002@127.0.0.1:%d" % phone.local), contact)
            self.wait_sipp(caller, "caller")
        finally:
            phone.close()

    def test_nat_contact_udp(self):
        self.nat_call("udp")

    def test_nat_contact_tcp_flow(self):
        # the INVITE comes back on the very TCP connection the phone registered on
        self.nat_call("tcp")

    def fork_setup(self, scenarios):
        """1002 registers one contact per SIPp UAS (each running a scenario);
        1001 calls dial1002, which rings them all."""
        self.start("", endpoints="1001 password=pw1 context=internal\n1002 password=pw2 context=internal\n")
        phones = []
        reg = Registrar(self.sip_port)
        try:
            for i, scen in enumerate(scenarios):
                port = harness.free_port()
                args = ["-sn", "uas"] if scen == "uas" else ["-sf", os.path.join(SCENARIOS, scen)]
                phones.append(self.sipp(args, "phone%d" % i, port=port))
                status, data = reg.register("1002", "pw2", "sip:1002@127.0.0.1:%d" % port)
                self.assertEqual(status, 200, data)
        finally:
            reg.close()
        caller = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_auth.xml"), "-s", "dial1002", "-au", "1001",
                            "-ap", "pw1", "127.0.0.1:%d" % self.sip_port], "caller")
        return phones, caller

    def test_fork_first_answer_wins(self):
        phones, caller = self.fork_setup(["uas_ring_cancel.xml", "uas"])
        self.assertTrue(self.engine.wait_log("dial 1002: answer"), self.engine.read_log())
        self.assertIn("ringing 2 of 2 contacts of 1002", self.engine.read_log())
        for i, p in enumerate(phones):  # the ringing one got CANCEL, the other BYE
            code, story = self.wait_sipp(p, "phone%d" % i)
            self.assertEqual(code, 0, story)
        self.wait_sipp(caller, "caller")

    def test_fork_all_busy(self):
        phones, caller = self.fork_setup(["uas_busy.xml", "uas_busy.xml"])
        self.assertTrue(self.engine.wait_log("dial 1002: busy cause 17"), self.engine.read_log())
        for i, p in enumerate(phones):
            code, story = self.wait_sipp(p, "phone%d" % i)
            self.assertEqual(code, 0, story)
        self.wait_sipp(caller, "caller")

    def test_options_answered(self):
        self.start("")
        p = self.sipp(["-sf", os.path.join(SCENARIOS, "uac_options.xml"), "127.0.0.1:%d" % self.sip_port],
                      "options")
        code, story = self.wait_sipp(p, "options")
        self.assertEqual(code, 0, story)
        self.assertRegex(story, r"Allow: .*INVITE")


if __name__ == "__main__":
    unittest.main()
