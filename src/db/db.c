/* db: what the programs' libpq modules share. */
#include <stdio.h>
#include <string.h>

#include "db.h"
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
