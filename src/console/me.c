/* me: signing in and out, and the caller's own account: its password and
 * its second factor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account/account.h"
#include "account/seal.h"
#include "account/totp.h"
#include "common/log.h"
#include "console.h"

/* One answer for every refusal, so that nobody learns which part was
 * wrong, or whether the name exists, or that the account is locked. */
static const char refused[] = "wrong name, password or code";

static bool
needs_code(const struct config *cfg, bool admin)
{
	return cfg->console_second_factor == CONFIG_2FA_ALL ||
	    (cfg->console_second_factor == CONFIG_2FA_ADMINS && admin);
}

static int
audit(struct console_worker *w, const char *actor, const char *action,
    const char *object, const char *detail)
{
	const char *vals[5] = { actor, w->address[0] ? w->address : NULL,
	    action, object, detail };
	enum db_result e;
	PGresult *r = db_conn_exec(&w->db, "audit", 5, vals, &e);

	PQclear(r);
	return r == NULL ? -1 : 0;
}

/* A refused sign-in: counted against a known account (locking it at
 * lockout_after) and audited, in one transaction. */
static void
sign_in_failed(struct fcgi_ctx *c, const char *uid, const char *name,
    const char *detail)
{
	struct console_worker *w = console_worker(c);
	char after[24], secs[24];
	const char *vals[3] = { uid, after, secs };
	bool locked_now = false, was = false;
	enum db_result e;
	PGresult *r = NULL;

	snprintf(after, sizeof(after), "%ld", c->cfg->console_lockout_after);
	snprintf(secs, sizeof(secs), "%ld", c->cfg->console_lockout_seconds);
	if (db_conn_run(&w->db, "BEGIN") != DB_OK)
		goto fail;
	if (uid != NULL) {
		if ((r = db_conn_exec(&w->db, "user_failed", 3, vals, &e)) ==
		    NULL)
			goto fail;
		if (PQntuples(r) == 1) {
			was = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
			locked_now = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		}
		PQclear(r);
	}
	/* An unknown name is recorded as such, never as what was typed. */
	if (audit(w, uid != NULL ? name : "(unknown)", "sign_in_failed",
	    uid != NULL ? name : NULL, detail) == -1)
		goto fail;
	if (!was && locked_now && audit(w, name, "lockout", name, NULL) == -1)
		goto fail;
	if (db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	if (!was && locked_now) {
		char q[80];

		cmetrics_lockout();
		log_warn("lockout", "user=%s", log_value(q, sizeof(q), name));
	}
	cmetrics_sign_in(was ? CM_SIGN_IN_LOCKED : CM_SIGN_IN_FAILED);
	console_error(c, 401, refused);
	return;
fail:
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

/* Answers a sign-in that succeeded: the account as GET /me has it. */
static void
answer_signed_in(struct fcgi_ctx *c, const char *uid, const char *csrf,
    const char *second_factor)
{
	struct console_worker *w = console_worker(c);
	char idle[24], max[24];
	const char *vals[6] = { uid, csrf, second_factor, idle, max, NULL };
	enum db_result e;
	PGresult *r;

	snprintf(idle, sizeof(idle), "%ld", c->cfg->console_idle_timeout);
	snprintf(max, sizeof(max), "%ld", c->cfg->console_session_max);
	if ((r = db_conn_exec(&w->db, "me", 6, vals, &e)) == NULL ||
	    PQntuples(r) != 1) {
		PQclear(r);
		console_unavailable(c);
		return;
	}
	console_json_text(c, 201, PQgetvalue(r, 0, 0));
	PQclear(r);
}

void
me_sign_in(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false, known, locked, enabled, admin, enrolled, ok;
	const char *name = console_str(c, "username", &bad);
	const char *password = console_str(c, "password", &bad);
	const char *code = console_str(c, "code", &bad);
	char uid[24] = "", secret[128], csrf[64];
	const char *vals[5];
	long long step = -1, last_step = 0;
	enum db_result e;
	PGresult *r;

	if (c->cfg->console_auth == CONFIG_AUTH_REMOTE_USER) {
		console_error(c, 404, "not found: the web server signs people in");
		return;
	}
	if (bad || name == NULL || password == NULL) {
		console_error(c, 400, "give username and password (and code) "
		    "as strings");
		return;
	}
	vals[0] = name;
	r = account_name_ok(name) ?
	    db_conn_exec(&w->db, "user_by_name", 1, vals, &e) : NULL;
	if (account_name_ok(name) && r == NULL) {
		console_unavailable(c);
		return;
	}
	known = r != NULL && PQntuples(r) == 1;
	/* The same argon2id work for a name that does not exist. */
	ok = account_verify(known && !PQgetisnull(r, 0, 2) ?
	    PQgetvalue(r, 0, 2) : NULL, password) && known;
	if (!known) {
		PQclear(r);
		sign_in_failed(c, NULL, name, "unknown name");
		return;
	}
	snprintf(uid, sizeof(uid), "%s", PQgetvalue(r, 0, 0));
	admin = strcmp(PQgetvalue(r, 0, 1), "admin") == 0;
	enabled = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
	enrolled = !PQgetisnull(r, 0, 4);
	secret[0] = '\0';
	if (enrolled && unseal(PQgetvalue(r, 0, 4), secret, sizeof(secret)) ==
	    -1) {
		char q[80];

		log_error("second_factor_unsealed", "user=%s hint=\"the secret "
		    "cannot be opened with [console] key_file: reset-2fa\"",
		    log_value(q, sizeof(q), name));
		enrolled = false;
		ok = false;
	}
	last_step = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	locked = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
	PQclear(r);
	if (ok && enrolled && needs_code(c->cfg, admin)) {
		step = code != NULL ? totp_check(secret, code, time(NULL),
		    last_step) : -1;
		ok = step >= 0;
	}
	sodium_memzero(secret, sizeof(secret));
	if (!ok || locked || !enabled) {
		sign_in_failed(c, uid, name, !enabled ? "disabled" : locked ?
		    "locked" : !ok && step < 0 && code != NULL ? "password or "
		    "code" : "password");
		return;
	}
	if (db_conn_run(&w->db, "BEGIN") != DB_OK)
		goto fail;
	if (step >= 0) {
		char s[24];

		snprintf(s, sizeof(s), "%lld", step);
		vals[0] = uid;
		vals[1] = s;
		if ((r = db_conn_exec(&w->db, "user_step", 2, vals, &e)) == NULL)
			goto fail;
		if (PQntuples(r) != 1) {
			/* another sign-in took this code first */
			PQclear(r);
			(void)db_conn_run(&w->db, "ROLLBACK");
			sign_in_failed(c, uid, name, "code reused");
			return;
		}
		PQclear(r);
	}
	vals[0] = uid;
	if ((r = db_conn_exec(&w->db, "user_signed_in", 1, vals, &e)) == NULL)
		goto fail;
	PQclear(r);
	if (session_create(c, strtoll(uid, NULL, 10), false, csrf) == -1 ||
	    audit(w, name, "sign_in", name, NULL) == -1 ||
	    db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	cmetrics_sign_in(CM_SIGN_IN_OK);
	answer_signed_in(c, uid, csrf, enrolled ? "on" :
	    needs_code(c->cfg, admin) ? "enrol" : "off");
	return;
fail:
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

void
me_sign_out(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	char sid[24];
	const char *vals[3] = { sid, w->session.username,
	    w->address[0] ? w->address : NULL };
	enum db_result e;
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", w->session.id);
	if ((r = db_conn_exec(&w->db, "session_end", 3, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	PQclear(r);
	session_cookie_clear(c);
	c->ans.status = 204;
}

void
me_get(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	char uid[24], sid[24], idle[24], max[24];
	const char *vals[6] = { uid, w->session.csrf,
	    w->session.must_enrol ? "enrol" : w->session.enrolled ? "on" :
	    "off", idle, max, sid };

	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	snprintf(sid, sizeof(sid), "%lld", w->session.id);
	snprintf(idle, sizeof(idle), "%ld", c->cfg->console_idle_timeout);
	snprintf(max, sizeof(max), "%ld", c->cfg->console_session_max);
	console_answer_sql(c, 200, "me", 6, vals);
}

/* The caller's account row: its hash, a pending enrolment and the last
 * step; false when answered (503). */
static bool
read_me(struct fcgi_ctx *c, char *hash, size_t hsize, char *pending,
    size_t psize, long long *last_step)
{
	struct console_worker *w = console_worker(c);
	char uid[24];
	const char *vals[1] = { uid };
	enum db_result e;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	if ((r = db_conn_exec(&w->db, "me_hash", 1, vals, &e)) == NULL ||
	    PQntuples(r) != 1) {
		PQclear(r);
		console_unavailable(c);
		return false;
	}
	snprintf(hash, hsize, "%s", PQgetvalue(r, 0, 0));
	snprintf(pending, psize, "%s", PQgetvalue(r, 0, 1));
	*last_step = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return true;
}

/* The caller's password checked: false when answered (401, 503). */
static bool
password_confirmed(struct fcgi_ctx *c, const char *password)
{
	char hash[ACCOUNT_HASH_MAX], pending[256];
	long long step;

	if (!read_me(c, hash, sizeof(hash), pending, sizeof(pending), &step))
		return false;
	if (!account_verify(hash[0] ? hash : NULL, password)) {
		console_error(c, 401, "wrong password");
		return false;
	}
	return true;
}

void
me_password(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *password = console_str(c, "password", &bad);
	const char *new_password = console_str(c, "new_password", &bad);
	char hash[ACCOUNT_HASH_MAX], uid[24], sid[24];
	const char *vals[5] = { uid, hash, sid, w->session.username,
	    w->address[0] ? w->address : NULL };
	enum db_result e;
	PGresult *r;

	if (w->session.remote_user) {
		console_error(c, 404, "not found: the web server signs people in");
		return;
	}
	if (bad || password == NULL || new_password == NULL) {
		console_error(c, 400, "give password and new_password as strings");
		return;
	}
	if (!account_password_ok(new_password)) {
		console_error(c, 400, "a new password has 12 to 128 characters, "
		    "and no control characters");
		return;
	}
	if (!password_confirmed(c, password))
		return;
	if (account_hash(new_password, hash) == -1) {
		console_error(c, 500, "cannot hash the password");
		return;
	}
	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	snprintf(sid, sizeof(sid), "%lld", w->session.id);
	if ((r = db_conn_exec(&w->db, "me_password", 5, vals, &e)) == NULL)
		console_unavailable(c);
	else
		c->ans.status = 204;
	PQclear(r);
}

/* POST /me/2fa with the password: a new secret, pending until a code
 * confirms it. */
static void
enrol_start(struct fcgi_ctx *c, const char *password)
{
	struct console_worker *w = console_worker(c);
	char uid[24], secret[TOTP_SECRET_B32 + 1], sealed[256];
	const char *vals[2] = { uid, sealed };
	struct buf uri = { 0 }, svg = { 0 };
	enum db_result e;
	PGresult *r;
	json_t *o;

	if (!password_confirmed(c, password))
		return;
	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	if (totp_new_secret(secret, sizeof(secret)) == -1 ||
	    seal(secret, sealed, sizeof(sealed)) == -1) {
		console_error(c, 500, "cannot make a secret");
		goto done;
	}
	if ((r = db_conn_exec(&w->db, "me_2fa_pending", 2, vals, &e)) == NULL) {
		console_unavailable(c);
		goto done;
	}
	PQclear(r);
	totp_uri(&uri, "frontdesk", w->session.username, secret);
	(void)totp_qr_svg(&svg, buf_str(&uri));
	o = json_pack("{s:s,s:s,s:s?}", "secret", secret, "uri", buf_str(&uri),
	    "qr_svg", buf_str(&svg));
	http_json(&c->ans, 200, o);
done:
	sodium_memzero(secret, sizeof(secret));
	buf_free(&uri);
	buf_free(&svg);
}

/* POST /me/2fa with a code: the pending secret becomes the account's. */
static void
enrol_confirm(struct fcgi_ctx *c, const char *code)
{
	struct console_worker *w = console_worker(c);
	char uid[24], s[24], hash[ACCOUNT_HASH_MAX], pending[256], plain[128];
	const char *vals[5] = { uid, s, pending, w->session.username,
	    w->address[0] ? w->address : NULL };
	long long last_step, step;
	enum db_result e;
	PGresult *r;

	if (!read_me(c, hash, sizeof(hash), pending, sizeof(pending),
	    &last_step))
		return;
	if (pending[0] == '\0' || unseal(pending, plain, sizeof(plain)) == -1) {
		console_error(c, 409, "start the enrolment with your password "
		    "first");
		return;
	}
	step = totp_check(plain, code, time(NULL), last_step);
	sodium_memzero(plain, sizeof(plain));
	if (step < 0) {
		console_error(c, 400, "that code is not the current one");
		return;
	}
	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	snprintf(s, sizeof(s), "%lld", step);
	if ((r = db_conn_exec(&w->db, "me_2fa_confirm", 5, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
		console_error(c, 409, "the enrolment changed meanwhile: start "
		    "again");
	else
		c->ans.status = 204;
	PQclear(r);
}

void
me_second_factor(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *password = console_str(c, "password", &bad);
	const char *code = console_str(c, "code", &bad);

	if (w->session.remote_user) {
		console_error(c, 404, "not found: the web server signs people in");
		return;
	}
	if (bad || (password == NULL) == (code == NULL)) {
		console_error(c, 400, "give password (to start) or code (to "
		    "confirm), as a string");
		return;
	}
	if (password != NULL)
		enrol_start(c, password);
	else
		enrol_confirm(c, code);
}
