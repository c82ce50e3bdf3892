/* session: the console's sessions: the cookie, the lookup, the origin
 * rule, and REMOTE_USER for clinics that sign staff in themselves. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account/account.h"
#include "common/log.h"
#include "console.h"
#include "session_rules.h"

static const char *
second_factor_mode(const struct config *cfg)
{
	if (cfg->console_auth == CONFIG_AUTH_REMOTE_USER)
		return "off";
	switch (cfg->console_second_factor) {
	case CONFIG_2FA_OFF:
		return "off";
	case CONFIG_2FA_ALL:
		return "all";
	default:
		return "admins";
	}
}

/* The token's hash as PostgreSQL's bytea text ("\x..."). */
static void
token_hash_hex(const char *token, char out[2 + 2 * ACCOUNT_TOKEN_HASH_LEN + 1])
{
	unsigned char h[ACCOUNT_TOKEN_HASH_LEN];
	static const char hex[] = "0123456789abcdef";

	account_token_hash(token, h);
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < sizeof(h); i++) {
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
	}
	out[2 + 2 * sizeof(h)] = '\0';
}

static void
session_from_row(struct access_session *s, const PGresult *r)
{
	const char *locs = PQgetvalue(r, 0, 7);

	memset(s, 0, sizeof(*s));
	s->valid = true;
	s->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	s->user_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	snprintf(s->username, sizeof(s->username), "%s", PQgetvalue(r, 0, 2));
	s->role = strcmp(PQgetvalue(r, 0, 3), "admin") == 0 ? ACCESS_ADMIN :
	    ACCESS_STAFF;
	s->must_enrol = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
	snprintf(s->csrf, sizeof(s->csrf), "%s", PQgetvalue(r, 0, 5));
	s->remote_user = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
	s->enrolled = strcmp(PQgetvalue(r, 0, 8), "t") == 0;
	while (*locs != '\0' && s->nlocations < ACCESS_MAX_LOCATIONS) {
		s->locations[s->nlocations++] = atoi(locs);
		locs += strcspn(locs, ",");
		if (*locs == ',')
			locs++;
	}
}

/* Looks the token up; the worker's session is valid when it names a live
 * session of an enabled account. False when the database failed (the
 * request was answered 503). */
static bool
session_lookup(struct fcgi_ctx *c, const char *token)
{
	struct console_worker *w = console_worker(c);
	char hash[2 + 2 * ACCOUNT_TOKEN_HASH_LEN + 1], idle[24], max[24];
	const char *vals[5];
	enum db_result e;
	PGresult *r;

	token_hash_hex(token, hash);
	snprintf(idle, sizeof(idle), "%ld", c->cfg->console_idle_timeout);
	snprintf(max, sizeof(max), "%ld", c->cfg->console_session_max);
	vals[0] = hash;
	vals[1] = w->background ? "t" : "f";
	vals[2] = idle;
	vals[3] = max;
	vals[4] = second_factor_mode(c->cfg);
	if ((r = db_conn_exec(&w->db, "session_get", 5, vals, &e)) == NULL) {
		console_unavailable(c);
		return false;
	}
	if (PQntuples(r) == 1)
		session_from_row(&w->session, r);
	PQclear(r);
	return true;
}

bool
session_load(struct fcgi_ctx *c)
{
	char token[ACCOUNT_TOKEN_LEN + 1];

	if (session_cookie_token(fcgi_param(c, "HTTP_COOKIE"), CONSOLE_COOKIE,
	    token, sizeof(token)))
		return session_lookup(c, token);
	return true;
}

bool
session_foreign_origin(struct fcgi_ctx *c)
{
	char own[600];

	session_own_origin(c->cfg->console_origin,
	    fcgi_param(c, "REQUEST_SCHEME"), fcgi_param(c, "HTTPS"),
	    fcgi_param(c, "HTTP_HOST"), fcgi_param(c, "SERVER_PORT"), own,
	    sizeof(own));
	return session_origin_foreign(fcgi_param(c, "HTTP_ORIGIN"), own);
}

void
session_cookie(struct fcgi_ctx *c, const char *token)
{
	char line[200];

	/* No Max-Age: the cookie goes when the browser closes, the session
	 * on the server at idle_timeout or session_max. */
	snprintf(line, sizeof(line), CONSOLE_COOKIE "=%s; Secure; HttpOnly; "
	    "SameSite=Strict; Path=/", token);
	http_header(&c->ans, "Set-Cookie", line);
}

