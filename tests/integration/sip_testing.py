"""What the SIP test classes share: SIPp runs by PID with their traces in
the test's directory, and a tearDown that stops SIPp and the engine (whose
exit code must be 0)."""
import os
import subprocess

import harness
import test_sip_calls as base


class SipTestMixin:
    """Needs self.dir, self.engine (or None) and self.sipp_procs."""
    wait_sipp = base.SipCalls.wait_sipp
    sipp_story = base.SipCalls.sipp_story

    def sipp(self, args, name, port=None, calls=1, ip="127.0.0.1", media_ip="127.0.0.1"):
        """SIPp in the background for `calls` calls, traced into self.dir/NAME.msg/.err."""
        # SIPp instances started together must not pick the same media ports
        # (each binds audio and video, RTP and RTCP, from -mp up)
        used = getattr(self, "_media_bases", [])
        media = base.free_rtp_base(4 * calls)
        for _ in range(20):
            if all(abs(media - b) >= 8 * calls for b in used):
                break
            media = base.free_rtp_base(4 * calls)
        self._media_bases = used + [media]
        cmd = [base.SIPP, *args, "-i", ip, "-p", str(port or base.free_udp_port()), "-mi", media_ip,
               "-mp", str(media), "-m", str(calls), "-timeout", "30", "-timeout_error",
               "-nostdin", "-trace_err", "-error_file", os.path.join(self.dir, name + ".err"),
               "-trace_msg", "-message_file", os.path.join(self.dir, name + ".msg")]
        p = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sipp_procs.append(p)
        return p

    def write_instance(self, sip_fields, dialplan, endpoints=None, top=""):
        """tandem.lua with module_config.sip = { sip_fields }, the dialplan and
        (when given) the endpoints file in self.dir; returns tandem.lua's path."""
        if endpoints is not None:
            with open(os.path.join(self.dir, "endpoints"), "w") as f:
                f.write(endpoints)
            sip_fields += ", endpoints_file = 'endpoints'"
        with open(os.path.join(self.dir, "dialplan.lua"), "w") as f:
            f.write(dialplan)
        path = os.path.join(self.dir, "tandem.lua")
        with open(path, "w") as f:
            f.write("return { modules = { 'sip' }, workers = 2, shutdown_grace = 1, %s\n"
                    "  module_config = { sip = { %s } } }\n" % (top, sip_fields))
        return path

    def tearDown(self):
        for p in self.sipp_procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        harness.end_engine(self, self.engine, self.dir)
