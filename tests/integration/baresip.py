"""Run baresip (the Debian package) headless as a test peer.

Baresip(tmpdir, registrar_port, user, password, ...) writes a config
directory (`baresip -f DIR`) with only the modules a call needs: G.711, the
`aufile` source (a WAV file is what we "say"), the `sndfile` filter (it
records what baresip sends and what it receives to WAV files in
`snd_path`), `srtp` for SDES, `account` and `menu`. `call(exten, seconds)`
dials with `-e "/dial EXTEN"` and quits after `seconds` (`-t`), by PID,
with a time bound. Everything binds to 127.0.0.1 on ports the caller gives.

Helpers for checking audio: read_wav() and goertzel() (the relative power of
one frequency in a block of samples).
"""
import glob
import math
import os
import shutil
import struct
import subprocess
import wave

BARESIP = shutil.which("baresip")
MODULE_PATH = "/usr/lib/baresip/modules"


def write_tone_wav(path, freq, seconds, rate=8000, amp=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(int(rate * seconds))))


def read_wav(path):
    with wave.open(path, "rb") as w:
        data = w.readframes(w.getnframes())
        return list(struct.unpack("<%dh" % (len(data) // 2), data)), w.getframerate()


def goertzel(samples, freq, rate):
    """Power of `freq` in `samples` relative to their total power (0..1)."""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in samples) * len(samples) / 2
    return power / total if total else 0.0


class Baresip:
    def __init__(self, tmpdir, registrar_port, user, password, sip_port, rtp_ports, source_wav,
                 mediaenc=None, extra_account=""):
        self.dir = os.path.join(tmpdir, "baresip-" + user)
        self.rec = os.path.join(self.dir, "rec")
        os.makedirs(self.rec, exist_ok=True)
        self.log_path = os.path.join(self.dir, "baresip.log")
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join([
                "poll_method epoll",
                "sip_listen 127.0.0.1:%d" % sip_port,
                "module_path " + MODULE_PATH,
                "audio_source aufile," + source_wav,
                "audio_player aufile,/dev/null",  # no sound card: sndfile records what is heard
                "audio_alert aufile,/dev/null",
                "audio_srate 8000",
                "audio_channels 1",
                "rtp_ports %d-%d" % rtp_ports,
                "snd_path " + self.rec,
                "module g711.so", "module aufile.so", "module sndfile.so", "module srtp.so",
                "module account.so", "module menu.so",
                "module_app account.so", "module_app menu.so", ""]))
        params = ";auth_pass=%s;regint=60;audio_codecs=PCMU" % password
        if mediaenc:
            params += ";mediaenc=" + mediaenc
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:%s@127.0.0.1:%d>%s%s\n" % (user, registrar_port, params, extra_account))

    def call(self, exten, seconds):
        """Dial `exten` at start, quit after `seconds`. Returns the exit code."""
        with open(self.log_path, "w") as log:
            p = subprocess.Popen([BARESIP, "-f", self.dir, "-e", "/dial " + exten, "-t", str(seconds)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
            try:
                return p.wait(seconds + 15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def received_wav(self):
        """The recording of what baresip received (sndfile's *-dec.wav), or None."""
        found = sorted(glob.glob(os.path.join(self.rec, "*-dec.wav")))
        return found[-1] if found else None