void
session_cookie_clear(struct fcgi_ctx *c)
{
	if (fcgi_param(c, "HTTP_COOKIE") != NULL &&
	    strstr(fcgi_param(c, "HTTP_COOKIE"), CONSOLE_COOKIE "=") != NULL)
		http_header(&c->ans, "Set-Cookie", CONSOLE_COOKIE "=; Secure; "
		    "HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

int
session_create(struct fcgi_ctx *c, long long user_id, bool remote_user,
    char csrf[64])
{
	struct console_worker *w = console_worker(c);
	char token[ACCOUNT_TOKEN_LEN + 1], hash[2 + 2 * ACCOUNT_TOKEN_HASH_LEN + 1];
	char uid[24], idle[24], max[24];
	const char *vals[6];
	enum db_result e;
	PGresult *r;

	account_token(token);
	account_token(csrf);
	token_hash_hex(token, hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(idle, sizeof(idle), "%ld", c->cfg->console_idle_timeout);
	snprintf(max, sizeof(max), "%ld", c->cfg->console_session_max);
	vals[0] = hash;
	vals[1] = uid;
	vals[2] = csrf;
	vals[3] = remote_user ? "t" : "f";
	vals[4] = idle;
	vals[5] = max;
	if ((r = db_conn_exec(&w->db, "session_new", 6, vals, &e)) == NULL)
		return -1;
	PQclear(r);
	session_cookie(c, token);
	return 0;
}

/* A session made for REMOTE_USER, in one transaction with its audit row;
 * false when answered. */
static bool
remote_sign_in(struct fcgi_ctx *c, const char *name)
{
	struct console_worker *w = console_worker(c);
	const char *vals[5] = { name };
	char csrf[64], uid[24];
	enum db_result e;
	PGresult *r;
	long long id;

	if ((r = db_conn_exec(&w->db, "user_remote", 1, vals, &e)) == NULL) {
		console_unavailable(c);
		return false;
	}
	if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 1), "t") != 0) {
		PQclear(r);
		console_error(c, 403, "no enabled console account for this user");
		return false;
	}
	id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	snprintf(uid, sizeof(uid), "%lld", id);
	vals[0] = name;
	vals[1] = w->address;
	vals[2] = "sign_in";
	vals[3] = name;
	vals[4] = "remote_user";
	if (db_conn_run(&w->db, "BEGIN") != DB_OK ||
	    session_create(c, id, true, csrf) == -1 ||
	    (r = db_conn_exec(&w->db, "audit", 5, vals, &e)) == NULL) {
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_unavailable(c);
		return false;
	}
	PQclear(r);
	vals[0] = uid;
	if ((r = db_conn_exec(&w->db, "user_signed_in", 1, vals, &e)) == NULL ||
	    db_conn_run(&w->db, "COMMIT") != DB_OK) {
		PQclear(r);
		(void)db_conn_run(&w->db, "ROLLBACK");
		console_unavailable(c);
		return false;
	}
	PQclear(r);
	cmetrics_sign_in(CM_SIGN_IN_OK);
	/* This request goes on under the new session. */
	w->session = (struct access_session){ 0 };
	return true;
}

bool
session_remote_user(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	char name[ACCOUNT_NAME_MAX + 1], token[ACCOUNT_TOKEN_LEN + 1];
	/* Only the web server's own parameter: a client's Remote-User header
	 * arrives as HTTP_REMOTE_USER and is never read. */
	const char *ru = fcgi_param(c, "REMOTE_USER");

	if (ru == NULL || ru[0] == '\0') {
		session_cookie_clear(c);
		console_error(c, 401, "the web server named no user");
		return false;
	}
	if (!account_name_fold(ru, name)) {
		console_error(c, 403, "no enabled console account for this user");
		return false;
	}
	if (session_cookie_token(fcgi_param(c, "HTTP_COOKIE"), CONSOLE_COOKIE,
	    token, sizeof(token)) && !session_lookup(c, token))
		return false;
	if (w->session.valid && strcmp(w->session.username, name) == 0)
		return true;
	/* None, or another person's: the session follows REMOTE_USER. */
	if (w->session.valid) {
		char sid[24];
		const char *vals[3] = { sid, w->session.username, w->address };
		enum db_result e;
		PGresult *r;

		snprintf(sid, sizeof(sid), "%lld", w->session.id);
		r = db_conn_exec(&w->db, "session_end", 3, vals, &e);
		PQclear(r);
		memset(&w->session, 0, sizeof(w->session));
	}
	if (!remote_sign_in(c, name))
		return false;
	/* Load what was just made, as any later request will. */
	{
		const char *set = NULL;

		for (const char *p = c->ans.headers.p; p != NULL &&
		    (p = strstr(p, "Set-Cookie: " CONSOLE_COOKIE "=")) != NULL;
		    p++)
			set = p + strlen("Set-Cookie: " CONSOLE_COOKIE "=");
		if (set != NULL) {
			size_t n = strcspn(set, ";");

			if (n < sizeof(token)) {
				memcpy(token, set, n);
				token[n] = '\0';
				return session_lookup(c, token);
			}
		}
	}
	return true;
}
