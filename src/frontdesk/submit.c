/* submit: POST /appointments, from the body to the stored request. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "form.h"
#include "limiter.h"
#include "common/log.h"
#include "metrics.h"
#include "common/netaddr.h"
#include "common/reference.h"
#include "spool.h"
#include "fields.h"
#include "fingerprint.h"
#include "reply.h"
#include "routes.h"
#include "submit.h"
#include "validate.h"
#include "verdict.h"
#include "common/text.h"

/* Is the media type one of the two form encodings? */
static bool
content_type_ok(const char *ct)
{
	static const char *const types[] = {
	    "application/x-www-form-urlencoded", "multipart/form-data" };
	size_t n;

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	n = strcspn(ct, "; \t");
	for (size_t i = 0; i < 2; i++)
		if (n == strlen(types[i]) && strncasecmp(ct, types[i], n) == 0)
			return true;
	return false;
}

static void
answer_unavailable(struct fcgi_ctx *c)
{
	metrics_submission(METRICS_SUB_UNAVAILABLE);
	http_header(&c->ans, "Retry-After", "30");
	http_error(&c->ans, 503, "the service is temporarily unavailable, "
	    "please try again shortly");
}

/* Copies s (len bytes) trimmed as validation trims it (Unicode white
 * space) into buf; NULL when it does not fit or holds a NUL. */
