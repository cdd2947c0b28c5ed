#!/usr/bin/env python3
"""IVR audio against a real SIP peer (SIPp) and the real binary.

  test_inband_dtmf_from_pcap   SIPp plays a pcap whose PCMA audio holds the
                               DTMF tones 1590 (no RFC 4733): with
                               dtmf_inband = 1 the dialplan reads "1590"
  test_played_tones_come_back  the engine plays DTMF tones to SIPp, which
                               echoes its RTP: the tones went out as PCMA and
                               came back intact enough for the in-band
                               detector to read the same digits

Run: python3 tests/integration/test_ivr_sip.py -v   (needs `sipp`, package sip-tester)
"""
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # G.711 encoding; deprecated in 3.11, fine for a test

SIPP = shutil.which("sipp")
SCENARIOS = os.path.join(harness.REPO, "tests", "sip")

DIALPLAN = """
return { contexts = { default = {
  ["inband"] = function(call)
    call:answer()
    call:set("dtmf_inband", "1")
    local digits, why = call:read{ max = 4, timeout = 6000, terminator = "" }
    call:log("inband digits: " .. tostring(digits) .. " (" .. why .. ")")
  end,
  ["loop"] = function(call)
    call:answer()
    call:set("dtmf_inband", "1")
    call:play("tone:0/300")
    -- 4, 2, 0, 7; the echo comes back while we still play: type-ahead
    call:play("tone:770+1209/100,0/100,697+1336/100,0/100,941+1336/100,0/100,852+1209/100,0/100")
    local digits, why = call:read{ max = 4, timeout = 3000, terminator = "" }
    call:log("echoed digits: " .. tostring(digits) .. " (" .. why .. ")")
  end,
} } }
"""

# DTMF frequency pairs (ITU-T Q.23).
KEYS = {"1": (697, 1209), "5": (770, 1336), "9": (852, 1477), "0": (941, 1336)}


def dtmf_pcma(digits, rate=8000):
    """A-law audio: 200 ms of silence, then each digit 100 ms on, 100 ms off."""
    samples = [0] * (rate // 5)
    for d in digits:
        lo, hi = KEYS[d]
        for i in range(rate // 10):
            samples.append(int(6000 * math.sin(2 * math.pi * lo * i / rate) +
                               6000 * math.sin(2 * math.pi * hi * i / rate)))
        samples += [0] * (rate // 10)
    samples += [0] * (rate // 2)
    return audioop.lin2alaw(struct.pack("<%dh" % len(samples), *samples), 2)


def write_rtp_pcap(path, payload, pt=8, frame=160):
    """A pcap of RTP packets (Ethernet/IPv4/UDP), 20 ms apart, as SIPp's
    play_pcap_audio replays them."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, off in enumerate(range(0, len(payload) - frame + 1, frame)):
            rtp = struct.pack("!BBHII", 0x80, pt, n, n * frame, 0x1234) + payload[off:off + frame]
            udp = struct.pack("!HHHH", 4000, 4000, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
            eth = b"\x00" * 12 + b"\x08\x00" + ip
            usec = n * 20000
            f.write(struct.pack("<IIII", usec // 1000000, usec % 1000000, len(eth), len(eth)))
            f.write(eth)


SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac, PCMA whose audio carries DTMF tones; the engine hangs up">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="@PCAP@"/>
    </action>
  </nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


@unittest.skipUnless(SIPP, "sipp (package sip-tester) is not installed")
class IvrOverSip(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-ivr-sip-")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN)
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(self.dir, rtp_ports=20))
        self.sip_port = self.engine.sip_port
        self.sipp_proc = None

    def tearDown(self):
        if self.sipp_proc and self.sipp_proc.poll() is None:
            self.sipp_proc.kill()
            self.sipp_proc.wait()
        harness.end_engine(self, self.engine, self.dir)

    def call(self, exten, scenario, extra=()):
        """One SIPp call to `exten`; returns its exit code and the story."""
        cmd = [SIPP, "-sf", scenario, "-s", exten, *extra, "-i", "127.0.0.1",
               "-p", str(harness.free_port()), "-mi", "127.0.0.1", "-mp", str(harness.free_port() & ~1),
               "-m", "1", "-timeout", "20", "-timeout_error", "-nostdin",
               "-trace_err", "-error_file", os.path.join(self.dir, exten + ".err"),
               "127.0.0.1:%d" % self.sip_port]
        self.sipp_proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code = self.sipp_proc.wait(30)
        except subprocess.TimeoutExpired:
            self.sipp_proc.kill()
            self.sipp_proc.wait()
            code = -1
        story = ""
        err = os.path.join(self.dir, exten + ".err")
        if os.path.exists(err):
            with open(err, errors="replace") as f:
                story = f.read()[-4000:]
        return code, story + "\n--- engine log ---\n" + self.engine.read_log()

    def test_inband_dtmf_from_pcap(self):
        pcap = os.path.join(self.dir, "dtmf-1590.pcap")
        write_rtp_pcap(pcap, dtmf_pcma("1590"))
        scenario = os.path.join(self.dir, "uac_inband.xml")
        with open(scenario, "w") as f:
            f.write(SCENARIO.replace("@PCAP@", pcap))
        code, story = self.call("inband", scenario)
        self.assertEqual(code, 0, story)
        self.assertTrue(self.engine.wait_log("inband digits: 1590 (max)"), story)

    def test_played_tones_come_back(self):
        code, story = self.call("loop", os.path.join(SCENARIOS, "uac_expect_bye.xml"), ("-rtp_echo",))
        self.assertEqual(code, 0, story)
        self.assertTrue(self.engine.wait_log("echoed digits: 4207 (max)"), story)


if __name__ == "__main__":
    unittest.main()
