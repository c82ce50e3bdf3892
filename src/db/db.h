/* db: what the programs' libpq modules share. */
#ifndef FRONTDESK_DB_H
#define FRONTDESK_DB_H

#include <stddef.h>

#include <libpq-fe.h>

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

#endif
