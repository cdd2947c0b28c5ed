"""Run baresip (the Debian package, 1.0.0) headless as a test peer.

Baresip(tmpdir, user, password, registrar_port, source_wav, ...) writes a
config directory (`baresip -f DIR`) with only the modules a call needs:
G.711, the `aufile` source (a WAV file is what we "say"), the `sndfile`
filter (it records what baresip receives to `*-dec.wav` in `rec/`), `srtp`
for SDES, `account`, `menu` and `ctrl_tcp`. Options: `transport="tls"` (the
account gets `;transport=tls`, `cafile` is the CA baresip trusts,
`certificate` its own client certificate and key in one PEM file),
`mediaenc="srtp-mand"`, `answer=True` (auto-answer incoming calls),
`codecs="opus/48000/2"` (the account's audio_codecs; opus.so and g722.so are loaded
when named), `config=[...]` (more config lines, e.g. "opus_dtx yes").

Two ways to drive it:
  run(commands, seconds)  one-shot: `-e` commands at start, quit after
                          `seconds` (`-t`); returns the exit code.
  start() / command() / wait_event() / stop()
                          live, over ctrl_tcp (netstring JSON): send menu
                          commands ("dial", "sndcode", "hangup") when the
                          call is in the right state, and wait for baresip's
                          events (CALL_ESTABLISHED, CALL_CLOSED).
Either way everything binds to 127.0.0.1 on free ports, the process is
ended by PID with a time bound, and read_log() has its output (with -s: the
SIP trace).

Audio helpers: write_tone_wav(), read_wav() (tones.py measures what they
read), make_cert() (a throwaway self-signed certificate for TLS tests).
"""
import glob
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import time
import wave

import harness
import tones

BARESIP = shutil.which("baresip")
OPENSSL = shutil.which("openssl")
MODULE_PATH = "/usr/lib/baresip/modules"
READY = "baresip is ready."  # its log line once every module is loaded


def free_port_range(count):
    """`count` consecutive free ports starting at an even one (RTP wants even)."""
    return harness.free_rtp_range(count)


