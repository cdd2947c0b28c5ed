#!/usr/bin/env python3
"""The billing rules of docs/records.md, proven with real SIP calls (SIPp)
and the records the file sink writes: a billing system that sums `billsec`
of the records with `internal = false` counts every interaction once,
through transfers and queue hand-offs.

  CdrBilling
    test_dialplan_transfer_is_one_record  "reception" answers, talks, then
                  call:transfer()s to 2002, which talks and hangs up: one record,
                  billsec spanning both parts, called_num the number first dialled
    test_queue_handoff_counts_once  "sales" answers (the wait in queue), then
                  dials the agent through local/2001@agents: the customer's record
                  (internal false) bills the whole answered time, the agent half
                  (internal true) only the talk time; one billable record
    test_refer_by_callee_is_one_record  the dialled party (SIPp UAS) REFERs the
                  caller to "target": the caller's call goes on there and stays one
                  billable record whose billsec runs to the caller's hang-up

Run: python3 tests/integration/test_cdr_billing.py -v   (needs `sipp`)
"""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sip_calls as base  # noqa: E402

DIALPLAN = """
return { contexts = {
  default = {
    ["reception"] = function(call)
      call:answer()
      call:sleep(700)
      call:transfer("2002")
    end,
    ["2002"] = function(call)
      call:sleep(700)
      call:hangup()
    end,
    ["sales"] = function(call)
      call:answer()
      call:set("queue", "sales")
      call:sleep(700)                          -- waiting in the queue
      local status, leg = call:dial("local/2001@agents")
      if status == "answer" then call:bridge(leg) end
      call:hangup()
    end,
    ["agent"] = function(call)
      call:answer()
      local status, leg = call:dial("sip/service@127.0.0.1:@UAS_PORT@")
      if status == "answer" then call:bridge(leg) end
    end,
    ["target"] = function(call)
      call:sleep(700)
      call:hangup()
    end,
  },
  agents = {
    ["2001"] = function(call)
      call:set("agent", "2001")
      call:answer()
      call:sleep(700)                          -- talk time
      call:hangup()
    end,
  },
} }
"""


class CdrBilling(base.SipCalls):
    dialplan = DIALPLAN
    modules = ("sip", "local")

    def records_of(self, count=1, timeout=15):
        """Waits until the file sink holds `count` records; returns them all."""
        path = os.path.join(self.engine.tmp, "data", "records", "cdr.jsonl")
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    rows = [json.loads(line) for line in f if line.strip()]
                if len(rows) >= count:
                    return rows
            time.sleep(0.05)
        self.fail("expected %d records, got %r\n%s" % (count, rows, self.engine.read_log()))

    def assert_bills_once(self, rows, at_least_us):
        """One interaction (one linked_id), one billable record covering at
        least `at_least_us` of answered time; returns that record."""
        self.assertEqual(len({r["linked_id"] for r in rows}), 1, rows)
        billable = [r for r in rows if not r["internal"]]
        self.assertEqual(len(billable), 1, rows)
        bill = billable[0]
        self.assertEqual(bill["disposition"], "answered")
        self.assertGreaterEqual(bill["billsec_us"], at_least_us)
        self.assertEqual(bill["billsec_us"], bill["end_us"] - bill["answer_us"])
        return bill

    def test_dialplan_transfer_is_one_record(self):
        story = self.uac_call("reception", "uac_expect_bye.xml")
        rows = self.records_of()
        time.sleep(0.3)  # nothing else may follow
        rows = self.records_of()
        self.assertEqual(len(rows), 1, rows)
        bill = self.assert_bills_once(rows, 1_400_000)  # 700 ms before and after the transfer
        self.assertEqual(bill["called_num"], "reception")
        self.assertEqual(bill["source_driver"], "sip")
        self.assertEqual(bill["hangup_side"], "system")

    def test_queue_handoff_counts_once(self):
        story = self.uac_call("sales", "uac_expect_bye.xml")
        rows = self.records_of(count=2)
        customer = self.assert_bills_once(rows, 1_400_000)  # queue wait + talk
        agent = next(r for r in rows if r["internal"])
        self.assertEqual((customer["queue"], customer["called_num"]), ("sales", "sales"))
        self.assertEqual((agent["agent"], agent["called_num"], agent["source_driver"]), ("2001", "2001", "local"))
        # The agent half counts talk time only, inside the customer's answered time.
        self.assertGreaterEqual(agent["billsec_us"], 700_000)
        self.assertLess(agent["billsec_us"], customer["billsec_us"] - 500_000)
        self.assertGreaterEqual(agent["answer_us"], customer["answer_us"] + 600_000)
        self.assertLessEqual(agent["end_us"], customer["end_us"] + 100_000)  # the halves end together

    def test_refer_by_callee_is_one_record(self):
        uas = self.sipp(["-sf", os.path.join(base.SCENARIOS, "uas_refer.xml"), "-key", "refer_to", "target"],
                        "uas", port=self.uas_port)
        time.sleep(0.3)
        p = self.uac("agent", "uac_expect_bye.xml")
        code, story = self.wait_sipp(uas, "uas")
        self.assertEqual(code, 0, story)
        code, story = self.wait_sipp(p, "agent")
        self.assertEqual(code, 0, story)
        rows = self.records_of()
        time.sleep(0.3)
        rows = self.records_of()
        self.assertEqual(len(rows), 1, rows)
        bill = self.assert_bills_once(rows, 700_000)  # "target" after the REFER
        self.assertEqual(bill["called_num"], "agent")
        self.assertTrue(bill["destination"].startswith("sip/service@127.0.0.1"), bill)
        self.assertEqual(len(bill["legs"]), 2, bill["legs"])


def load_tests(loader, tests, pattern):
    return base.own_tests(CdrBilling)


if __name__ == "__main__":
    unittest.main()
