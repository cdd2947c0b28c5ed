#!/usr/bin/env python3
"""Call records into PostgreSQL: throughput with the default durability, and
the engine's CPU per record (bench/BENCHMARKS.md, "Call records").

Starts a throwaway PostgreSQL cluster (default settings: fsync on,
synchronous_commit on) and a real engine with the default spool settings
(group commit every 10 ms / 256 records), then:

  1. spool:  N/2 originates through the local channel = N calls = N records,
             with no sink loaded; engine CPU per call (call + CDR + spool).
  2. drain:  `tandem ctl module load cdr_pgsql`, time until the sink has
             caught up: records/s into PostgreSQL, engine CPU per record.
  3. file:   the same spool (a copy) drained by the built-in file sink.
  4. copy:   the same rows (record jsonb) loaded with one psql COPY into a
             bare table: what PostgreSQL alone takes on this machine.
  5. live:   both sinks loaded, N/2 more originates as fast as the console
             takes them; records/s sustained and how far PostgreSQL lagged.

Usage: bench/records_bench.py [N]   (default 20000)
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("TANDEM_BUILD_DIR", os.path.join(HERE, "..", "build"))

import cdr_support as cs  # noqa: E402
from pg_cluster import PgCluster  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def caught_up(sock, name):
    return cs.sink_caught_up(sock, name)


def engine(pg, db, modules, file_format, data_dir=None):
    d = cs.make_instance_dir("file = { format = '%s' }" % file_format)
    with open(os.path.join(d, "tandem.lua")) as f:
        text = f.read()
    text = text.replace("modules = { 'local' }", "modules = { %s },\n  module_config = { cdr_pgsql = { conninfo = '%s' } }"
                        % (", ".join("'%s'" % m for m in modules), pg.conninfo(db)))
    with open(os.path.join(d, "tandem.lua"), "w") as f:
        f.write(text)
    e = cs.CdrInstance(d, data_dir=data_dir)
    e.instance_dir = d
    return e.start(timeout=60)


def originate_many(sock, n):
    for _ in range(n):
        ok, err = cs.originate(sock, "answer", hold_ms="0", accountcode="BENCH", crm_id="x")
        if not ok:
            raise RuntimeError(err)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    pg = PgCluster().start()
    engines = []
    try:
        pg.createdb("bench")
        # 1. spool
        e = engine(pg, "bench", ["local"], "off")
        engines.append(e)
        cpu0, t0 = cpu_seconds(e.proc.pid), time.time()
        originate_many(e.socket, n // 2)
        cs.wait_for("all calls ended", lambda: cs.console(e.socket, "status")[2]["calls"] == 0, 120)
        cpu1, t1 = cpu_seconds(e.proc.pid), time.time()
        print("spool: %d calls in %.2f s (%.0f calls/s), engine CPU %.1f us/call (call, CDR, spool)"
              % (n, t1 - t0, n / (t1 - t0), (cpu1 - cpu0) / n * 1e6))
        spool_copy = tempfile.mkdtemp(prefix="tandem-bench-spool-")
        shutil.copytree(os.path.join(e.data_dir, "spool"), os.path.join(spool_copy, "spool"))

        # 2. drain into PostgreSQL
        cpu0, t0 = cpu_seconds(e.proc.pid), time.time()
        ok, text, _ = cs.console(e.socket, "module", "load", "cdr_pgsql")
        assert ok, text
        cs.wait_for("pgsql to drain", lambda: caught_up(e.socket, "pgsql"), 600, step=0.02)
        cpu1, t1 = cpu_seconds(e.proc.pid), time.time()
        rows = int(pg.query("bench", "SELECT count(*) FROM tandem.cdr")[0][0])
        assert rows == n, rows
        print("pgsql drain: %d records in %.2f s = %.0f records/s, engine CPU %.1f us/record"
              % (n, t1 - t0, n / (t1 - t0), (cpu1 - cpu0) / n * 1e6))

        # 3. the same spool through the file sink
        f = engine(pg, "bench", ["local"], "jsonl", data_dir=spool_copy)
        engines.append(f)
        t0 = time.time()
        cs.wait_for("file sink to drain", lambda: caught_up(f.socket, "file"), 600, step=0.02)
        t1 = time.time()
        print("file drain: %d records in %.2f s = %.0f records/s (includes engine start)"
              % (len(f.records()), t1 - t0, len(f.records()) / (t1 - t0)))

        # 4. raw COPY of the same rows
        dump = os.path.join(pg.dir, "rows.copy")
        pg.psql("bench", "COPY (SELECT id, record FROM tandem.cdr) TO '%s'" % dump)
        pg.psql("bench", "CREATE TABLE raw (id text PRIMARY KEY, record jsonb)")
        t0 = time.time()
        pg.psql("bench", "COPY raw FROM '%s'" % dump)
        t1 = time.time()
        print("psql COPY baseline: %d rows in %.2f s = %.0f rows/s (id + jsonb only, one transaction, "
              "includes psql start)" % (n, t1 - t0, n / (t1 - t0)))

        # 5. live: both sinks while calls flow
        g = engine(pg, "bench", ["local", "cdr_pgsql"], "jsonl")
        engines.append(g)
        before = int(pg.query("bench", "SELECT count(*) FROM tandem.cdr")[0][0])
        cpu0, t0 = cpu_seconds(g.proc.pid), time.time()
        originate_many(g.socket, n // 2)
        t_calls = time.time()
        cs.wait_for("pgsql to catch up", lambda: caught_up(g.socket, "pgsql") and caught_up(g.socket, "file"),
                    600, step=0.02)
        cpu1, t1 = cpu_seconds(g.proc.pid), time.time()
        after = int(pg.query("bench", "SELECT count(*) FROM tandem.cdr")[0][0])
        print("live: %d calls in %.2f s (%.0f calls/s) with pgsql + file sinks; pgsql caught up %.2f s after "
              "the last call: %.0f records/s sustained end to end; engine CPU %.1f us/call all in"
              % (after - before, t_calls - t0, (after - before) / (t_calls - t0), t1 - t_calls,
                 (after - before) / (t1 - t0), (cpu1 - cpu0) / (after - before) * 1e6))
    finally:
        for e in engines:
            e.cleanup()
            shutil.rmtree(getattr(e, "instance_dir", ""), ignore_errors=True)
        pg.cleanup()


if __name__ == "__main__":
    main()
