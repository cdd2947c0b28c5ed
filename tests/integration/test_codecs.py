#!/usr/bin/env python3
"""The codec modules (modules/codec_opus, modules/codec_g722) with baresip
(the Debian package, with its opus.so and g722.so) as real phones over SIP
on loopback; the fixture is test_baresip's (engine, phones, CDRs).

  test_opus_to_g711      1001 speaks only Opus (600 Hz), 1002 only PCMU
                         (1400 Hz): the engine answers Opus with our fmtp,
                         transcodes both ways, and each side hears the other's
                         tone with an SNR above SNR_FLOOR_DB (a sine fitted
                         per 40 ms block of what baresip decoded; the median)
  test_fec_sent_when_asked  defaults: the engine's offer to 1002 (Opus)
                         carries opus/48000/2 with useinbandfec=1 and no
                         usedtx; 1002 says useinbandfec=1 too, so the Opus
                         the engine makes from 1001's G.711 carries FEC (the
                         SILK LBRR flag, on a loopback capture)
  test_no_fec_unless_asked  1002 does not say useinbandfec=1: no packet
                         carries FEC (RFC 7587: FEC only for a decoder that
                         declared it)
  test_dtx_without_fec   fec = false, dtx = true: useinbandfec=0;usedtx=1
                         in the offer, and with the caller silent the engine
                         sends (DTX) a small fraction of 50 packets a second;
                         1002's tone still gets through
  test_opus_native_relay both phones Opus: the Opus payloads 1001 sends
                         reach 1002 byte for byte (no transcoding), on a
                         loopback capture
  test_opus_16k_to_g722  sample_rate = 16000: we offer maxplaybackrate=16000
                         and transcode Opus to G.722 (wideband, no resampler);
                         each hears the other above the floor
  test_opus_48k_to_g711  sample_rate = 48000, complexity 10: fullband Opus
                         through the resampler to PCMU, both ways clear
  test_bad_config_refused  sample_rate = 44100: the module is refused with a
                         log line naming the key; the instance runs on
  test_tone_to_opus      a call-progress tone the engine plays (425 Hz) to an
                         Opus phone arrives clear (player -> Opus encoder)
  OpusLoss.test_lost_packets_are_concealed  (sipua + libopus via ctypes, no
                         baresip) an Opus caller losing every fifth packet,
                         bridged to a G.711 callee: a packet every 20 ms, none
                         silent (FEC or PLC), instead of 30 holes
  test_reload            `module reload codec_opus` registers it again with
                         its configuration re-read
  test_g722_to_g711      1001 speaks only G.722 (payload type 9,
                         G722/8000 in the SDP, 16 kHz audio): transcoded to
                         PCMU for 1002, each hears the other above the floor

Run: python3 tests/integration/test_codecs.py -v   (needs baresip)
"""
import ctypes
import ctypes.util
import math
import os
import re
import statistics
import struct
import sys
import unittest
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresip  # noqa: E402
import loopback_capture  # noqa: E402
import sipua  # noqa: E402
import test_baresip  # noqa: E402
import test_sip_calls  # noqa: E402
import test_sip_media  # noqa: E402

# Measured on this class of machine: Opus (8 kHz, complexity 5) <-> PCMU
# gives 25-30 dB on a 600/1400 Hz tone, G.722 <-> PCMU about 30 dB; a broken
# transcoder (wrong rate, clock or byte order) gives below 0 dB.
SNR_FLOOR_DB = 15.0
OPUS = "codec_opus"
OPUS_PHONE = "opus/48000/2"  # baresip names a codec by name/rate/channels


