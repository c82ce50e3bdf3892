/* ctl_purge: `purge --older-than DAYS`: retention of patients' requests. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define PURGE_DAYS_MAX 100000

/* Requests older than $1 days, but never one with mail a mailer may
 * still send, nor (unless $2) one whose mail never reached anyone: every
 * message of it dead, none sent. Such a request may be the only trace of
 * a patient nobody answered; it goes only when the admin says so. Their
 * outbox rows (and attempts) go with them by ON DELETE CASCADE. The
 * counts read the tables as they were before. */
static const char purge_sql[] =
    "WITH old AS (SELECT r.id, EXISTS (SELECT 1 FROM outbox o"
    "   WHERE o.request_id = r.id AND o.status IN ('pending', 'sending'))"
    "   AS busy,"
    "  EXISTS (SELECT 1 FROM outbox o"
    "   WHERE o.request_id = r.id AND o.status = 'dead') AND"
    "  NOT EXISTS (SELECT 1 FROM outbox o"
    "   WHERE o.request_id = r.id AND o.status = 'sent') AS undelivered"
    "  FROM appointment_requests r"
    "  WHERE r.created_at < now() - make_interval(days => $1::int)),"
    " del AS (DELETE FROM appointment_requests"
    "  WHERE id IN (SELECT id FROM old WHERE NOT busy"
    "   AND (NOT undelivered OR $2::boolean)) RETURNING id)"
    " SELECT (SELECT count(*) FROM del),"
    "  (SELECT count(*) FROM outbox WHERE request_id IN (SELECT id FROM del)),"
    "  (SELECT count(*) FROM old WHERE busy),"
    "  (SELECT count(*) FROM old WHERE undelivered AND NOT busy)";

/* Replays are only honoured for 24 hours; older keys are dead weight. */
static const char purge_keys_sql[] =
    "DELETE FROM idempotency_keys"
    " WHERE created_at < now() - interval '24 hours'";

/* An address whose posts all left the rate limit's window (the posts of
 * minute m count until minute m + 61, sql/011_post.sql) counts nothing
 * any more. */
static const char purge_rates_sql[] =
    "DELETE FROM rate_limits"
    " WHERE minute <= floor(extract(epoch FROM now()) / 60)::integer - 61";

static int
ctl_purge_args(struct ctl *c, int argc, char **argv, const char **days,
    bool *undelivered)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "include-undelivered", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch == 'u')
			*undelivered = true;
		else if (ch == 'o')
			*days = optarg;
		else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 0, 0) == -1)
		return CTL_USAGE;
	if (*days == NULL)
		return ctl_usage(c, "--older-than DAYS is required");
	if (!ctl_parse_id(*days, &v) || v > PURGE_DAYS_MAX)
		return ctl_err("bad --older-than \"%s\": a number of days, 1 "
		    "to %d", *days, PURGE_DAYS_MAX);
	return CTL_OK;
}

int
ctl_purge(struct ctl *c, int argc, char **argv)
{
	const char *vals[2] = { NULL, "false" };
	PGresult *r = NULL, *k = NULL, *a = NULL;
	bool undelivered = false;
	int rc;

	if ((rc = ctl_purge_args(c, argc, argv, &vals[0], &undelivered)) !=
	    CTL_OK)
		return rc;
	if (undelivered)
		vals[1] = "true";
	/* The outbox lock keeps a resend or retry from making a message
	 * pending for a request being deleted. */
	if (ctl_begin(c, CTL_LOCK_OUTBOX) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, purge_sql, 2, vals)) == NULL ||
	    (k = ctl_exec(c, purge_keys_sql, 0, NULL)) == NULL ||
	    (a = ctl_exec(c, purge_rates_sql, 0, NULL)) == NULL ||
	    ctl_commit(c) == -1) {
		ctl_rollback(c);
		rc = CTL_ERR;
	} else {
		const char *dead = PQgetvalue(r, 0, 3);

		printf("purged %s request(s) older than %s days, with %s "
		    "message(s); kept %s whose mail is still pending; dropped "
		    "%s idempotency key(s) older than 24 hours and %s "
		    "address(es) with no post in the last hour\n",
		    PQgetvalue(r, 0, 0), vals[0], PQgetvalue(r, 0, 1),
		    PQgetvalue(r, 0, 2), PQcmdTuples(k), PQcmdTuples(a));
		/* A second line only when there is something to say, so that
		 * the first stays what scripts have read so far. */
		if (strcmp(dead, "0") != 0 && !undelivered)
			printf("kept %s request(s) whose email was never "
			    "delivered (dead); --include-undelivered removes "
			    "them\n", dead);
		else if (strcmp(dead, "0") != 0)
			printf("purged with them %s request(s) whose email was "
			    "never delivered (dead), as --include-undelivered "
			    "asked\n", dead);
	}
	PQclear(r);
	PQclear(k);
	PQclear(a);
	return rc;
}
