/*
 * cdr_pgsql internals: the module glue (module.c) keeps one connection on
 * the engine's shipper thread for this sink; schema.c migrates the schema,
 * batch.c stores a batch of records in one transaction.
 */
#ifndef TANDEM_CDR_PGSQL_SINK_H
#define TANDEM_CDR_PGSQL_SINK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <tandem/module.h>

/* Where errors go: the module's log. */
void pg_log(int level, const char *fmt, ...) TANDEM_PRINTF(2, 3);

/* Runs one statement; 0 on success, else logs `what` with the server's message. */
int pg_exec(PGconn *conn, const char *sql, const char *what);

/* Creates the schema (quoted identifier) if needed, points search_path at
 * it and applies every migration not yet in schema_migrations. 0 on success. */
int pg_migrate(PGconn *conn, const char *schema_ident);

/* The newest migration version this module knows. */
int pg_schema_version(void);

/* Stores the records (every kind) in one transaction, skipping ids already
 * there. 0 once committed. */
int pg_store_batch(PGconn *conn, const tandem_record *records, size_t count);

#endif
