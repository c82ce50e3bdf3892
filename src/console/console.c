/* console: the route table, the checks every request passes before its
 * handler, and the answers the handlers share. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "console.h"

#define ANYONE { NEED_NOBODY, true, true }
#define SIGNED_IN { NEED_SESSION, true, false }
#define SIGNED_IN_ENROLLED { NEED_SESSION, false, false }
#define STAFF { NEED_STAFF, false, false }
#define ADMIN { NEED_ADMIN, false, false }

/*
 * The API, below [console] prefix + "/api". Each row: the path ('*' is
 * one segment: a reference, a slug, an address, an id, a name), the
 * method, the handler, who may call it (access.h) and the keys its JSON
 * body may hold. docs/interface.md (Console) is this table in prose.
 */
static const struct console_route table[] = {
	{ "/session", "POST", me_sign_in, ANYONE, "username password code" },
	{ "/session", "DELETE", me_sign_out, SIGNED_IN, NULL },
	{ "/me", "GET", me_get, SIGNED_IN, NULL },
	{ "/me/password", "POST", me_password, SIGNED_IN_ENROLLED,
	    "password new_password" },
	{ "/me/2fa", "POST", me_second_factor, SIGNED_IN, "password code" },
	{ "/requests", "GET", requests_list, STAFF, NULL },
	{ "/requests.csv", "GET", requests_csv, STAFF, NULL },
	{ "/requests/*", "GET", requests_get, STAFF, NULL },
	{ "/requests/*", "PATCH", requests_patch, STAFF, "triage" },
	{ "/requests/*/notes", "POST", requests_note, STAFF, "text" },
	{ "/requests/*/resend", "POST", requests_resend, STAFF, "" },
	{ "/requests/*/unspam", "POST", requests_unspam, STAFF, "" },
	{ "/locations", "GET", admin_locations, ADMIN, NULL },
	{ "/locations", "POST", admin_location_add, ADMIN,
	    "slug name thank_you_url" },
	{ "/locations/*", "PATCH", admin_location_change, ADMIN,
	    "name active thank_you_url" },
	{ "/locations/*/routes", "POST", admin_route_add, ADMIN, "email kind" },
	{ "/locations/*/routes/*", "DELETE", admin_route_remove, ADMIN, NULL },
	{ "/outbox", "GET", admin_outbox, ADMIN, NULL },
	{ "/outbox/retry", "POST", admin_outbox_retry_all, ADMIN, "status" },
	{ "/outbox/*/retry", "POST", admin_outbox_retry, ADMIN, "" },
	{ "/users", "GET", admin_users, ADMIN, NULL },
	{ "/users", "POST", admin_user_add, ADMIN, "username role locations" },
	{ "/users/*", "PATCH", admin_user_change, ADMIN,
	    "role locations enabled" },
	{ "/users/*/reset-2fa", "POST", admin_user_reset_2fa, ADMIN, "" },
	{ "/audit", "GET", admin_audit, ADMIN, NULL },
	{ "/audit.csv", "GET", admin_audit_csv, ADMIN, NULL },
	{ "/metrics", "GET", cmetrics_handle, ANYONE, NULL },
};
#define NROUTES (sizeof(table) / sizeof(table[0]))

/* The web layer's view of the same table, in the same order. */
static struct fcgi_route web_routes[NROUTES];
static char api_prefix[300];
static const struct config *console_cfg;

/* Every answer: the pages' own headers are nginx's (conf/nginx/). */
static const char security_headers[] =
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "X-Frame-Options: DENY\r\n";

void
console_error(struct fcgi_ctx *c, int status, const char *why)
{
	c->ans.json = true;
	http_error(&c->ans, status, why);
}

void
console_unavailable(struct fcgi_ctx *c)
{
	http_header(&c->ans, "Retry-After", "10");
	console_error(c, 503, "the database is unavailable, try again shortly");
}

void
console_json_text(struct fcgi_ctx *c, int status, const char *json)
{
	c->ans.status = status;
	c->ans.content_type = "application/json";
	buf_adds(&c->ans.body, json);
}

