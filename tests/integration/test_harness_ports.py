#!/usr/bin/env python3
"""A listen port another process takes between the test picking it and
the server binding it costs a retry on fresh ports, not a red test: for
the engine (harness.start_listening) and for baresip (Baresip.start)."""
import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baresip  # noqa: E402
import harness  # noqa: E402


class StartListening(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-ports-")
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write("return { contexts = { default = {} } }\n")
        self.holders = []  # TCP listeners on the ports "a parallel test" took
        self.engine = None

    def tearDown(self):
        for s in self.holders:
            s.close()
        harness.end_engine(self, self.engine, self.dir)

    def make_instance(self, taken_first):
        """An Instance on a fresh port, which for the first `taken_first`
        calls something else starts listening on (TCP only) just before
        the engine starts. self.ports: every port it picked."""
        self.ports = []

        def make():
            port = harness.free_port()
            if len(self.holders) < taken_first:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.1", port))
                s.listen()
                self.holders.append(s)
            with open(os.path.join(self.dir, "tandem.lua"), "w") as f:
                f.write("return { modules = { 'sip' }, shutdown_grace = 1,\n"
                        "  module_config = { sip = { listen = 'sip:127.0.0.1:%d' } } }\n" % port)
            self.ports.append(port)
            return harness.Instance(os.path.join(self.dir, "tandem.lua"))
        return make

    def test_a_taken_port_is_retried_on_a_fresh_one(self):
        self.engine = harness.start_listening(self, self.make_instance(taken_first=2))
        self.assertEqual(len(self.ports), 3)
        taken = [s.getsockname()[1] for s in self.holders]
        self.assertEqual(self.ports[:2], taken)
        self.assertNotIn(self.ports[2], taken)
        log = self.engine.read_log()
        self.assertIn("sip: listening on sip:127.0.0.1:%d" % self.ports[2], log)
        # the engine really answers there, over TCP too
        with socket.create_connection(("127.0.0.1", self.ports[2]), timeout=5):
            pass

    def test_gives_up_after_the_attempts(self):
        with self.assertRaises(AssertionError) as failed:
            harness.start_listening(self, self.make_instance(taken_first=2), attempts=2)
        self.assertEqual(len(self.ports), 2)
        self.assertIn("TCP port %d: Address already in use" % self.ports[1], str(failed.exception))
        self.assertIn("attempt 2", str(failed.exception))


class PortsBelowEphemeral(unittest.TestCase):
    def test_listener_ports_are_not_ephemeral(self):
        # an outgoing connection or port-0 socket of a parallel test takes
        # an ephemeral port, so a picked listener port must not be one
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
        for _ in range(50):
            port = harness.free_ports(2)
            self.assertLess(port + 1, low)
            self.assertGreaterEqual(port, harness.LISTEN_FLOOR)


@unittest.skipUnless(baresip.BARESIP, "baresip is not installed")
class BaresipStart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem-ports-")
        self.holder = None

    def tearDown(self):
        if self.holder:
            self.holder.close()
        self.phone.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_with_port_taken(self, port_of):
        """Starts a baresip after another socket took the port that
        `port_of(phone)` names in its first config; returns that port."""
        tone = os.path.join(self.dir, "tone.wav")
        baresip.write_tone_wav(tone, 440, 1)
        self.phone = baresip.Baresip(self.dir, "1001", "pw", harness.free_port(), tone)
        taken = port_of(self.phone)
        self.holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.holder.bind(("127.0.0.1", taken))
        self.holder.listen()
        self.phone.start()
        self.assertIsNotNone(self.phone.command("reginfo"))
        return taken

    def test_a_taken_tls_port_is_retried_on_fresh_ports(self):
        # the TLS listener (SIP port + 1) is what lost the race in CI
        taken = self.start_with_port_taken(lambda phone: phone.sip_port + 1)
        self.assertNotEqual(self.phone.sip_port + 1, taken)

    def test_a_taken_control_port_is_retried_on_fresh_ports(self):
        # baresip does not exit when only ctrl_tcp cannot bind, and the
        # port's holder accepts the connection: the start log tells
        taken = self.start_with_port_taken(lambda phone: phone.ctrl_port)
        self.assertNotEqual(self.phone.ctrl_port, taken)


if __name__ == "__main__":
    unittest.main()
