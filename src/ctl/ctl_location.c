/* ctl_location: `location add|list|enable|disable`; each change with its
 * audit row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common/text.h"

#define LOCATION_NAME_MAX 200

/* Shared by every command that takes a slug. */
int
ctl_location_check_slug(const char *slug)
{
	if (text_slug(slug, strlen(slug)))
		return 0;
	ctl_err("\"%s\" is not a valid location slug (1-64 of a-z, 0-9 and "
	    "'-', starting with a letter or digit)", slug);
	return -1;
}

/* A valid slug of an existing location (active or not): 0, or -1 once
 * the problem has been reported. */
int
ctl_location_known(struct ctl *c, const char *slug)
{
	const char *vals[] = { slug };
	PGresult *r;
	int found;

	if (ctl_location_check_slug(slug) == -1)
		return -1;
	if ((r = ctl_exec(c, "SELECT 1 FROM locations WHERE slug = $1", 1,
	    vals)) == NULL)
		return -1;
	found = PQntuples(r);
	PQclear(r);
	if (found)
		return 0;
	ctl_err("unknown location %s", slug);
	return -1;
}

int
ctl_location_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "thank-you", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vals[3] = { NULL, NULL, NULL };
	struct buf detail = { 0 };
	char name[LOCATION_NAME_MAX * 4 + 1];
	PGresult *r;
	int ch, added;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch == 'n')
			vals[1] = optarg;
		else if (ch == 't')
			vals[2] = optarg;
		else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	if (vals[1] == NULL)
		return ctl_usage(c, "--name is required");
	vals[0] = argv[optind];
	if (ctl_location_check_slug(vals[0]) == -1)
		return CTL_ERR;
	if (!text_name(vals[1], name, sizeof(name), LOCATION_NAME_MAX))
		return ctl_err("bad --name: 1-%d characters of UTF-8 text on "
		    "one line once trimmed, no control or bidirectional "
		    "characters", LOCATION_NAME_MAX);
	vals[1] = name;
	if (vals[2] != NULL && !text_redirect_url(vals[2]))
		return ctl_err("bad --thank-you: a path starting with / or an "
		    "http(s):// URL, at most %d bytes, no spaces",
		    TEXT_URL_MAX);
	/* The location and its audit row commit together. */
	if (ctl_begin(c, NULL) == -1)
		return CTL_ERR;
	r = ctl_exec(c, "INSERT INTO locations (slug, name, thank_you_url)"
	    " VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING RETURNING id",
	    3, vals);
	if (r == NULL)
		goto fail;
	added = PQntuples(r);
	PQclear(r);
	if (!added) {
		ctl_err("location %s already exists", vals[0]);
		goto fail;
	}
	audit_detail_str(&detail, "name", vals[1]);
	audit_detail_str(&detail, "thank_you_url", vals[2]);
	if (buf_str(&detail) == NULL ||
	    ctl_audit(c, "location_add", vals[0], buf_str(&detail)) == -1 ||
	    ctl_commit(c) == -1)
		goto fail;
	buf_free(&detail);
	printf("added location %s (%s)\n", vals[0], vals[1]);
	return CTL_OK;
fail:
	ctl_rollback(c);
	buf_free(&detail);
	return CTL_ERR;
}

int
ctl_location_list(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "slug", "SLUG" }, { "name", "NAME" }, { "active", "ACTIVE" },
		{ "routes", "ROUTES" }, { "thank_you_url", "THANK-YOU URL" },
	};
	bool json = false;
	PGresult *r;
	int rc = CTL_OK;

	if (ctl_json_args(c, argc, argv, 0, 0, &json) == -1)
		return CTL_USAGE;
	r = ctl_exec(c, "SELECT l.slug, l.name, l.thank_you_url, l.active,"
	    " (SELECT count(*) FROM routes rt WHERE rt.location_id = l.id)"
	    "  AS routes,"
	    " to_json(l.created_at) #>> '{}' AS created_at"
	    " FROM locations l ORDER BY l.id", 0, NULL);
	if (r == NULL)
		return CTL_ERR;
	rc = ctl_location_print(r, json, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}

/* A list of locations (alone, or with their routes) as JSON or a table. */
int
ctl_location_print(const PGresult *r, bool json,
    const struct ctl_column *cols, size_t ncols)
{
	if (json)
		return ctl_out_json(r, false);
	if (PQntuples(r) == 0)
		printf("no locations yet: add one with `%s location add`\n",
		    CTL_PROG);
	else
		ctl_out_table(r, cols, ncols);
	return CTL_OK;
}

/* Under a lock, so that two admins disabling the last two locations at
 * once cannot leave the form with none. */
static int
ctl_location_set_active(struct ctl *c, int argc, char **argv, bool active)
{
	const char *vals[] = { NULL, active ? "t" : "f" };
	PGresult *r;
	bool was;
	long others;

	if (ctl_getopt(c, argc, argv, NULL) != -1)
		return CTL_USAGE;
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	vals[0] = argv[optind];
	if (ctl_location_check_slug(vals[0]) == -1)
		return CTL_ERR;
	if (ctl_begin(c, CTL_LOCK_LOCATIONS) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, "SELECT active, (SELECT count(*) FROM locations"
	    " WHERE active AND slug <> $1) FROM locations WHERE slug = $1",
	    1, vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		ctl_err("unknown location %s", vals[0]);
		goto fail;
	}
	was = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	others = strtol(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	if (!active && was && others == 0) {
		ctl_err("%s is the last active location: enable or add "
		    "another first", vals[0]);
		goto fail;
	}
	if (was != active && ctl_run(c, "UPDATE locations SET active = $2"
	    " WHERE slug = $1", 2, vals) == -1)
		goto fail;
	/* Only a change is audited: enabling an enabled location changed
	 * nothing. */
	if (was != active && ctl_audit(c, "location_change", vals[0],
	    active ? "active: false -> true" : "active: true -> false") == -1)
		goto fail;
	if (ctl_commit(c) == -1)
		return CTL_ERR;
	printf("location %s %s%s\n", vals[0], was == active ? "was already " :
	    "", active ? "enabled" : "disabled");
	return CTL_OK;
fail:
	ctl_rollback(c);
	return CTL_ERR;
}

int
ctl_location_enable(struct ctl *c, int argc, char **argv)
{
	return ctl_location_set_active(c, argc, argv, true);
}

int
ctl_location_disable(struct ctl *c, int argc, char **argv)
{
	return ctl_location_set_active(c, argc, argv, false);
}
