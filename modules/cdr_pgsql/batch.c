/*
 * One batch, one transaction: the records are COPYed into a temporary
 * staging table, then moved into their tables with ON CONFLICT (id) DO
 * NOTHING, so a batch offered again after a crash or a lost reply stores
 * nothing twice. The server extracts the columns from the JSON: the module
 * needs no JSON parser, and the full record stays in `record`.
 */
#include "pg_sink.h"

#include <stdlib.h>
#include <string.h>

static const char *const move_rows[] = {
    "INSERT INTO cdr (id, call_id, linked_id, tenant, accountcode, caller_num, caller_name, called_num,"
    " routed_caller_num, routed_called, source, source_driver, destination, context,"
    " start_time, answer_time, end_time, duration, billsec, duration_us, billsec_us,"
    " disposition, cause, cause_name, sip_code, hangup_side, codec,"
    " jitter_ms, loss_pct, rtt_ms, r_factor, mos, queue, agent, recordings, variables, internal, record)"
    " SELECT id, r->>'call_id', r->>'linked_id', r->>'tenant', r->>'accountcode', r->>'caller_num',"
    " r->>'caller_name', r->>'called_num', r->>'routed_caller_num', r->>'routed_called', r->>'source',"
    " r->>'source_driver', r->>'destination', r->>'context',"
    " (r->>'start_time')::timestamptz, (r->>'answer_time')::timestamptz, (r->>'end_time')::timestamptz,"
    " (r->>'duration')::integer, (r->>'billsec')::integer, (r->>'duration_us')::bigint, (r->>'billsec_us')::bigint,"
    " r->>'disposition', (r->>'cause')::integer, r->>'cause_name', (r->>'sip_code')::integer, r->>'hangup_side',"
    " r->>'codec', (r->>'jitter_ms')::real, (r->>'loss_pct')::real, (r->>'rtt_ms')::real, (r->>'r_factor')::real,"
    " (r->>'mos')::real, r->>'queue', r->>'agent', r->'recordings', r->'variables',"
    " coalesce((r->>'internal')::boolean, false), r"
    " FROM tandem_stage WHERE kind = 'cdr' ON CONFLICT (id) DO NOTHING",
    "INSERT INTO queue_log (id, time, call_id, linked_id, tenant, queue, agent, event, data, record)"
    " SELECT id, coalesce((r->>'time')::timestamptz, now()), r->>'call_id', r->>'linked_id', r->>'tenant',"
    " r->>'queue', r->>'agent', coalesce(r->>'event', ''), r->'data', r"
    " FROM tandem_stage WHERE kind = 'queue_log' ON CONFLICT (id) DO NOTHING",
    "INSERT INTO recording (id, call_id, linked_id, tenant, file, start_time, end_time, bytes, record)"
    " SELECT id, r->>'call_id', r->>'linked_id', r->>'tenant', coalesce(r->>'file', ''),"
    " (r->>'start_time')::timestamptz, (r->>'end_time')::timestamptz, (r->>'bytes')::bigint, r"
    " FROM tandem_stage WHERE kind = 'recording' ON CONFLICT (id) DO NOTHING",
};

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static size_t escape_copy(char *out, const char *in, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; ++i) {
        char c = in[i];
        const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
        if (esc) {
            out[n++] = esc[0];
            out[n++] = esc[1];
        } else {
            out[n++] = c;
        }
    }
    return n;
}

static int copy_rows(PGconn *conn, const tandem_record *records, size_t count) {
    PGresult *r = PQexec(conn, "COPY tandem_stage (kind, id, r) FROM STDIN");
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        pg_log(TANDEM_LOG_WARNING, "starting COPY: %s", PQerrorMessage(conn));
        return -1;
    }
    size_t cap = 0;
    char *line = NULL;
    for (size_t i = 0; ok && i < count; ++i) {
        const tandem_record *rec = &records[i];
        size_t kind_len = strlen(rec->kind), id_len = strlen(rec->id);
        size_t need = 2 * (kind_len + id_len + rec->json_len) + 3;
        if (need > cap) {
            char *bigger = realloc(line, need);
            if (!bigger) {
                ok = 0;
                break;
            }
            line = bigger;
            cap = need;
        }
        size_t n = escape_copy(line, rec->kind, kind_len);
        line[n++] = '\t';
        n += escape_copy(line + n, rec->id, id_len);
        line[n++] = '\t';
        n += escape_copy(line + n, rec->json, rec->json_len);
        line[n++] = '\n';
        ok = PQputCopyData(conn, line, (int)n) == 1;
    }
    free(line);
    if (PQputCopyEnd(conn, ok ? NULL : "the module could not build the rows") != 1)
        ok = 0;
    r = PQgetResult(conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (ok)
            pg_log(TANDEM_LOG_WARNING, "COPY: %s", PQerrorMessage(conn));
        ok = 0;
    }
    PQclear(r);
    while ((r = PQgetResult(conn)) != NULL)
        PQclear(r);
    return ok ? 0 : -1;
}

int pg_store_batch(PGconn *conn, const tandem_record *records, size_t count) {
    if (pg_exec(conn, "BEGIN", "starting a batch") != 0)
        return -1;
    int rc = copy_rows(conn, records, count);
    for (size_t i = 0; rc == 0 && i < sizeof move_rows / sizeof move_rows[0]; ++i)
        rc = pg_exec(conn, move_rows[i], "storing records");
    if (rc == 0)
        return pg_exec(conn, "COMMIT", "committing a batch");
    if (PQstatus(conn) == CONNECTION_OK)
        pg_exec(conn, "ROLLBACK", "rolling back a batch");
    return -1;
}
