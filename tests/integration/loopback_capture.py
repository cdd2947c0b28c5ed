"""What crosses the loopback interface during a test: UDP and TCP payloads
with their ports (an AF_PACKET socket on `lo`; needs CAP_NET_RAW, so
Capture() raises PermissionError where it is not allowed).

Tests run in parallel, so a check filters packets by the ports it owns."""
import socket
import struct
import threading

UDP, TCP = 17, 6
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # beyond rmem_max; needs CAP_NET_ADMIN


class Capture:
    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind(("lo", 0))
        # Every test's loopback traffic lands here, and this thread is Python:
        # under a parallel run the default buffer overflows and drops frames.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        self.sock.settimeout(0.2)
        self.packets = []  # (protocol, source port, destination port, payload)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                frame, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            # each loopback packet is seen twice (outgoing and incoming): keep one
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue
            proto = frame[23]
            ip = frame[14 + (frame[14] & 0x0F) * 4:]
            if proto == UDP and len(ip) >= 8:
                self.packets.append((UDP,) + struct.unpack("!HH", ip[:4]) + (bytes(ip[8:]),))
            elif proto == TCP and len(ip) >= 20:
                self.packets.append((TCP,) + struct.unpack("!HH", ip[:4]) + (bytes(ip[(ip[12] >> 4) * 4:]),))

    def between(self, ports_a, ports_b, proto=None):
        """Payloads (proto, sport, dport, payload) from a port in `ports_a` to
        one in `ports_b` or back; ports are (first, last) ranges."""
        def inside(port, r):
            return r[0] <= port <= r[1]
        return [p for p in self.packets if (proto is None or p[0] == proto) and (
            (inside(p[1], ports_a) and inside(p[2], ports_b)) or (inside(p[1], ports_b) and inside(p[2], ports_a)))]

    def rtp(self, src, dst, payload_type):
        """RTP packets (UDP payloads) of `payload_type` from an even port in
        the range `src` to one in `dst`."""
        return [p for _, s, d, p in self.between(src, dst, UDP)
                if src[0] <= s <= src[1] and s % 2 == 0 and len(p) > 12 and p[0] >> 6 == 2
                and p[1] & 0x7F == payload_type]

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def capture_if_allowed():
    """A running Capture, or None where the test may not capture (the
    checks on the wire are then left out, the rest of the test runs)."""
    try:
        return Capture()
    except PermissionError:
        return None


def assert_srtp_pcmu(test, packets):
    """`packets` (RTP of a G.711 tone) are SRTP: each carries the 80-bit auth
    tag, and the payload looks random, not like the tone."""
    test.assertGreater(len(packets), 50)
    for p in packets[20:40]:
        test.assertEqual(len(p), 12 + 160 + 10, "SRTP: PCMU payload plus the 80-bit auth tag")
        # a tone in G.711 repeats every few samples: a handful of byte
        # values; encrypted, 160 bytes take ~120 different ones
        test.assertGreater(len(set(p[12:172])), 60, "payload is encrypted")
