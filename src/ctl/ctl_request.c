/* ctl_request: `request list|show|resend|unspam`: the stored requests.
 * Exports (show, list --json and --csv) and changes are audited. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common/reference.h"
#include "common/text.h"

/* The delivery of a request is that of its latest message; a message
 * being sent is still pending; spam is never mailed. */
#define REQUEST_DELIVERY \
    " CASE WHEN r.status = 'spam' THEN NULL ELSE" \
    "  (SELECT CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END" \
    "   FROM outbox o WHERE o.request_id = r.id ORDER BY o.id DESC LIMIT 1)" \
    " END AS delivery"

/* Every stored field, named as the form names it, for JSON and CSV, and
 * the front desk's triage (new, contacted, scheduled, closed). */
#define REQUEST_FIELDS \
    "SELECT r.reference, to_json(r.created_at) #>> '{}' AS created_at," \
    " r.status," REQUEST_DELIVERY ", r.triage, l.slug AS location," \
    " r.first_name," \
    " r.last_name, r.email, r.phone, r.service, r.preferred_time," \
    " r.message, r.consent, r.submission_id"

/* What a person scans in a terminal. */
#define REQUEST_SUMMARY \
    "SELECT r.reference, to_char(r.created_at, 'YYYY-MM-DD HH24:MI')" \
    " AS created, l.slug AS location, r.status," REQUEST_DELIVERY "," \
    " r.first_name || ' ' || r.last_name AS name," \
    " coalesce(r.email, r.phone) AS contact"

#define REQUEST_FROM \
    " FROM appointment_requests r JOIN locations l ON l.id = r.location_id"

/* $1 slug, $2 date, $3 status: each NULL for "any". */
#define REQUEST_FILTER \
    " WHERE ($1::text IS NULL OR l.slug = $1)" \
    " AND ($2::date IS NULL OR r.created_at >= $2::date)" \
    " AND ($3::text IS NULL OR r.status = $3)" \
    " ORDER BY r.created_at, r.id"

/* A reference as staff may type it (reference_parse). Returns 0, or -1
 * once reported. */
int
ctl_request_ref(const char *in, char out[REFERENCE_LEN + 1])
{
	if (reference_parse(in, out))
		return 0;
	ctl_err("\"%s\" is not a request reference (FD- and 8 letters or "
	    "digits)", in);
	return -1;
}

/* A reference answered during an outage for a post the database had
 * already leads to that post's request: ref becomes the request's own
 * reference (frontdesk_reference(), sql/009_keys.sql, as the console
 * resolves it). 0, or -1 once reported. */
static int
ctl_request_resolve(struct ctl *c, char ref[REFERENCE_LEN + 1])
{
	const char *vals[] = { ref };
	PGresult *r = ctl_exec(c, "SELECT public.frontdesk_reference($1)", 1,
	    vals);

	if (r == NULL)
		return -1;
	if (reference_valid(PQgetvalue(r, 0, 0)))
		snprintf(ref, REFERENCE_LEN + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* The audit row of an export: of one request (ref) or of a list (ref
 * NULL, filters[3]: location, since, status). 0, or -1 once reported. */
static int
ctl_request_export(struct ctl *c, const char *ref, const char *format,
    const char *const *filters, int rows)
{
	struct buf detail = { 0 };
	int rc;

	audit_detail_str(&detail, "command", ref != NULL ? "request show" :
	    "request list");
	audit_detail_str(&detail, "format", format);
	if (filters != NULL) {
		audit_detail_str(&detail, "location", filters[0]);
		audit_detail_str(&detail, "since", filters[1]);
		audit_detail_str(&detail, "status", filters[2]);
		audit_detail_raw(&detail, "rows", "%d", rows);
	}
	rc = buf_str(&detail) == NULL ? -1 :
	    ctl_audit(c, "export", ref, buf_str(&detail));
	buf_free(&detail);
	return rc;
}

static int
ctl_request_list_args(struct ctl *c, int argc, char **argv,
    const char *vals[3], enum ctl_format *fmt)
{
	static const struct option opts[] = {
		{ "location", required_argument, NULL, 'l' },
		{ "since", required_argument, NULL, 's' },
		{ "status", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch == 'l')
			vals[0] = optarg;
		else if (ch == 's')
			vals[1] = optarg;
		else if (ch == 't')
			vals[2] = optarg;
		else if ((ch == 'j' || ch == 'C') && *fmt != CTL_TEXT)
			return ctl_usage(c, "give at most one of --json and "
			    "--csv");
		else if (ch == 'j' || ch == 'C')
			*fmt = ch == 'j' ? CTL_JSON : CTL_CSV;
		else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 0, 0) == -1)
		return CTL_USAGE;
	if (vals[1] != NULL && !text_date(vals[1]))
		return ctl_err("bad --since \"%s\": a date as YYYY-MM-DD",
		    vals[1]);
	if (vals[2] != NULL && strcmp(vals[2], "received") != 0 &&
	    strcmp(vals[2], "spam") != 0)
		return ctl_err("bad --status \"%s\": received or spam",
		    vals[2]);
	if (vals[0] != NULL && ctl_location_known(c, vals[0]) == -1)
		return CTL_ERR;
	return CTL_OK;
}

int
ctl_request_list(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "reference", "REFERENCE" }, { "created", "CREATED" },
		{ "location", "LOCATION" }, { "status", "STATUS" },
		{ "delivery", "MAIL" }, { "name", "NAME" },
		{ "contact", "CONTACT" },
	};
	const char *vals[3] = { NULL, NULL, NULL };
	enum ctl_format fmt = CTL_TEXT;
	PGresult *r;
	int rc;

	if ((rc = ctl_request_list_args(c, argc, argv, vals, &fmt)) != CTL_OK)
		return rc;
	r = ctl_exec(c, fmt == CTL_TEXT ?
	    REQUEST_SUMMARY REQUEST_FROM REQUEST_FILTER :
	    REQUEST_FIELDS REQUEST_FROM REQUEST_FILTER, 3, vals);
	if (r == NULL)
		return CTL_ERR;
	/* --json and --csv are exports (Audit): recorded before a byte is
	 * printed, or nothing is. The detail is the filters, never a
	 * patient's data. */
	if (fmt != CTL_TEXT && ctl_request_export(c, NULL,
	    fmt == CTL_JSON ? "json" : "csv", vals, PQntuples(r)) == -1) {
		PQclear(r);
		return CTL_ERR;
	}
	if (fmt == CTL_JSON)
		rc = ctl_out_json(r, false);
	else if (fmt == CTL_CSV)
		rc = ctl_out_csv(r);
	else if (PQntuples(r) == 0)
		printf("no requests\n");
	else
		ctl_out_table(r, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}

