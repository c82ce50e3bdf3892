/* ctl_audit: the rows frontdeskctl adds to the audit log for its own
 * changes and exports, their details, and `audit list`. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "common/text.h"
#include "account/audit.h"

/* "frontdeskctl:OSUSER": the account of the person at the terminal,
 * which is what a reader of the log needs to know; the database role is
 * the same frontdesk_admin member for everyone. */
const char *
ctl_actor(void)
{
	static char actor[128];
	struct passwd *pw;

	if (actor[0] != '\0')
		return actor;
	pw = getpwuid(geteuid());
	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		snprintf(actor, sizeof(actor), "%s:%s", CTL_PROG, pw->pw_name);
	else
		snprintf(actor, sizeof(actor), "%s:uid%lu", CTL_PROG,
		    (unsigned long)geteuid());
	return actor;
}

int
ctl_audit(struct ctl *c, const char *action, const char *object,
    const char *detail)
{
	char err[300];

	if (audit_insert(ctl_conn(c), ctl_actor(), NULL, action, object, detail,
	    err, sizeof(err)) == 0)
		return 0;
	ctl_err("cannot write the audit log, nothing was done: %s", err);
	return -1;
}

/* $1 actor, $2 reference, $3 date: each NULL for "any". */
static const char audit_list_sql[] =
    "SELECT to_json(a.at) #>> '{}' AS at, a.actor AS \"user\", a.address,"
    " a.action, a.object, a.detail FROM audit_log a"
    " WHERE ($1::text IS NULL OR a.actor = $1)"
    " AND ($2::text IS NULL OR a.object = $2)"
    " AND ($3::date IS NULL OR a.at >= $3::date)"
    " ORDER BY a.at, a.id";

static const char audit_text_sql[] =
    "SELECT to_char(a.at, 'YYYY-MM-DD HH24:MI:SS') AS at, a.actor AS \"user\","
    " a.address, a.action, a.object, a.detail FROM audit_log a"
    " WHERE ($1::text IS NULL OR a.actor = $1)"
    " AND ($2::text IS NULL OR a.object = $2)"
    " AND ($3::date IS NULL OR a.at >= $3::date)"
    " ORDER BY a.at, a.id";

int
ctl_audit_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "reference", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct ctl_column cols[] = {
		{ "at", "AT" }, { "user", "USER" }, { "address", "ADDRESS" },
		{ "action", "ACTION" }, { "object", "OBJECT" },
		{ "detail", "DETAIL" },
	};
	char ref[REFERENCE_LEN + 1];
	const char *vals[3] = { NULL, NULL, NULL };
	const char *refarg = NULL;
	bool json = false;
	PGresult *r;
	int ch, rc = CTL_OK;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch == 'u')
			vals[0] = optarg;
		else if (ch == 'r')
			refarg = optarg;
		else if (ch == 's')
			vals[2] = optarg;
		else if (ch == 'j')
			json = true;
		else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 0, 0) == -1)
		return CTL_USAGE;
	/* Not an account name check: the log's users include
	 * frontdeskctl:OSUSER and (unknown). */
	if (vals[0] != NULL && (vals[0][0] == '\0' ||
	    strlen(vals[0]) > 200))
		return ctl_err("bad --user: a user as audit list shows it");
	if (refarg != NULL) {
		if (ctl_request_ref(refarg, ref) == -1)
			return CTL_ERR;
		vals[1] = ref;
	}
	if (vals[2] != NULL && !text_date(vals[2]))
		return ctl_err("bad --since \"%s\": a date as YYYY-MM-DD",
		    vals[2]);
	if ((r = ctl_exec(c, json ? audit_list_sql : audit_text_sql, 3,
	    vals)) == NULL)
		return CTL_ERR;
	if (json)
		rc = ctl_out_json(r, false);
	else if (PQntuples(r) == 0)
		printf("no audit rows\n");
	else
		ctl_out_table(r, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}
