"""baresip as a TLS softphone for integration tests: a throwaway self-signed
certificate (openssl), a config directory, and one run of baresip by PID.

(Named baresip_tls.py so it cannot clash with a general baresip helper.)"""
import math
import os
import shutil
import struct
import subprocess
import wave

BARESIP = shutil.which("baresip")
OPENSSL = shutil.which("openssl")


def make_cert(directory, ip="127.0.0.1"):
    """A self-signed certificate for `ip`; returns (cert_path, key_path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + ip, "-addext", "subjectAltName=IP:" + ip],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def write_tone(path, seconds=4, hz=440):
    """An 8 kHz mono 16-bit WAV with a sine tone: what baresip sends."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / 8000)))
                               for i in range(8000 * seconds)))


class Baresip:
    """One baresip account. `account` is the accounts line, e.g.
    '<sip:1001@127.0.0.1:5061;transport=tls>;auth_pass=PW;regint=60'."""

    def __init__(self, directory, account, local_port, cafile=None):
        self.dir = os.path.join(directory, "baresip")
        os.makedirs(self.dir, exist_ok=True)
        tone = os.path.join(self.dir, "tone.wav")
        write_tone(tone)
        lines = ["poll_method epoll", "sip_listen 127.0.0.1:%d" % local_port,
                 "audio_source aufile,%s" % tone,
                 "audio_player aubridge,nil",   # a sink: no sound card here
                 "audio_alert aubridge,nil",
                 "module_path /usr/lib/baresip/modules",
                 "module g711.so", "module aufile.so", "module aubridge.so",
                 "module_app account.so", "module_app menu.so", "rtp_timeout 0"]
        if cafile:
            lines.append("sip_cafile %s" % cafile)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account + "\n")

    def run(self, commands=(), seconds=5):
        """Runs baresip for `seconds` with the menu `commands` (e.g. "/dial 600");
        returns its output (with -s: the SIP trace)."""
        args = [BARESIP, "-s", "-f", self.dir, "-t", str(seconds)]
        for c in commands:
            args += ["-e", c]
        p = subprocess.run(args, cwd=self.dir, capture_output=True, timeout=seconds + 20,
                           stdin=subprocess.DEVNULL)
        return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
