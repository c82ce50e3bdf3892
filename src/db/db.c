/* db: what the programs' libpq modules share. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "common/csv.h"
#include "common/log.h"

int
db_prepare(PGconn *conn, const struct db_statement *st, size_t n)
{
	char q[300];

	for (size_t i = 0; i < n; i++) {
		PGresult *r = PQprepare(conn, st[i].name, st[i].sql,
		    st[i].nparams, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

		if (!ok)
			log_error("db_prepare_failed", "statement=%s error=%s",
			    st[i].name, db_error(conn, r, q, sizeof(q)));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}

const char *
db_error(PGconn *conn, const PGresult *r, char *buf, size_t size)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = r ? PQresultErrorField(r,
	    PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char text[256];

	if (primary != NULL)
		snprintf(text, sizeof(text), "%s %s", state ? state : "?????",
		    primary);
	else
		snprintf(text, sizeof(text), "%s", conn ? PQerrorMessage(conn) :
		    "out of memory");
	return log_quote(buf, size, text);
}

bool
db_lost(PGconn *conn, const PGresult *r)
{
	const char *state;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return true;
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0;
}

enum db_result
db_conn_open(struct db_conn *d)
{
	char timeout[64], q[256];
	/* read-write: the primary of a multi-host conninfo's hosts. */
	const char *keys[] = { "application_name", "connect_timeout",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "options", "target_session_attrs", "dbname",
	    NULL };
	const char *vals[] = { d->app_name, "3", "10", "5", "3", "15000",
	    timeout, "read-write", d->conninfo, NULL };

	if (d->conn != NULL && PQstatus(d->conn) == CONNECTION_OK)
		return DB_OK;
	db_conn_close(d);
	snprintf(timeout, sizeof(timeout), "-c statement_timeout=%ld",
	    d->statement_timeout_ms > 0 ? d->statement_timeout_ms : 15000);
	/* Our defaults first, so that the conninfo can override them. */
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK) {
		log_warn("db_connect_failed", "error=%s", log_quote(q, sizeof(q),
		    d->conn ? PQerrorMessage(d->conn) : "out of memory"));
		db_conn_close(d);
		return DB_DOWN;
	}
	if (db_prepare(d->conn, d->statements, d->nstatements) == -1) {
		db_conn_close(d);
		return DB_DOWN;
	}
	return DB_OK;
}

void
db_conn_close(struct db_conn *d)
{
	if (d->conn != NULL)
		PQfinish(d->conn);
	d->conn = NULL;
	d->in_tx = false;
}

static enum db_result
db_result_error(struct db_conn *d, const char *what, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char q[256], w[128];

	log_error("db_query_failed", "statement=%s error=%s",
	    log_value(w, sizeof(w), what), db_error(d->conn, r, q, sizeof(q)));
	return state != NULL && strcmp(state, "23505") == 0 ? DB_DUPLICATE :
	    DB_ERROR;
}

PGresult *
db_conn_exec(struct db_conn *d, const char *name, int n,
    const char *const *vals, enum db_result *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;
		ExecStatusType st;

		if (d->in_tx && d->conn == NULL)
			break;
		if (!d->in_tx && db_conn_open(d) != DB_OK) {
			*err = DB_DOWN;
			return NULL;
		}
		r = PQexecPrepared(d->conn, name, n, vals, NULL, NULL, 0);
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			*err = DB_OK;
			return r;
		}
		if (db_lost(d->conn, r)) {
			bool tx = d->in_tx;

			PQclear(r);
			db_conn_close(d);
			/* Inside a transaction, a new connection has lost it:
			 * only a statement that stands alone is sent again, and
			 * the rest of the transaction fails until its end. */
			d->in_tx = tx;
			if (tx)
				break;
			continue;
		}
		*err = db_result_error(d, name, r);
		PQclear(r);
		return NULL;
	}
	*err = DB_DOWN;
	return NULL;
}

enum db_result
db_conn_run(struct db_conn *d, const char *sql)
{
	PGresult *r;
	enum db_result e = DB_OK;

	if (!d->in_tx && db_conn_open(d) != DB_OK)
		return DB_DOWN;
	if (d->conn == NULL) {   /* lost inside the transaction */
		if (strcmp(sql, "BEGIN") != 0)
			d->in_tx = false;
		return DB_DOWN;
	}
	r = PQexec(d->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		e = db_lost(d->conn, r) ? DB_DOWN : db_result_error(d, sql, r);
	PQclear(r);
	if (e == DB_DOWN)   /* opened again by the next statement */
		db_conn_close(d);
	if (strcmp(sql, "BEGIN") == 0)
		d->in_tx = e == DB_OK;
	else if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0)
		d->in_tx = false;
	return e;
}

void
db_csv(const PGresult *r, struct buf *out)
{
	for (int col = 0; col < PQnfields(r); col++)
		csv_cell(out, PQfname(r, col), col == 0);
	csv_end(out);
	for (int i = 0; i < PQntuples(r); i++) {
		for (int col = 0; col < PQnfields(r); col++) {
			const char *v = PQgetisnull(r, i, col) ? NULL :
			    PQgetvalue(r, i, col);

			if (v != NULL && PQftype(r, col) == DB_OID_BOOL)
				v = strcmp(v, "t") == 0 ? "true" : "false";
			csv_cell(out, v, col == 0);
		}
		csv_end(out);
	}
}
