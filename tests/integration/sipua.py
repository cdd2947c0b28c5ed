"""A minimal SIP user agent with its own RTP/RTCP sockets, for media tests
that need to see and shape every packet (SIPp cannot send RTCP, lose or
delay chosen packets, or show what came back byte for byte).

Only what the tests need: an INVITE without authentication, ACK, BYE, and
answering an INVITE from the engine (as a UAS). All on 127.0.0.1.
"""
import os
import random
import re
import socket
import struct
import threading
import time

NTP_EPOCH = 2208988800


def ntp_now():
    t = time.time()
    return (int(t) + NTP_EPOCH) << 32 | int((t % 1) * (1 << 32))


def rtp_packet(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def parse_rtp(data):
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    off = 12 + 4 * (b0 & 0x0F)
    return {"pt": b1 & 0x7F, "marker": bool(b1 & 0x80), "seq": seq, "ts": ts, "ssrc": ssrc, "payload": data[off:]}


def parse_rtcp(data):
    """The packets of a compound RTCP datagram: (type, dict)."""
    out, off = [], 0
    while off + 4 <= len(data):
        b0, pt, length = struct.unpack("!BBH", data[off:off + 4])
        body = data[off:off + 4 * (length + 1)]
        count = b0 & 0x1F
        info = {"count": count}
        if pt in (200, 201):
            info["ssrc"] = struct.unpack("!I", body[4:8])[0]
            blocks_at = 28 if pt == 200 else 8
            if pt == 200:
                info["ntp"], info["rtp_ts"], info["packets"], info["octets"] = struct.unpack("!QIII", body[8:28])
            info["blocks"] = []
            for i in range(count):
                b = body[blocks_at + 24 * i:blocks_at + 24 * (i + 1)]
                ssrc, frac_lost, ext, jitter, lsr, dlsr = struct.unpack("!IIIIII", b)
                lost = frac_lost & 0xFFFFFF
                if lost & 0x800000:
                    lost -= 1 << 24
                info["blocks"].append({"ssrc": ssrc, "fraction": frac_lost >> 24, "lost": lost,
                                       "ext_seq": ext, "jitter": jitter, "lsr": lsr, "dlsr": dlsr})
        out.append((pt, info))
        off += 4 * (length + 1)
    return out


def rtcp_sr(ssrc, packets, octets, rtp_ts, ntp=None):
    return struct.pack("!BBHIQIII", 0x80, 200, 6, ssrc, ntp or ntp_now(), rtp_ts, packets, octets)


def rtcp_rr(ssrc, about_ssrc, lsr, dlsr):
    return struct.pack("!BBHI", 0x81, 201, 7, ssrc) + struct.pack("!IIIIII", about_ssrc, 0, 0, 0, lsr, dlsr)


class UA:
    """One SIP dialog from a UDP socket, with an RTP and an RTCP socket."""

    def __init__(self, rtcp_mux=False):
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.port = self.sip.getsockname()[1]
        self.rtp, self.rtcp = self._rtp_pair()
        self.rtp_port = self.rtp.getsockname()[1]
        self.rtcp_mux = rtcp_mux
        self.call_id = "%x@sipua" % random.getrandbits(64)
        self.tag = "%x" % random.getrandbits(32)
        self.cseq = 0
        self.to_tag = None
        self.remote_media = None
        self.remote_target = None
        self.ssrc = random.getrandbits(32)
        self.sdp_proto = "RTP/AVP"
        self.codecs = "0 101"
        self.extra_sdp = ""
        self.ptime = 20  # a=ptime of our SDP (None: no such line)

    @staticmethod
    def _rtp_pair():
        for _ in range(100):
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port % 2 or port > 65000:
                a.close()
                continue
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                a.close()
                b.close()
                continue
            return a, b
        raise RuntimeError("no free RTP port pair")

    def close(self):
        for s in (self.sip, self.rtp, self.rtcp):
            s.close()

    def sdp(self, codecs=None):
        codecs = codecs or self.codecs
        lines = ["v=0", "o=sipua 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                 "m=audio %d %s %s" % (self.rtp_port, self.sdp_proto, codecs), "a=rtpmap:0 PCMU/8000",
                 "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv"]
        if self.ptime:
            lines.insert(-1, "a=ptime:%d" % self.ptime)
        if self.rtcp_mux:
            lines.append("a=rtcp-mux")
        return "\r\n".join(lines) + "\r\n" + self.extra_sdp

    def request(self, method, uri, target, body="", extra=""):
        if method not in ("ACK",):
            self.cseq += 1
        to = "<%s>" % uri + (";tag=%s" % self.to_tag if self.to_tag else "")
        msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%x;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:sipua@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\n"
               "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:sipua@127.0.0.1:%d>\r\n%s"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
               % (method, uri, self.port, random.getrandbits(48), self.port, self.tag, to, self.call_id,
                  self.cseq, method, self.port, extra, len(body.encode()), body))
        self.sip.sendto(msg.encode(), target)

    def read_sip(self, timeout=5.0):
        self.sip.settimeout(timeout)
        data, addr = self.sip.recvfrom(65535)
        return data.decode(errors="replace"), addr

    @staticmethod
    def status(msg):
        m = re.match(r"SIP/2.0 (\d+)", msg)
        return int(m.group(1)) if m else 0

    @staticmethod
    def header(msg, name):
        m = re.search(r"^%s:\s*(.*?)\r$" % name, msg, re.M | re.I)
        return m.group(1) if m else None

    @staticmethod
    def body(msg):
        return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""

    @staticmethod
    def media_of(sdp):
        port = int(re.search(r"^m=audio (\d+)", sdp, re.M).group(1))
        addr = re.search(r"^c=IN IP4 (\S+)", sdp, re.M).group(1)
        return (addr, port)

    def call(self, exten, sip_port, timeout=10.0):
        """INVITE exten@127.0.0.1:sip_port, wait for the 200, ACK it. Returns the 200."""
        uri = "sip:%s@127.0.0.1:%d" % (exten, sip_port)
        self.uri, self.target = uri, ("127.0.0.1", sip_port)
        self.request("INVITE", uri, self.target, self.sdp())
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg, _ = self.read_sip(deadline - time.time())
            code = self.status(msg)
            if code >= 200:
                to = self.header(msg, "To")
                m = re.search(r"tag=([^;>\s]+)", to or "")
                self.to_tag = m.group(1) if m else None
                self.request("ACK", uri, self.target)
                if code != 200:
                    raise AssertionError("INVITE answered %d:\n%s" % (code, msg))
                self.remote_media = self.media_of(self.body(msg))
                return msg
        raise AssertionError("no final response to INVITE")

    def bye(self):
        self.request("BYE", self.uri, self.target)
        deadline = time.time() + 5
        while time.time() < deadline:
            msg, _ = self.read_sip(deadline - time.time())
            if self.status(msg) and "BYE" in (self.header(msg, "CSeq") or ""):
                return self.status(msg)
        return 0

    def wait_request(self, method, timeout=10.0):
        """As a UAS: the next request of `method` (answering others' needs is the caller's)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg, addr = self.read_sip(deadline - time.time())
            if msg.startswith(method + " "):
                return msg, addr
        raise AssertionError("no %s" % method)

    def answer(self, invite, addr, status=200):
        """Answer an INVITE from the engine with our SDP."""
        vias = re.findall(r"^(Via:.*?)\r$", invite, re.M | re.I)
        self.to_tag = self.tag
        body = self.sdp() if status == 200 else ""
        resp = ("SIP/2.0 %d OK\r\n%s\r\nFrom: %s\r\nTo: %s;tag=%s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                "Contact: <sip:sipua@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
                % (status, "\r\n".join(vias), self.header(invite, "From"), self.header(invite, "To"), self.tag,
                   self.header(invite, "Call-ID"), self.header(invite, "CSeq"), self.port, len(body), body))
        self.sip.sendto(resp.encode(), addr)
        self.remote_media = self.media_of(self.body(invite))

    def reply(self, request, addr, status=200, reason="OK"):
        """A response without a body to any request (NOTIFY, BYE, ...)."""
        vias = re.findall(r"^(Via:.*?)\r$", request, re.M | re.I)
        to = self.header(request, "To")
        if ";tag=" not in to:
            to += ";tag=" + self.tag
        resp = ("SIP/2.0 %d %s\r\n%s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n"
                % (status, reason, "\r\n".join(vias), self.header(request, "From"), to,
                   self.header(request, "Call-ID"), self.header(request, "CSeq")))
        self.sip.sendto(resp.encode(), addr)

    def send_rtp(self, seq, ts, payload, pt=0, marker=False):
        self.rtp.sendto(rtp_packet(pt, seq, ts, self.ssrc, payload, marker), self.remote_media)

    def send_rtcp(self, data):
        dest = self.remote_media if self.rtcp_mux else (self.remote_media[0], self.remote_media[1] + 1)
        (self.rtp if self.rtcp_mux else self.rtcp).sendto(data, dest)

    def muxed_rtcp_kinds(self, count):
        """Sends `count` 20 ms tone packets, one per 20 ms, and returns the
        packet types of the RTCP that came back on the RTP port (rtcp-mux)."""
        kinds = []
        for i in range(count):
            self.send_rtp(i, 160 * i, tone_ulaw(440, 160, start=160 * i))
            time.sleep(0.02)
            for d in self.drain(self.rtp):
                if len(d) > 1 and 192 <= d[1] <= 223:
                    kinds += [k for k, _ in parse_rtcp(d)]
        return kinds

    def paced_exchange(self, packets, tail=0.3, interval=0.02, stamped=False):
        """Sends `packets` ([(seq, ts, payload, pt)]) one per `interval` s, as a
        phone would, and returns every RTP packet that came back (parsed),
        waiting `tail` seconds after the last for stragglers; `stamped`: as
        (arrival time, packet) pairs."""
        back = []
        start = time.time()

        def take():
            now = time.time()
            return [(now, parse_rtp(d)) if stamped else parse_rtp(d) for d in self.drain(self.rtp)]
        for n, (seq, ts, payload, pt) in enumerate(packets):
            self.send_rtp(seq, ts, payload, pt)
            time.sleep(max(0, start + interval * (n + 1) - time.time()))
            back += take()
        end = time.time() + tail
        while time.time() < end:  # on a grid, so that stamps stay true
            time.sleep(0.01)
            back += take()
        return back

    def drain(self, sock):
        """Every datagram waiting on `sock`, without blocking."""
        out = []
        sock.setblocking(False)
        try:
            while True:
                out.append(sock.recv(4096))
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)
        return out


def tone_ulaw(freq, n, rate=8000, amp=8000, start=0):
    """n samples of a sine as mu-law bytes (the standard algorithm)."""
    import math
    out = bytearray()
    for i in range(start, start + n):
        v = int(amp * math.sin(2 * math.pi * freq * i / rate))
        sign = 0x80 if v < 0 else 0
        v = min(abs(v), 32635) + 0x84
        exp = 7
        mask = 0x4000
        while exp > 0 and not (v & mask):
            mask >>= 1
            exp -= 1
        mant = (v >> (exp + 3)) & 0x0F
        out.append(~(sign | (exp << 4) | mant) & 0xFF)
    return bytes(out)


def ulaw_decode(data):
    """mu-law bytes to linear samples (the standard algorithm)."""
    out = []
    for b in data:
        b = ~b & 0xFF
        v = (((b & 0x0F) << 3) + 0x84) << ((b >> 4) & 0x07)
        out.append(0x84 - v if b & 0x80 else v - 0x84)
    return out


def random_payload(n):
    return os.urandom(n)


def bridged_call(caller, callee, exten, sip_port, timeout=10.0):
    """`caller` calls `exten` at the engine on sip_port, whose dialplan dials
    `callee`, which answers (from a thread: the engine's INVITE comes while
    the caller waits). Returns once the callee has its ACK; AssertionError
    when the callee got no INVITE."""
    answered = threading.Event()

    def answer():
        invite, addr = callee.wait_request("INVITE", timeout)
        callee.answer(invite, addr)
        answered.set()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    try:
        caller.call(exten, sip_port, timeout)
    finally:
        t.join(timeout)
    if not answered.is_set():
        raise AssertionError("%s got no INVITE" % exten)
    callee.wait_request("ACK", 5)



def paced_two_way(a, b, payloads_a, payloads_b, seq_a, seq_b, tail=0.4):
    """`a` and `b`, in one call, each send their PCMU payloads, one per 20 ms
    and both at once, as two talking phones would (sequence numbers from
    seq_a and seq_b, timestamps from 0). Returns what each received, parsed
    ([at a], [at b]), waiting `tail` seconds after the last for stragglers."""
    got_a, got_b = [], []

    def take():
        got_a.extend(parse_rtp(d) for d in a.drain(a.rtp))
        got_b.extend(parse_rtp(d) for d in b.drain(b.rtp))
    start = time.time()
    for i, (pa, pb) in enumerate(zip(payloads_a, payloads_b)):
        a.send_rtp(seq_a + i, 160 * i, pa)
        b.send_rtp(seq_b + i, 160 * i, pb)
        time.sleep(max(0, start + 0.02 * (i + 1) - time.time()))
        take()
    time.sleep(tail)
    take()
    return got_a, got_b
