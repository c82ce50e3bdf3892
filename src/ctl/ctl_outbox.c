/* ctl_outbox: `outbox list|retry`: the mail queue and its dead letters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* A message a mailer is sending right now is, to an admin, pending. */
#define OUTBOX_STATUS \
    "CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END"

static const char outbox_json_sql[] =
    "SELECT o.id, r.reference, l.slug AS location, " OUTBOX_STATUS
    "  AS status, o.attempts, o.message_id,"
    " to_json(o.created_at) #>> '{}' AS created_at,"
    " to_json(o.next_attempt_at) #>> '{}' AS next_attempt_at,"
    " to_json(o.sent_at) #>> '{}' AS sent_at, o.last_error"
    " FROM outbox o JOIN appointment_requests r ON r.id = o.request_id"
    " JOIN locations l ON l.id = r.location_id"
    " WHERE $1::text IS NULL OR " OUTBOX_STATUS " = $1 ORDER BY o.id";

static const char outbox_text_sql[] =
    "SELECT o.id, r.reference, l.slug AS location, " OUTBOX_STATUS
    "  AS status, o.attempts,"
    " to_char(o.created_at, 'YYYY-MM-DD HH24:MI') AS queued,"
    " to_char(CASE WHEN o.status IN ('pending', 'sending')"
    "  THEN o.next_attempt_at ELSE o.sent_at END, 'YYYY-MM-DD HH24:MI')"
    "  AS next_or_sent, o.last_error"
    " FROM outbox o JOIN appointment_requests r ON r.id = o.request_id"
    " JOIN locations l ON l.id = r.location_id"
    " WHERE $1::text IS NULL OR " OUTBOX_STATUS " = $1 ORDER BY o.id";

int
ctl_outbox_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct ctl_column cols[] = {
		{ "id", "ID" }, { "reference", "REFERENCE" },
		{ "location", "LOCATION" }, { "status", "STATUS" },
		{ "attempts", "ATTEMPTS" }, { "queued", "QUEUED" },
		{ "next_or_sent", "NEXT TRY/SENT" },
		{ "last_error", "LAST ERROR" },
	};
	const char *vals[1] = { NULL };
	bool json = false;
	PGresult *r;
	int ch, rc = CTL_OK;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch == 's')
			vals[0] = optarg;
		else if (ch == 'j')
			json = true;
		else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 0, 0) == -1)
		return CTL_USAGE;
	if (vals[0] != NULL && strcmp(vals[0], "pending") != 0 &&
	    strcmp(vals[0], "sent") != 0 && strcmp(vals[0], "dead") != 0)
		return ctl_err("bad --status \"%s\": pending, sent or dead",
		    vals[0]);
	if ((r = ctl_exec(c, json ? outbox_json_sql : outbox_text_sql, 1,
	    vals)) == NULL)
		return CTL_ERR;
	if (json)
		rc = ctl_out_json(r, false);
	else if (PQntuples(r) == 0)
		printf("no messages\n");
	else
		ctl_out_table(r, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}

/* Back to pending and due now, as if queued anew: attempts restarts at 0
 * so that the mailer's backoff starts again from retry_min, and
 * created_at (the mailer's give_up_after clock) from now, or a message
 * that died of age would die again at its first transient failure.
 * outbox_attempts keeps the history, last_error why it died; the
 * Message-ID stays. $1 NULL: every dead message. */
static const char retry_sql[] =
    "WITH target AS (SELECT id, status FROM outbox"
    "  WHERE $1::bigint IS NULL OR id = $1),"
    " upd AS (UPDATE outbox SET status = 'pending', attempts = 0,"
    "  next_attempt_at = now(), created_at = now(), lease_until = NULL,"
    "  claimed_by = NULL"
    "  WHERE id IN (SELECT id FROM target WHERE status = 'dead')"
    "  RETURNING id)"
    " SELECT (SELECT count(*) FROM upd),"
    "  (SELECT " OUTBOX_STATUS " FROM target o LIMIT 1),"
    "  (SELECT string_agg(id::text, ',' ORDER BY id) FROM upd)";

/* One audit row per message put back, in the retry's transaction: the
 * object is an outbox id. ids: "1,2,3" or NULL. 0 or -1. */
static int
ctl_outbox_retry_audit(struct ctl *c, const char *ids, bool all)
{
	char id[24];

	while (ids != NULL && *ids != '\0') {
		size_t n = strcspn(ids, ",");

		if (n == 0 || n >= sizeof(id)) {
			ctl_err("outbox ids: %s", ids);
			return -1;
		}
		memcpy(id, ids, n);
		id[n] = '\0';
		if (ctl_audit(c, "outbox_retry", id, all ?
		    "status: \"dead\" -> \"pending\"; all_dead: true" :
		    "status: \"dead\" -> \"pending\"") == -1)
			return -1;
		ids += n;
		if (*ids == ',')
			ids++;
	}
	return 0;
}

static int
ctl_outbox_retry_args(struct ctl *c, int argc, char **argv, const char **id,
    bool *all)
{
	static const struct option opts[] = {
		{ "all-dead", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch != 'a')
			return CTL_USAGE;
		*all = true;
	}
	if (ctl_operands(c, argc, *all ? 0 : 1, *all ? 0 : 1) == -1)
		return CTL_USAGE;
	if (*all)
		return CTL_OK;
	*id = argv[optind];
	if (!ctl_parse_id(*id, &v))
		return ctl_err("bad outbox ID \"%s\": a positive number, as "
		    "outbox list shows", *id);
	return CTL_OK;
}

int
ctl_outbox_retry(struct ctl *c, int argc, char **argv)
{
	const char *vals[1] = { NULL };
	bool all = false;
	PGresult *r;
	int rc;

	if ((rc = ctl_outbox_retry_args(c, argc, argv, &vals[0], &all)) !=
	    CTL_OK)
		return rc;
	if (ctl_begin(c, CTL_LOCK_OUTBOX) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, retry_sql, 1, vals)) == NULL) {
		ctl_rollback(c);
		return CTL_ERR;
	}
	rc = CTL_ERR;
	if (!all && PQgetisnull(r, 0, 1))
		ctl_err("unknown outbox message %s", vals[0]);
	else if (!all && strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		ctl_err("outbox message %s is %s, not dead: only dead mail "
		    "is retried", vals[0], PQgetvalue(r, 0, 1));
	else if (ctl_outbox_retry_audit(c, PQgetisnull(r, 0, 2) ? NULL :
	    PQgetvalue(r, 0, 2), all) == 0 && ctl_commit(c) == 0) {
		if (all)
			printf("%s dead messages back to pending\n",
			    PQgetvalue(r, 0, 0));
		else
			printf("outbox message %s back to pending\n", vals[0]);
		rc = CTL_OK;
	}
	PQclear(r);
	if (rc != CTL_OK)
		ctl_rollback(c);
	return rc;
}
