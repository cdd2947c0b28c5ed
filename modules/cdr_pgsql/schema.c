/*
 * The sink's tables, as numbered migrations. A migration is applied once,
 * in order, inside a transaction that also records it in schema_migrations;
 * an advisory lock keeps two instances sharing a database from migrating
 * the same schema at once. Never edit a released migration: add one.
 */
#include "pg_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: the three record tables and the indexes reports use. */
    "CREATE TABLE cdr ("
    " id text PRIMARY KEY,"
    " call_id text NOT NULL, linked_id text NOT NULL, tenant text, accountcode text,"
    " caller_num text, caller_name text, called_num text,"
    " routed_caller_num text, routed_called text,"
    " source text, source_driver text, destination text, context text,"
    " start_time timestamptz NOT NULL, answer_time timestamptz, end_time timestamptz NOT NULL,"
    " duration integer NOT NULL, billsec integer NOT NULL, duration_us bigint, billsec_us bigint,"
    " disposition text NOT NULL, cause integer, cause_name text, sip_code integer, hangup_side text,"
    " codec text, jitter_ms real, loss_pct real, rtt_ms real, r_factor real, mos real,"
    " queue text, agent text, recordings jsonb, variables jsonb, internal boolean NOT NULL DEFAULT false,"
    " record jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX cdr_start_time ON cdr (start_time);"
    "CREATE INDEX cdr_linked_id ON cdr (linked_id);"
    "CREATE INDEX cdr_queue ON cdr (queue, start_time) WHERE queue IS NOT NULL;"
    "CREATE INDEX cdr_agent ON cdr (agent, start_time) WHERE agent IS NOT NULL;"
    "CREATE INDEX cdr_caller_num ON cdr (caller_num, start_time);"
    "CREATE INDEX cdr_called_num ON cdr (called_num, start_time);"
    "CREATE INDEX cdr_accountcode ON cdr (accountcode, start_time) WHERE accountcode IS NOT NULL;"
    "CREATE TABLE queue_log ("
    " id text PRIMARY KEY, time timestamptz NOT NULL, call_id text, linked_id text, tenant text,"
    " queue text, agent text, event text NOT NULL, data jsonb,"
    " record jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX queue_log_time ON queue_log (time);"
    "CREATE INDEX queue_log_queue ON queue_log (queue, time);"
    "CREATE INDEX queue_log_agent ON queue_log (agent, time);"
    "CREATE TABLE recording ("
    " id text PRIMARY KEY, call_id text, linked_id text, tenant text, file text NOT NULL,"
    " start_time timestamptz, end_time timestamptz, bytes bigint,"
    " record jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX recording_call ON recording (linked_id);"
    "CREATE INDEX recording_start ON recording (start_time);",
};

int pg_schema_version(void) { return (int)(sizeof migrations / sizeof migrations[0]); }

int pg_exec(PGconn *conn, const char *sql, const char *what) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_log(TANDEM_LOG_WARNING, "%s: %s", what, PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static int current_version(PGconn *conn) {
    PGresult *r = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    int v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    if (v < 0)
        pg_log(TANDEM_LOG_WARNING, "reading schema_migrations: %s", PQerrorMessage(conn));
    PQclear(r);
    return v;
}

int pg_migrate(PGconn *conn, const char *schema_ident) {
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", schema_ident);
    if (pg_exec(conn, sql, "creating the schema") != 0)
        return -1;
    snprintf(sql, sizeof sql, "SET search_path TO %s", schema_ident);
    if (pg_exec(conn, sql, "setting search_path") != 0)
        return -1;
    if (pg_exec(conn, "BEGIN", "migrating") != 0)
        return -1;
    /* Serialise migrations of this schema across instances (key: its name). */
    const char *lock_params[1] = {schema_ident};
    PGresult *r = PQexecParams(conn, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, NULL, lock_params, NULL, NULL, 0);
    int locked = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    int version = -1;
    if (locked && pg_exec(conn,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                          "creating schema_migrations") == 0)
        version = current_version(conn);
    if (version > pg_schema_version()) {
        pg_log(TANDEM_LOG_ERROR, "the database schema is at version %d, newer than this module's %d: upgrade the module",
               version, pg_schema_version());
        version = -1;
    }
    for (int v = version + 1; version >= 0 && v <= pg_schema_version(); ++v) {
        char what[64];
        snprintf(what, sizeof what, "migration %d", v);
        char record[96];
        snprintf(record, sizeof record, "INSERT INTO schema_migrations (version) VALUES (%d)", v);
        if (pg_exec(conn, migrations[v - 1], what) != 0 || pg_exec(conn, record, what) != 0) {
            version = -1;
            break;
        }
        pg_log(TANDEM_LOG_NOTICE, "applied schema migration %d", v);
    }
    if (version < 0) {
        pg_exec(conn, "ROLLBACK", "rolling back the migration");
        return -1;
    }
    return pg_exec(conn, "COMMIT", "committing the migration");
}
