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
	log_info("spam_dropped", NULL);
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
	log_info(spam ? "spam_spooled" : "spooled", "reference=%s location=%s",
	    ref, a->location);
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
		log_info("replayed", "reference=%s", j->reference);
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

/* Stores a post the verdict stores, in the database, and answers. */
static void
store_keep(struct fcgi_ctx *c, struct judged *j, const char *key,
    const unsigned char *fp)
{
	bool spam = j->facts.honeypot;
	char ref[REFERENCE_LEN + 1];
	struct buf thank_you = { 0 };
	struct store_precheck pc;

	switch (store_submit(routes_store(c), &j->a, spam, spam ? NULL : key,
	    fp, FINGERPRINT_LEN, c->cfg->msgid_domain, ref, &thank_you)) {
	case STORE_OK:
		log_info(spam ? "spam_stored" : "accepted", "reference=%s "
		    "location=%s", ref, j->a.location);
		metrics_submission(spam ? METRICS_SUB_SPAM : METRICS_SUB_ACCEPTED);
		answer_accepted(c, ref, buf_str(&thank_you));
		break;
	case STORE_LOCATION_GONE:
		/* Disabled since the check: invalid now (a bot still learns
		 * nothing: its post is dropped). */
		j->facts.valid = false;
		j->errs = (struct validate_errors){ .n = 1, .e = { {
		    "location", "is not an available location" } } };
		answer_verdict(c, verdict_decide(&j->facts), j);
		break;
	case STORE_KEY_TAKEN:
		/* A twin post with this key committed first: judged again with
		 * what the database now knows of the key. */
		if (store_precheck(routes_store(c), j->a.location, key, fp,
		    FINGERPRINT_LEN, &pc) != STORE_OK)
			j->facts.key = KEY_ERROR;
		else {
			j->facts.key = pc.key;
			snprintf(j->reference, sizeof(j->reference), "%s",
			    pc.reference);
			snprintf(j->thank_you, sizeof(j->thank_you), "%s",
			    pc.thank_you_url);
		}
		answer_verdict(c, verdict_decide(&j->facts), j);
		break;
	case STORE_DOWN:
		/* Lost the database between the checks and the insert: the
		 * spool keeps the reference, so if the insert did commit, the
		 * replay stores nothing twice. */
		if (c->cfg->spool_dir[0] != '\0') {
			spool_location_find(c->cfg->spool_dir, j->a.location,
			    j->thank_you, sizeof(j->thank_you));
			spool_keep(c, j, key, fp, ref);
			break;
		}
		answer_unavailable(c);
		break;
	default:
		answer_unavailable(c);
	}
	buf_free(&thank_you);
}

/* The per-address limit: true when the post was answered 429. While the
 * database cannot count (it is down, or refuses the statement), this
 * process counts alone, with the same limit (limiter.h); its counts are
 * its own and are not carried over. */
static bool
over_limit(struct fcgi_ctx *c)
{
	char key[NETADDR_KEY_LEN], secs[24];
	long limit = c->cfg->limits_per_ip_per_hour, retry = 0;
	bool allowed = true, alone = false;

	if (limit == 0 || netaddr_client_key(fcgi_param(c, "REMOTE_ADDR"),
	    fcgi_param(c, "HTTP_X_FORWARDED_FOR"), c->cfg->trusted,
	    c->cfg->ntrusted, key) == -1)
		return false;
	if (store_ratelimit(routes_store(c), key, limit, &allowed, &retry) !=
	    STORE_OK) {
		allowed = limiter_shared(key, limit, &retry);
		alone = true;
	}
	if (allowed)
		return false;
	metrics_submission(METRICS_SUB_LIMITED);
	log_info("rate_limited", "retry_after=%ld counted_by=%s", retry,
	    alone ? "process" : "database");
	snprintf(secs, sizeof(secs), "%ld", retry);
	http_header(&c->ans, "Retry-After", secs);
	http_error(&c->ans, 429, "too many requests from this address, "
	    "please try again later");
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

/* The checks with the database up: its precheck answered, and the spool
 * may still hold keys from an outage that are not replayed yet. */
static void
judge_stored(struct fcgi_ctx *c, const char *key, const unsigned char *fp,
    const struct store_precheck *pc, struct judged *j)
{
	j->facts.key = pc->key;
	j->available = pc->location;
	snprintf(j->reference, sizeof(j->reference), "%s", pc->reference);
	snprintf(j->thank_you, sizeof(j->thank_you), "%s", pc->thank_you_url);
	if (key != NULL && pc->key == KEY_NEW && c->cfg->spool_dir[0] != '\0') {
		enum key_state k = spool_find_key(c->cfg->spool_dir, key, fp,
		    FINGERPRINT_LEN, j->reference);

		if (k == KEY_SAME || k == KEY_OTHER) {
			j->facts.key = k;
			if (j->a.location != NULL)
				spool_location_find(c->cfg->spool_dir,
				    j->a.location, j->thank_you,
				    sizeof(j->thank_you));
		}
	}
}

static void
handle_form(struct fcgi_ctx *c, const struct form *f)
{
	struct store_precheck pc = { 0 };
	struct judged j = { 0 };
	unsigned char fp[FINGERPRINT_LEN] = { 0 };
	char keybuf[80];
	const char *key;
	bool bad_header;
	enum validate_result valid;

	if (over_limit(c))
		return;
	key = idempotency_key(c, f, keybuf, sizeof(keybuf), &bad_header);
	/* Every rule but the location's availability first: the precheck
	 * asks that in the round trip that looks the key up, with the
	 * fingerprint of the fields as they would be stored. Nothing from
	 * the form reaches the database before it passed these rules:
	 * invalid UTF-8 would fail the statement (a 503 anyone could cause),
	 * not the field. */
	if ((valid = validate_fields(f, &j.a, &j.errs)) == VALIDATE_NOMEM) {
		http_error(&c->ans, 500, "out of memory");
		goto done;
	}
	if (key != NULL)
		fingerprint_digest(&j.a, &j.errs, fp);
	switch (store_precheck(routes_store(c), j.a.location, key, fp,
	    sizeof(fp), &pc)) {
	case STORE_OK:
		judge_stored(c, key, fp, &pc, &j);
		break;
	case STORE_DOWN:
		if (c->cfg->spool_dir[0] != '\0' && judge_spooled(c, key, fp, &j))
			break;
		/* FALLTHROUGH */
	default:
		answer_unavailable(c);
		goto done;
	}
	if (j.a.location != NULL && !j.available)
		valid = validate_unavailable(&j.a, &j.errs);
	j.facts.honeypot = j.a.honeypot;
	/* A bad header is the key field's error (a bot's post is judged by
	 * its fields alone, as before). */
	if (bad_header && !j.a.honeypot) {
		add_header_error(&j.errs);
		valid = VALIDATE_INVALID;
	}
	j.facts.valid = valid == VALIDATE_OK;
	switch (verdict_decide(&j.facts)) {
	case VERDICT_STORE:
	case VERDICT_STORE_SPAM:
		if (j.spooled)
			spool_keep(c, &j, key, fp, NULL);
		else
			store_keep(c, &j, key, fp);
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