def block_snrs_db(samples, freq, rate, block):
    """The SNR of a sine of `freq` fitted to each block of `samples` against
    the rest of the block (dB)."""
    w = 2 * math.pi * freq / rate
    s = [math.sin(w * i) for i in range(block)]
    c = [math.cos(w * i) for i in range(block)]
    ss, cc, sc = sum(v * v for v in s), sum(v * v for v in c), sum(a * b for a, b in zip(s, c))
    det = ss * cc - sc * sc
    results = []
    for start in range(0, len(samples) - block + 1, block):
        x = samples[start:start + block]
        mean = sum(x) / block
        x = [v - mean for v in x]
        xs, xc = sum(a * b for a, b in zip(x, s)), sum(a * b for a, b in zip(x, c))
        a, b = (xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det
        fit = [a * si + b * ci for si, ci in zip(s, c)]
        signal = sum(v * v for v in fit)
        noise = sum((v - f) ** 2 for v, f in zip(x, fit))
        results.append(10 * math.log10(max(signal, 1e-9) / max(noise, 1e-9)))
    return results


def tone_snr_db(samples, freq, rate):
    """Median over 40 ms blocks of the middle half of `samples` of the tone's
    SNR: robust to a lost packet, which would break one global fit."""
    middle = samples[len(samples) // 4: 3 * len(samples) // 4]
    results = block_snrs_db(middle, freq, rate, rate // 25)
    return statistics.median(results) if results else float("-inf")


def lbrr_share(payloads):
    """The share of 20 ms narrowband SILK packets (TOC config 0-3, one frame)
    whose LBRR flag, the second bit after the TOC byte (RFC 6716 4.2.3,
    coded with probability 1/2, so a plain bit), says FEC data follows."""
    silk = [p for p in payloads if len(p) > 2 and p[0] >> 3 < 4 and p[0] & 3 == 0]
    return sum(1 for p in silk if p[1] & 0x40) / len(silk) if silk else 0.0


def offer_to(phone):
    """The SDP of the INVITE the engine sent to `phone` (its SIP trace)."""
    log = phone.read_log()
    start = log.find("INVITE sip:")
    m = re.search(r"v=0.*?(?=\n\n|\Z)", log[start:], re.S)
    return m.group(0) if start >= 0 and m else ""


@unittest.skipUnless(baresip.BARESIP and os.path.exists(os.path.join(baresip.MODULE_PATH, "opus.so")),
                     "baresip with its opus module is not installed")
class Codecs(test_baresip.Baresip):
    def snr(self, phone, freq):
        # baresip records what it decoded at the codec's rate and channels
        # (Opus: 48 kHz stereo): the left channel
        with wave.open(phone.received_wav(), "rb") as w:
            channels, rate = w.getnchannels(), w.getframerate()
            data = w.readframes(w.getnframes())
        samples = struct.unpack("<%dh" % (len(data) // 2), data)[::channels]
        return tone_snr_db(samples, freq, rate)

    def assertClear(self, phone, freq, story):
        self.assertTrue(phone.received_wav(), story)
        snr = self.snr(phone, freq)
        print("%s hears %d Hz at %.1f dB SNR" % (phone.dir.rsplit("-", 1)[-1], freq, snr))
        self.assertGreater(snr, SNR_FLOOR_DB, "%d Hz at %.1f dB\n%s" % (freq, snr, story))

    def leg(self, exten, direction):
        legs = [l for l in self.call_ends.wait(exten)["legs"] if l["direction"] == direction]
        self.assertEqual(len(legs), 1, self.call_ends.wait(exten))
        return legs[0]

    def test_opus_to_g711(self):
        self.start_engine(modules=(OPUS,))
        callee = self.phone("1002", 1400, answer=True)
        caller = self.phone("1001", 600, codecs=OPUS_PHONE)
        self.talk(caller, "1002", callee)
        story = self.story(caller, callee)
        answer = caller.read_log()
        self.assertRegex(answer, r"a=rtpmap:(\d+) opus/48000/2", story)
        self.assertRegex(answer, r"a=fmtp:\d+ maxplaybackrate=8000;sprop-maxcapturerate=8000;stereo=0;"
                                 r"sprop-stereo=0;useinbandfec=1\r?\n", story)
        self.assertEqual(self.leg("1002", "inbound")["codec"], "opus", story)
        self.assertEqual(self.leg("1002", "outbound")["codec"], "PCMU", story)
        self.assertClear(callee, 600, story)
        self.assertClear(caller, 1400, story)

    def g711_caller_to_opus(self, module_config="", caller_freq=600, callee_config=()):
        """1001 (G.711, saying caller_freq; 0: silence) calls 1002 (Opus,
        saying 1400 Hz) with a loopback capture running where allowed.
        Returns the engine's offer to 1002, the outbound leg's CDR entry and
        the Opus payloads the engine sent 1002 (None without a capture)."""
        self.start_engine(modules=(OPUS,), module_config=module_config)
        cap = loopback_capture.capture_if_allowed()
        try:
            callee = self.phone("1002", 1400, answer=True, codecs=OPUS_PHONE, config=callee_config)
            caller = self.phone("1001", caller_freq)
            self.talk(caller, "1002", callee)
        finally:
            if cap:
                cap.close()
        self.story_text = story = self.story(caller, callee)
        offer = offer_to(callee)
        self.assertRegex(offer, r"m=audio \d+ RTP/AVP 0 8 96 101", story)
        self.assertIn("a=rtpmap:96 opus/48000/2", offer, story)
        self.assertClear(caller, 1400, story)
        if caller_freq:
            self.assertClear(callee, caller_freq, story)
        sent = [p[12:] for p in cap.rtp(self.rtp_range, callee.rtp_ports, 96)] if cap else None
        return offer, self.leg("1002", "outbound"), sent

    def test_fec_sent_when_asked(self):
        offer, leg, sent = self.g711_caller_to_opus(callee_config=["opus_inbandfec yes"])
        story = self.story_text
        self.assertRegex(offer, r"a=fmtp:96 maxplaybackrate=8000;sprop-maxcapturerate=8000;stereo=0;"
                                r"sprop-stereo=0;useinbandfec=1\r?\n", story)
        self.assertNotIn("usedtx", offer)
        self.assertGreater(leg["quality"]["tx_packets"], 50 * test_baresip.TALK_SECONDS * 0.8, leg)
        if sent is not None:
            self.assertGreater(len(sent), 50 * test_baresip.TALK_SECONDS * 0.8, story)
            # libopus spends FEC on the frames it judges worth it: ~30 % of a
            # steady tone's (90 % of speech's), none without FEC
            self.assertGreater(lbrr_share(sent), 0.15, "FEC in what 1002 (useinbandfec=1) got\n" + story)

    def test_no_fec_unless_asked(self):
        offer, leg, sent = self.g711_caller_to_opus()
        self.assertIn("useinbandfec=1", offer)  # we ask for it; 1002 does not
        if sent is not None:
            self.assertGreater(len(sent), 50 * test_baresip.TALK_SECONDS * 0.8, self.story_text)
            self.assertEqual(lbrr_share(sent), 0.0, "no FEC for a far end without useinbandfec=1")

    def test_dtx_without_fec(self):
        offer, leg, _ = self.g711_caller_to_opus("codec_opus = { fec = false, dtx = true },", caller_freq=0)
        self.assertRegex(offer, r"a=fmtp:96 [^\r\n]*useinbandfec=0;usedtx=1", self.story_text)
        # DTX: silence is a comfort-noise frame every 400 ms, not 50 packets a second
        self.assertLess(leg["quality"]["tx_packets"], 50 * (test_baresip.TALK_SECONDS + 1) * 0.3, leg)

    def test_opus_native_relay(self):
        self.start_engine(modules=(OPUS,))
        try:
            cap = loopback_capture.Capture()
        except PermissionError:
            self.skipTest("no CAP_NET_RAW for a loopback capture")
        try:
            callee = self.phone("1002", 1400, answer=True, codecs=OPUS_PHONE)
            caller = self.phone("1001", 600, codecs=OPUS_PHONE)
            self.talk(caller, "1002", callee)
        finally:
            cap.close()
        story = self.story(caller, callee)
        pt = lambda phone: int(re.search(r"a=rtpmap:(\d+) opus/48000/2", phone.read_log()).group(1))  # noqa: E731
        sent = {p[12:] for p in cap.rtp(caller.rtp_ports, self.rtp_range, pt(caller))}
        relayed = [p[12:] for p in cap.rtp(self.rtp_range, callee.rtp_ports, pt(callee))]
        self.assertGreater(len(relayed), 50 * test_baresip.TALK_SECONDS * 0.8, story)
        same = sum(1 for p in relayed if p in sent)
        self.assertGreater(same, len(relayed) * 0.95, "Opus relayed untouched\n" + story)
        self.assertClear(callee, 600, story)

    def opus_caller_to(self, callee_codec, module_config, modules=(OPUS,)):
        self.start_engine(modules=modules, module_config=module_config)
        callee = self.phone("1002", 1400, answer=True, codecs=callee_codec)
        caller = self.phone("1001", 600, codecs=OPUS_PHONE)
        self.talk(caller, "1002", callee)
        story = self.story(caller, callee)
        self.assertClear(callee, 600, story)
        self.assertClear(caller, 1400, story)
        return caller.read_log(), story

    def test_opus_16k_to_g722(self):
        answer, story = self.opus_caller_to("G722/16000/1", "codec_opus = { sample_rate = 16000 },",
                                            (OPUS, "codec_g722"))
        self.assertRegex(answer, r"a=fmtp:\d+ maxplaybackrate=16000;sprop-maxcapturerate=16000;", story)
        self.assertEqual(self.leg("1002", "inbound")["codec"], "opus", story)
        self.assertEqual(self.leg("1002", "outbound")["codec"], "G722", story)

    def test_opus_48k_to_g711(self):
        answer, story = self.opus_caller_to("PCMU", "codec_opus = { sample_rate = 48000, complexity = 10 },")
        self.assertRegex(answer, r"a=fmtp:\d+ maxplaybackrate=48000;sprop-maxcapturerate=48000;", story)

    def test_bad_config_refused(self):
        self.start_engine(modules=(OPUS,), module_config="codec_opus = { sample_rate = 44100 },")
        self.assertTrue(self.engine.wait_log("codec_opus: sample_rate must be 8000, 16000 or 48000"),
                        self.engine.read_log())
        rc, out = self.engine.ctl("modules")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("codec_opus", out)  # refused; the instance runs without it
        self.assertIn("sip", out)

    def test_tone_to_opus(self):
        # the engine's own audio (a player) encoded for an Opus leg
        tone = '["602"] = function(call) call:answer() call:play_tone("dial", { duration = 5000 }) end,\n  '
        self.start_engine(modules=(OPUS,), dialplan=test_baresip.DIALPLAN.replace('["700"]', tone + '["700"]'))
        phone = self.phone("1001", 0, codecs=OPUS_PHONE)
        self.talk(phone, "602")
        self.assertClear(phone, 425, self.story(phone))

    def test_reload(self):
        self.start_engine(modules=(OPUS,), module_config="codec_opus = { dtx = true },")
        rc, out = self.engine.ctl("module", "reload", "codec_opus")
        self.assertEqual(rc, 0, out)
        log = self.engine.read_log()
        self.assertEqual(log.count("codec_opus: 8000 Hz, complexity 5, fmtp maxplaybackrate=8000;"
                                   "sprop-maxcapturerate=8000;stereo=0;sprop-stereo=0;useinbandfec=1;usedtx=1"),
                         2, log)
        rc, out = self.engine.ctl("registry", json_output=True)
        self.assertIn("opus", [c["name"] for c in out["data"]["codecs"]], out)

    def test_g722_to_g711(self):
        self.start_engine(modules=("codec_g722",))
        callee = self.phone("1002", 1400, answer=True)
        caller = self.phone("1001", 600, codecs="G722/16000/1")
        self.talk(caller, "1002", callee)
        story = self.story(caller, callee)
        self.assertRegex(caller.read_log(), r"m=audio \d+ RTP/AVP 9( 101)?\r?\n", story)
        self.assertIn("a=rtpmap:9 G722/8000", caller.read_log(), story)
        self.assertEqual(self.leg("1002", "inbound")["codec"], "G722", story)
        self.assertClear(callee, 600, story)
        self.assertClear(caller, 1400, story)


def ulaw_decode(byte):
    b = ~byte & 0xFF
    magnitude = ((((b & 0x0F) << 3) + 0x84) << ((b >> 4) & 7)) - 0x84
    return -magnitude if b & 0x80 else magnitude


class OpusEncoder:
    """libopus through ctypes: the Opus phone of the loss test, 8 kHz mono
    VoIP at 24 kbit/s with in-band FEC (as useinbandfec=1 asks of it)."""

    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("opus") or "libopus.so.0")
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        self.lib.opus_encoder_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                 ctypes.POINTER(ctypes.c_int)]
        self.lib.opus_encoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                         ctypes.c_int]
        self.lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        err = ctypes.c_int()
        self.enc = self.lib.opus_encoder_create(8000, 1, 2048, ctypes.byref(err))  # OPUS_APPLICATION_VOIP
        for request, value in ((4002, 24000), (4012, 1), (4014, 20)):  # BITRATE, INBAND_FEC, PACKET_LOSS_PERC
            self.lib.opus_encoder_ctl(self.enc, request, value)
        self.out = ctypes.create_string_buffer(1275)

    def encode(self, pcm):
        frame = (ctypes.c_int16 * len(pcm))(*pcm)
        n = self.lib.opus_encode(self.enc, frame, len(pcm), self.out, 1275)
        return self.out.raw[:n]

    def close(self):
        self.lib.opus_encoder_destroy(self.enc)


@unittest.skipUnless(ctypes.util.find_library("opus"), "libopus is not installed")
class OpusLoss(test_sip_media.SipMedia):
    """An Opus caller (sipua + libopus) that loses every fifth packet,
    bridged to a G.711 callee (sipua): the engine conceals each lost frame
    (from the next packet's FEC when it carries some, as that packet is
    already in the jitter buffer; else the decoder's concealment), so the
    callee gets a packet every 20 ms, each with sound in it. (Dropped, the
    lost frames would leave 30 holes.)"""

    MODULES = ("sip", OPUS)  # test_sip_media's engine and "bridge" extension, with Opus

    def test_lost_packets_are_concealed(self):
        caller, encoder = sipua.UA(), OpusEncoder()
        caller.codecs = "111"
        caller.extra_sdp = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"
        frames = 150
        try:
            caller.call("bridge", self.sip_port)
            invite, addr = self.uas.wait_request("INVITE")
            self.uas.answer(invite, addr)
            packets = []
            for i in range(frames):
                pcm = [int(8000 * math.sin(2 * math.pi * 600 * (160 * i + n) / 8000)) for n in range(160)]
                # every fifth packet is lost on the way: sent as a payload type
                # the call did not negotiate, which the engine ignores, so the
                # pacing stays that of a phone
                packets.append((i, 960 * i, encoder.encode(pcm), 111 if i % 5 != 4 else 8))
            caller.paced_exchange(packets)
            received = [sipua.parse_rtp(d) for d in self.uas.drain(self.uas.rtp)]
            caller.bye()
        finally:
            caller.close()
            encoder.close()
        log = self.engine.read_log()
        pcmu = sorted((p for p in received if p and p["pt"] == 0), key=lambda p: p["seq"])
        # every 20 ms reached the callee, the lost ones too (dropped, they would leave 30 holes)
        self.assertGreater(len(pcmu), frames * 0.95, "%d packets\n%s" % (len(pcmu), log))
        self.assertEqual(len({p["ts"] for p in pcmu}), len(pcmu), "a timestamp per 20 ms")
        # ...and each carries audio: the lost frames are filled by the decoder
        # (FEC from the next packet when it has some, else its concealment),
        # not with silence
        frames_rms = [math.sqrt(sum(ulaw_decode(b) ** 2 for b in p["payload"]) / len(p["payload"]))
                      for p in pcmu[len(pcmu) // 5: 4 * len(pcmu) // 5]]
        typical = statistics.median(frames_rms)
        print("opus loss 20 %%: %d packets of %d frames, frame RMS median %.0f, lowest %.0f"
              % (len(pcmu), frames, typical, min(frames_rms)))
        self.assertGreater(typical, 8000 / math.sqrt(2) * 0.5, "the tone got through\n" + log)
        # (concealing a pure tone, SILK fades and recovers over a few frames)
        self.assertGreater(min(frames_rms), typical * 0.1, "no silent frame where packets were lost\n" + log)


def load_tests(loader, tests, pattern):
    """Only this file's tests, not those of test_baresip and test_sip_media
    that the fixtures bring."""
    return test_sip_calls.own_tests(Codecs, OpusLoss)


if __name__ == "__main__":
    unittest.main()
