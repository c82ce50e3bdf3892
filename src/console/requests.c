/* requests: the inbox and the work on each request. Every handler asks
 * access_may_see of the request's location; one outside the caller's
 * locations is answered as if it did not exist. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/audit.h"
#include "common/reference.h"
#include "common/text.h"
#include "console.h"
#include "db/db.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 200
#define NOTE_MAX 2000

/* The request named by the path, if this session may see it: its id and
 * status; false when answered (404, 503). */
struct found {
	char ref[REFERENCE_LEN + 1];
	char id[24];
	bool spam;
};

static bool
find_request(struct fcgi_ctx *c, struct found *f)
{
	struct console_worker *w = console_worker(c);
	const char *vals[1] = { f->ref };
	enum db_result e;
	PGresult *r;
	bool seen;

	if (c->nargs < 1 || !reference_parse(c->arg[0], f->ref)) {
		console_error(c, 404, "no such request");
		return false;
	}
	if ((r = db_conn_exec(&w->db, "request_find", 1, vals, &e)) == NULL) {
		console_unavailable(c);
		return false;
	}
	seen = PQntuples(r) == 1 &&
	    access_may_see(&w->session, atoi(PQgetvalue(r, 0, 1)));
	if (seen) {
		snprintf(f->id, sizeof(f->id), "%s", PQgetvalue(r, 0, 0));
		f->spam = strcmp(PQgetvalue(r, 0, 2), "spam") == 0;
		/* Named by an alias: what follows (the audit row's object, a
		 * resend) is about the request's own reference. */
		snprintf(f->ref, sizeof(f->ref), "%s", PQgetvalue(r, 0, 3));
	}
	PQclear(r);
	if (!seen)
		console_error(c, 404, "no such request");
	return seen;
}

/* The inbox's filters from the query string, as the statements' first
 * seven parameters; false when answered (400, 403). */
struct filters {
	char locs[ACCESS_MAX_LOCATIONS * 12 + 4];
	char location[80], triage[20], status[20], q[256], like[520];
	char digits[300], ref[REFERENCE_LEN + 1];
	const char *vals[7];
};

static bool
only_phone_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && strchr(" -.()+", *s) == NULL)
			return false;
	return true;
}

/* q as a LIKE pattern: its own % _ \ escaped. */
static void
like_pattern(const char *q, char *out, size_t size)
{
	size_t o = 0;

	out[o++] = '%';
	for (; *q != '\0' && o + 4 < size; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			out[o++] = '\\';
		out[o++] = *q;
	}
	out[o++] = '%';
	out[o] = '\0';
}

static bool
read_filters(struct fcgi_ctx *c, struct filters *f)
{
	struct console_worker *w = console_worker(c);
	const char *loc, *tri, *st, *q;

	memset(f, 0, sizeof(*f));
	f->vals[0] = console_locations_array(&w->session, f->locs,
	    sizeof(f->locs));
	if ((loc = console_query(c, "location", f->location,
	    sizeof(f->location))) != NULL && loc[0] != '\0') {
		const char *vals[1] = { loc };
		enum db_result e;
		PGresult *r = text_slug(loc, strlen(loc)) ?
		    db_conn_exec(&w->db, "location_id", 1, vals, &e) : NULL;
		bool ok;

		if (r == NULL && text_slug(loc, strlen(loc))) {
			console_unavailable(c);
			return false;
		}
		ok = r != NULL && PQntuples(r) == 1 &&
		    access_may_see(&w->session, atoi(PQgetvalue(r, 0, 0)));
		PQclear(r);
		if (!ok) {
			console_error(c, 403, "not one of your locations");
			return false;
		}
		f->vals[1] = loc;
	}
	if ((tri = console_query(c, "triage", f->triage, sizeof(f->triage))) !=
	    NULL && tri[0] != '\0') {
		if (strcmp(tri, "new") != 0 && strcmp(tri, "contacted") != 0 &&
		    strcmp(tri, "scheduled") != 0 && strcmp(tri, "closed") != 0) {
			console_error(c, 400, "triage is new, contacted, "
			    "scheduled or closed");
			return false;
		}
		f->vals[6] = tri;
	}
	st = console_query(c, "status", f->status, sizeof(f->status));
	if (st == NULL || st[0] == '\0')
		st = "received";
	if (strcmp(st, "received") != 0 && strcmp(st, "spam") != 0) {
		console_error(c, 400, "status is received or spam");
		return false;
	}
	f->vals[2] = st;
	if ((q = console_query(c, "q", f->q, sizeof(f->q))) != NULL) {
		size_t n = strlen(q), nd = 0;

		text_trim(&q, &n);
		if (n > 0) {
			char t[256];

			snprintf(t, sizeof(t), "%.*s", (int)n, q);
			if (!text_utf8_valid(t, strlen(t))) {
				console_error(c, 400, "q is not valid UTF-8");
				return false;
			}
			like_pattern(t, f->like, sizeof(f->like));
			f->vals[3] = f->like;
			if (only_phone_chars(t)) {
				f->digits[nd++] = '%';
				for (const char *p = t; *p != '\0'; p++)
					if (isdigit((unsigned char)*p))
						f->digits[nd++] = *p;
				f->digits[nd++] = '%';
				f->digits[nd] = '\0';
				if (nd > 2)
					f->vals[4] = f->digits;
			}
			f->vals[5] = reference_parse(t, f->ref) ? f->ref : "";
		}
	}
	return true;
}

