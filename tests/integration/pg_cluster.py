"""A throwaway PostgreSQL cluster for tests: its own temp directory, a free
port, a UNIX socket in that directory (no TCP listener), started with
pg_ctl and stopped by the postmaster's PID. initdb refuses to run as root,
so as root the cluster belongs to the `postgres` user.

    with PgCluster() as pg:          # raises unittest.SkipTest without PostgreSQL
        pg.createdb("cdr")
        pg.query("cdr", "SELECT 1")  # -> [["1"]]
        pg.conninfo("cdr")           # for libpq
"""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness


def _bindir():
    env = os.environ.get("TANDEM_PG_BINDIR")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


class PgCluster:
    def __init__(self):
        self.bindir = _bindir()
        if not self.bindir:
            raise unittest.SkipTest("PostgreSQL server binaries not found (Debian: postgresql); "
                                    "set TANDEM_PG_BINDIR to their directory")
        self.dir = tempfile.mkdtemp(prefix="tandem-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = harness.free_port()
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"])

    def _run(self, cmd, **kw):
        p = subprocess.run(self.as_user + cmd, capture_output=True, text=True, timeout=60, **kw)
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (cmd[0], p.returncode, p.stdout, p.stderr))
        return p.stdout

    def start(self):
        opts = "-k %s -p %d -c listen_addresses='' -c max_connections=50" % (self.dir, self.port)
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "30",
                   "start"])
        return self

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=20):
        """Fast shutdown by the postmaster's PID: sessions are cut, as when
        a database server is restarted under load."""
        pid = self.pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def conninfo(self, db):
        return "host=%s port=%d dbname=%s user=postgres connect_timeout=5" % (self.dir, self.port, db)

    def psql(self, db, sql):
        return self._run([os.path.join(self.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                          "-F", "\t", "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql])

    def query(self, db, sql):
        """Rows as lists of strings (NULL is '')."""
        out = self.psql(db, sql)
        return [line.split("\t") for line in out.splitlines()]

    def createdb(self, name):
        self.psql("postgres", "CREATE DATABASE %s" % name)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