static char *
copy_trimmed(const char *s, size_t len, char *buf, size_t size)
{
	text_trim(&s, &len);
	if (len >= size || memchr(s, '\0', len) != NULL)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* The idempotency key: the header when present and non-empty, else the
 * field. NULL when none or when it is malformed (validation says so). */
static const char *
idempotency_key(struct fcgi_ctx *c, const struct form *f, char *buf,
    size_t size, bool *bad_header)
{
	const char *h = fcgi_param(c, "HTTP_IDEMPOTENCY_KEY");
	const struct form_field *fld;

	*bad_header = false;
	if (h != NULL && h[strspn(h, " \t")] != '\0') {
		if (copy_trimmed(h, strlen(h), buf, size) == NULL ||
		    !text_key(buf, strlen(buf))) {
			*bad_header = true;
			return NULL;
		}
		return buf;
	}
	if ((fld = form_get(f, "submission_id")) == NULL ||
	    form_count(f, "submission_id") != 1 ||
	    copy_trimmed(fld->value, fld->value_len, buf, size) == NULL ||
	    !text_key(buf, strlen(buf)))
		return NULL;
	return buf;
}

/* The 409 of a key already used for other fields. */
static void
answer_conflict(struct fcgi_ctx *c)
{
	metrics_submission(METRICS_SUB_CONFLICT);
	http_error(&c->ans, 409, "this submission id was already used for a "
	    "different request");
}

/* A bad Idempotency-Key header is the key's field's error. */
static void
add_header_error(struct validate_errors *errs)
{
	if (errs->n < VALIDATE_MAX_ERRORS) {
		errs->e[errs->n].field = "submission_id";
		errs->e[errs->n++].why = "the Idempotency-Key header must be "
		    "1-64 letters, digits, '-' or '_'";
	}
}

static void
answer_accepted(struct fcgi_ctx *c, const char *ref, const char *url)
{
	snprintf(c->refbuf, sizeof(c->refbuf), "%s", ref);
	c->reference = c->refbuf;
	reply_accepted(&c->ans, ref, url && *url ? url :
	    c->cfg->http_thank_you_url);
}

/* A honeypot post whose fields are not even valid: kept nowhere, and
 * answered like any other, telling a bot nothing. */
static void
answer_spam_dropped(struct fcgi_ctx *c)
{
	char ref[REFERENCE_LEN + 1];

	if (reference_new(ref) == -1)
		snprintf(ref, sizeof(ref), "FD-00000000");
	fcgi_note(c, "outcome=spam_dropped");
	metrics_submission(METRICS_SUB_SPAM);
	answer_accepted(c, ref, NULL);
}

/* Writes a valid request to the spool and answers it as accepted (to
 * thank_you, the location's page as noted with the locations): the
 * database is down, the disk is durable. 503 if even that fails, or if
 * the spool is full ([spool] max_size). */
static void
spool_accept(struct fcgi_ctx *c, const struct appointment *a, bool spam,
    const char *key, const char *ref, const char *thank_you)
{
	struct spool_entry e = { .spam = spam, .a = *a };
	struct timespec now;
	struct tm tm;
	char loc[80];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(e.created_at, sizeof(e.created_at), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(e.created_at + 19, sizeof(e.created_at) - 19, ".%06ldZ",
	    now.tv_nsec / 1000);
	snprintf(e.reference, sizeof(e.reference), "%s", ref);
	e.msgid_domain = (char *)(uintptr_t)c->cfg->msgid_domain;
	e.key = (char *)(uintptr_t)key;
	if (spool_write(c->cfg->spool_dir, &e, c->cfg->spool_max_size) == -1) {
		if (errno == ENOSPC)
			log_warn("spool_full", "reference=%s max_size=%ld",
			    ref, c->cfg->spool_max_size);
		else
			log_error("spool_write_failed", "reference=%s errno=%d",
			    ref, errno);
		if (key != NULL)
			spool_release_key(c->cfg->spool_dir, key);
		answer_unavailable(c);
		return;
	}
	fcgi_note(c, "outcome=%s location=%s", spam ? "spam_spooled" :
	    "spooled", log_value(loc, sizeof(loc), a->location));
	metrics_submission(spam ? METRICS_SUB_SPAM : METRICS_SUB_ACCEPTED);
	answer_accepted(c, ref, thank_you);
}

/* What was found out about a post, and where its first answer is. */
struct judged {
	struct verdict_facts facts;
	bool spooled;                        /* the database is down */
	bool available;                      /* the location is active */
	struct appointment a;
	struct validate_errors errs;
	char reference[REFERENCE_LEN + 1];   /* the key's first (KEY_SAME) */
	char thank_you[512];                 /* the location's own page */
};

/* Answers every verdict that stores nothing. */
static void
answer_verdict(struct fcgi_ctx *c, enum verdict v, const struct judged *j)
{
	switch (v) {
	case VERDICT_REPLAY:
		fcgi_note(c, "outcome=replayed");
		metrics_submission(METRICS_SUB_REPLAYED);
		answer_accepted(c, j->reference, j->thank_you);
		break;
	case VERDICT_CONFLICT:
		answer_conflict(c);
		break;
	case VERDICT_INVALID:
		metrics_submission(METRICS_SUB_REJECTED);
		reply_invalid(&c->ans, &j->errs);
		break;
	case VERDICT_DROP_SPAM:
		answer_spam_dropped(c);
		break;
	case VERDICT_UNAVAILABLE:
	case VERDICT_STORE:
	case VERDICT_STORE_SPAM:
		answer_unavailable(c);
		break;
	}
}

/* Keeps a post the verdict stores, in the spool: a key is claimed first,
 * and a claim that finds the key taken (a twin post, or another process)
 * is judged again with what it found. in_flight: the reference of an
 * insert whose answer was lost (it may have committed), kept so that the
 * replay finds it stored and adds nothing; NULL draws a new one. */
static void
spool_keep(struct fcgi_ctx *c, struct judged *j, const char *key,
    const unsigned char *fp, const char *in_flight)
{
	bool spam = j->facts.honeypot;
	char ref[REFERENCE_LEN + 1];

	if (in_flight != NULL)
		snprintf(ref, sizeof(ref), "%s", in_flight);
	else if (reference_new(ref) == -1) {
		http_error(&c->ans, 500, "out of memory");
		return;
	}
	if (!spam && key != NULL) {
		j->facts.key = spool_claim_key(c->cfg->spool_dir, key, fp,
		    FINGERPRINT_LEN, ref, c->cfg->spool_max_size);
		if (j->facts.key == KEY_ERROR && errno == ENOSPC)
			log_warn("spool_full", "max_size=%ld",
			    c->cfg->spool_max_size);
		if (j->facts.key != KEY_NEW) {
			snprintf(j->reference, sizeof(j->reference), "%s", ref);
			answer_verdict(c, verdict_decide(&j->facts), j);
			return;
		}
	}
	spool_accept(c, &j->a, spam, spam ? NULL : key, ref, j->thank_you);
}

/* Answers a post the database stored (in its one statement). */
static void
answer_stored(struct fcgi_ctx *c, const struct judged *j,
    const struct store_posted *p)
{
	bool spam = j->facts.honeypot;
	char loc[80];

	fcgi_note(c, "outcome=%s location=%s", spam ? "spam_stored" :
	    "accepted", log_value(loc, sizeof(loc), j->a.location));
	metrics_submission(spam ? METRICS_SUB_SPAM : METRICS_SUB_ACCEPTED);
	answer_accepted(c, p->reference, p->thank_you_url);
}

/* The client's address as the rate limit counts it: false when it is
 * not counted ([limits] per_ip_per_hour = 0, or no address). */
static bool
client_key(struct fcgi_ctx *c, char key[NETADDR_KEY_LEN])
{
	return c->cfg->limits_per_ip_per_hour != 0 &&
	    netaddr_client_key(fcgi_param(c, "REMOTE_ADDR"),
	    fcgi_param(c, "HTTP_X_FORWARDED_FOR"), c->cfg->trusted,
	    c->cfg->ntrusted, key) == 0;
}

static void
answer_limited(struct fcgi_ctx *c, long retry, const char *counted_by)
{
	char secs[24];

	metrics_submission(METRICS_SUB_LIMITED);
	fcgi_note(c, "outcome=rate_limited retry_after=%ld counted_by=%s", retry,
	    counted_by);
	snprintf(secs, sizeof(secs), "%ld", retry);
	http_header(&c->ans, "Retry-After", secs);
	http_error(&c->ans, 429, "too many requests from this address, "
	    "please try again later");
}

/* The per-address limit while the database cannot count (it is down, or
 * refuses the statement): this process counts alone, with the same
 * limit (limiter.h); its counts are its own and are not carried over.
 * True when the post was answered 429. */
static bool
over_limit_alone(struct fcgi_ctx *c, const char *addr)
{
	long retry = 0;

	if (addr == NULL || limiter_shared(addr, c->cfg->limits_per_ip_per_hour,
	    &retry))
		return false;
	answer_limited(c, retry, "process");
	return true;
}

/* The checks with the database down: the key as the spool knows it, the
 * location against the last list frontdesk read. False when there is
 * nothing to judge by (no list ever noted: answer 503). */
static bool
judge_spooled(struct fcgi_ctx *c, const char *key, const unsigned char *fp,
    struct judged *j)
{
	const char *dir = c->cfg->spool_dir;

	if (!spool_locations_noted(dir))
		return false;
	if (key != NULL)
		j->facts.key = spool_find_key(dir, key, fp, FINGERPRINT_LEN,
		    j->reference);
	if (j->a.location != NULL)
		j->available = spool_location_find(dir, j->a.location,
		    j->thank_you, sizeof(j->thank_you));
	j->spooled = true;
	return true;
}

/* The checks with the database up, as its statement answered them; a key
 * the spool holds from an outage, not replayed yet (spooled, with its
 * reference in spooled_ref), stands where the database knows none. */
static void
judge_stored(struct fcgi_ctx *c, const struct store_posted *p,
    enum key_state spooled, const char *spooled_ref, struct judged *j)
{
	j->facts.key = p->key;
	j->available = p->location;
	snprintf(j->reference, sizeof(j->reference), "%s", p->key_reference);
	snprintf(j->thank_you, sizeof(j->thank_you), "%s",
	    p->key_thank_you_url);
	if (p->key == KEY_NEW && (spooled == KEY_SAME || spooled == KEY_OTHER)) {
		j->facts.key = spooled;
		snprintf(j->reference, sizeof(j->reference), "%s", spooled_ref);
		if (j->a.location != NULL)
			spool_location_find(c->cfg->spool_dir, j->a.location,
			    j->thank_you, sizeof(j->thank_you));
	}
}

/* The post's facts, after its statement (or the spool) answered: the
 * location's availability, a bad key header. */
static void
judge_fields(struct judged *j, enum validate_result valid, bool bad_header)
{
	if (j->a.location != NULL && !j->available)
		valid = validate_unavailable(&j->a, &j->errs);
	/* A bad header is the key field's error (a bot's post is judged by
	 * its fields alone, as before). */
	if (bad_header && !j->a.honeypot) {
		add_header_error(&j->errs);
		valid = VALIDATE_INVALID;
	}
	j->facts.valid = valid == VALIDATE_OK;
}

static void
handle_form(struct fcgi_ctx *c, const struct form *f)
{
	struct judged j = { 0 };
	struct store_posted p;
	struct store_post in = { 0 };
	unsigned char fp[FINGERPRINT_LEN] = { 0 };
	char keybuf[80], addr[NETADDR_KEY_LEN], spooled_ref[REFERENCE_LEN + 1];
	const char *key, *in_flight = NULL;
	enum key_state spooled = KEY_NEW;
	bool bad_header;
	enum validate_result valid;

	key = idempotency_key(c, f, keybuf, sizeof(keybuf), &bad_header);
	/* Every rule but the location's availability first: the statement
	 * asks that as it looks the key up, with the fingerprint of the
	 * fields as they would be stored. Nothing from the form reaches the
	 * database before it passed these rules: invalid UTF-8 would fail
	 * the statement (a 503 anyone could cause), not the field. */
	if ((valid = validate_fields(f, &j.a, &j.errs)) == VALIDATE_NOMEM) {
		http_error(&c->ans, 500, "out of memory");
		goto done;
	}
	j.facts.honeypot = j.a.honeypot;
	/* A bot's post is judged by its fields alone: its key is not
	 * looked at. */
	if (j.a.honeypot)
		key = NULL;
	if (key != NULL)
		fingerprint_digest(&j.a, &j.errs, fp);
	/* A key the spool holds from an outage, not replayed yet, is asked
	 * before the statement: the post is then not stored, whatever the
	 * database says of the key. */
	if (key != NULL && c->cfg->spool_dir[0] != '\0')
		spooled = spool_find_key(c->cfg->spool_dir, key, fp,
		    FINGERPRINT_LEN, spooled_ref);
	in = (struct store_post){ .addr = client_key(c, addr) ? addr : NULL,
	    .limit = c->cfg->limits_per_ip_per_hour, .a = &j.a,
	    .store = valid == VALIDATE_OK && spooled == KEY_NEW &&
	    !(bad_header && !j.a.honeypot), .spam = j.a.honeypot, .key = key,
	    .fp = fp, .fplen = sizeof(fp),
	    .msgid_domain = c->cfg->msgid_domain };
	switch (store_post(routes_store(c), &in, &p)) {
	case STORE_OK:
		if (p.retry_after > 0) {
			answer_limited(c, p.retry_after, "database");
			goto done;
		}
		judge_stored(c, &p, spooled, spooled_ref, &j);
		break;
	case STORE_DOWN:
		if (over_limit_alone(c, in.addr))
			goto done;
		/* Lost the database, perhaps while the statement was on its
		 * way: the spool keeps its reference, so if it did commit, the
		 * replay stores nothing twice. */
		if (c->cfg->spool_dir[0] != '\0' && judge_spooled(c, key, fp, &j)) {
			in_flight = p.reference;
			break;
		}
		answer_unavailable(c);
		goto done;
	default:
		if (!over_limit_alone(c, in.addr))
			answer_unavailable(c);
		goto done;
	}
	judge_fields(&j, valid, bad_header);
	switch (verdict_decide(&j.facts)) {
	case VERDICT_STORE:
	case VERDICT_STORE_SPAM:
		if (j.spooled)
			spool_keep(c, &j, key, fp, in_flight);
		else if (p.stored)
			answer_stored(c, &j, &p);
		else {
			/* Not reached: the statement stores what the verdict
			 * stores. Nothing was stored, so nothing is accepted. */
			log_error("submit_not_stored", "reference=%s", p.reference);
			answer_unavailable(c);
		}
		break;
	default:
		answer_verdict(c, verdict_decide(&j.facts), &j);
	}
done:
	appointment_free(&j.a);
}

void
submit_handle(struct fcgi_ctx *c)
{
	struct form f = { 0 };
	const char *why = "cannot be parsed";
	char *body = NULL;
	size_t len;
	int r;

	if (!content_type_ok(fcgi_param(c, "CONTENT_TYPE"))) {
		http_error(&c->ans, 415, "send the form as "
		    "application/x-www-form-urlencoded or multipart/form-data");
		return;
	}
	if (fcgi_read_body(c, (size_t)c->cfg->fcgi_max_body, &body, &len) != 0)
		goto done;
	r = form_parse(&f, fcgi_param(c, "CONTENT_TYPE"), body, len, &why);
	switch (r) {
	case FORM_OK:
		handle_form(c, &f);
		break;
	case FORM_TOO_MANY:
		http_error(&c->ans, 413, "too many fields");
		break;
	case FORM_UNSUPPORTED:
		http_error(&c->ans, 415, "unsupported content type");
		break;
	case FORM_NOMEM:
		http_error(&c->ans, 500, "out of memory");
		break;
	default:
		http_error(&c->ans, 400, why);
	}
done:
	form_free(&f);
	free(body);
}
