/* admin: what admins change in the console: locations and their routes,
 * failed mail, accounts, and the audit log. The same rules as
 * frontdeskctl's, each change audited with its old and new values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "account/account.h"
#include "account/audit.h"
#include "common/route.h"
#include "common/text.h"
#include "console.h"
#include "db/db.h"

#define LOCATION_NAME_MAX 100
#define AUDIT_LIMIT_DEFAULT 50
#define AUDIT_LIMIT_MAX 200

static const char *
addr(struct console_worker *w)
{
	return w->address[0] ? w->address : NULL;
}

static const char *
second_factor_mode(const struct config *cfg)
{
	if (cfg->console_auth == CONFIG_AUTH_REMOTE_USER ||
	    cfg->console_second_factor == CONFIG_2FA_OFF)
		return "off";
	return cfg->console_second_factor == CONFIG_2FA_ALL ? "all" : "admins";
}

/* A location's name (trimmed into clean, 1-100 characters on one line)
 * and thank-you URL, each when given: false when answered (400). */
static bool
location_values_ok(struct fcgi_ctx *c, const char *name, char *clean,
    size_t size, const char *url)
{
	if (name != NULL && !text_name(name, clean, size, LOCATION_NAME_MAX)) {
		console_error(c, 400, "name: 1-100 characters on one line, "
		    "showing something, no control or bidirectional characters");
		return false;
	}
	if (url != NULL && !text_redirect_url(url)) {
		console_error(c, 400, "thank_you_url: a path starting with / or "
		    "an http(s):// URL, at most 500 bytes, no spaces");
		return false;
	}
	return true;
}

static json_t *
addresses(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* A location's "next_email": who gets its next message, by the mailer's
 * own rule (common/route.c) over its routes as the mailer reads them (in
 * the order they were added, at most ROUTE_MAX_ROWS), and [mail]
 * default_to when none is usable. */
static void
next_email(json_t *loc, const char *default_to)
{
	const char *emails[ROUTE_MAX_ROWS], *kinds[ROUTE_MAX_ROWS];
	json_t *routes = json_object_get(loc, "routes"), *rt;
	struct route_rcpts rc;
	size_t n = 0, i;

	json_array_foreach(routes, i, rt) {
		const char *e = json_string_value(json_object_get(rt, "email"));
		const char *k = json_string_value(json_object_get(rt, "kind"));

		if (n == ROUTE_MAX_ROWS)
			break;
		if (e != NULL && k != NULL) {
			emails[n] = e;
			kinds[n] = k;
			n++;
		}
	}
	route_resolve(&rc, emails, kinds, n, default_to);
	json_object_set_new(loc, "next_email", json_pack("{s:o, s:o, s:o, s:b}",
	    "to", addresses(rc.to, rc.nto), "cc", addresses(rc.cc, rc.ncc),
	    "bcc", addresses(rc.bcc, rc.nbcc), "default", rc.fallback));
}

/* A location, or the list of them, as the statement builds it, each with
 * its next_email. */
static void
answer_locations(struct fcgi_ctx *c, int status, const char *stmt, int n,
    const char *const *vals)
{
	enum db_result e;
	PGresult *r = db_conn_exec(&console_worker(c)->db, stmt, n, vals, &e);
	const char *to = c->cfg->mail_default_to;
	json_t *v, *loc;
	size_t i;

	if (r == NULL) {
		console_unavailable(c);
		return;
	}
	if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		console_error(c, 404, "not found");
		return;
	}
	v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	PQclear(r);
	if (v == NULL) {
		console_error(c, 500, "cannot read the locations");
		return;
	}
	if (json_is_array(v))
		json_array_foreach(v, i, loc)
			next_email(loc, to);
	else
		next_email(v, to);
	http_json(&c->ans, status, v);
}

/* Runs stmt with the audit detail as its parameter at, then frees the
 * detail; NULL (out of memory, or the database's error in *e). */