void
requests_list(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	struct filters f;
	char lim[24], before[64], usec[24] = "", id[24] = "", uid[24];
	const char *vals[11], *l, *b;
	long limit = LIST_LIMIT_DEFAULT;

	if (!read_filters(c, &f))
		return;
	if ((l = console_query(c, "limit", lim, sizeof(lim))) != NULL &&
	    l[0] != '\0') {
		char *end;

		limit = strtol(l, &end, 10);
		if (*end != '\0' || limit < 1 || limit > LIST_LIMIT_MAX) {
			console_error(c, 400, "limit is 1 to 200");
			return;
		}
	}
	if ((b = console_query(c, "before", before, sizeof(before))) != NULL &&
	    b[0] != '\0') {
		size_t dot = strspn(b, "0123456789");

		if (dot == 0 || dot > 18 || b[dot] != '.' ||
		    strspn(b + dot + 1, "0123456789") != strlen(b + dot + 1) ||
		    strlen(b + dot + 1) == 0 || strlen(b + dot + 1) > 18) {
			console_error(c, 400, "before is the next of a page");
			return;
		}
		snprintf(usec, sizeof(usec), "%.*s", (int)dot, b);
		snprintf(id, sizeof(id), "%s", b + dot + 1);
	}
	snprintf(lim, sizeof(lim), "%ld", limit);
	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	memcpy(vals, f.vals, sizeof(f.vals));
	vals[7] = usec[0] ? usec : NULL;
	vals[8] = id[0] ? id : NULL;
	vals[9] = lim;
	vals[10] = uid;
	console_answer_sql(c, 200, "inbox", 11, vals);
}

void
requests_csv(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	struct filters f;
	const char *vals[10];
	struct buf detail = { 0 };

	if (!read_filters(c, &f))
		return;
	memcpy(vals, f.vals, sizeof(f.vals));
	/* what was exported, never what the rows say (nor what was searched
	 * for: a name is a patient's data) */
	audit_detail_str(&detail, "format", "csv");
	audit_detail_str(&detail, "location", f.vals[1]);
	audit_detail_str(&detail, "status", f.vals[2]);
	audit_detail_str(&detail, "triage", f.vals[6]);
	audit_detail_raw(&detail, "search", "%s", f.vals[3] ? "true" : "false");
	vals[7] = w->session.username;
	vals[8] = w->address[0] ? w->address : NULL;
	vals[9] = buf_str(&detail);
	if (vals[9] == NULL)
		console_error(c, 500, "out of memory");
	else
		console_answer_csv(c, "inbox_csv", 10, vals, "requests.csv");
	buf_free(&detail);
}

/* Answers with the whole request, as the caller sees it now. */
static void
answer_request(struct fcgi_ctx *c, int status, const struct found *f)
{
	char uid[24];
	const char *vals[2] = { f->id, uid };

	snprintf(uid, sizeof(uid), "%lld", console_worker(c)->session.user_id);
	console_answer_sql(c, status, "request_json", 2, vals);
}

void
requests_get(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	struct found f;
	char uid[24];
	const char *vals[5] = { f.id, uid, w->session.username,
	    w->address[0] ? w->address : NULL, f.ref };

	if (!find_request(c, &f))
		return;
	snprintf(uid, sizeof(uid), "%lld", w->session.user_id);
	console_answer_sql(c, 200, "request_view", 5, vals);
}

