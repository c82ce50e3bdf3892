/* audit: one row of the append-only audit log, on the caller's connection
 * and so inside the caller's transaction: the change and its record
 * commit together or not at all. */
#include <stdarg.h>
#include <stdio.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "common/log.h"

/* Every value a parameter: an actor, an object or a detail holding
 * quotes or backslashes is stored as it is, never read as SQL. */
static const char audit_sql[] =
    "INSERT INTO audit_log (actor, address, action, object, detail)"
    " VALUES ($1, $2, $3, $4, $5)";

int
audit_insert(PGconn *conn, const char *actor, const char *address,
    const char *action, const char *object, const char *detail,
    char *err, size_t errsize)
{
	const char *vals[5] = { actor, address, action, object, detail };
	PGresult *r;
	int rc = 0;

	if (errsize > 0)
		err[0] = '\0';
	if (conn == NULL || actor == NULL || action == NULL) {
		snprintf(err, errsize, "no connection, actor or action");
		return -1;
	}
	r = PQexecParams(conn, audit_sql, 5, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = r != NULL ?
		    PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		const char *primary = r != NULL ?
		    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		/* Never the DETAIL: it may quote the row, and the row may
		 * name an account. */
		if (primary != NULL)
			snprintf(err, errsize, "%s %s", state ? state : "?????",
			    primary);
		else
			snprintf(err, errsize, "%s", PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
audit_write(PGconn *conn, const char *actor, const char *address,
    const char *action, const char *object, const char *detail)
{
	char err[256], qa[80], qe[300];

	if (audit_insert(conn, actor, address, action, object, detail, err,
	    sizeof(err)) == 0)
		return 0;
	log_error("audit_write_failed", "action=%s error=%s",
	    log_value(qa, sizeof(qa), action), log_quote(qe, sizeof(qe), err));
	return -1;
}

/* A JSON string (or null): a value in a detail is never ambiguous, what
 * ever quotes, semicolons or arrows it holds. */
void
audit_detail_json(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)ch);
		} else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\u%04x", ch);
		else
			buf_addc(b, (char)ch);
	}
	buf_addc(b, '"');
}

static void
audit_detail_key(struct buf *b, const char *key)
{
	if (b->len > 0)
		buf_adds(b, "; ");
	buf_adds(b, key);
	buf_adds(b, ": ");
}

void
audit_detail_str(struct buf *b, const char *key, const char *v)
{
	audit_detail_key(b, key);
	audit_detail_json(b, v);
}

void
audit_detail_change(struct buf *b, const char *key, const char *old,
    const char *new)
{
	audit_detail_key(b, key);
	audit_detail_json(b, old);
	buf_adds(b, " -> ");
	audit_detail_json(b, new);
}

void
audit_detail_raw(struct buf *b, const char *key, const char *fmt, ...)
{
	char v[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	audit_detail_key(b, key);
	buf_adds(b, v);
}

