"""What the SIP test classes share: SIPp runs by PID with their traces in
the test's directory, and a tearDown that stops SIPp and the engine (whose
exit code must be 0)."""
import os

import test_sip_calls as base


class SipTestMixin:
    """Needs self.dir, self.engine (or None) and self.sipp_procs."""
    wait_sipp = base.SipCalls.wait_sipp
    sipp_story = base.SipCalls.sipp_story
    tearDown = base.SipCalls.tearDown

    def sipp(self, args, name, port=None, calls=1, ip="127.0.0.1", media_ip="127.0.0.1"):
        """SIPp in the background for `calls` calls, traced into self.dir/NAME.msg/.err."""
        return base.launch_sipp(self, args, name, port, calls, ip, media_ip, timeout=30)

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
