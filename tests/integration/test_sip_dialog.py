#!/usr/bin/env python3
"""SIP call features against a real peer (SIPp): re-INVITE/UPDATE hold and
codec change (both directions, and from the dialplan), INFO DTMF, identity
and X- headers, transfers (REFER in and out, INVITE with Replaces), session
timers and late offer. Same set-up as
test_sip_calls.py (its SipCalls class: own engine, free ports, SIPp by PID),
with this file's dialplan:

  SipDialog
    test_hold_unhold_codec_change  tests/sip/uac_hold.xml: re-INVITE sendonly -> 200
                  recvonly, our RTP stops (the test owns the RTP port SIPp's SDP
                  names and sees a gap of ~2 s), sendrecv -> RTP again, same SSRC,
                  sequence continuous; a refresh with the same SDP -> the same o=
                  version; c=0.0.0.0 -> recvonly; a PCMA offer -> we switch to PT 8;
                  an UPDATE with a=inactive -> inactive; the dialplan sees
                  sip_hold go 1 then 0
    test_info_dtmf   tests/sip/uac_info_dtmf.xml: dtmf-relay "5" and application/dtmf
                  "#" are read by call:read as "5#"; text/plain -> 415; send_dtmf("7")
                  with sip_dtmf = "info" -> an INFO with Signal=7 (SIPp checks it)
    test_info_dtmf_auto_without_telephone_event  the same caller without
                  telephone-event in its offer: send_dtmf goes as INFO by default
    test_headers_to_dialplan_and_out  tests/sip/uac_headers.xml with trusted_sources
                  = 127.0.0.1: X-Ticket/X-Crm-Data readable as sip_h_X-..., PAI
                  becomes the caller, Diversion -> redirected_from; the dialled
                  INVITE (to a SIPp UAS) carries the X- headers (passed through and
                  set by the dialplan), PAI, Privacy: id with an anonymous From,
                  Diversion; a value with CR/LF is refused, not injected
    test_refer_by_caller  tests/sip/uac_refer.xml: the caller REFERs; the dialled
                  party becomes the channel and runs "target"
    test_refer_to_unknown_extension  the same to "nosuch": NOTIFY 404, the call goes on
    test_refer_with_replaces  A holds a call ("held", not bridged) and REFERs a second
                  one with Refer-To ...?Replaces= naming the first: final NOTIFY 603;
                  naming no dialog of ours: 481; the first call goes on
    test_session_timer_expiry  tests/sip/uac_session_timer.xml (min_se = 2 here):
                  Session-Expires 1 -> 422; 3 s with the caller as refresher and no
                  refresh -> our BYE (Reason 408) after ~3 s, cause 102
    test_session_timer_we_refresh  tests/sip/uac_session_refresh.xml: we are the
                  refresher of a 4 s session: an UPDATE within ~2 s
    test_refer_blind_transfer  tests/sip/uas_refer.xml: the dialled party (SIPp UAS)
                  REFERs the caller (SIPp UAC) to "target": 202, NOTIFY 100 Trying
                  then 200 OK, BYE to the transferor; the caller runs "target"
    test_hold_by_called_party  tests/sip/uas_hold.xml: Tandem calls a SIPp UAS,
                  which re-INVITEs sendonly (answered recvonly) then sendrecv
    test_late_offer  tests/sip/uac_late_offer.xml: INVITE without SDP, our offer in
                  the 200, the answer (PCMA) in the ACK; RTP both ways (-rtp_echo)
    test_invite_with_replaces  tests/sip/uac_replaces.xml: a third party's INVITE
                  with Replaces takes the place of a bridged leg (attended transfer
                  done by a phone); the replaced party gets BYE
    test_hold_passes_through_a_bridge  hold_passthrough = true: the caller's hold and
                  resume re-INVITE the party it is bridged with (uas_held.xml)
    test_dialplan_holds  tests/sip/uas_held.xml: call:sip_hold(true) then (false) on an
                  originated call: re-INVITE sendonly then sendrecv, each returns 200
    test_dialplan_sends_refer  tests/sip/uas_refer_in.xml: call:sip_refer(target) on
                  an originated call: REFER out, NOTIFY 180 then 200 -> returns 200
  SipUntrusted
    test_pai_ignored_from_untrusted  the same INVITE without trusted_sources: the
                  caller stays the From user

Run: python3 tests/integration/test_sip_dialog.py -v   (needs `sipp`)
"""
import os
import re
import socket
import struct
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_calls as base  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["hold"] = function(call)
    call:answer()
    local held = "0"
    for i = 1, 100 do
      call:play("tone:440/100")
      local h = call:get("sip_hold") or "0"
      if h ~= held then held = h; call:log("dialplan sees sip_hold=" .. h) end
    end
  end,
  ["infodtmf"] = function(call)
    call:answer()
    local d = call:read({ max = 2, timeout = 5000, terminator = "" })
    call:log("info dtmf in: " .. tostring(d))
    call:set("sip_dtmf", "info")
    call:send_dtmf("7")
    call:sleep(20000)
  end,
  ["headers"] = function(call)
    call:answer()
    call:log(string.format("headers: ticket=%s crm=%s caller=%s/%s redirected_from=%s privacy=%s",
      tostring(call:get("sip_h_X-Ticket")), tostring(call:get("sip_h_X-Crm-Data")),
      tostring(call.caller_num), tostring(call.caller_name),
      tostring(call:get("redirected_from")), tostring(call:get("sip_privacy"))))
    call:set("sip_h_X-Ivr", "menu=2")
    call:set("sip_h_X-Bad", "a\\r\\nX-Injected: 1")
    call:set("sip_h_Not-X", "no")
    local status = call:dial("sip/service@127.0.0.1:@UAS_PORT@",
                             { vars = { ["sip_h_X-Agent"] = "7" } })
    call:log("headers dial: " .. tostring(status))
    call:hangup()
  end,
  ["agent"] = function(call)
    call:answer()
    local status, leg = call:dial("sip/service@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:log("agent bridge: " .. tostring(call:bridge(leg))) end
    call:log("agent: the script went on after the bridge")
  end,
  ["late"] = function(call)
    call:answer()
    call:play("tone:440/1500")
    call:hangup()
  end,
  ["infoauto"] = function(call)      -- no sip_dtmf: "auto" decides
    call:answer()
    call:send_dtmf("7")
    call:sleep(20000)
  end,
  ["timer"] = function(call)
    call:answer()
    call:sleep(20000)
  end,
  ["held"] = function(call)          -- A's other call, named by a Replaces
    call:answer()
    call:sleep(20000)
  end,
  ["referout"] = function(call)      -- an originated call to a SIPp UAS
    local ok, err = pcall(call.sip_refer, call, "bad target")
    call:log("sip_refer bad target: " .. tostring(ok) .. " " .. tostring(err))
    local status = call:sip_refer("sip:2000@pbx.example.net")
    call:log("sip_refer returned " .. tostring(status))
    call:hangup()
  end,
  ["holdout"] = function(call)       -- an originated call to a SIPp UAS
    call:log("sip_hold(true): " .. tostring(call:sip_hold(true)))
    call:sleep(300)
    call:log("sip_hold(false): " .. tostring(call:sip_hold(false)))
    call:hangup()
  end,
  ["target"] = function(call)
    call:log("transfer target reached: channel " .. call.name .. " caller " .. tostring(call.caller_num))
    call:play("tone:440/300")
    call:hangup()
  end,
} } }
"""


class RtpSink:
    """Receives the RTP our engine sends (the port SIPp's SDP names) and
    keeps (arrival time, payload type, sequence, SSRC, marker) per packet."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) >= 12:
                b1, seq, _ts, ssrc = struct.unpack("!BHII", data[1:12])
                self.packets.append((time.monotonic(), b1 & 0x7f, seq, ssrc, bool(b1 & 0x80)))

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class SipDialog(base.SipCalls):
    dialplan = DIALPLAN
    extra_sip_config = "trusted_sources = '127.0.0.1', min_se = 2, hold_passthrough = true"

    def answers(self, name):
        """Our responses with an SDP body, from SIPp's message trace:
        [(o= version, direction, payload types of m=)]."""
        with open(os.path.join(self.dir, name + ".msg"), errors="replace") as f:
            story = f.read()  # all of it: sipp_story() keeps only the end
        out = []
        for msg in re.split(r"-{10,}", story):
            if "SIP/2.0 200 OK" not in msg or "m=audio" not in msg:
                continue
            ver = re.search(r"o=tandem \d+ (\d+)", msg).group(1)
            direction = re.search(r"a=(sendrecv|sendonly|recvonly|inactive)", msg).group(1)
            fmts = re.search(r"m=audio \d+ RTP/AVP ([\d ]+)", msg).group(1).split()
            out.append((int(ver), direction, fmts))
        return out

    def test_hold_unhold_codec_change(self):
        sink = RtpSink()
        try:
            story = self.uac_call("hold", "uac_hold.xml", extra=("-key", "rtpport", str(sink.port)))
        finally:
            sink.close()
        a = self.answers("hold")
        self.assertEqual(len(a), 7, a)
        (v1, d1, f1), (v2, d2, _), (v3, d3, _), (v4, d4, _), (v5, d5, _), (v6, d6, f6), (v7, d7, _) = a
        self.assertEqual([d1, d2, d3, d4, d5, d6, d7],
                         ["sendrecv", "recvonly", "sendrecv", "sendrecv", "recvonly", "sendrecv", "inactive"], a)
        self.assertEqual(v7, v6 + 1, a)        # the UPDATE's answer
        self.assertEqual(f1[0], "0", a)
        self.assertEqual(f6[0], "8", a)       # the codec change is answered with PCMA
        self.assertEqual(v2, v1 + 1, a)        # changed SDP: version + 1
        self.assertEqual(v3, v2 + 1, a)
        self.assertEqual(v4, v3, a)            # session refresh: unchanged SDP, same version
        self.assertGreater(v6, v5, a)
        e = self.engine
        self.assertTrue(e.wait_log("sip: far end holds the call (sendonly)"), story)
        self.assertTrue(e.wait_log("sip: far end holds the call (sendrecv, c=0.0.0.0)"), story)
        self.assertTrue(e.wait_log("sip: codec changed to PCMA"), story)
        self.assertTrue(e.wait_log("sip: far end holds the call (inactive)"), story)  # by UPDATE
        self.assertTrue(e.wait_log("dialplan sees sip_hold=1"), story)
        self.assertTrue(e.wait_log("dialplan sees sip_hold=0"), story)

        pk = sink.packets
        self.assertGreater(len(pk), 80, story)
        # while held (2 s after the sendonly re-INVITE) nothing was sent
        gaps = [(pk[i + 1][0] - pk[i][0], i) for i in range(len(pk) - 1)]
        gap, at = max(gaps)
        self.assertGreater(gap, 1.5, "no hold gap in our RTP: %s" % gaps[-5:])
        before, after = pk[at], pk[at + 1]
        self.assertGreater(len(pk) - at, 40, story)            # RTP resumed after unhold
        self.assertEqual(before[3], after[3])                  # same SSRC
        self.assertEqual((before[2] + 1) & 0xffff, after[2])   # no sequence gap
        self.assertTrue(after[4], "first packet after the hold has no marker")
        self.assertEqual(pk[0][1], 0)                          # PCMU first ...
        self.assertEqual(pk[-1][1], 8)                         # ... PCMA at the end
        self.assertEqual({p[3] for p in pk}, {pk[0][3]})       # one SSRC for the whole call

    def test_info_dtmf(self):
        story = self.uac_call("infodtmf", "uac_info_dtmf.xml")
        self.assertTrue(self.engine.wait_log("info dtmf in: 5#\n"), story)
        self.assertIn("SIP/2.0 415", story)
        self.assertRegex(story, r"INFO sip:[^\n]*\n(.*\n)*?Content-Type: application/dtmf-relay")

    def test_info_dtmf_auto_without_telephone_event(self):
        # dtmf = auto (the default): a caller that offered no telephone-event
        # gets send_dtmf as an INFO.
        with open(os.path.join(base.SCENARIOS, "uac_info_dtmf.xml")) as f:
            text = f.read()
        first = text.index('  <pause milliseconds="300"/>')  # our INFO may come at once
        text = text[:first] + text[text.index('  <recv request="INFO">'):]
        text = text.replace("RTP/AVP 0 101", "RTP/AVP 0").replace("      a=rtpmap:101 telephone-event/8000\n", "")
        scen = os.path.join(self.dir, "infoauto.xml")
        with open(scen, "w") as f:
            f.write(text)
        story = self.uac_call("infoauto", scen)
        self.assertIn("Signal=7", story)

    def test_headers_to_dialplan_and_out(self):
        uas, port = self.uas("uas")
        self.assertEqual(port, self.uas_port)
        time.sleep(0.3)
        story = self.uac_call("headers", "uac_headers.xml")
        code, uas_story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, uas_story)
        self.assertTrue(self.engine.wait_log(
            "headers: ticket=4711 crm=customer=42;queue=sales caller=8000/Boss "
            "redirected_from=5000 privacy=id"), story)
        invite = uas_story.split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
        self.assertIn("X-Ticket: 4711", invite)                      # passed through
        self.assertIn("X-Crm-Data: customer=42;queue=sales", invite)
        self.assertIn("X-Ivr: menu=2", invite)                       # set in the dialplan
        self.assertIn("X-Agent: 7", invite)                          # dial()'s vars
        self.assertNotIn("X-Injected", invite)
        self.assertNotIn("X-Bad", invite)
        self.assertNotIn("Not-X", invite)
        self.assertIn('P-Asserted-Identity: "Boss" <sip:8000@127.0.0.1>', invite)
        self.assertIn("Privacy: id", invite)
        self.assertRegex(invite, r'From: "Anonymous" <sip:anonymous@')
        self.assertIn("Diversion: <sip:5000@", invite)
        self.assertTrue(self.engine.wait_log("sip: variable sip_h_X-Bad is not sent"), story)


    def test_refer_blind_transfer(self):
        # SIPp A calls "agent", which dials SIPp B and bridges; B REFERs to
        # "target": A continues there (and gets BYE when it hangs up), B gets
        # 202, NOTIFY "SIP/2.0 200", then BYE; "agent"'s script never resumes.
        uas, _ = self.uas("uas", os.path.join(base.SCENARIOS, "uas_refer.xml"),
                          extra=("-key", "refer_to", "target", "-trace_logs",
                                 "-log_file", os.path.join(self.dir, "uas.log")))
        time.sleep(0.3)
        p = self.uac("agent", "uac_expect_bye.xml")
        code, uas_story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, uas_story)
        code, story = self.wait_sipp(p, "agent")
        self.assertEqual(code, 0, story)
        e = self.engine
        self.assertTrue(e.wait_log("sip: REFER to target: transferring"), uas_story)
        self.assertTrue(e.wait_log("transfer target reached: channel sip/agent@default caller sipp"), uas_story)
        self.assertIn("SIP/2.0 202", uas_story)
        self.assertRegex(uas_story, r"NOTIFY sip:(.*\n)*?Subscription-State: terminated")
        with open(os.path.join(self.dir, "uas.log")) as f:
            self.assertIn("NOTIFY sipfrag: SIP/2.0 200 OK after SIP/2.0 100 Trying", f.read())
        self.assertTrue(e.wait_log("call ended"), story)
        self.assertNotIn("the script went on", e.read_log())

    def test_session_timer_expiry(self):
        # Below min_se: 422 with Min-SE: 2; 3 s with the caller as refresher
        # is accepted, and without a refresh the engine ends the call.
        start = time.monotonic()
        story = self.uac_call("timer", "uac_session_timer.xml")
        self.assertLess(time.monotonic() - start, 8, story)
        self.assertTrue(self.engine.wait_log("sip: the session expired"), story)
        self.assertTrue(self.engine.wait_log("sip: far end hung up (SIP 408, cause 102)"), story)
        self.assertIn('Reason: SIP;cause=408;text="Session timeout"', story)
        self.assertTrue(self.engine.wait_log("call ended"), story)

    def test_session_timer_we_refresh(self):
        # The caller makes us the refresher (4 s): an UPDATE within ~2 s
        # keeps the call up until the caller's BYE.
        start = time.monotonic()
        story = self.uac_call("timer", "uac_session_refresh.xml")
        self.assertLess(time.monotonic() - start, 8, story)
        self.assertTrue(self.engine.wait_log("sip: far end hung up (SIP 0, cause 16)"), story)
        self.assertNotIn("the session expired", self.engine.read_log())

    def test_late_offer(self):
        # INVITE without SDP: our 200 offers, the ACK answers PCMA, and our
        # tone goes there (SIPp echoes it back to us).
        story = self.uac_call("late", "uac_late_offer.xml", extra=("-rtp_echo",))
        e = self.engine
        self.assertTrue(e.wait_log("sip: codec from the answer: PCMA"), story)
        self.assertTrue(e.wait_log("RTP in"), story)
        (rx, tx), = [(int(a), int(b)) for a, b in re.findall(r"RTP in (\d+), out (\d+)", e.read_log())]
        self.assertGreater(tx, 40, story)  # 1.5 s of tone
        self.assertGreater(rx, 20, story)  # echoed back: we sent to the ACK's address

    def test_hold_by_called_party(self):
        # Tandem as UAC: the SIPp UAS it called holds and resumes by re-INVITE;
        # SIPp checks our answers' directions.
        self.originate_to_uas("uas", "uas_hold.xml", "timer", ("sip: far end holds the call (sendonly)",
                                                              "sip: far end resumes the call (sendrecv)", "call ended"))

    def dialog_of(self, name):
        """(Call-ID, caller's tag, called party's tag) of the answered dialog
        in SIPp `name`'s message trace, once it is there."""
        trace = os.path.join(self.dir, name + ".msg")
        deadline = time.time() + 5
        text = ""
        while time.time() < deadline:  # SIPp writes its trace as it goes
            if os.path.exists(trace):
                with open(trace, errors="replace") as f:
                    text = f.read()
            m_invite = re.search(r"INVITE sip:.*?\n\n", text, re.S)
            m_ok = re.search(r"SIP/2.0 200 OK.*?\n\n", text, re.S)
            if m_invite and m_ok:
                return (re.search(r"Call-ID: *(\S+)", m_invite.group(0)).group(1),
                        re.search(r"From:.*;tag=([^;\s]+)", m_invite.group(0)).group(1),
                        re.search(r"To:.*;tag=([^;\s]+)", m_ok.group(0)).group(1))
            time.sleep(0.1)
        self.fail("no answered dialog in %s's trace:\n%s" % (name, text))

    def test_invite_with_replaces(self):
        # A calls "agent", which dials B (SIPp UAS) and bridges. C sends an
        # INVITE with Replaces naming our dialog with B: C takes B's place in
        # the bridge, B gets BYE; when C hangs up, "agent"'s bridge() returns
        # peer_hangup and A gets BYE.
        uas, _ = self.uas("uas")
        time.sleep(0.3)
        a = self.uac("agent", "uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("bridged"), self.engine.read_log())
        call_id, our_tag, b_tag = self.dialog_of("uas")
        c = self.uac("replacing", "uac_replaces.xml",  # the request URI does not matter
                     extra=("-key", "replaces", "%s;to-tag=%s;from-tag=%s" % (call_id, our_tag, b_tag)))
        for p, name in ((c, "replacing"), (uas, "uas"), (a, "agent")):
            code, story = self.wait_sipp(p, name)
            self.assertEqual(code, 0, story)
        e = self.engine
        self.assertTrue(e.wait_log("sip: sipp replaces a leg of this call (RFC 3891)"), story)
        with open(os.path.join(self.dir, "replacing.msg")) as f:
            self.assertRegex(f.read(), r"SIP/2.0 200 OK(.*\n)*?Supported: [^\n]*replaces")
        self.assertTrue(e.wait_log("in the bridge with"), story)
        self.assertTrue(e.wait_log("agent bridge: peer_hangup"), story)
        self.assertTrue(e.wait_log("call ended"), story)

    def test_refer_by_caller(self):
        # The caller (the call's channel) REFERs: the dialled party becomes
        # the channel and runs "target"; the caller gets NOTIFY 200 and BYE.
        story, notes = self.caller_refers("uac_refer.xml", "target")
        self.assertIn("final sipfrag: SIP/2.0 200 OK after SIP/2.0 100 Trying", notes)
        e = self.engine
        self.assertTrue(e.wait_log("transfer target reached: channel sip/service@127.0.0.1:%d caller" % self.uas_port),
                        story)
        self.assertTrue(e.wait_log("call ended"), story)
        self.assertNotIn("the script went on", e.read_log())

    def caller_refers(self, scenario, refer_to):
        """A SIPp UAS where "agent" dials, then a SIPp caller of "agent" that
        runs SCENARIO (REFER to `refer_to`); both must pass. Returns the
        caller's story and its log (what its scenario wrote down)."""
        uas, _ = self.uas("uas")
        time.sleep(0.3)
        log = os.path.join(self.dir, "agent.log")
        story = self.uac_call("agent", scenario, extra=("-key", "refer_to", refer_to, "-trace_logs", "-log_file", log))
        code, uas_story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, uas_story)
        with open(log) as f:
            return story, f.read()

    def refer_then_bye_scenario(self, name):
        """uac_refer.xml whose caller hangs up itself after the final NOTIFY
        (the REFER fails), with `Refer-To: <sip:[refer_to]>`."""
        with open(os.path.join(base.SCENARIOS, "uac_refer.xml")) as f:
            text = f.read().replace("Refer-To: <sip:[refer_to]@[remote_ip]>", "Refer-To: <sip:[refer_to]>")
        tail = text[text.index("  <!-- end: Tandem hangs up -->"):text.index("</scenario>")]
        text = text.replace(tail, """  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
""")
        scen = os.path.join(self.dir, name + ".xml")
        with open(scen, "w") as f:
            f.write(text)
        return scen

    def test_refer_to_unknown_extension(self):
        # A REFER to an extension the dialplan lacks: NOTIFY 404, nothing
        # changes; the caller then hangs up itself and the bridge ends.
        story, notes = self.caller_refers(self.refer_then_bye_scenario("refer404"), "nosuch@127.0.0.1")
        self.assertIn("final sipfrag: SIP/2.0 404 Not Found", notes)
        e = self.engine
        self.assertTrue(e.wait_log("sip: REFER to nosuch: no such extension or party"), story)
        self.assertTrue(e.wait_log("call ended"), story)
        self.assertNotIn("transfer target reached", e.read_log())

    def test_refer_with_replaces(self):
        # Attended transfer by REFER (Refer-To with Replaces) whose Replaces
        # names A's other call with us, which is not bridged (in "held"):
        # final NOTIFY 603; naming no dialog of ours: 481; both calls go on.
        # (A successful join: test_sip_attended.py.)
        held = self.uac("held", "uac_expect_bye.xml")
        self.assertTrue(self.engine.wait_log("sip: inbound"), self.engine.read_log())
        first_call = re.search(r"\[([0-9a-f]+-\d+)\] sip: inbound", self.engine.read_log()).group(1)
        call_id, a_tag, our_tag = self.dialog_of("held")
        scen = self.refer_then_bye_scenario("refer_replaces")
        for replaces, status in (("%s;to-tag=%s;from-tag=%s" % (call_id, our_tag, a_tag), "603 Decline"),
                                 ("nosuch;to-tag=%s;from-tag=%s" % (our_tag, a_tag),
                                  "481 Call/Transaction Does Not Exist")):
            refer_to = "held@127.0.0.1?Replaces=" + urllib.parse.quote(replaces, safe="")
            log = os.path.join(self.dir, "timer.log")
            story = self.uac_call("timer", scen, extra=("-key", "refer_to", refer_to, "-trace_logs", "-log_file", log))
            with open(log) as f:
                self.assertIn("final sipfrag: SIP/2.0 " + status, f.read())
            os.unlink(log)
        e = self.engine
        self.assertIn("sip: REFER with Replaces for our dialog %s" % call_id, e.read_log())
        self.assertIn("attended transfer refused: the call named by Replaces is not bridged (603)", e.read_log())
        self.assertIn("sip: REFER with Replaces for no dialog nosuch", e.read_log())
        self.assertIsNone(held.poll(), "the first call went on")
        rc, out = e.ctl("hangup", first_call)
        self.assertEqual(rc, 0, out)
        code, story = self.wait_sipp(held, "held")
        self.assertEqual(code, 0, story)

    def test_hold_passes_through_a_bridge(self):
        # hold_passthrough: A (the first three steps of uac_hold.xml: call,
        # sendonly, sendrecv) is bridged with B (uas_held.xml), which must
        # get our re-INVITEs sendonly then sendrecv.
        with open(os.path.join(base.SCENARIOS, "uac_hold.xml")) as f:
            text = f.read()
        cut = text.index("CSeq: 4 INVITE")
        cut = text.rindex('  <send retrans="500">', 0, cut)
        bye = text[text.index('  <send retrans="500">\n    <![CDATA[\n\n      BYE'):]
        scen = os.path.join(self.dir, "hold3.xml")
        with open(scen, "w") as f:
            f.write(text[:cut] + bye.replace("CSeq: 8 BYE", "CSeq: 4 BYE"))
        sink = RtpSink()
        try:
            uas, _ = self.uas("uas", os.path.join(base.SCENARIOS, "uas_held.xml"))
            time.sleep(0.3)
            story = self.uac_call("agent", scen, extra=("-key", "rtpport", str(sink.port)))
            code, uas_story = self.wait_sipp(uas, "uas")
            self.assertEqual(code, 0, uas_story)
        finally:
            sink.close()
        e = self.engine
        self.assertTrue(e.wait_log("sip: holding the far end (re-INVITE)"), uas_story)
        self.assertTrue(e.wait_log("sip: resuming the far end (re-INVITE)"), uas_story)

    def test_dialplan_holds(self):
        # leg:sip_hold(true/false): re-INVITE sendonly then sendrecv to the
        # SIPp UAS (which checks them); each returns 200.
        self.originate_to_uas("uas", "uas_held.xml", "holdout",
                              ("sip_hold(true): 200", "sip_hold(false): 200", "call ended"))

    def test_dialplan_sends_refer(self):
        # leg:sip_refer(): REFER to the far end, the script waits for the
        # final NOTIFY (after a 180 one) and gets its status; a target with
        # a space is a Lua error.
        self.originate_to_uas("uas", "uas_refer_in.xml", "referout",
                              ("sip_refer bad target: false", "sip_refer returned 200", "call ended"))

    def uas(self, name, scenario=None, extra=()):
        """SIPp as the called party on the port the dialplan dials."""
        args = ["-sf", scenario] if scenario else ["-sn", "uas"]
        p = self.sipp(args + list(extra), name, port=self.uas_port)
        return p, self.uas_port


class SipUntrusted(base.SipCalls):
    dialplan = DIALPLAN

    def test_pai_ignored_from_untrusted(self):
        story = self.uac_call("headers", "uac_headers.xml")
        self.assertTrue(self.engine.wait_log("headers: ticket=4711 crm=customer=42;queue=sales "
                                             "caller=sipp/sipp redirected_from=5000"), story)


def load_tests(loader, tests, pattern):
    return base.own_tests(SipDialog, SipUntrusted)


if __name__ == "__main__":
    unittest.main()