void
requests_patch(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *triage = console_str(c, "triage", &bad);
	struct found f;
	const char *vals[5] = { f.id, triage, w->session.username,
	    w->address[0] ? w->address : NULL, f.ref };
	enum db_result e;
	PGresult *r;

	if (!find_request(c, &f))
		return;
	if (bad || triage == NULL || (strcmp(triage, "new") != 0 &&
	    strcmp(triage, "contacted") != 0 && strcmp(triage, "scheduled") != 0 &&
	    strcmp(triage, "closed") != 0)) {
		console_error(c, 400, "triage is new, contacted, scheduled or "
		    "closed");
		return;
	}
	if ((r = db_conn_exec(&w->db, "request_triage", 5, vals, &e)) == NULL) {
		console_unavailable(c);
		return;
	}
	PQclear(r);
	answer_request(c, 200, &f);
}

/* A note: 1-2000 characters of valid UTF-8, line breaks and tabs
 * allowed, no other control character. */
static bool
note_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n, chars = 0;
	uint32_t cp;

	if (!text_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i += n, chars++) {
		n = text_utf8_decode(p + i, len - i, &cp);
		if (text_is_control(cp) && cp != '\n' && cp != '\r' &&
		    cp != '\t')
			return false;
	}
	return chars >= 1 && chars <= NOTE_MAX;
}

void
requests_note(struct fcgi_ctx *c)
{
	struct console_worker *w = console_worker(c);
	bool bad = false;
	const char *text = console_str(c, "text", &bad);
	struct found f;
	char *clean = NULL;
	const char *vals[5] = { f.id, w->session.username, NULL,
	    w->address[0] ? w->address : NULL, f.ref };
	size_t len, o = 0;

	if (!find_request(c, &f))
		return;
	if (bad || text == NULL) {
		console_error(c, 400, "give the note as text");
		return;
	}
	/* trimmed, CR LF and CR as LF, as the form's message is kept */
	len = strlen(text);
	text_trim(&text, &len);
	if ((clean = malloc(len + 1)) == NULL) {
		console_error(c, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r') {
			clean[o++] = '\n';
			if (i + 1 < len && text[i + 1] == '\n')
				i++;
		} else
			clean[o++] = text[i];
	}
	clean[o] = '\0';
	if (!note_ok(clean) || strlen(clean) != o) {
		console_error(c, 400, "a note has 1 to 2000 characters, and no "
		    "control characters but line breaks and tabs");
		free(clean);
		return;
	}
	vals[2] = clean;
	console_answer_sql(c, 201, "request_note", 5, vals);
	free(clean);
}

/* Queues a new message (resend) or marks spam received and queues one
 * (unspam), under frontdeskctl's outbox lock. */
static void
queue_mail(struct fcgi_ctx *c, bool unspam)
{
	struct console_worker *w = console_worker(c);
	struct found f;
	const char *vals[4] = { f.ref, c->cfg->msgid_domain,
	    w->session.username, w->address[0] ? w->address : NULL };
	enum db_result e;
	PGresult *r = NULL;
	bool queued;

	if (!find_request(c, &f))
		return;
	if (db_conn_run(&w->db, "BEGIN") != DB_OK ||
	    (r = db_conn_exec(&w->db, "outbox_lock", 0, NULL, &e)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = db_conn_exec(&w->db, unspam ? "request_unspam" :
	    "request_resend", 4, vals, &e)) == NULL)
		goto fail;
	queued = !PQgetisnull(r, 0, 1);
	PQclear(r);
	r = NULL;
	if (db_conn_run(&w->db, "COMMIT") != DB_OK)
		goto fail;
	if (!queued)
		console_error(c, 409, unspam ? "this request is not spam" :
		    "this request is spam: mark it not spam to mail it");
	else if (unspam)
		answer_request(c, 200, &f);
	else
		console_json_text(c, 202, "{}");
	return;
fail:
	PQclear(r);
	(void)db_conn_run(&w->db, "ROLLBACK");
	console_unavailable(c);
}

void
requests_resend(struct fcgi_ctx *c)
{
	queue_mail(c, false);
}

void
requests_unspam(struct fcgi_ctx *c)
{
	queue_mail(c, true);
}