/* The message last, indented, since it may run over many lines. Every
 * value escaped (ctl_out_escape): a stored CR LF, say from a request
 * written before the spool judged its entries, cannot forge a line. */
static void
ctl_request_print(const PGresult *r)
{
	struct buf b = { 0 };

	for (int col = 0; col < PQnfields(r); col++) {
		const char *name = PQfname(r, col);
		const char *v = PQgetisnull(r, 0, col) ? "-" :
		    PQgetvalue(r, 0, col);

		if (strcmp(name, "message") == 0)
			continue;
		if (strcmp(name, "consent") == 0)
			v = strcmp(v, "t") == 0 ? "yes" : "no";
		buf_reset(&b);
		ctl_out_escape(&b, v, false);
		printf("%-15s %s\n", name, buf_str(&b) ? buf_str(&b) : "");
	}
	if (ctl_value(r, 0, "message") != NULL) {
		buf_reset(&b);
		ctl_out_escape(&b, ctl_value(r, 0, "message"), true);
		printf("message:\n    ");
		for (const char *m = buf_str(&b) ? buf_str(&b) : ""; *m; m++) {
			putchar(*m);
			if (*m == '\n')
				fputs("    ", stdout);
		}
		putchar('\n');
	}
	buf_free(&b);
}

static int
ctl_request_print_mail(struct ctl *c, const char *ref)
{
	static const struct ctl_column cols[] = {
		{ "id", "OUTBOX" }, { "status", "STATUS" },
		{ "attempts", "ATTEMPTS" }, { "created", "QUEUED" },
		{ "sent", "SENT" }, { "last_error", "LAST ERROR" },
	};
	const char *vals[] = { ref };
	PGresult *r = ctl_exec(c, "SELECT o.id,"
	    " CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END"
	    "  AS status, o.attempts,"
	    " to_char(o.created_at, 'YYYY-MM-DD HH24:MI') AS created,"
	    " to_char(o.sent_at, 'YYYY-MM-DD HH24:MI') AS sent, o.last_error"
	    " FROM outbox o JOIN appointment_requests r ON r.id = o.request_id"
	    " WHERE r.reference = $1 ORDER BY o.id", 1, vals);

	if (r == NULL)
		return CTL_ERR;
	printf("mail:\n");
	if (PQntuples(r) == 0)
		printf("    none\n");
	else
		ctl_out_table(r, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return CTL_OK;
}

int
ctl_request_show(struct ctl *c, int argc, char **argv)
{
	char ref[REFERENCE_LEN + 1];
	const char *vals[] = { ref };
	bool json = false;
	PGresult *r;
	int rc = CTL_OK;

	if (ctl_json_args(c, argc, argv, 1, 1, &json) == -1)
		return CTL_USAGE;
	if (ctl_request_ref(argv[optind], ref) == -1 ||
	    ctl_request_resolve(c, ref) == -1)
		return CTL_ERR;
	r = ctl_exec(c, REQUEST_FIELDS REQUEST_FROM " WHERE r.reference = $1",
	    1, vals);
	if (r == NULL)
		return CTL_ERR;
	if (PQntuples(r) == 0)
		rc = ctl_err("unknown request %s", ref);
	else if (ctl_request_export(c, ref, json ? "json" : "text", NULL,
	    1) == -1)
		rc = CTL_ERR;
	else if (json)
		rc = ctl_out_json(r, true);
	else {
		ctl_request_print(r);
		rc = ctl_request_print_mail(c, ref);
	}
	PQclear(r);
	return rc;
}

/* A new message for a request, under the outbox lock so that a purge
 * running at the same time cannot take the request away meanwhile. */
static const char resend_sql[] =
    "WITH req AS (SELECT id, status FROM appointment_requests"
    "  WHERE reference = $1),"
    " ins AS (INSERT INTO outbox (request_id, message_id)"
    "  SELECT id, '<' || $1 || '.' || gen_random_uuid() || '@' || $2 || '>'"
    "  FROM req WHERE status = 'received' RETURNING id)"
    " SELECT (SELECT status FROM req), (SELECT id FROM ins)";

/* The same, once the request is marked received. */
static const char unspam_sql[] =
    "WITH req AS (SELECT id, status FROM appointment_requests"
    "  WHERE reference = $1),"
    " upd AS (UPDATE appointment_requests SET status = 'received'"
    "  WHERE reference = $1 AND status = 'spam' RETURNING id),"
    " ins AS (INSERT INTO outbox (request_id, message_id)"
    "  SELECT id, '<' || $1 || '.' || gen_random_uuid() || '@' || $2 || '>'"
    "  FROM upd RETURNING id)"
    " SELECT (SELECT status FROM req), (SELECT id FROM ins)";

/* The row of a resend or an unspam, in its transaction. */
static int
ctl_request_queued_audit(struct ctl *c, bool unspam, const char *ref,
    const char *outbox_id)
{
	struct buf detail = { 0 };
	int rc;

	if (unspam)
		audit_detail_change(&detail, "status", "spam", "received");
	audit_detail_raw(&detail, "outbox", "%s", outbox_id);
	rc = buf_str(&detail) == NULL ? -1 : ctl_audit(c,
	    unspam ? "unspam" : "resend", ref, buf_str(&detail));
	buf_free(&detail);
	return rc;
}

static int
ctl_request_queue(struct ctl *c, int argc, char **argv, bool unspam)
{
	char ref[REFERENCE_LEN + 1];
	const char *vals[] = { ref, NULL };
	PGresult *r;
	int rc = CTL_ERR;

	if (ctl_getopt(c, argc, argv, NULL) != -1)
		return CTL_USAGE;
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	if (ctl_request_ref(argv[optind], ref) == -1)
		return CTL_ERR;
	/* Only now: loading the configuration exits on an error, which must
	 * not hide a usage error or keep --help from working. */
	vals[1] = ctl_config(c)->msgid_domain;
	if (ctl_request_resolve(c, ref) == -1)
		return CTL_ERR;
	if (ctl_begin(c, CTL_LOCK_OUTBOX) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, unspam ? unspam_sql : resend_sql, 2,
	    vals)) == NULL)
		goto out;
	if (PQgetisnull(r, 0, 0))
		ctl_err("unknown request %s", ref);
	else if (!unspam && PQgetisnull(r, 0, 1))
		ctl_err("request %s is spam: use `%s request unspam %s` to "
		    "mark it received and mail it", ref, CTL_PROG, ref);
	else if (unspam && PQgetisnull(r, 0, 1))
		ctl_err("request %s is not marked as spam: use `%s request "
		    "resend %s` to mail it again", ref, CTL_PROG, ref);
	else if (ctl_request_queued_audit(c, unspam, ref,
	    PQgetvalue(r, 0, 1)) == 0 && ctl_commit(c) == 0) {
		printf("%s%s: queued as outbox %s, to the location's current "
		    "routes\n", ref, unspam ? " marked received" : "",
		    PQgetvalue(r, 0, 1));
		rc = CTL_OK;
	}
	PQclear(r);
out:
	if (rc != CTL_OK)
		ctl_rollback(c);
	return rc;
}

int
ctl_request_resend(struct ctl *c, int argc, char **argv)
{
	return ctl_request_queue(c, argc, argv, false);
}

int
ctl_request_unspam(struct ctl *c, int argc, char **argv)
{
	return ctl_request_queue(c, argc, argv, true);
}
