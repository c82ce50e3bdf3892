/* ctl_route: `route add|remove|list`: who gets each location's mail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common/text.h"

static int
ctl_route_check_email(const char *email)
{
	if (text_email_patient(email, strlen(email)))
		return 0;
	ctl_err("\"%s\" is not a plain email address (like "
	    "frontdesk@clinic.example)", email);
	return -1;
}

/* One statement tells an unknown location from an address it already
 * has: the last column reads the table as it was before the insert. */
/* SLUG EMAIL, each checked: CTL_OK, CTL_USAGE or CTL_ERR. */
static int
route_operands(struct ctl *c, int argc, char **argv, const char **vals)
{
	if (ctl_operands(c, argc, 2, 2) == -1)
		return CTL_USAGE;
	vals[0] = argv[optind];
	vals[1] = argv[optind + 1];
	if (ctl_location_check_slug(vals[0]) == -1 ||
	    ctl_route_check_email(vals[1]) == -1)
		return CTL_ERR;
	return CTL_OK;
}

/* The change's audit row, then COMMIT: CTL_OK, or CTL_ERR once reported
 * (the caller rolls back). Routes are the clinic's own addresses, never a
 * patient's. */
static int
route_audit(struct ctl *c, const char *action, const char *slug,
    const char *email, const char *kind)
{
	struct buf detail = { 0 };
	int rc = CTL_ERR;

	audit_detail_str(&detail, "email", email);
	audit_detail_str(&detail, "kind", kind);
	if (buf_str(&detail) != NULL &&
	    ctl_audit(c, action, slug, buf_str(&detail)) == 0 &&
	    ctl_commit(c) == 0)
		rc = CTL_OK;
	buf_free(&detail);
	return rc;
}

static const char route_add_sql[] =
    "WITH loc AS (SELECT id FROM locations WHERE slug = $1),"
    " ins AS (INSERT INTO routes (location_id, email, kind)"
    "  SELECT id, $2, $3 FROM loc"
    "  ON CONFLICT (location_id, lower(email)) DO NOTHING RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM loc), (SELECT count(*) FROM ins),"
    "  (SELECT rt.email || ' as ' || rt.kind FROM routes rt"
    "   WHERE rt.location_id = (SELECT id FROM loc)"
    "   AND lower(rt.email) = lower($2))";

int
ctl_route_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cc", no_argument, NULL, 'c' },
		{ "bcc", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vals[3] = { NULL, NULL, "to" };
	PGresult *r;
	int ch, rc = CTL_OK;
	bool kind_given = false;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch != 'c' && ch != 'b')
			return CTL_USAGE;
		if (kind_given)
			return ctl_usage(c, "give at most one of --cc and "
			    "--bcc");
		kind_given = true;
		vals[2] = ch == 'c' ? "cc" : "bcc";
	}
	if ((rc = route_operands(c, argc, argv, vals)) != CTL_OK)
		return rc;
	if (ctl_begin(c, NULL) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, route_add_sql, 3, vals)) == NULL) {
		ctl_rollback(c);
		return CTL_ERR;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		rc = ctl_err("unknown location %s", vals[0]);
	else if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
		rc = ctl_err("location %s already routes to %s", vals[0],
		    PQgetvalue(r, 0, 2));
	else
		rc = route_audit(c, "route_add", vals[0], vals[1], vals[2]);
	if (rc == CTL_OK)
		printf("location %s now mails %s as %s\n", vals[0], vals[1],
		    vals[2]);
	else
		ctl_rollback(c);
	PQclear(r);
	return rc;
}

static const char route_remove_sql[] =
    "WITH loc AS (SELECT id FROM locations WHERE slug = $1),"
    " del AS (DELETE FROM routes"
    "  WHERE location_id = (SELECT id FROM loc) AND lower(email) = lower($2)"
    "  RETURNING email, kind)"
    " SELECT EXISTS (SELECT 1 FROM loc), (SELECT count(*) FROM del),"
    "  (SELECT count(*) FROM routes WHERE location_id = (SELECT id FROM loc))"
    "  - (SELECT count(*) FROM del), (SELECT email FROM del),"
    "  (SELECT kind FROM del)";

int
ctl_route_remove(struct ctl *c, int argc, char **argv)
{
	const char *vals[2];
	PGresult *r;
	int rc = CTL_OK;

	if (ctl_getopt(c, argc, argv, NULL) != -1)
		return CTL_USAGE;
	if ((rc = route_operands(c, argc, argv, vals)) != CTL_OK)
		return rc;
	if (ctl_begin(c, NULL) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, route_remove_sql, 2, vals)) == NULL) {
		ctl_rollback(c);
		return CTL_ERR;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		rc = ctl_err("unknown location %s", vals[0]);
	else if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
		rc = ctl_err("location %s has no route to %s", vals[0],
		    vals[1]);
	else
		rc = route_audit(c, "route_remove", vals[0],
		    PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
	if (rc != CTL_OK)
		ctl_rollback(c);
	else if (strcmp(PQgetvalue(r, 0, 2), "0") == 0)
		printf("location %s no longer mails %s; it has no routes left,"
		    " so its mail goes to [mail] default_to\n", vals[0],
		    PQgetvalue(r, 0, 3));
	else
		printf("location %s no longer mails %s\n", vals[0],
		    PQgetvalue(r, 0, 3));
	PQclear(r);
	return rc;
}

/* To, then Cc, then Bcc, each in the order added. */
#define ROUTE_ORDER \
    " ORDER BY l.id, array_position(ARRAY['to', 'cc', 'bcc'], rt.kind), rt.id"

static const char route_list_json_sql[] =
    "SELECT l.slug AS location, rt.email, rt.kind,"
    " to_json(rt.created_at) #>> '{}' AS created_at"
    " FROM routes rt JOIN locations l ON l.id = rt.location_id"
    " WHERE $1::text IS NULL OR l.slug = $1" ROUTE_ORDER;

/* Text shows the locations without routes too, and where their mail
 * goes instead. */
static const char route_list_text_sql[] =
    "SELECT l.slug AS location,"
    " coalesce(rt.email, '(none: [mail] default_to)') AS email,"
    " coalesce(rt.kind, '-') AS kind,"
    " CASE WHEN l.active THEN '' ELSE 'disabled' END AS note"
    " FROM locations l LEFT JOIN routes rt ON rt.location_id = l.id"
    " WHERE $1::text IS NULL OR l.slug = $1" ROUTE_ORDER;

int
ctl_route_list(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "location", "LOCATION" }, { "kind", "KIND" },
		{ "email", "EMAIL" }, { "note", "" },
	};
	const char *vals[1] = { NULL };
	bool json = false;
	PGresult *r;
	int rc = CTL_OK;

	if (ctl_json_args(c, argc, argv, 0, 1, &json) == -1)
		return CTL_USAGE;
	if (optind < argc) {
		vals[0] = argv[optind];
		if (ctl_location_known(c, vals[0]) == -1)
			return CTL_ERR;
	}
	if ((r = ctl_exec(c, json ? route_list_json_sql : route_list_text_sql,
	    1, vals)) == NULL)
		return CTL_ERR;
	rc = ctl_location_print(r, json, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}
