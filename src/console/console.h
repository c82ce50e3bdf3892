/* console: frontdesk-console, the staff and admin console's JSON API.
 * What its handlers share: each thread's state, the request's session and
 * body, and the answers. */
#ifndef FRONTDESK_CONSOLE_H
#define FRONTDESK_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "access.h"
#include "db/db.h"
#include "web/fcgi.h"

#define CONSOLE_MAX_BODY 65536
#define CONSOLE_COOKIE "__Host-fd_session"

/* Each thread's state; the request's part is reset before each one. */
struct console_worker {
	struct db_conn db;
	struct access_session session;
	json_t *body;              /* a change's JSON object, or NULL */
	char address[64];          /* the client's, for the audit log */
	bool background;           /* X-Background: a page's poll */
};

/* One row of the route table: the path and method, who may use it, and
 * the only keys its JSON body may hold. */
struct console_route {
	const char *path;
	const char *method;
	void (*handle)(struct fcgi_ctx *);
	struct access_route access;
	const char *keys;          /* space-separated; NULL: no body */
};

/* The app frontdesk-console serves. */
void console_app(struct fcgi_app *app, const struct config *cfg);

static inline struct console_worker *
console_worker(struct fcgi_ctx *c)
{
	return c->worker;
}

/* {"error": why} with status. */
void console_error(struct fcgi_ctx *c, int status, const char *why);
/* 503: the database could not be reached or failed. */
void console_unavailable(struct fcgi_ctx *c);
/* A JSON text made by the database (a statement's one text column) as the
 * answer. */
void console_json_text(struct fcgi_ctx *c, int status, const char *json);
/* Runs a prepared statement that returns one row of one text column (a
 * JSON document, or NULL when the object does not exist): its value into
 * answer with status, 404 for no row or NULL, 503 on failure. */
void console_answer_sql(struct fcgi_ctx *c, int status, const char *stmt,
    int n, const char *const *vals);
/* The rows of a statement as a CSV download named filename, 503 on
 * failure. */
void console_answer_csv(struct fcgi_ctx *c, const char *stmt, int n,
    const char *const *vals, const char *filename);
/* The body's string member, or NULL when absent or null; *bad is set when
 * present but not a string. */
const char *console_str(struct fcgi_ctx *c, const char *key, bool *bad);
/* A query-string parameter, percent-decoded into buf (NULL when absent). */
const char *console_query(struct fcgi_ctx *c, const char *name, char *buf,
    size_t size);
/* The session's locations as a PostgreSQL int[] literal ("{1,2}"), or
 * NULL for an admin (every location). */
const char *console_locations_array(const struct access_session *s,
    char *buf, size_t size);

/* session.c */
/* Fills the worker's session from the cookie (invalid when none). False
 * when the database could not be asked: the request was answered 503,
 * and the cookie is left alone (the session may well be alive). */
bool session_load(struct fcgi_ctx *c);
/* Is the request's Origin foreign? */
bool session_foreign_origin(struct fcgi_ctx *c);
/* Makes a session for user_id and answers sign-in's 201 with the cookie;
 * the caller is inside the transaction of its audit row. */
int session_create(struct fcgi_ctx *c, long long user_id, bool remote_user,
    char csrf[64]);
void session_cookie(struct fcgi_ctx *c, const char *token);
void session_cookie_clear(struct fcgi_ctx *c);
/* auth = remote_user: the session follows REMOTE_USER; false when the
 * request was answered (401, 403). */
bool session_remote_user(struct fcgi_ctx *c);

/* me.c */
void me_sign_in(struct fcgi_ctx *c);
void me_sign_out(struct fcgi_ctx *c);
void me_get(struct fcgi_ctx *c);
void me_password(struct fcgi_ctx *c);
void me_second_factor(struct fcgi_ctx *c);

/* requests.c */
void requests_list(struct fcgi_ctx *c);
void requests_csv(struct fcgi_ctx *c);
void requests_get(struct fcgi_ctx *c);
void requests_patch(struct fcgi_ctx *c);
void requests_note(struct fcgi_ctx *c);
void requests_resend(struct fcgi_ctx *c);
void requests_unspam(struct fcgi_ctx *c);

/* admin.c */
void admin_locations(struct fcgi_ctx *c);
void admin_location_add(struct fcgi_ctx *c);
void admin_location_change(struct fcgi_ctx *c);
void admin_route_add(struct fcgi_ctx *c);
void admin_route_remove(struct fcgi_ctx *c);
void admin_outbox(struct fcgi_ctx *c);
void admin_outbox_retry(struct fcgi_ctx *c);
void admin_outbox_retry_all(struct fcgi_ctx *c);
void admin_users(struct fcgi_ctx *c);
void admin_user_add(struct fcgi_ctx *c);
void admin_user_change(struct fcgi_ctx *c);
void admin_user_reset_2fa(struct fcgi_ctx *c);
void admin_audit(struct fcgi_ctx *c);
void admin_audit_csv(struct fcgi_ctx *c);

/* cmetrics.c */
enum cmetrics_sign_in { CM_SIGN_IN_OK, CM_SIGN_IN_FAILED, CM_SIGN_IN_LOCKED,
	CM_SIGN_IN_COUNT };
void cmetrics_sign_in(enum cmetrics_sign_in outcome);
void cmetrics_lockout(void);
void cmetrics_answer(int status);
void cmetrics_handle(struct fcgi_ctx *c);

/* statements.c: the console's SQL, one table prepared on each
 * connection. */
extern const struct db_statement console_statements[];
extern const size_t console_nstatements;

#endif
