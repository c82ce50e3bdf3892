/* db: what the programs' libpq modules share. */
#ifndef FRONTDESK_DB_H
#define FRONTDESK_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "common/buf.h"

/* One prepared statement: a program's table of them is its whole SQL. */
struct db_statement {
	const char *name;
	const char *sql;
	int nparams;
};

/* Prepares every statement of the table on conn; 0, or -1 after logging
 * the first that failed. */
int db_prepare(PGconn *conn, const struct db_statement *st, size_t n);

/* A failed result as "SQLSTATE primary message" for the log: never the
 * DETAIL, which may quote a row's values (a patient's words). NULL r:
 * the connection's own error. */
const char *db_error(PGconn *conn, const PGresult *r, char *buf,
    size_t size);

/* Is the connection gone, now that r failed on it? Not only when PQstatus
 * says CONNECTION_BAD: a server that died while the connection sat idle
 * (a primary stopped for a failover) is reported by libpq (15) as a failed
 * result with PQstatus still CONNECTION_OK; only the next call on it sees
 * CONNECTION_BAD. So also when the error is libpq's own (no SQLSTATE: the
 * link), a connection exception (class 08), or the server ending the
 * session (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
 * connect now, 57P04 database dropped, 57P05 idle session timeout). Never
 * a statement's own error: 57014 (a statement timeout) is not 57P. */
bool db_lost(PGconn *conn, const PGresult *r);

/* A program's connection with its prepared statements, opened on first
 * use and opened again when the server went away. */
struct db_conn {
	PGconn *conn;
	const char *conninfo;
	const char *app_name;
	const struct db_statement *statements;
	size_t nstatements;
	long statement_timeout_ms;
	bool in_tx;       /* between db_conn_run's BEGIN and COMMIT/ROLLBACK */
};

enum db_result {
	DB_OK = 0,
	DB_ERROR = -1,      /* the database answered with an error */
	DB_DOWN = -2,       /* no connection */
	DB_DUPLICATE = -3,  /* a unique index refused the row (23505) */
};

/* Connects (3 s at most, keepalives on, the statement timeout set) and
 * prepares, unless already connected; DB_OK or DB_DOWN. */
enum db_result db_conn_open(struct db_conn *d);
void db_conn_close(struct db_conn *d);
/* Runs a prepared statement (text parameters, NULL for SQL NULL); once
 * again on a new connection when the old one turns out dead. A result
 * that is not rows or a command's completion is logged, cleared and
 * turned into *err. */
PGresult *db_conn_exec(struct db_conn *d, const char *name, int n,
    const char *const *vals, enum db_result *err);
/* Runs plain SQL without parameters (BEGIN, COMMIT, ROLLBACK); DB_OK or
 * the error. */
enum db_result db_conn_run(struct db_conn *d, const char *sql);

/* PostgreSQL's type OID of boolean (pg_type.h is not in libpq-dev). */
#define DB_OID_BOOL 16

/* A result as RFC 4180 CSV with a header row of its column names;
 * booleans as true and false; formulas neutralised (common/csv.h). */
void db_csv(const PGresult *r, struct buf *out);

#endif
