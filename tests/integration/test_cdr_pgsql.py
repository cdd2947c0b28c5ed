#!/usr/bin/env python3
"""Call records into a real PostgreSQL (modules/cdr_pgsql), started by the
test itself (pg_cluster.py), next to the file sink.

* 5,000 originates through the local channel = 10,000 calls = 10,000 rows,
  each checked against what its call did; the file sink gets the same ids.
  TANDEM_CDR_ORIGINATES scales the run (the ASan build sets it lower: the
  sanitizers make each call ~10x slower; CTest says so in the test's env).
* The database is stopped in the middle of a run and started again: every
  record arrives, none twice.
* Recording rows reach their own table, queue/agent/codec their columns.
* The engine is SIGKILLed in the middle of a run and restarted: every call
  that had ended has its row; calls the kill cut arrive as "interrupted".

Run: python3 tests/integration/test_cdr_pgsql.py -v
"""
import os
import re
import signal
import shutil
import threading
import time
import unittest

import cdr_support as cs
from pg_cluster import PgCluster

ORIGINATES = int(os.environ.get("TANDEM_CDR_ORIGINATES", "5000"))
CALL_ENDED = re.compile(r"\[core\] \[([0-9a-f]+-\d+)\] call ended")
CALL_SEEN = re.compile(r"\[(?:core|lua)\] \[([0-9a-f]+-\d+)\]")


class CdrPgsqlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        module = os.path.join(cs.harness.BUILD, "lib", "tandem", "modules", "cdr_pgsql.so")
        if not os.path.exists(module):
            raise unittest.SkipTest("cdr_pgsql was not built (Debian: libpq-dev): " + module)
        cls.pg = PgCluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def setUp(self):
        self.dirs, self.engines = [], []
        self.db = "cdr_%d" % (int(time.time() * 1000) % 100000000)
        self.pg.createdb(self.db)

    def tearDown(self):
        for e in self.engines:
            e.cleanup()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)

    def start(self, data_dir=None, schema_extra=""):
        d = cs.make_instance_dir()
        with open(os.path.join(d, "tandem.lua")) as f:
            text = f.read()
        text = text.replace("modules = { 'local' }", "modules = { 'local', 'cdr_pgsql' },\n"
                            "  module_config = { cdr_pgsql = { conninfo = '%s' %s } }"
                            % (self.pg.conninfo(self.db), schema_extra))
        with open(os.path.join(d, "tandem.lua"), "w") as f:
            f.write(text)
        self.dirs.append(d)
        e = cs.CdrInstance(d, data_dir=data_dir)
        self.engines.append(e)
        return e.start()

    def count(self, table="tandem.cdr"):
        try:
            return int(self.pg.query(self.db, "SELECT count(*) FROM %s" % table)[0][0])
        except RuntimeError:  # not created yet, or the server is down
            return 0

    def wait_rows(self, n, timeout=60):
        cs.wait_for("%d rows in PostgreSQL" % n, lambda: self.count() >= n, timeout, step=0.2)

    def flood(self, sock, n, routes=("answer",), **vars_):
        ids = []
        for i in range(n):
            ok, call_id = cs.originate(sock, routes[i % len(routes)], hold_ms="1", **vars_)
            if ok:
                ids.append(call_id)
        return ids

    def test_ten_thousand_calls_ten_thousand_correct_rows(self):
        e = self.start()
        started = time.time()
        expected = {}
        for i in range(ORIGINATES):
            route = "busy" if i % 5 == 0 else "answer"
            acct = "ACCT-%d" % (i % 7)
            ok, call_id = cs.originate(e.socket, route, hold_ms="1", accountcode=acct, crm_id="crm-%d" % i)
            self.assertTrue(ok, call_id)
            expected[call_id] = (route, acct, "crm-%d" % i)
        self.wait_rows(2 * ORIGINATES)
        elapsed = time.time() - started
        print("\n%d calls -> %d rows in %.1f s" % (2 * ORIGINATES, self.count(), elapsed))
        self.assertEqual(self.count(), 2 * ORIGINATES)
        rows = self.pg.query(self.db,
                             "SELECT linked_id, call_id, accountcode, variables->>'crm_id', disposition, cause,"
                             " billsec, duration, called_num, hangup_side, answer_time IS NULL, internal, tenant,"
                             " end_time >= start_time, billsec_us <= duration_us, record->>'id' = id"
                             " FROM tandem.cdr")
        by_linked = {}
        for r in rows:
            by_linked.setdefault(r[0], []).append(r)
        self.assertEqual(set(by_linked), set(expected))
        for linked, pair in by_linked.items():
            route, acct, crm = expected[linked]
            self.assertEqual(len(pair), 2, pair)
            self.assertEqual(len({r[1] for r in pair}), 2)
            far = next(r for r in pair if r[1] != linked)
            self.assertEqual(far[8], route)
            for (_, _, a, c, disp, cause, billsec, duration, _, side, unanswered, internal, tenant, ordered,
                 bill_ok, id_ok) in pair:
                self.assertEqual((a, c, tenant, internal, ordered, bill_ok, id_ok),
                                 (acct, crm, "tandem", "t", "t", "t", "t"))
                if route == "busy":
                    self.assertEqual((disp, cause, billsec, unanswered), ("busy", "17", "0", "t"))
                else:
                    self.assertEqual((disp, cause, unanswered), ("answered", "16", "f"))
                    self.assertGreaterEqual(int(billsec), 1)
                    self.assertGreaterEqual(int(duration), int(billsec))
            self.assertEqual(far[9], "system")
        # Versioned schema, indexes for reports.
        self.assertEqual(self.pg.query(self.db, "SELECT version FROM tandem.schema_migrations"), [["1"]])
        indexes = {r[0] for r in self.pg.query(self.db, "SELECT indexname FROM pg_indexes WHERE schemaname='tandem'")}
        self.assertTrue({"cdr_start_time", "cdr_queue", "cdr_agent", "cdr_caller_num", "cdr_called_num"} <= indexes)
        # Both sinks ran: the file sink holds the same records.
        cs.wait_for("the file sink", lambda: cs.sink_caught_up(e.socket, "file"))
        db_ids = {r[0] for r in self.pg.query(self.db, "SELECT id FROM tandem.cdr")}
        self.assertEqual({r["id"] for r in e.records()}, db_ids)
        self.assertEqual(e.stop(), 0)

    def test_recordings_and_queue_fields_reach_their_columns(self):
        # The "features" route sets what the SIP channel, the queue and the
        # recorder set; each lands in its column, recordings in their table.
        e = self.start()
        ok, call_id = cs.originate(e.socket, "features")
        self.assertTrue(ok, call_id)
        cs.wait_for("two recording rows", lambda: self.count("tandem.recording") >= 2, step=0.2)
        self.wait_rows(2)
        far = self.pg.query(self.db, "SELECT call_id, queue, agent, recordings::text, codec, sip_code"
                                     " FROM tandem.cdr WHERE call_id <> '%s'" % call_id)
        self.assertEqual(len(far), 1, far)
        far_call, queue, agent, recordings, codec, sip_code = far[0]
        self.assertEqual((queue, agent, codec, sip_code), ("sales", "2001", "PCMA", "200"))
        self.assertEqual(recordings, '["/rec/a.wav", "/rec/b.wav"]')
        recs = self.pg.query(self.db, "SELECT file, call_id, linked_id FROM tandem.recording ORDER BY file")
        self.assertEqual(recs, [["/rec/a.wav", far_call, call_id], ["/rec/b.wav", far_call, call_id]])
        self.assertEqual(e.stop(), 0)

    def test_database_outage_mid_run_every_record_arrives_once(self):
        e = self.start(schema_extra=", schema = 'billing', schema_per_tenant = true")
        made, done = [], threading.Event()

        def flood():  # calls end all through the outage
            while not done.is_set():
                made.extend(self.flood(e.socket, 20))

        t = threading.Thread(target=flood)
        t.start()
        try:
            cs.wait_for("the first rows", lambda: self.count("billing_tandem.cdr") > 0, 30, step=0.1)
            self.pg.stop()  # fast shutdown: open sessions and transactions are cut
            self.assertTrue(e.wait_log("sink 'pgsql' refused"), e.read_log())
            during = len(made)
            time.sleep(0.5)
            self.assertGreater(len(made), during, "no calls ended during the outage")
        finally:
            self.pg.start()
        time.sleep(0.5)
        done.set()
        t.join()
        self.assertTrue(e.wait_log("sink 'pgsql' accepts records again", timeout=30), e.read_log())
        cs.wait_for("every row", lambda: self.count("billing_tandem.cdr") >= 2 * len(made), 60, step=0.2)
        rows = self.pg.query(self.db, "SELECT call_id, linked_id FROM billing_tandem.cdr")
        self.assertEqual(len(rows), 2 * len(made))
        self.assertEqual(len({r[0] for r in rows}), len(rows), "a call stored twice")
        self.assertEqual({r[1] for r in rows}, set(made))
        # The same records reached the file sink, which never stopped.
        cs.wait_for("the file sink", lambda: cs.sink_caught_up(e.socket, "file"))
        self.assertEqual(len(e.records()), len(rows))

    def test_engine_sigkill_mid_run_then_restart(self):
        e = self.start()
        data_dir = e.data_dir
        longs = [cs.originate(e.socket, "long")[1] for _ in range(5)]
        self.flood(e.socket, 300)
        e.proc.send_signal(signal.SIGKILL)
        e.proc.wait()
        log = e.read_log()
        ended, seen = set(CALL_ENDED.findall(log)), set(CALL_SEEN.findall(log))
        again = self.start(data_dir=data_dir)
        cs.wait_for("pgsql to catch up", lambda: cs.sink_caught_up(again.socket, "pgsql"), 60)
        rows = self.pg.query(self.db, "SELECT call_id, disposition FROM tandem.cdr")
        by_call = {}
        for call_id, disp in rows:
            by_call.setdefault(call_id, []).append(disp)
        self.assertEqual({c: d for c, d in by_call.items() if len(d) > 1}, {}, "a call stored twice")
        self.assertEqual(ended - set(by_call), set(), "calls that ended before the kill have no row")
        for c in ended:
            self.assertNotEqual(by_call[c], ["interrupted"])
        for c in seen:  # its end line may have missed the log, not its record
            self.assertIn(c, by_call, "a call cut by the kill has no row")
        for c in longs:  # certainly running at the kill
            self.assertEqual(by_call.get(c), ["interrupted"], c)


if __name__ == "__main__":
    unittest.main()
