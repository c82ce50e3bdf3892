/* outbox_policy: the outbox's pure rules: backoff, lease, verdict, routing. */
#include <string.h>
#include <strings.h>

#include "mail.h"
#include "outbox.h"

long
outbox_backoff(long attempt, long retry_min, long retry_max)
{
	long d = retry_min;

	if (retry_min < 1)
		d = 1;
	if (retry_max < d)
		return d;
	for (long i = 1; i < attempt; i++) {
		if (d > retry_max / 2)
			return retry_max;
		d *= 2;
	}
	return d < retry_max ? d : retry_max;
}

long
outbox_statement_ms(long timeout)
{
	return timeout * 250 < 1000 ? 1000 : timeout * 250;
}

long
outbox_lease(long timeout, long retry_max)
{
	long margin = retry_max / 2;
	/* A message's work: the claim (the lease runs from its start), its
	 * routes and its record, a statement each, and one SMTP transaction
	 * (the fresh-connection retry shares it), QUIT included. Never less
	 * than 2 x timeout, as before. The margin keeps a dead mailer's
	 * message within that + retry_max. */
	long work = (3 * outbox_statement_ms(timeout) + timeout * 1000 +
	    OUTBOX_SMTP_OVERRUN_MS + 999) / 1000;

	if (work < 2 * timeout)
		work = 2 * timeout;
	if (margin > 60)
		margin = 60;
	return work + margin;
}

enum outbox_outcome
outbox_verdict(bool delivered, long smtp_code, bool in_transaction,
    long age, long give_up_after)
{
	if (delivered)
		return OUTBOX_SENT;
	/* A 5xx before MAIL FROM (a greeting, EHLO or AUTH refused) says
	 * nothing about this message; it is our set-up's problem. So is a
	 * 530 to MAIL FROM (authentication required, RFC 4954): the server
	 * wants credentials we did not give, whatever the message. */
	if (in_transaction && smtp_code >= 500 && smtp_code <= 599 &&
	    smtp_code != 530)
		return OUTBOX_DEAD;
	if (age >= give_up_after)
		return OUTBOX_DEAD;
	return OUTBOX_RETRY;
}

/* Adds addr to the envelope unless it is there already; false if so. */
static bool
route_envelope(struct outbox_rcpts *r, const char *addr)
{
	for (size_t i = 0; i < r->nall; i++)
		if (strcasecmp(r->all[i], addr) == 0)
			return false;
	r->all[r->nall++] = addr;
	return true;
}

static void
route_add(struct outbox_rcpts *r, const char *addr, const char *kind)
{
	const char **list;
	size_t *n;

	if (strcmp(kind, "cc") == 0)
		list = r->cc, n = &r->ncc;
	else if (strcmp(kind, "bcc") == 0)
		list = r->bcc, n = &r->nbcc;
	else if (strcmp(kind, "to") == 0)
		list = r->to, n = &r->nto;
	else {
		r->skipped++;
		return;
	}
	if (!text_email_route(addr) || *n >= OUTBOX_MAX_RCPTS) {
		r->skipped++;
		return;
	}
	if (route_envelope(r, addr))
		list[(*n)++] = addr;
}

/* Splits default_to into `spare` and adds each address as a To. */
static void
route_default(struct outbox_rcpts *r, const char *default_to)
{
	char *p = r->spare;
	size_t n = strlen(default_to);

	if (n >= sizeof(r->spare))
		n = sizeof(r->spare) - 1;
	memcpy(r->spare, default_to, n);
	r->spare[n] = '\0';
	r->fallback = true;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ", ;\t");
		len = strcspn(p, ", ;\t");
		if (len == 0)
			break;
		if (p[len] != '\0')
			p[len++] = '\0';
		route_add(r, p, "to");
		p += len;
	}
}

size_t
outbox_route(struct outbox_rcpts *r, const char *const *emails,
    const char *const *kinds, size_t n, const char *default_to)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		route_add(r, emails[i], kinds[i]);
	if (r->nall == 0)
		route_default(r, default_to ? default_to : "");
	return r->nall;
}
