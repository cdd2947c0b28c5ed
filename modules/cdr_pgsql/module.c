/*
 * cdr_pgsql: a CDR sink that stores call records, queue-log rows and
 * recording metadata in PostgreSQL through libpq (docs/records.md).
 *
 * The engine calls write() on this sink's own shipper thread, never on a
 * call's worker, with batches of durable spool records; this module keeps
 * one connection for that thread. Any failure drops the connection and
 * returns an error: the engine offers the same batch again after its
 * back-off (0.1 s doubling to 10 s), and the next write() reconnects.
 *
 * module_config.cdr_pgsql:
 *   conninfo           libpq connection string or URI (required)
 *   schema             schema for the tables (default "tandem")
 *   schema_per_tenant  "true": the schema is SCHEMA_INSTANCE (one per tenant)
 */
#include "pg_sink.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tandem_host *host;
static tandem_module *self;

static struct {
    char *conninfo;
    char schema[128];
    PGconn *conn; /* shipper thread only */
    int migrated; /* the schema is known to be current on this connection */
} sink;

void pg_log(int level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) /* libpq messages end in newlines */
        msg[--n] = '\0';
    host->log(self, level, NULL, "%s", msg);
}

/* Server notices ("relation exists, skipping") are not worth a log line. */
static void quiet_notices(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static void disconnect(void) {
    if (sink.conn)
        PQfinish(sink.conn);
    sink.conn = NULL;
    sink.migrated = 0;
}

static int connect_and_migrate(void) {
    if (sink.conn && PQstatus(sink.conn) == CONNECTION_OK && sink.migrated)
        return 0;
    disconnect();
    sink.conn = PQconnectdb(sink.conninfo);
    if (PQstatus(sink.conn) != CONNECTION_OK) {
        pg_log(TANDEM_LOG_WARNING, "cannot connect: %s", PQerrorMessage(sink.conn));
        disconnect();
        return -1;
    }
    PQsetNoticeProcessor(sink.conn, quiet_notices, NULL);
    char *ident = PQescapeIdentifier(sink.conn, sink.schema, strlen(sink.schema));
    int rc = ident ? pg_migrate(sink.conn, ident) : -1;
    PQfreemem(ident);
    if (rc == 0)
        rc = pg_exec(sink.conn,
                     "CREATE TEMP TABLE tandem_stage (kind text, id text, r jsonb) ON COMMIT DELETE ROWS",
                     "creating the staging table");
    if (rc != 0) {
        disconnect();
        return -1;
    }
    sink.migrated = 1;
    pg_log(TANDEM_LOG_NOTICE, "connected; schema %s at version %d", sink.schema, pg_schema_version());
    return 0;
}

static int pgsql_write(void *user, const tandem_record *records, size_t count) {
    (void)user;
    if (connect_and_migrate() != 0)
        return TANDEM_ERROR;
    if (pg_store_batch(sink.conn, records, count) != 0) {
        /* Whatever broke (server restart, network), start clean next time. */
        disconnect();
        return TANDEM_ERROR;
    }
    return TANDEM_OK;
}

static const tandem_cdr_sink pgsql_sink = {sizeof(tandem_cdr_sink), "pgsql", NULL, pgsql_write};

/* Schema names from configuration: letters, digits and '_' only, so the
 * name in the database is exactly what the operator reads in tandem.lua. */
static int set_schema(const char *base, const char *tenant) {
    int n = tenant ? snprintf(sink.schema, sizeof sink.schema, "%s_%s", base, tenant)
                   : snprintf(sink.schema, sizeof sink.schema, "%s", base);
    if (n <= 0 || (size_t)n >= sizeof sink.schema)
        return -1;
    for (char *p = sink.schema; *p; ++p) {
        if (*p == '-')
            *p = '_';
        else if (!isalnum((unsigned char)*p) && *p != '_')
            return -1;
        else
            *p = (char)tolower((unsigned char)*p);
    }
    return 0;
}

static int pgsql_load(tandem_module *module, const tandem_host *h) {
    host = h;
    self = module;
    memset(&sink, 0, sizeof sink);
    const char *conninfo = host->config_get(self, "conninfo");
    if (!conninfo || !*conninfo) {
        host->log(self, TANDEM_LOG_ERROR, NULL,
                  "module_config.cdr_pgsql.conninfo is required (e.g. \"host=/run/postgresql dbname=tandem\")");
        return TANDEM_EINVAL;
    }
    const char *schema = host->config_get(self, "schema");
    const char *per_tenant = host->config_get(self, "schema_per_tenant");
    int tenant_schema = per_tenant && strcmp(per_tenant, "true") == 0;
    if (set_schema(schema && *schema ? schema : "tandem", tenant_schema ? host->instance_name() : NULL) != 0) {
        host->log(self, TANDEM_LOG_ERROR, NULL,
                  "module_config.cdr_pgsql.schema: use letters, digits, '_' and '-' only (up to 100 characters)");
        return TANDEM_EINVAL;
    }
    size_t len = strlen(conninfo) + 1;
    sink.conninfo = malloc(len);
    if (!sink.conninfo)
        return TANDEM_ERROR;
    memcpy(sink.conninfo, conninfo, len);
    int rc = host->register_cdr_sink(self, &pgsql_sink);
    if (rc != TANDEM_OK) {
        free(sink.conninfo);
        return rc;
    }
    /* Connecting happens on the shipper thread, at the first batch: a
     * database that is down at start delays records, never the engine. */
    host->log(self, TANDEM_LOG_INFO, NULL, "CDR sink pgsql: schema %s", sink.schema);
    return TANDEM_OK;
}

static void pgsql_unload(tandem_module *module) {
    (void)module;
    disconnect();
    free(sink.conninfo);
    sink.conninfo = NULL;
}

static const tandem_module_desc pgsql_desc = {
    TANDEM_MODULE_DESC_INIT,
    "cdr_pgsql",
    "1.0",
    "call records, queue log and recording metadata into PostgreSQL (libpq)",
    NULL,
    pgsql_load,
    pgsql_unload,
    NULL,
};

TANDEM_MODULE(pgsql_desc)