def make_cert(directory, ip="127.0.0.1"):
    """A self-signed certificate for `ip`; returns (cert_path, key_path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + ip, "-addext", "subjectAltName=IP:" + ip],
                   check=True, capture_output=True, timeout=60)
    return cert, key


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




class Baresip:
    def __init__(self, tmpdir, user, password, registrar_port, source_wav, transport=None, cafile=None,
                 mediaenc=None, answer=False, rtp_ports=None, certificate=None, codecs="PCMU", config=()):
        self.dir = os.path.join(tmpdir, "baresip-" + user)
        self.rec = os.path.join(self.dir, "rec")
        os.makedirs(self.rec, exist_ok=True)
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.rtp_ports = rtp_ports or free_port_range(20)
        self.proc = self.ctrl = None
        self.events = []
        self._buf = b""
        self.source_wav, self.codecs, self.extra_config = source_wav, codecs, list(config)
        self.cafile, self.certificate = cafile, certificate
        self._write_config()
        aor = "<sip:%s@127.0.0.1:%d%s>" % (user, registrar_port, ";transport=" + transport if transport else "")
        params = ";auth_pass=%s;regint=60;audio_codecs=%s" % (password, codecs)
        if mediaenc:
            params += ";mediaenc=" + mediaenc
        if answer:
            params += ";answermode=auto"
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(aor + params + "\n")

    def _write_config(self):
        """Picks fresh listener ports and writes `config` for them. baresip
        listens on sip_port for UDP and TCP and on sip_port + 1 for TLS."""
        self.sip_port = harness.free_ports(2)
        self.ctrl_port = harness.free_port()
        lines = ["poll_method epoll",
                 "sip_listen 127.0.0.1:%d" % self.sip_port,
                 "module_path " + MODULE_PATH,
                 "audio_source aufile," + self.source_wav,
                 "audio_player aufile,/dev/null",  # no sound card: sndfile records what is heard
                 "audio_alert aufile,/dev/null",
                 "audio_srate 8000",
                 "audio_channels 1",
                 "rtp_ports %d-%d" % self.rtp_ports,
                 "rtp_timeout 0",
                 "snd_path " + self.rec,
                 "ctrl_tcp_listen 127.0.0.1:%d" % self.ctrl_port,
                 "module g711.so", "module aufile.so", "module sndfile.so", "module srtp.so",
                 "module account.so", "module menu.so", "module ctrl_tcp.so",
                 "module_app account.so", "module_app menu.so"]
        # codecs: the account's audio_codecs ("opus/48000/2", "G722"...), whose
        # modules load before the account; config: more lines ("opus_dtx yes")
        at = lines.index("module g711.so") + 1
        wideband = [m for m in ("opus", "g722") if m in self.codecs.lower()]
        lines[at:at] = ["module %s.so" % m for m in wideband]
        if wideband:  # the 8 kHz mono WAVs stay source and recording; baresip resamples
            lines += ["ausrc_srate 8000", "auplay_srate 8000", "ausrc_channels 1", "auplay_channels 1"]
        lines += self.extra_config
        if self.cafile:
            lines.append("sip_cafile " + self.cafile)
        if self.certificate:  # the client's own: certificate and key in one PEM
            lines.append("sip_certificate " + self.certificate)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _spawn(self, extra_args, trace):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BARESIP, "-f", self.dir] + (["-s"] if trace else []) + extra_args,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)

    def _lost_port_race(self):
        """True when a port picked free was taken by a parallel test before
        baresip bound it; baresip is stopped and the config has new ports.
        baresip exits when its SIP listeners fail, but carries on without
        ctrl_tcp when only that one does."""
        if harness.PORT_TAKEN not in self.read_log():
            return False
        self.stop()
        self._write_config()
        return True

    def run(self, commands=(), seconds=5, trace=False, attempts=5):
        """Executes menu `commands` (e.g. "/dial 600") at start and quits
        after `seconds`. Returns the exit code."""
        args = ["-t", str(seconds)]
        for c in commands:
            args += ["-e", c]
        for attempt in range(attempts):
            self._spawn(args, trace)
            try:
                self.proc.wait(seconds + 15)
                if attempt + 1 < attempts and self._lost_port_race():
                    continue
                return self.proc.returncode
            finally:
                self.stop()

    def start(self, trace=False, timeout=10, attempts=5):
        """Runs baresip until stop(), with its ctrl_tcp socket connected."""
        for attempt in range(attempts):
            self._spawn([], trace)
            deadline = time.time() + timeout
            while True:
                try:
                    self.ctrl = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                    # whoever holds the port answered: only a clean start
                    # log says it is this baresip's ctrl_tcp
                    if self._ready(deadline):
                        return self
                    raise OSError("baresip did not become ready")
                except OSError:
                    if attempt + 1 < attempts and self._lost_port_race():
                        break
                    if self.proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError("baresip's ctrl_tcp did not open\n" + self.read_log())
                    time.sleep(0.05)

    def _ready(self, deadline):
        """Waits for baresip's "is ready" line; False when a listener
        (ctrl_tcp included) could not bind."""
        while READY not in self.read_log():
            if self.proc.poll() is not None or time.time() > deadline:
                return False
            time.sleep(0.05)
        return harness.PORT_TAKEN not in self.read_log()

    def _read_message(self, deadline):
        """The next netstring-framed JSON message from ctrl_tcp, or None at the deadline."""
        while True:
            colon = self._buf.find(b":")
            if colon > 0:
                size = int(self._buf[:colon])
                if len(self._buf) >= colon + size + 2:
                    body, self._buf = self._buf[colon + 1:colon + 1 + size], self._buf[colon + size + 2:]
                    return json.loads(body)
            left = deadline - time.time()
            if left <= 0:
                return None
            self.ctrl.settimeout(left)
            try:
                chunk = self.ctrl.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self._buf += chunk

    def command(self, name, params="", timeout=5):
        """Runs the menu command `name` (e.g. "dial", "sndcode"); returns its
        response {"ok": bool, "data": text}. Events seen meanwhile are kept."""
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.ctrl.sendall(b"%d:%s," % (len(body), body))
        deadline = time.time() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg is None:
                raise AssertionError("baresip did not answer %s\n%s" % (name, self.read_log()))
            if msg.get("response"):
                return msg
            self.events.append(msg)

    def wait_event(self, kind, timeout=10):
        """Waits for the event `kind` (e.g. "CALL_ESTABLISHED"); returns it or None."""
        deadline = time.time() + timeout
        while True:
            for ev in self.events:
                if ev.get("type") == kind:
                    return ev
            msg = self._read_message(deadline)
            if msg is None:
                return None
            if msg.get("event"):
                self.events.append(msg)

    def stop(self):
        """Ends baresip by PID (SIGTERM, then SIGKILL); returns the exit code."""
        if self.ctrl:
            self.ctrl.close()
            self.ctrl = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        code, self.proc = self.proc.returncode, None
        return code

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def received_wav(self):
        """The recording of what baresip received (sndfile's *-dec.wav), or None."""
        found = sorted(glob.glob(os.path.join(self.rec, "*-dec.wav")))
        return found[-1] if found else None

    def heard(self, freq, others=()):
        """(power of `freq`, [power of each of `others`]) in the middle half of
        what baresip received: the tone and what must not be mistaken for it."""
        samples, rate = read_wav(self.received_wav())
        middle = samples[len(samples) // 4: 3 * len(samples) // 4]
        return tones.relative_power(middle, freq, rate), [tones.relative_power(middle, f, rate) for f in others]