static PGresult *
exec_detail(struct console_worker *w, const char *stmt, int n,
    const char **vals, int at, struct buf *detail, enum db_result *e)
{
	PGresult *r = NULL;

	if ((vals[at] = buf_str(detail)) != NULL)
		r = db_conn_exec(&w->db, stmt, n, vals, e);
	buf_free(detail);
	return r;
}

void
admin_locations(struct fcgi_ctx *c)
{
	answer_locations(c, 200, "locations", 0, NULL);
}

void
admin_location_add(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *slug = console_str(c, "slug", &bad);
	const char *name = console_str(c, "name", &bad);
	const char *url = console_str(c, "thank_you_url", &bad);
	char clean[LOCATION_NAME_MAX * 4 + 1];
	struct buf detail = { 0 };
	const char *vals[6] = { slug, clean, url, w->session.username, addr(w),
	    NULL };
	enum db_result e;
	PGresult *r;

	if (bad || slug == NULL || name == NULL) {
		console_error(c, 400, "give slug and name (and thank_you_url) "
		    "as strings");
		return;
	}
	if (!text_slug(slug, strlen(slug))) {
		console_error(c, 400, "slug: 1-64 of a-z, 0-9 and '-', not "
		    "starting with '-'");
		return;
	}
	if (!location_values_ok(c, name, clean, sizeof(clean), url))
		return;
	audit_detail_str(&detail, "name", clean);
	audit_detail_str(&detail, "thank_you_url", url);
	r = exec_detail(w, "location_add", 6, vals, 5, &detail, &e);
	if (r == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
		PQclear(r);
		console_error(c, 409, "a location with this slug exists");
		return;
	}
	PQclear(r);
	answer_locations(c, 201, "location_json", 1, vals);
}

