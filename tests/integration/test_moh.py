#!/usr/bin/env python3
"""Music on hold (modules/moh) against real SIP peers on loopback
(tests/integration/sipua.py: a small UA with its own RTP sockets), with
class files the test writes itself so it knows what must be heard:

  test_caller_hears_class  call:moh_start("tone") plays a class whose one
                      file is a 1000 Hz tone recorded at 16 kHz (the
                      feeder resamples it to the class's 8 kHz): the caller
                      receives PCMU holding 1000 Hz (Goertzel), not 400 Hz,
                      continuously (no gaps) until call:moh_stop()
  test_prompt_over_music  a tone played while the music plays is heard
                      instead of it (400 Hz), and the music (1000 Hz)
                      comes back after it
  test_reload_keeps_the_music  `tandem ctl module reload moh` while a
                      caller listens: the music goes on without a gap, and
                      `tandem ctl moh` lists the classes
  test_radio_model    a class whose file steps through 4 tones, 400 ms
                      each; a second caller joins 700 ms after the first:
                      at the same moment both hear the same tone (one
                      stream position for everybody), and the engine
                      runs one feeder thread per class (3), not per caller
  test_bad_class_files  a class with only a missing and a corrupt file is
                      logged and not offered: moh_start() returns nil and a
                      reason and the script goes on; a class with one bad
                      and one good file plays the good one
  test_hold_plays_moh  A calls, the dialplan bridges to B; A re-INVITEs
                      sendonly: B hears the class named by moh_class
                      (1000 Hz) instead of A's 440 Hz; A resumes (sendrecv):
                      B hears A's 440 Hz again

Run: python3 tests/integration/test_moh.py -v
"""
import math
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
import warnings
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tones  # noqa: E402
import sipua  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # G.711 decoding; deprecated in 3.11, fine for a test

DIALPLAN = """
return { contexts = { default = {
  ["tone"] = function(call)
    call:answer()
    assert(call:moh_start("tone"))
    call:sleep(2500)
    call:moh_stop()
    call:sleep(1000)
  end,
  ["announce"] = function(call)
    call:answer()
    call:moh_start("tone")
    call:sleep(600)
    call:play("tone:400/600")
    call:sleep(5000)
  end,
  ["steps"] = function(call)
    call:answer()
    call:moh_start("steps")
    call:sleep(10000)
  end,
  ["broken"] = function(call)
    call:answer()
    local ok, why = call:moh_start("broken")
    call:log("broken class: " .. tostring(ok) .. ", " .. tostring(why))
    call:set("moh_class", "mixed")
    call:log("mixed class: " .. tostring(call:moh_start()))
    call:sleep(10000)
  end,
  ["hold"] = function(call)
    call:answer()
    call:set("moh_class", "tone")
    local status, peer = call:dial("sip/peer@127.0.0.1:@UAS_PORT@")
    if status == "answer" then call:bridge(peer) end
    call:hangup()
  end,
} } }
"""

STEP_FREQS = (500, 900, 1300, 1700)


def write_wav(path, samples, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))


def sine(freq, seconds, rate, amp=10000):
    return [int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(seconds * rate))]



