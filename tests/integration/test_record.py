#!/usr/bin/env python3
"""Call recording (modules/record) over real SIP with the real binary.

  test_stereo_bridged_call   caller sends 440 Hz, callee 1000 Hz through a
                             bridge: the WAV's left channel holds 440, the
                             right 1000; the name template expanded date,
                             variable and linked_id; the CDR lists the file
                             and a "recording" record describes it
  test_pause_is_silence      record_pause/resume around 1 s of a played tone:
                             that second (and only it) is silent in both
                             channels, and the record's pauses say where
  test_survives_transfer     call:transfer keeps recording into the same
                             file: the tone played before and after are both in
  test_follows_replaces     C's INVITE with Replaces takes the recorded
                             caller's place in the bridge: the same file goes
                             on, with C (1700 Hz) on the left after A (440)
  test_follows_refer        the recorded caller REFERs the callee elsewhere:
                             the recording moves to the callee, who now runs
                             the dialplan; the same file goes on
  test_opus_mono_console     started, paused and stopped from `tandem ctl
                             record`; Ogg/Opus, mono mix of both directions;
                             bad templates and options give nil, reason
  test_full_disk             recording onto a tiny tmpfs: the recording stops
                             with an error log line and event, the call keeps
                             its audio to the end, the engine takes the next
                             call and stops cleanly (root only: mounts)

Run: python3 tests/integration/test_record.py -v
"""
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tones  # noqa: E402
import sipua  # noqa: E402
from cdr_support import read_jsonl, wait_for  # noqa: E402

DIALPLAN = """
return { contexts = { default = {
  ["bridge"] = function(call)
    call:answer()
    call:set("agent", "alice/7")
    local file, why = call:record_start("@REC@/%Y/${agent}-${linked_id}.wav")
    call:log("recording to " .. tostring(file) .. " " .. tostring(why))
    local status, peer = call:dial("sip/peer@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:bridge(peer) end
  end,
  ["rbridge"] = function(call)
    call:answer()
    call:log("recording to " .. tostring(call:record_start("@REC@/replaced-${call_id}.wav")))
    local status, peer = call:dial("sip/peer@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:bridge(peer) end
  end,
  ["referred"] = function(call)
    call:log("referred party runs the dialplan")
    call:play("tone:600/1500")
    call:log("referred done")
  end,
  ["pause"] = function(call)
    call:answer()
    call:record_start("@REC@/pause-${call_id}.wav")
    call:play("tone:1000/1000")
    call:record_pause()
    call:play("tone:1000/1000")
    call:record_resume()
    call:play("tone:1000/1000")
    call:log("stopped: " .. tostring(call:record_stop()))
  end,
  ["xfer"] = function(call)
    call:answer()
    call:record_start("@REC@/xfer-${call_id}.wav")
    call:play("tone:600/1000")
    call:transfer("after")
  end,
  ["after"] = function(call)
    call:play("tone:1000/1000")
    call:record_stop()
    call:log("after transfer done")
  end,
  ["console"] = function(call)
    call:answer()
    for _, bad in ipairs({ {"../escape.wav"}, {"x.mp3"}, {"x.wav", "quad"}, {"${oops.wav"} }) do
      local file, why = call:record_start(bad[1], bad[2])
      call:log("refused: " .. tostring(file) .. ", " .. tostring(why))
    end
    call:log("console call up")
    call:play("tone:1000/3000")
    call:log("console call done")
  end,
  ["full"] = function(call)
    call:answer()
    call:log("recording to " .. tostring(call:record_start("@FULL@/big-${call_id}.wav")))
    call:play("tone:1000/4000")
    call:log("full disk call went on")
  end,
} } }
"""



def energy(samples):
    return sum(x * x for x in samples) / max(1, len(samples))