void
admin_location_change(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	json_t *body = w->body, *act = json_object_get(body, "active");
	json_t *jurl = json_object_get(body, "thank_you_url");
	bool bad = false, set_url = jurl != NULL;
	const char *slug = c->arg[0];
	const char *name = console_str(c, "name", &bad);
	const char *url = console_str(c, "thank_you_url", &bad);
	char clean[LOCATION_NAME_MAX * 4 + 1];
	struct buf detail = { 0 };
	const char *vals[8];
	enum db_result e;
	PGresult *r = NULL;
	bool was_active, active;
	long others;

	if (bad || (act != NULL && !json_is_boolean(act))) {
		console_error(c, 400, "name and thank_you_url are strings (null "
		    "clears the URL), active is true or false");
		return;
	}
	if (!location_values_ok(c, name, clean, sizeof(clean), url))
		return;
	vals[0] = slug;
	if (db_conn_run(&w->db, "BEGIN") != DB_OK ||
	    (r = db_conn_exec(&w->db, "locations_lock", 0, NULL, &e)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = db_conn_exec(&w->db, "location_old", 1, vals, &e)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_error(c, 404, "no such location");
		return;
	}
	was_active = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	others = strtol(PQgetvalue(r, 0, 3), NULL, 10);
	active = act != NULL ? json_is_true(act) : was_active;
	if (name != NULL && strcmp(clean, PQgetvalue(r, 0, 0)) != 0)
		audit_detail_change(&detail, "name", PQgetvalue(r, 0, 0), clean);
	if (active != was_active)
		audit_detail_raw(&detail, "active", "%s -> %s", was_active ?
		    "true" : "false", active ? "true" : "false");
	if (set_url && strcmp(url ? url : "", PQgetvalue(r, 0, 2)) != 0)
		audit_detail_change(&detail, "thank_you_url",
		    PQgetvalue(r, 0, 2)[0] ? PQgetvalue(r, 0, 2) : NULL, url);
	PQclear(r);
	r = NULL;
	if (!active && was_active && others == 0) {
		buf_free(&detail);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_error(c, 409, "this is the last active location: enable "
		    "or add another first");
		return;
	}
	vals[1] = name != NULL ? clean : NULL;
	vals[2] = act != NULL ? (active ? "t" : "f") : NULL;
	vals[3] = url;
	vals[4] = set_url ? "t" : "f";
	vals[5] = w->session.username;
	vals[6] = addr(w);
	vals[7] = detail.len > 0 ? buf_str(&detail) : "";
	if (vals[7] == NULL ||
	    (r = db_conn_exec(&w->db, "location_change", 8, vals, &e)) == NULL)
		goto fail;
	buf_free(&detail);
	PQclear(r);
	r = NULL;
	if (db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	answer_locations(c, 200, "location_json", 1, vals);
	return;
fail:
	buf_free(&detail);
	PQclear(r);
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

void
admin_route_add(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *email = console_str(c, "email", &bad);
	const char *kind = console_str(c, "kind", &bad);
	const char *vals[6] = { c->arg[0], email, NULL, w->session.username,
	    addr(w), NULL };
	struct buf detail = { 0 };
	enum db_result e;
	PGresult *r;

	if (kind == NULL && !bad)
		kind = "to";
	if (bad || email == NULL) {
		console_error(c, 400, "give email (and kind) as strings");
		return;
	}
	if (!text_email_route(email)) {
		console_error(c, 400, "email: a plain address, like "
		    "frontdesk@clinic.example");
		return;
	}
	if (strcmp(kind, "to") != 0 && strcmp(kind, "cc") != 0 &&
	    strcmp(kind, "bcc") != 0) {
		console_error(c, 400, "kind is to, cc or bcc");
		return;
	}
	vals[2] = kind;
	audit_detail_str(&detail, "email", email);
	audit_detail_str(&detail, "kind", kind);
	r = exec_detail(w, "route_add", 6, vals, 5, &detail, &e);
	if (r == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		console_error(c, 404, "no such location");
	else if (PQgetisnull(r, 0, 1))
		console_error(c, 409, "this address already gets this "
		    "location's mail");
	else
		console_json_text(c, 201, PQgetvalue(r, 0, 1));
	PQclear(r);
}

void
admin_route_remove(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	const char *vals[4] = { c->arg[0], c->arg[1], w->session.username,
	    addr(w) };
	enum db_result e;
	PGresult *r;

	if ((r = db_conn_exec(&w->db, "route_remove", 4, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		console_error(c, 404, "no such location");
	else if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
		console_error(c, 404, "no such route");
	else
		c->ans.status = 204;
	PQclear(r);
}

void
admin_outbox(struct fcgi_ctx *c)
{
	char status[20];
	const char *s = console_query(c, "status", status, sizeof(status));
	const char *vals[1] = { s != NULL && s[0] != '\0' ? s : NULL };

	if (vals[0] != NULL && strcmp(s, "pending") != 0 &&
	    strcmp(s, "sent") != 0 && strcmp(s, "dead") != 0) {
		console_error(c, 400, "status is pending, sent or dead");
		return;
	}
	console_answer_sql(c, 200, "outbox", 1, vals);
}

/* Back in line: one dead message, or all of them, under the outbox lock
 * frontdeskctl takes. */
static void
outbox_retry(struct fcgi_ctx *c, const char *id)
{
	struct console_worker *w = console_worker(c);
	const char *vals[3] = { id, w->session.username, addr(w) };
	enum db_result e;
	PGresult *r = NULL;
	char out[64];

	if (db_conn_run(&w->db, "BEGIN") != DB_OK ||
	    (r = db_conn_exec(&w->db, "outbox_lock", 0, NULL, &e)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = db_conn_exec(&w->db, "outbox_retry", 3, vals, &e)) == NULL)
		goto fail;
	if (id != NULL && PQgetisnull(r, 0, 1)) {
		PQclear(r);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_error(c, 404, "no such message");
		return;
	}
	if (id != NULL && strcmp(PQgetvalue(r, 0, 0), "0") == 0) {
		PQclear(r);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_error(c, 409, "only a dead message is retried");
		return;
	}
	snprintf(out, sizeof(out), "{\"retried\":%s}", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = NULL;
	if (db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	console_json_text(c, 200, out);
	return;
fail:
	PQclear(r);
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

void
admin_outbox_retry(struct fcgi_ctx *c)
{
	const char *id = c->arg[0];

	if (id[strspn(id, "0123456789")] != '\0' || strlen(id) > 18 ||
	    id[0] == '0') {
		console_error(c, 404, "no such message");
		return;
	}
	outbox_retry(c, id);
}

void
admin_outbox_retry_all(struct fcgi_ctx *c)
{
	bool bad = false;
	const char *status = console_str(c, "status", &bad);

	if (bad || status == NULL || strcmp(status, "dead") != 0) {
		console_error(c, 400, "give {\"status\": \"dead\"}: only dead mail "
		    "is retried");
		return;
	}
	outbox_retry(c, NULL);
}

void
admin_users(struct fcgi_ctx *c)
{
	const char *vals[1] = { second_factor_mode(c->cfg) };

	console_answer_sql(c, 200, "users", 1, vals);
}

/* The locations of a request body as a text[] literal of slugs (checked
 * as slugs); false when malformed. */
static bool
slugs_array(json_t *a, char *out, size_t size, size_t *count)
{
	size_t o = 0, i;
	json_t *v;

	*count = 0;
	if (!json_is_array(a))
		return false;
	o += (size_t)snprintf(out, size, "{");
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || !text_slug(s, strlen(s)) || o + strlen(s) + 3 >=
		    size)
			return false;
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "," : "", s);
		(*count)++;
	}
	snprintf(out + o, size - o, "}");
	return true;
}

static bool
slugs_known(struct fcgi_ctx *c, const char *array)
{
	const char *vals[1] = { array };
	enum db_result e;
	PGresult *r = db_conn_exec(&console_worker(c)->db, "slugs_known", 1, vals,
	    &e);
	bool ok = r != NULL && strcmp(PQgetvalue(r, 0, 0), "t") == 0;

	if (r == NULL)
		console_unavailable(c);
	else if (!ok)
		console_error(c, 400, "locations: an unknown slug");
	PQclear(r);
	return ok;
}

/* A text[] literal of slugs ("{a,b}") as a JSON list for a detail. */
static void
slugs_json(char *out, size_t size, const char *arr)
{
	size_t o = 0;

	o += (size_t)snprintf(out, size, "[");
	for (const char *p = arr + 1; *p != '\0' && *p != '}' && o + 4 < size;) {
		size_t n = strcspn(p, ",}");

		o += (size_t)snprintf(out + o, size - o, "%s\"%.*s\"",
		    o > 1 ? "," : "", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	snprintf(out + o, size - o, "]");
}

/* A staff account has at least one location; an admin none. */
static bool
role_locations_ok(struct fcgi_ctx *c, const char *role, size_t n)
{
	if (strcmp(role, "staff") != 0 && strcmp(role, "admin") != 0) {
		console_error(c, 400, "role is staff or admin");
		return false;
	}
	if (strcmp(role, "staff") == 0 && n == 0) {
		console_error(c, 400, "a staff account needs at least one "
		    "location");
		return false;
	}
	if (strcmp(role, "admin") == 0 && n > 0) {
		console_error(c, 400, "an admin sees every location: give no "
		    "locations");
		return false;
	}
	return true;
}

void
admin_user_add(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *name = console_str(c, "username", &bad);
	const char *role = console_str(c, "role", &bad);
	json_t *locs = json_object_get(w->body, "locations");
	char arr[4096] = "{}", password[32], hash[ACCOUNT_HASH_MAX], detail[4400];
	char json[4200];
	const char *vals[7] = { name, role, hash, arr, w->session.username,
	    addr(w), detail };
	enum db_result e;
	PGresult *r;
	size_t n = 0;
	json_t *o;

	if (bad || name == NULL || role == NULL ||
	    (locs != NULL && !slugs_array(locs, arr, sizeof(arr), &n))) {
		console_error(c, 400, "give username and role as strings, and "
		    "locations as an array of slugs");
		return;
	}
	if (!account_name_ok(name)) {
		console_error(c, 400, "username: 1-64 of a-z, 0-9, '.', '_', "
		    "'@' and '-'");
		return;
	}
	if (!role_locations_ok(c, role, n) || (n > 0 && !slugs_known(c, arr)))
		return;
	if (account_random_password(password, sizeof(password)) == -1 ||
	    account_hash(password, hash) == -1) {
		console_error(c, 500, "cannot make a password");
		return;
	}
	slugs_json(json, sizeof(json), arr);
	snprintf(detail, sizeof(detail), "role: \"%s\"; locations: %s", role,
	    json);
	if ((r = db_conn_exec(&w->db, "user_add", 7, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
		PQclear(r);
		console_error(c, 409, "an account with this name exists");
		return;
	}
	PQclear(r);
	vals[0] = second_factor_mode(c->cfg);
	vals[1] = name;
	if ((r = db_conn_exec(&w->db, "user_json", 2, vals, &e)) == NULL ||
	    PQntuples(r) != 1) {
		PQclear(r);
		console_unavailable(c);
		return;
	}
	/* the generated password, shown this once */
	o = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	PQclear(r);
	if (o != NULL)
		json_object_set_new(o, "password", json_string(password));
	http_json(&c->ans, 201, o);
	sodium_memzero(password, sizeof(password));
}

void
admin_user_change(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *name = c->arg[0];
	const char *role = console_str(c, "role", &bad);
	json_t *locs = json_object_get(w->body, "locations");
	json_t *en = json_object_get(w->body, "enabled");
	char arr[4096] = "{}", uid[24], detail[4400] = "", oldlocs[4096];
	const char *vals[3];
	enum db_result e;
	PGresult *r = NULL;
	size_t n = 0, o = 0;
	bool was_enabled, was_admin;
	const char *new_role;

	if (bad || (locs != NULL && !slugs_array(locs, arr, sizeof(arr), &n)) ||
	    (en != NULL && !json_is_boolean(en))) {
		console_error(c, 400, "role is a string, locations an array of "
		    "slugs, enabled true or false");
		return;
	}
	vals[0] = name;
	if (db_conn_run(&w->db, "BEGIN") != DB_OK ||
	    (r = db_conn_exec(&w->db, "user_find", 1, vals, &e)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_error(c, 404, "no such account");
		return;
	}
	snprintf(uid, sizeof(uid), "%s", PQgetvalue(r, 0, 0));
	was_admin = strcmp(PQgetvalue(r, 0, 1), "admin") == 0;
	was_enabled = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	snprintf(oldlocs, sizeof(oldlocs), "{%s}", PQgetvalue(r, 0, 3));
	PQclear(r);
	r = NULL;
	new_role = role != NULL ? role : was_admin ? "admin" : "staff";
	/* the locations that will hold: the new ones, or the old ones */
	if (!role_locations_ok(c, new_role, locs != NULL ? n :
	    (strcmp(oldlocs, "{}") == 0 ? 0 : 1)) ||
	    (n > 0 && !slugs_known(c, arr))) {
		(void)db_conn_run(&w->db, "ROLLBACK");
		return;
	}
	vals[0] = uid;
	if (role != NULL && strcmp(role, was_admin ? "admin" : "staff") != 0) {
		vals[1] = role;
		if ((r = db_conn_exec(&w->db, "user_set_role", 2, vals, &e)) ==
		    NULL)
			goto fail;
		PQclear(r);
		o += (size_t)snprintf(detail + o, sizeof(detail) - o,
		    "role: \"%s\" -> \"%s\"; ", was_admin ? "admin" : "staff",
		    role);
	}
	if (locs != NULL || (role != NULL && strcmp(role, "admin") == 0)) {
		const char *set = strcmp(new_role, "admin") == 0 ? "{}" : arr;

		vals[1] = set;
		if ((r = db_conn_exec(&w->db, "user_set_locations", 2, vals,
		    &e)) == NULL)
			goto fail;
		PQclear(r);
		if (strcmp(set, oldlocs) != 0) {
			char a[2100], b[2100];

			slugs_json(a, sizeof(a), oldlocs);
			slugs_json(b, sizeof(b), set);
			o += (size_t)snprintf(detail + o, sizeof(detail) - o,
			    "locations: %s -> %s; ", a, b);
		}
	}
	if (en != NULL && json_is_true(en) != was_enabled) {
		vals[1] = json_is_true(en) ? "t" : "f";
		if ((r = db_conn_exec(&w->db, "user_set_enabled", 2, vals,
		    &e)) == NULL)
			goto fail;
		PQclear(r);
		o += (size_t)snprintf(detail + o, sizeof(detail) - o,
		    "enabled: %s -> %s; ", was_enabled ? "true" : "false",
		    json_is_true(en) ? "true" : "false");
	}
	r = NULL;
	if (o > 0) {
		const char *av[5] = { w->session.username, addr(w),
		    "user_change", name, detail };

		if (o >= 2 && o < sizeof(detail))
			detail[o - 2] = '\0';
		if ((r = db_conn_exec(&w->db, "audit", 5, av, &e)) == NULL)
			goto fail;
		PQclear(r);
		r = NULL;
	}
	if (db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	vals[0] = second_factor_mode(c->cfg);
	vals[1] = name;
	console_answer_sql(c, 200, "user_json", 2, vals);
	return;
fail:
	PQclear(r);
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

void
admin_user_reset_2fa(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	const char *vals[3] = { c->arg[0], w->session.username, addr(w) };
	enum db_result e;
	PGresult *r;

	if ((r = db_conn_exec(&w->db, "user_reset_2fa", 3, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
		console_error(c, 404, "no such account");
	else
		c->ans.status = 204;
	PQclear(r);
}

/* The audit log's filters; false when answered (400). */
static bool
audit_filters(struct fcgi_ctx *c, const char *vals[5], char buf[5][80])
{
	const char *user = console_query(c, "user", buf[0], sizeof(buf[0]));
	const char *ref = console_query(c, "reference", buf[1], sizeof(buf[1]));
	const char *since = console_query(c, "since", buf[2], sizeof(buf[2]));
	const char *before = console_query(c, "before", buf[3], sizeof(buf[3]));
	const char *lim = console_query(c, "limit", buf[4], sizeof(buf[4]));
	long limit = AUDIT_LIMIT_DEFAULT;

	vals[0] = user && user[0] ? user : NULL;
	vals[1] = ref && ref[0] ? ref : NULL;
	vals[2] = since && since[0] ? since : NULL;
	vals[3] = before && before[0] ? before : NULL;
	if (vals[2] != NULL && !text_date(since)) {
		console_error(c, 400, "since is a date, YYYY-MM-DD");
		return false;
	}
	if (vals[3] != NULL && (before[strspn(before, "0123456789")] != '\0' ||
	    strlen(before) > 18)) {
		console_error(c, 400, "before is the next of a page");
		return false;
	}
	if (lim != NULL && lim[0] != '\0') {
		char *end;

		limit = strtol(lim, &end, 10);
		if (*end != '\0' || limit < 1 || limit > AUDIT_LIMIT_MAX) {
			console_error(c, 400, "limit is 1 to 200");
			return false;
		}
	}
	snprintf(buf[4], sizeof(buf[4]), "%ld", limit);
	vals[4] = buf[4];
	return true;
}

void
admin_audit(struct fcgi_ctx *c)
{
	char buf[5][80];
	const char *vals[5];

	if (audit_filters(c, vals, buf))
		console_answer_sql(c, 200, "audit_page", 5, vals);
}

void
admin_audit_csv(struct fcgi_ctx *c)
{
	char buf[5][80];
	const char *vals[5];

	if (!audit_filters(c, vals, buf))
		return;
	snprintf(buf[4], sizeof(buf[4]), "%d", 1000000);
	console_answer_csv(c, "audit_csv", 5, vals, "audit.csv");
}