def pcm_of(payload):
    raw = audioop.ulaw2lin(payload, 2)
    return list(struct.unpack("<%dh" % (len(raw) // 2), raw))


def dominant(pcm, freqs):
    powers = [tones.power(pcm, f) for f in freqs]
    best = max(range(len(freqs)), key=lambda i: powers[i])
    return freqs[best], powers[best] / (sum(powers) + 1e-9)


# Linux's value; Python's socket module does not name it
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class Receiver(threading.Thread):
    """Collects (arrival time, payload) of the RTP a UA receives. The time
    is the kernel's (SO_TIMESTAMPNS), not when this thread got to read the
    packet: a gap measured here is the engine's, not Python's scheduling."""

    def __init__(self, ua):
        super().__init__(daemon=True)
        self.ua, self.packets, self.running = ua, [], True
        self.ua.rtp.settimeout(0.1)
        self.ua.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def run(self):
        while self.running:
            try:
                data, ancillary, _, _ = self.ua.rtp.recvmsg(4096, socket.CMSG_SPACE(16))
            except (OSError, TimeoutError):
                continue
            arrived = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrived = sec + nsec / 1e9
            p = sipua.parse_rtp(data)
            if p and p["pt"] == 0:
                self.packets.append((arrived, p["payload"]))

    def stop(self):
        self.running = False
        self.join(2)

    def between(self, t0, t1):
        return [pl for t, pl in self.packets if t0 <= t < t1]

    def pcm(self, t0, t1):
        return [s for pl in self.between(t0, t1) for s in pcm_of(pl)]

    def tone(self, t0, t1, freqs):
        """The strongest of `freqs` in what arrived between t0 and t1 (None: almost nothing did)."""
        pcm = self.pcm(t0, t1)
        return dominant(pcm, freqs)[0] if len(pcm) >= 160 * 10 else None

    def max_gap(self, t0, t1):
        times = [t for t, _ in self.packets if t0 <= t < t1]
        return max((b - a for a, b in zip(times, times[1:])), default=t1 - t0)


class Moh(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-moh-")
        self.uas = sipua.UA()
        d = self.dir
        write_wav(os.path.join(d, "tone16k.wav"), sine(1000, 1.0, 16000), 16000)
        steps = []
        for f in STEP_FREQS:
            steps += sine(f, 0.4, 8000)
        write_wav(os.path.join(d, "steps.wav"), steps, 8000)
        with open(os.path.join(d, "corrupt.wav"), "wb") as f:
            f.write(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
        with open(os.path.join(d, "dialplan.lua"), "w") as f:
            f.write(DIALPLAN.replace("@UAS_PORT@", str(self.uas.port)))
        moh = """moh = { classes = {
      { name = 'tone', files = { '%s/tone16k.wav' } },
      { name = 'steps', files = { '%s/steps.wav' } },
      { name = 'broken', files = { '%s/missing.wav', '%s/corrupt.wav' } },
      { name = 'mixed', files = { '%s/corrupt.wav', '%s/steps.wav' } },
    } },
""" % (d, d, d, d, d, d)
        self.engine = harness.start_listening(self, lambda: harness.sip_instance(
            d, modules=("sip", "moh"), module_config=moh))
        self.sip_port = self.engine.sip_port
        self.uas_list = [self.uas]

    def tearDown(self):
        for ua in self.uas_list:
            ua.close()
        harness.end_engine(self, self.engine, self.dir)

    def caller(self, exten):
        ua = sipua.UA()
        self.uas_list.append(ua)
        ua.call(exten, self.sip_port)
        rx = Receiver(ua)
        rx.start()
        return ua, rx

    def feeder_threads(self):
        task = "/proc/%d/task" % self.engine.proc.pid
        names = []
        for tid in os.listdir(task):
            try:
                with open(os.path.join(task, tid, "comm")) as f:
                    names.append(f.read().strip())
            except OSError:
                pass
        return names.count("tandem-moh")

    def listen(self, exten, seconds):
        """Calls `exten` and records what arrives for `seconds`: (ua, receiver, start, log)."""
        ua, rx = self.caller(exten)
        t0 = time.time()
        time.sleep(seconds)
        rx.stop()
        return ua, rx, t0, self.engine.read_log()

    def test_caller_hears_class(self):
        ua, rx, t0, log = self.listen("tone", 3.2)
        heard = rx.between(t0 + 0.3, t0 + 2.3)  # inside the 2.5 s of music
        self.assertGreaterEqual(len(heard), 90, "about 50 packets a second while on hold\n" + log)
        pcm = rx.pcm(t0 + 0.3, t0 + 2.3)
        self.assertGreater(tones.power(pcm, 1000), 100 * tones.power(pcm, 400), log)
        # the arrival times have no hole: every period was played
        self.assertLess(rx.max_gap(t0 + 0.3, t0 + 2.3), 0.1, "gaps in the music")
        # after moh_stop() nothing more is played
        self.assertLessEqual(len(rx.between(t0 + 2.9, t0 + 3.2)), 2, log)
        ua.bye()

    def test_prompt_over_music(self):
        ua, rx, t0, log = self.listen("announce", 2.2)
        freqs = (400, 1000)
        self.assertEqual(rx.tone(t0 + 0.1, t0 + 0.5, freqs), 1000, "music first\n" + log)
        self.assertEqual(rx.tone(t0 + 0.75, t0 + 1.1, freqs), 400, "the prompt over it\n" + log)
        self.assertEqual(rx.tone(t0 + 1.45, t0 + 2.1, freqs), 1000, "the music again\n" + log)
        self.assertLess(rx.max_gap(t0 + 0.1, t0 + 2.1), 0.1, "no gap between music and prompt")
        ua.bye()

    def test_reload_keeps_the_music(self):
        ua, rx = self.caller("steps")
        time.sleep(0.5)
        t0 = time.time()
        code, out = self.engine.ctl("module", "reload", "moh")
        self.assertEqual(code, 0, out)
        time.sleep(1.0)
        rx.stop()
        log = self.engine.read_log()
        self.assertGreaterEqual(log.count("moh: class 'steps': 1 file(s)"), 2, log)  # loaded, then reloaded
        self.assertGreater(len(rx.between(t0 - 0.3, t0 + 1.0)), 55, log)
        self.assertLess(rx.max_gap(t0 - 0.3, t0 + 1.0), 0.1, "no gap across the reload\n" + log)
        code, listing = self.engine.ctl("moh", json_output=True)
        self.assertEqual(code, 0)
        self.assertEqual(sorted(c["class"] for c in listing["data"]), ["mixed", "steps", "tone"])
        self.assertEqual(self.feeder_threads(), 3, log)  # the old feeders are gone
        ua.bye()

    def test_radio_model(self):
        a, rx_a = self.caller("steps")
        time.sleep(0.7)
        b, rx_b = self.caller("steps")
        t0 = time.time()
        time.sleep(2.5)
        rx_a.stop()
        rx_b.stop()
        log = self.engine.read_log()
        pa = [(t, p) for t, p in rx_a.packets if t0 + 0.3 <= t < t0 + 2.3]
        pb = [(t, p) for t, p in rx_b.packets if t0 + 0.3 <= t < t0 + 2.3]
        self.assertGreaterEqual(min(len(pa), len(pb)), 80, log)
        # what each caller hears at the same moment (its nearest packet)
        same = total = 0
        for t, payload in pb:
            ta, pay_a = min(pa, key=lambda x: abs(x[0] - t))
            if abs(ta - t) > 0.015:
                continue
            fa, sa = dominant(pcm_of(pay_a), STEP_FREQS)
            fb, sb = dominant(pcm_of(payload), STEP_FREQS)
            if sa < 0.9 or sb < 0.9:  # a step boundary inside the frame
                continue
            total += 1
            same += fa == fb
        self.assertGreater(total, 50, log)
        self.assertGreater(same / total, 0.9, "both callers hear the same stream position (%d/%d)" % (same, total))
        # one decoder per class (tone, steps, mixed), however many listen
        self.assertEqual(self.feeder_threads(), 3, log)
        a.bye()
        b.bye()

    def test_bad_class_files(self):
        log = self.engine.read_log()
        self.assertIn("moh: class 'broken': cannot play %s/missing.wav" % self.dir, log)
        self.assertIn("moh: class 'broken': cannot play %s/corrupt.wav" % self.dir, log)
        self.assertIn("moh: class 'broken' has no playable file; it is not offered", log)
        ua, rx = self.caller("broken")
        self.assertTrue(self.engine.wait_log("broken class: nil, no music-on-hold class 'broken'"),
                        self.engine.read_log())
        self.assertTrue(self.engine.wait_log("mixed class: true"), self.engine.read_log())
        t0 = time.time()
        time.sleep(1.0)
        rx.stop()
        self.assertGreaterEqual(len(rx.between(t0, t0 + 1.0)), 40, self.engine.read_log())
        pcm = rx.pcm(t0, t0 + 1.0)
        self.assertGreater(sum(tones.power(pcm, f) for f in STEP_FREQS), 100 * tones.power(pcm, 2500))
        ua.bye()

    def test_hold_plays_moh(self):
        a, b = sipua.UA(), self.uas
        self.uas_list.append(a)
        sipua.bridged_call(a, b, "hold", self.sip_port)
        rx = Receiver(b)
        rx.start()
        stop = threading.Event()

        def talk():  # A says 440 Hz all along, even while holding
            seq, start = 0, time.time()
            while not stop.is_set():
                a.send_rtp(seq, 160 * seq, sipua.tone_ulaw(440, 160, start=160 * seq))
                seq += 1
                time.sleep(max(0, start + 0.02 * seq - time.time()))

        talker = threading.Thread(target=talk, daemon=True)
        talker.start()

        def reinvite(direction):
            a.request("INVITE", a.uri, a.target, a.sdp().replace("a=sendrecv", "a=" + direction))
            deadline = time.time() + 5
            while time.time() < deadline:
                msg, _ = a.read_sip(deadline - time.time())
                if a.status(msg) >= 200 and "INVITE" in (a.header(msg, "CSeq") or ""):
                    a.request("ACK", a.uri, a.target)
                    return a.status(msg)
            return 0

        try:
            time.sleep(1.0)
            t_hold = time.time()
            self.assertEqual(reinvite("sendonly"), 200)
            self.assertTrue(self.engine.wait_log("hears music on hold 'tone'"), self.engine.read_log())
            time.sleep(1.5)
            t_resume = time.time()
            self.assertEqual(reinvite("sendrecv"), 200)
            time.sleep(1.2)
        finally:
            stop.set()
            talker.join(2)
            rx.stop()
        log = self.engine.read_log()

        freqs = (440, 1000)
        self.assertEqual(rx.tone(t_hold - 0.8, t_hold - 0.1, freqs), 440, "before the hold B hears A\n" + log)
        self.assertEqual(rx.tone(t_hold + 0.3, t_resume - 0.1, freqs), 1000, "on hold B hears the class\n" + log)
        self.assertEqual(rx.tone(t_resume + 0.3, t_resume + 1.1, freqs), 440, "after the resume B hears A\n" + log)
        self.assertIn("stops hearing music on hold", log)
        a.bye()


if __name__ == "__main__":
    unittest.main()
