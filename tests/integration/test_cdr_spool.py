#!/usr/bin/env python3
"""Call records through the durable spool into the built-in file sink, with
the real engine: record content, SIGKILL and restart, a full spool disk.

Run: python3 tests/integration/test_cdr_spool.py -v
"""
import csv
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import cdr_support as cs

CALL_ENDED = re.compile(r"\[core\] \[([0-9a-f]+-\d+)\] call ended")
CALL_SEEN = re.compile(r"\[(?:core|lua)\] \[([0-9a-f]+-\d+)\]")


class CdrSpoolTest(unittest.TestCase):
    def setUp(self):
        self.dirs = []
        self.engines = []

    def tearDown(self):
        for e in self.engines:
            e.cleanup()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)

    def start(self, records_extra="", data_dir=None, extra_args=()):
        d = cs.make_instance_dir(records_extra)
        self.dirs.append(d)
        e = cs.CdrInstance(d, extra_args, data_dir=data_dir)
        self.engines.append(e)
        return e.start()

    def test_records_reach_the_file_sink_with_what_the_calls_did(self):
        e = self.start("file = { format = 'both' }")
        expected = {}
        for i in range(100):
            route = "busy" if i % 4 == 0 else "answer"
            ok, call_id = cs.originate(e.socket, route, accountcode="ACME-%d" % (i % 3), crm_id="C%d" % i,
                                       secret="not-in-the-record")
            self.assertTrue(ok, call_id)
            expected[call_id] = (route, "ACME-%d" % (i % 3), "C%d" % i)
        # 75 answered originates make two calls each; 25 busy ones two as well
        # (the far half refuses, the originating half fails).
        rows = cs.wait_for("200 records", lambda: len(e.records()) >= 200 and e.records())
        self.assertEqual(len(rows), 200)
        self.assertEqual(len({r["id"] for r in rows}), 200, "record ids are unique")
        self.assertEqual(len({r["call_id"] for r in rows}), 200, "one record per call")
        by_linked = {}
        for r in rows:
            by_linked.setdefault(r["linked_id"], []).append(r)
        self.assertEqual(set(by_linked), set(expected))
        for linked, pair in by_linked.items():
            route, acct, crm = expected[linked]
            self.assertEqual(len(pair), 2, pair)
            origin = next(r for r in pair if r["call_id"] == linked)
            far = next(r for r in pair if r["call_id"] != linked)
            for r in pair:
                self.assertEqual(r["kind"], "cdr")
                self.assertEqual(r["tenant"], "tandem")
                self.assertEqual(r["accountcode"], acct)
                self.assertEqual(r["variables"], {"crm_id": crm})  # only the configured variables
                self.assertNotIn("not-in-the-record", str(r))
                self.assertTrue(r["internal"])  # both halves of a local channel
                self.assertRegex(r["start_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
                self.assertLessEqual(r["start_us"], r["end_us"])
                self.assertLessEqual(r["billsec_us"], r["duration_us"])
            self.assertEqual(far["called_num"], route)
            self.assertEqual(origin["called_num"], "wait")
            if route == "busy":
                for r in pair:
                    self.assertEqual(r["disposition"], "busy", r)
                    self.assertEqual(r["cause"], 17)
                    self.assertIsNone(r["answer_time"])
                    self.assertEqual(r["billsec"], 0)
                self.assertEqual(far["hangup_side"], "system")  # its dialplan refused
                self.assertEqual(origin["hangup_side"], "caller")  # its far end went away
            else:
                for r in pair:
                    self.assertEqual(r["disposition"], "answered", r)
                    self.assertEqual(r["cause"], 16)
                    self.assertIsNotNone(r["answer_time"])
                    self.assertGreaterEqual(r["billsec"], 1)  # whole seconds, rounded up
                self.assertEqual(far["hangup_side"], "system")  # its script returned
                self.assertEqual(origin["hangup_side"], "caller")
        # The CSV has the same records, one line each, under a header.
        with open(os.path.join(e.data_dir, "records", "cdr.csv")) as f:
            table = list(csv.DictReader(f))
        self.assertEqual(sorted(r["id"] for r in table), sorted(r["id"] for r in rows))
        one = next(r for r in table if r["disposition"] == "busy")
        self.assertEqual(one["cause"], "17")
        cs.wait_for("the file sink to confirm", lambda: cs.sink_caught_up(e.socket, "file"))
        self.assertEqual(e.stop(), 0)

    def test_channel_and_queue_variables_fill_the_record(self):
        e = self.start()
        ok, call_id = cs.originate(e.socket, "features")
        self.assertTrue(ok, call_id)
        rows = cs.wait_for("two records", lambda: len(e.records()) >= 2 and e.records())
        far = next(r for r in rows if r["call_id"] != call_id)
        self.assertEqual(far["sip_code"], 200)
        self.assertEqual(far["codec"], "PCMA")
        self.assertEqual((far["jitter_ms"], far["loss_pct"], far["rtt_ms"]), (4.5, 1.5, 80.0))
        # docs/records.md: delay = 80/2 + 2*4.5 + 10 = 59 ms; R = 93.2 - 59/40 - 2.5*1.5 = 87.975
        self.assertAlmostEqual(far["r_factor"], 88.0, places=1)
        self.assertTrue(4.2 < far["mos"] < 4.4, far["mos"])
        self.assertEqual((far["queue"], far["agent"]), ("sales", "2001"))
        self.assertEqual(far["recordings"], ["/rec/a.wav", "/rec/b.wav"])
        recs = cs.wait_for("two recording records", lambda: len(e.records("recording")) >= 2 and e.records("recording"))
        self.assertEqual(sorted(r["file"] for r in recs), ["/rec/a.wav", "/rec/b.wav"])
        for r in recs:
            self.assertEqual((r["kind"], r["call_id"], r["linked_id"]), ("recording", far["call_id"], call_id))
            self.assertIsNone(r["bytes"])  # no such file here
        # The originating side saw none of it: its own legs carry no RTCP.
        origin = next(r for r in rows if r["call_id"] == call_id)
        self.assertIsNone(origin["mos"])

    def test_sigkill_mid_run_every_ended_call_has_one_record_and_cut_calls_are_interrupted(self):
        e = self.start()
        data_dir = e.data_dir
        longs = []
        for i in range(10):
            ok, call_id = cs.originate(e.socket, "long", crm_id="L%d" % i)
            self.assertTrue(ok, call_id)
            longs.append(call_id)
        time.sleep(1.2)  # the long calls are answered and the heartbeat has ticked
        for i in range(300):
            ok, call_id = cs.originate(e.socket, "answer", hold_ms="1")
            self.assertTrue(ok, call_id)
        killed_us = time.time() * 1e6
        e.proc.send_signal(signal.SIGKILL)  # the last calls of the flood are still running
        e.proc.wait()
        log = e.read_log()
        ended = set(CALL_ENDED.findall(log))
        seen = set(CALL_SEEN.findall(log))
        self.assertTrue(ended, "some calls ended before the kill")

        again = self.start(data_dir=data_dir)
        self.assertTrue(again.wait_log("recorded as interrupted"), again.read_log())
        cs.wait_for("the file sink to catch up", lambda: cs.sink_caught_up(again.socket, "file"))
        rows = again.records()
        by_call = {}
        for r in rows:
            by_call.setdefault(r["call_id"], []).append(r)
        dup = {c: v for c, v in by_call.items() if len(v) > 1}
        self.assertEqual(dup, {}, "a call recorded twice")
        missing = ended - set(by_call)
        self.assertEqual(missing, set(), "calls that ended before the kill have no record")
        for c in ended:
            self.assertNotEqual(by_call[c][0]["disposition"], "interrupted", by_call[c])
        # Every call the engine mentioned has one record. (A call whose end
        # line the kill kept out of the log may still have ended normally.)
        for c in seen:
            self.assertIn(c, by_call, "a call cut by the kill has no record")
        interrupted = [r for r in rows if r["disposition"] == "interrupted"]
        self.assertGreaterEqual(len(interrupted), 2 * len(longs))  # both halves of each long call
        for c in longs:
            r = by_call[c][0]
            self.assertEqual(r["disposition"], "interrupted")
            self.assertGreater(r["answer_us"], 0, "the journalled answer")
            # Ends at the last heartbeat: within ~1 s before the kill.
            self.assertLessEqual(r["end_us"], killed_us)
            self.assertGreater(r["end_us"], killed_us - 2.5e6)
            self.assertEqual(r["billsec_us"], r["end_us"] - r["answer_us"])
            self.assertGreaterEqual(r["billsec"], 1)
        self.assertEqual(again.stop(), 0)
        # A second restart finds nothing new to do: still one record per call.
        third = self.start(data_dir=data_dir)
        cs.wait_for("the file sink to catch up", lambda: cs.sink_caught_up(third.socket, "file"))
        self.assertEqual(len(third.records()), len(rows))
        self.assertNotIn("recorded as interrupted", third.read_log())

    def test_shipped_segments_are_released(self):
        # 4 KB segments: a few records each, so 40 calls rotate many; once
        # the file sink has them, housekeeping deletes all but the newest
        spool = tempfile.mkdtemp(prefix="tandem-spool-release-")
        self.dirs.append(spool)
        e = self.start("segment_kb = 4", extra_args=("--spool-dir", spool))
        segments = lambda: [n for n in os.listdir(os.path.join(spool, "records")) if n.endswith(".seg")]  # noqa: E731
        for i in range(40):
            ok, call_id = cs.originate(e.socket, "answer", hold_ms="1")
            self.assertTrue(ok, call_id)
        cs.wait_for("80 records", lambda: len(e.records()) >= 80)
        cs.wait_for("the shipped segments deleted", lambda: len(segments()) <= 2, timeout=10, step=0.1)
        numbers = [int(n[:-len(".seg")]) for n in segments()]
        self.assertGreater(max(numbers), 5, "the spool rotated through many segments")

    def full_spool_run(self, mode):
        """Fills a 1 MB tmpfs under the spool (a segment is 64 KB, allocated
        whole when opened: the spool fails when it needs the next one), then
        checks `mode`."""
        mnt = tempfile.mkdtemp(prefix="tandem-spool-tmpfs-")
        self.dirs.append(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (%s): the full-disk test needs root" % p.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        e = self.start("on_spool_error = '%s', segment_kb = 64" % mode, extra_args=("--spool-dir", mnt))
        before = []
        for i in range(20):
            ok, call_id = cs.originate(e.socket, "answer", hold_ms="1")
            self.assertTrue(ok, call_id)
            before.append(call_id)
        cs.wait_for("the first records", lambda: len(e.records()) >= 40)
        # Fill the disk to the last byte, and keep it full: the spool
        # allocates segments whole and frees the ones its sink has shipped,
        # so space it gives back is taken again at once.
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

        def fill():
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
        fill()
        refused = None
        admitted = []
        for i in range(100):
            ok, text = cs.originate(e.socket, "answer", hold_ms="1")
            if not ok:
                refused = text
                break
            admitted.append(text)
            time.sleep(0.02)
            fill()
        os.close(fd)
        return e, filler, before, admitted, refused

    def test_full_spool_disk_refuses_new_calls_and_loses_nothing(self):
        e, filler, before, admitted, refused = self.full_spool_run("refuse")
        self.assertIsNotNone(refused, "calls were still admitted on a full spool disk")
        self.assertIn("record spool cannot be written", refused)
        self.assertIn("No space left on device", refused)
        self.assertTrue(e.wait_log("spool write failed"), e.read_log())
        self.assertTrue(e.wait_log("call refused: the record spool cannot be written"), e.read_log())
        # Space comes back: the records held in memory are written, calls are admitted again.
        os.unlink(filler)
        self.assertTrue(e.wait_log("spool writable again"), e.read_log())

        def admitted_again():
            ok, text = cs.originate(e.socket, "answer", hold_ms="1")
            return text if ok else None
        # (the log line may be from a moment of space while the disk filled:
        # admission is what counts, and it must come back by itself)
        call_id = cs.wait_for("a call admitted once space is back", admitted_again, timeout=10, step=0.2)
        wanted = set(before) | set(admitted) | {call_id}
        # Every call the engine started has exactly one record. (A far half
        # refused at the full disk never started: its originating call ends
        # with congestion and one record.)
        cs.wait_for("the last call to end", lambda: cs.console(e.socket, "status")[2]["calls"] == 0)
        # The log and the records are written by different threads: compare
        # them once both have caught up with the last call (or time out).
        cs.wait_for("a record for every started call and no other",
                    lambda: set(CALL_SEEN.findall(e.read_log())) == {r["call_id"] for r in e.records()})
        rows = e.records()
        self.assertEqual(len(rows), len({r["call_id"] for r in rows}), "a call recorded twice")
        self.assertLessEqual(wanted, {r["linked_id"] for r in rows})

    def test_full_spool_disk_in_warn_mode_keeps_taking_calls(self):
        e, filler, before, admitted, refused = self.full_spool_run("warn")
        self.assertIsNone(refused, "warn mode refused a call")
        self.assertTrue(e.wait_log("spool write failed"), e.read_log())
        self.assertTrue(e.wait_log("not yet on disk (held in memory, retried)"), e.read_log())
        os.unlink(filler)
        wanted = set(before) | set(admitted)
        cs.wait_for("every call's records once space is back",
                    lambda: wanted <= {r["linked_id"] for r in e.records()} and len(e.records()) >= 2 * len(wanted))
        self.assertEqual(len(e.records()), 2 * len(wanted))  # warn mode refused nothing: two halves each


if __name__ == "__main__":
    unittest.main()
