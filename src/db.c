/* db: what the programs' libpq modules share. */
#include "db.h"
#include "log.h"

int
db_prepare(PGconn *conn, const struct db_statement *st, size_t n)
{
	char q[256];

	for (size_t i = 0; i < n; i++) {
		PGresult *r = PQprepare(conn, st[i].name, st[i].sql,
		    st[i].nparams, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

		if (!ok)
			log_error("db_prepare_failed", "statement=%s error=%s",
			    st[i].name, log_quote(q, sizeof(q),
			    PQresultErrorMessage(r)));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}