class SndFile:
    """Reads any file libsndfile reads (WAV, Ogg/Opus) through ctypes."""
    class Info(ctypes.Structure):
        _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                    ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]

    lib = ctypes.CDLL("libsndfile.so.1")
    lib.sf_open.restype = ctypes.c_void_p
    lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
    lib.sf_readf_short.restype = ctypes.c_int64
    lib.sf_readf_short.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.sf_close.argtypes = [ctypes.c_void_p]

    @classmethod
    def read(cls, path):
        """(rate, [channel samples...])"""
        info = cls.Info()
        h = cls.lib.sf_open(path.encode(), 0x10, ctypes.byref(info))
        if not h:
            raise AssertionError("libsndfile cannot open " + path)
        buf = (ctypes.c_short * (info.frames * info.channels + 48000))()
        n = cls.lib.sf_readf_short(h, buf, info.frames + 48000 // info.channels)
        cls.lib.sf_close(h)
        data = list(buf[:n * info.channels])
        return info.samplerate, [data[c::info.channels] for c in range(info.channels)]


class Tone(threading.Thread):
    """Sends a PCMU sine as RTP, 20 ms apart, until stopped."""
    def __init__(self, ua, freq):
        super().__init__(daemon=True)
        self.ua, self.freq, self.stopped = ua, freq, threading.Event()

    def run(self):
        start, i = time.time(), 0
        while not self.stopped.is_set():
            try:
                self.ua.send_rtp(i, 160 * i, sipua.tone_ulaw(self.freq, 160, start=160 * i))
            except OSError:
                return
            i += 1
            time.sleep(max(0, start + 0.02 * i - time.time()))

    def stop(self):
        self.stopped.set()
        self.join(2)


class Record(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-record-")
        self.rec = os.path.join(self.dir, "rec")
        self.full = os.path.join(self.dir, "full")
        os.makedirs(self.full)
        self.uas = sipua.UA()
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN.replace("@UAS_PORT@", str(self.uas.port)).replace("@REC@", self.rec)
                    .replace("@FULL@", self.full))
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(self.dir, modules=("sip", "record")))
        self.sip_port = self.engine.sip_port
        self.records_dir = os.path.join(self.engine.tmp, "data", "records")

    def tearDown(self):
        self.uas.close()
        log = harness.end_engine(self, self.engine, self.dir)
        unexpected = [l for l in log.splitlines() if " error " in l and "failed, recording stopped" not in l]
        self.assertEqual(unexpected, [], "no error lines but the full disk's")

    def recording_record(self, file):
        return wait_for("the recording record of " + file, lambda: next(
            (r for r in read_jsonl(os.path.join(self.records_dir, "recording.jsonl")) if r["file"] == file), None))

    def cdr(self, call_id):
        return wait_for("the CDR of " + call_id, lambda: next(
            (r for r in read_jsonl(os.path.join(self.records_dir, "cdr.jsonl")) if r["call_id"] == call_id), None))

    def play_call(self, exten, freq, seconds):
        """A caller that sends `freq` for `seconds` (or until the engine hangs up)."""
        ua = sipua.UA()
        try:
            ua.call(exten, self.sip_port)
            tone = Tone(ua, freq)
            tone.start()
            deadline = time.time() + seconds
            got = 0
            while time.time() < deadline:
                got += len(ua.drain(ua.rtp))
                try:
                    ua.sip.settimeout(0.05)
                    msg, addr = ua.sip.recvfrom(65535)
                    if msg.startswith(b"BYE"):
                        text = msg.decode(errors="replace")
                        ua.sip.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(
                            line for line in text.split("\r\n") if line.split(":")[0] in
                            ("Via", "From", "To", "Call-ID", "CSeq")) + "\r\nContent-Length: 0\r\n\r\n").encode(), addr)
                        break
                except (TimeoutError, OSError):
                    pass
            tone.stop()
            got += len(ua.drain(ua.rtp))
            return ua, got
        finally:
            ua.close()

    def bridged_call(self, exten):
        """A (a new UA) calls exten, which dials B (self.uas) and bridges; both
        then send tones, A 440 Hz and B 1000 Hz. Returns (a, [tone_a, tone_b])."""
        a, b = sipua.UA(), self.uas
        try:
            sipua.bridged_call(a, b, exten, self.sip_port)
        except Exception:
            a.close()
            raise
        senders = [Tone(a, 440), Tone(b, 1000)]
        for x in senders:
            x.start()
        return a, senders

    def test_stereo_bridged_call(self):
        a, senders = self.bridged_call("bridge")
        try:
            time.sleep(2.0)
            code, listing = self.engine.ctl("record", "list")
            for x in senders:
                x.stop()
            a.bye()
        finally:
            a.close()
        self.assertEqual(code, 0, listing)
        self.assertIn("recording", listing)
        log = self.engine.read_log()
        line = next((l for l in log.splitlines() if "recording to " in l), "")
        path = line.split("recording to ")[1].split()[0] if line else ""
        self.assertTrue(path.startswith(os.path.join(self.rec, time.strftime("%Y"), "alice_7-")), log)
        self.assertIn(path, listing)
        rec = self.recording_record(path)
        self.assertEqual((rec["status"], rec["channels"], rec["format"], rec["pauses"]), ("ok", 2, "wav", []), rec)
        self.assertGreater(rec["duration_ms"], 1800, rec)
        self.assertIn(rec["linked_id"], os.path.basename(path))
        self.assertEqual(self.cdr(rec["call_id"])["recordings"], [path])
        # exactly one recording record for the file: the core does not add its own
        time.sleep(0.3)
        self.assertEqual(sum(r["file"] == path for r in read_jsonl(os.path.join(self.records_dir, "recording.jsonl"))), 1)
        rate, (left, right) = SndFile.read(path)
        self.assertEqual(rate, 8000)
        # the middle second: both parties talk
        mid = len(left) // 2
        lw, rw = left[mid - 4000:mid + 4000], right[mid - 4000:mid + 4000]
        self.assertGreater(tones.power(lw, 440), 50 * tones.power(lw, 1000), "left is the caller (440 Hz)")
        self.assertGreater(tones.power(rw, 1000), 50 * tones.power(rw, 440), "right is the callee (1000 Hz)")

    def invite_replacing(self, ua, replaced):
        """ua sends an INVITE with Replaces naming `replaced`'s dialog with us."""
        ua.uri, ua.target = "sip:any@127.0.0.1:%d" % self.sip_port, ("127.0.0.1", self.sip_port)
        ua.request("INVITE", ua.uri, ua.target, ua.sdp(),
                   extra="Replaces: %s;to-tag=%s;from-tag=%s\r\n" % (replaced.call_id, replaced.to_tag, replaced.tag))
        deadline = time.time() + 10
        while time.time() < deadline:
            msg, _ = ua.read_sip(deadline - time.time())
            code = ua.status(msg)
            if code >= 200:
                ua.to_tag = re.search(r"tag=([^;>\s]+)", ua.header(msg, "To")).group(1)
                ua.request("ACK", ua.uri, ua.target)
                self.assertEqual(code, 200, msg)
                ua.remote_media = ua.media_of(ua.body(msg))
                return
        self.fail("no answer to the INVITE with Replaces")

    def recording_that_outlived_a(self):
        """After the call: the "replaced-" recording, which must have gone on
        past A's leg (A left 1.5 s in). Returns (path, record, left, right)."""
        self.assertTrue(self.engine.wait_log("call ended"), self.engine.read_log())
        log = self.engine.read_log()
        path = next(os.path.join(self.rec, f) for f in os.listdir(self.rec) if f.startswith("replaced-"))
        rec = self.recording_record(path)
        self.assertEqual(rec["status"], "ok", rec)
        self.assertGreater(rec["duration_ms"], 2500, "the recording outlived A's leg: %s\n%s" % (rec, log))
        _, (left, right) = SndFile.read(path)
        return path, rec, left, right

    def test_follows_replaces(self):
        c = sipua.UA()
        a, senders = self.bridged_call("rbridge")
        try:
            time.sleep(1.5)
            self.invite_replacing(c, a)
            senders[0].stop()
            senders.append(Tone(c, 1700))
            senders[-1].start()
            time.sleep(1.5)
            c.bye()
        finally:
            for x in senders:
                x.stop()
            a.close()
            c.close()
        path, rec, left, right = self.recording_that_outlived_a()
        early, late = left[4000:10000], left[len(left) - 8000:len(left) - 2000]
        self.assertGreater(tones.power(early, 440), 50 * tones.power(early, 1700), "A on the left first")
        self.assertGreater(tones.power(late, 1700), 50 * tones.power(late, 440), "then C, who replaced A")
        rlate = right[len(right) - 8000:len(right) - 2000]
        self.assertGreater(tones.power(rlate, 1000), 50 * tones.power(rlate, 1700), "B stays on the right")

    def test_follows_refer(self):
        a, senders = self.bridged_call("rbridge")
        try:
            time.sleep(1.5)
            a.request("REFER", a.uri, a.target, "", extra="Refer-To: <sip:referred@127.0.0.1:%d>\r\n"
                      "Referred-By: <sip:sipua@127.0.0.1>\r\n" % self.sip_port)
            self.assertTrue(self.engine.wait_log("referred done"), self.engine.read_log())
        finally:
            for x in senders:
                x.stop()
            a.close()
        path, rec, left, right = self.recording_that_outlived_a()
        early_l, early_r = left[4000:10000], right[4000:10000]
        late_l, late_r = left[len(left) - 8000:len(left) - 2000], right[len(right) - 8000:len(right) - 2000]
        self.assertGreater(tones.power(early_l, 440), 50 * tones.power(early_l, 1000), "A on the left first")
        self.assertGreater(tones.power(early_r, 1000), 50 * tones.power(early_r, 440), "B on the right first")
        self.assertGreater(tones.power(late_l, 1000), 50 * tones.power(late_l, 440), "then B, the channel, on the left")
        self.assertGreater(tones.power(late_r, 600), 50 * tones.power(late_r, 440), "and what B hears on the right")
        self.assertEqual(self.cdr(rec["call_id"])["recordings"], [path], "B, now the channel, lists the file")

    def test_pause_is_silence(self):
        self.play_call("pause", 440, 6)
        self.assertTrue(self.engine.wait_log("stopped: true"), self.engine.read_log())
        log = self.engine.read_log()
        path = next(os.path.join(self.rec, f) for f in os.listdir(self.rec) if f.startswith("pause-"))
        rec = self.recording_record(path)
        self.assertEqual(len(rec["pauses"]), 1, rec)
        p = rec["pauses"][0]
        # 1 s of tone, then the pause of 1 s (the player's timing: a few
        # ticks either way on a loaded machine)
        self.assertLessEqual(abs(p["at_ms"] - 1000), 100, rec)
        self.assertLessEqual(abs(p["duration_ms"] - 1000), 100, rec)
        rate, (left, right) = SndFile.read(path)
        self.assertLessEqual(abs(len(left) - 3 * rate), 0.1 * rate, "silence is kept, not cut: %d" % len(left))
        at, end = p["at_ms"] * 8, (p["at_ms"] + p["duration_ms"]) * 8
        for ch, name in ((left, "left"), (right, "right")):
            self.assertEqual(max(abs(x) for x in ch[at:end]), 0, "the pause is silence in " + name)
            self.assertGreater(energy(ch[at - 2400:at - 800]), 1e5, "sound before the pause in " + name + log)
            self.assertGreater(energy(ch[end + 800:end + 2400]), 1e5, "sound after the pause in " + name)
        self.assertGreater(tones.power(right[end + 800:end + 2400], 1000), 50 * tones.power(right[end + 800:end + 2400], 440))

    def test_survives_transfer(self):
        self.play_call("xfer", 440, 5)
        self.assertTrue(self.engine.wait_log("after transfer done"), self.engine.read_log())
        path = next(os.path.join(self.rec, f) for f in os.listdir(self.rec) if f.startswith("xfer-"))
        rec = self.recording_record(path)
        self.assertEqual(rec["status"], "ok")
        rate, (left, right) = SndFile.read(path)
        first, second = right[2000:6000], right[len(right) - 6000:len(right) - 2000]
        self.assertGreater(tones.power(first, 600), 50 * tones.power(first, 1000), "before the transfer: 600 Hz")
        self.assertGreater(tones.power(second, 1000), 50 * tones.power(second, 600), "after the transfer: 1000 Hz")
        self.assertGreater(tones.power(left[len(left) - 6000:], 440), 1e9, "the caller is still on the left")

    def test_opus_mono_console(self):
        result = {}
        t = threading.Thread(target=lambda: result.update(got=self.play_call("console", 440, 5)[1]))
        t.start()
        self.assertTrue(self.engine.wait_log("console call up"), self.engine.read_log())
        code, out = self.engine.ctl("calls", json_output=True)
        calls = out if isinstance(out, list) else out.get("data") or out.get("calls")
        self.assertEqual(len(calls), 1, out)
        call_id = calls[0]["id"]
        target = os.path.join(self.rec, "console-${call_id}.opus")
        code, out = self.engine.ctl("record", "start", call_id, target, "mono")
        self.assertEqual(code, 0, out)
        path = out.split("recording ")[1].strip()
        self.assertEqual(path, os.path.join(self.rec, "console-%s.opus" % call_id))
        self.assertNotEqual(self.engine.ctl("record", "start", call_id)[0], 0, "one recording per call")
        time.sleep(0.6)
        self.assertEqual(self.engine.ctl("record", "pause", call_id)[0], 0)
        time.sleep(0.6)
        self.assertEqual(self.engine.ctl("record", "resume", call_id)[0], 0)
        time.sleep(0.6)
        self.assertEqual(self.engine.ctl("record", "stop", call_id)[0], 0)
        self.assertNotEqual(self.engine.ctl("record", "stop", call_id)[0], 0, "nothing left to stop")
        self.assertNotEqual(self.engine.ctl("record", "start", "no-such-call")[0], 0)
        self.assertIn("record list | start CALL_ID", self.engine.ctl("help")[1], "ctl help lists module commands")
        log = self.engine.read_log()
        for why in ('a recording\'s file name may not contain ".."', 'unknown recording format ".mp3"', 'unknown recording option "quad"',
                    "bad ${...} in the file name template"):
            self.assertIn("refused: nil, " + why, log)
        t.join(10)
        rec = self.recording_record(path)
        self.assertEqual((rec["status"], rec["format"], rec["channels"], len(rec["pauses"])), ("ok", "opus", 1, 1), rec)
        with open(path, "rb") as f:
            head = f.read(64)
        self.assertTrue(head.startswith(b"OggS") and b"OpusHead" in head, head)
        rate, (mono,) = SndFile.read(path)
        seg = mono[int(0.1 * rate):int(0.5 * rate)]
        # both directions mixed: the caller's 440 and the played 1000
        self.assertGreater(tones.power(seg, 440, rate), 1e8)
        self.assertGreater(tones.power(seg, 1000, rate), 1e8)

    def test_full_disk(self):
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", self.full], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (%s): the full-disk test needs root" % p.stderr.strip())
        # after tearDown (cleanups run last first): the tmpfs goes, then what
        # tearDown's rmtree could not remove while it was mounted
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.full], capture_output=True)
        events = subprocess.Popen([harness.BIN, "ctl", "-s", self.engine.socket, "--json", "events", "custom"],
                                  stdout=subprocess.PIPE, text=True)
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(json.loads(line) for line in events.stdout), daemon=True)
        reader.start()
        time.sleep(0.3)  # subscribed before the call
        try:
            ua, got = self.play_call("full", 440, 7)
            wait_for("recording_error and recording_stop events",
                     lambda: {"recording_error", "recording_stop"} <= {e.get("type") for e in seen}, timeout=10)
        finally:
            events.terminate()
            events.wait()
            events.stdout.close()
        err = next(e for e in seen if e.get("type") == "recording_error")
        self.assertIn("space", json.dumps(err).lower(), err)
        log = self.engine.read_log()
        self.assertIn("failed, recording stopped", log)
        self.assertTrue(self.engine.wait_log("full disk call went on"), log)
        # the caller heard the whole 4 s tone: the failure did not stall audio
        self.assertGreater(got, 180, "RTP packets the caller got: %d\n%s" % (got, log))
        path = next(os.path.join(self.full, f) for f in os.listdir(self.full) if f.startswith("big-"))
        rec = self.recording_record(path)
        self.assertEqual(rec["status"], "failed", rec)
        self.assertIn("space", rec["error"].lower() + log.lower())
        # the engine still takes calls
        self.play_call("pause", 440, 5)
        self.assertTrue(self.engine.wait_log("stopped: true"), self.engine.read_log())


if __name__ == "__main__":
    unittest.main()