void
console_answer_sql(struct fcgi_ctx *c, int status, const char *stmt, int n,
    const char *const *vals)
{
	enum db_result e;
	PGresult *r = db_conn_exec(&console_worker(c)->db, stmt, n, vals, &e);

	if (r == NULL)
		console_unavailable(c);
	else if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
		console_error(c, 404, "not found");
	else
		console_json_text(c, status, PQgetvalue(r, 0, 0));
	PQclear(r);
}

void
console_answer_csv(struct fcgi_ctx *c, const char *stmt, int n,
    const char *const *vals, const char *filename)
{
	enum db_result e;
	PGresult *r = db_conn_exec(&console_worker(c)->db, stmt, n, vals, &e);
	char disposition[128];

	if (r == NULL) {
		console_unavailable(c);
		return;
	}
	db_csv(r, &c->ans.body);
	PQclear(r);
	c->ans.status = 200;
	c->ans.content_type = "text/csv; charset=utf-8";
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"",
	    filename);
	http_header(&c->ans, "Content-Disposition", disposition);
}

const char *
console_str(struct fcgi_ctx *c, const char *key, bool *bad)
{
	json_t *v = console_worker(c)->body ?
	    json_object_get(console_worker(c)->body, key) : NULL;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

const char *
console_query(struct fcgi_ctx *c, const char *name, char *buf, size_t size)
{
	const char *q = fcgi_param(c, "QUERY_STRING");
	size_t nlen = strlen(name);

	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");

		if (n > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
			size_t o = 0;

			for (size_t i = nlen + 1; i < n && o + 1 < size; i++) {
				int hi, lo;

				if (q[i] == '+')
					buf[o++] = ' ';
				else if (q[i] == '%' && i + 2 < n &&
				    (hi = hexval(q[i + 1])) >= 0 &&
				    (lo = hexval(q[i + 2])) >= 0) {
					buf[o++] = (char)(hi << 4 | lo);
					i += 2;
				} else
					buf[o++] = q[i];
			}
			buf[o] = '\0';
			/* a NUL inside the value ends it: never a shorter match */
			return strlen(buf) == o ? buf : NULL;
		}
		if (n == nlen && strncmp(q, name, nlen) == 0) {
			buf[0] = '\0';
			return buf;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}

const char *
console_locations_array(const struct access_session *s, char *buf,
    size_t size)
{
	size_t o = 0;

	if (s->role == ACCESS_ADMIN)
		return NULL;
	o += (size_t)snprintf(buf, size, "{");
	for (size_t i = 0; i < s->nlocations && o + 16 < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? "," : "",
		    s->locations[i]);
	snprintf(buf + o, size - o, "}");
	return buf;
}

/* Does the body hold only the route's keys? It must be a JSON object. */
static bool
body_keys_ok(json_t *body, const char *keys, const char **bad)
{
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v) {
		size_t n = strlen(k);
		const char *p = keys;
		bool found = false;

		(void)v;
		while (p != NULL && *p != '\0') {
			size_t m = strcspn(p, " ");

			if (m == n && strncmp(p, k, n) == 0)
				found = true;
			p += m;
			p += strspn(p, " ");
		}
		if (!found) {
			*bad = k;
			return false;
		}
	}
	return true;
}

/* Reads and parses a change's body: false when answered (400, 413). */
static bool
read_json(struct fcgi_ctx *c, const struct console_route *r)
{
	struct console_worker *w = console_worker(c);
	json_error_t jerr;
	const char *bad = NULL;
	char *body, why[160];
	size_t len;

	if (fcgi_read_body(c, CONSOLE_MAX_BODY, &body, &len) != 0) {
		c->ans.json = true;
		return false;
	}
	if (len == 0 && r->keys[0] == '\0') {
		free(body);
		return true;
	}
	w->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (w->body == NULL || !json_is_object(w->body)) {
		console_error(c, 400, "the body must be a JSON object");
		return false;
	}
	if (!body_keys_ok(w->body, r->keys, &bad)) {
		char q[80];

		snprintf(why, sizeof(why), "unknown key %s",
		    log_quote(q, sizeof(q), bad));
		console_error(c, 400, why);
		return false;
	}
	return true;
}

static bool
method_changes(const char *m)
{
	return m != NULL && (strcmp(m, "POST") == 0 ||
	    strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0 ||
	    strcmp(m, "PUT") == 0);
}

/* The client's address for the audit log: the proxies' rule of [http]
 * trusted_proxies, as frontdesk applies it. */
static void
client_address(struct fcgi_ctx *c, char *out, size_t size)
{
	char s[NETADDR_KEY_LEN] = "";
	struct netaddr a;

	if (netaddr_client(fcgi_param(c, "REMOTE_ADDR"),
	    fcgi_param(c, "HTTP_X_FORWARDED_FOR"), c->cfg->trusted,
	    c->cfg->ntrusted, &a) == 0)
		netaddr_format(&a, s);
	snprintf(out, size, "%s", s);
}

static bool
before(struct fcgi_ctx *c, const struct fcgi_route *wr)
{
	const struct console_route *r = &table[wr - web_routes];
	struct console_worker *w = console_worker(c);
	const char *method = fcgi_param(c, "REQUEST_METHOD");
	const char *tok = fcgi_param(c, "HTTP_X_CSRF_TOKEN");
	const char *bg = fcgi_param(c, "HTTP_X_BACKGROUND");
	struct access_request q = { 0 };
	const char *why = NULL;
	int status;

	c->ans.json = true;
	json_decref(w->body);
	w->body = NULL;
	memset(&w->session, 0, sizeof(w->session));
	w->background = bg != NULL && strcmp(bg, "1") == 0;
	client_address(c, w->address, sizeof(w->address));
	q.changes = method_changes(method);
	q.foreign_origin = session_foreign_origin(c);
	if (!q.foreign_origin && r->access.need != NEED_NOBODY) {
		if (c->cfg->console_auth == CONFIG_AUTH_REMOTE_USER) {
			if (!session_remote_user(c))
				return false;
		} else if (!session_load(c))
			return false;  /* 503: the session is not known bad */
	}
	q.csrf_ok = w->session.valid && tok != NULL &&
	    account_equal(tok, w->session.csrf);
	if ((status = access_check(&r->access, &w->session, &q, &why)) != 0) {
		if (status == 401)
			session_cookie_clear(c);
		console_error(c, status, why);
		return false;
	}
	if (q.changes && r->keys != NULL && !read_json(c, r))
		return false;
	return true;
}

static void
worker_open(void *state, const struct config *cfg)
{
	struct console_worker *w = state;

	w->db.conninfo = cfg->db_conninfo;
	w->db.app_name = "frontdesk-console";
	w->db.statements = console_statements;
	w->db.nstatements = console_nstatements;
	(void)db_conn_open(&w->db);
}

static void
worker_close(void *state)
{
	struct console_worker *w = state;

	json_decref(w->body);
	w->body = NULL;
	db_conn_close(&w->db);
}

static void
answered(const struct fcgi_ctx *c, double seconds)
{
	(void)seconds;
	cmetrics_answer(c->ans.status);
}

void
console_app(struct fcgi_app *app, const struct config *cfg)
{
	console_cfg = cfg;
	for (size_t i = 0; i < NROUTES; i++)
		web_routes[i] = (struct fcgi_route){ table[i].path,
		    table[i].method, table[i].handle };
	snprintf(api_prefix, sizeof(api_prefix), "%s/api", cfg->console_prefix);
	*app = (struct fcgi_app){
		.listen = cfg->console_listen,
		.threads = cfg->console_threads,
		.prefix = api_prefix,
		.routes = web_routes,
		.nroutes = NROUTES,
		.worker_size = sizeof(struct console_worker),
		.worker_open = worker_open,
		.worker_close = worker_close,
		.answered = answered,
		.headers = security_headers,
		.before = before,
	};
}
