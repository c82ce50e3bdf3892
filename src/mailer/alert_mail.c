/* alert_mail: alert.c's pure parts: [mail] alert_to read, and the digest
 * as RFC 5322/MIME text, made with mail.c's blocks. It carries no patient
 * data: references, location names, times, attempts, the SMTP replies and
 * console links. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "common/reference.h"

int
alert_message_id(char *out, size_t size, const char *from, time_t t,
    uint64_t nonce)
{
	char addr[TEXT_ADDR_MAX + 1];
	const char *at;
	int n;

	if (text_addr_spec(from, addr, sizeof(addr)) == -1 ||
	    (at = strrchr(addr, '@')) == NULL)
		return -1;
	n = snprintf(out, size, "<frontdesk-alert.%lld.%016" PRIx64 "%s>",
	    (long long)t, nonce, at);
	if (n < 0 || (size_t)n >= size || !mail_message_id_valid(out))
		return -1;
	return 0;
}

int
alert_init(struct alert *a, const struct config *cfg)
{
	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	if (cfg->mail_alert_to[0] == '\0')
		return 0;
	/* The same reading as default_to: plain addresses, separated by
	 * commas or spaces; anything else is refused at start-up. */
	route_resolve(&a->rc, NULL, NULL, 0, cfg->mail_alert_to);
	if (a->rc.skipped > 0 || a->rc.nall == 0)
		return -1;
	a->enabled = true;
	return 0;
}

void
alert_soon(struct alert *a)
{
	a->next_check_ms = 0;
}

void
alert_free(struct alert *a)
{
	buf_free(&a->msg);
}

/* "Label:   value" with the value cleaned to one line. */
static void
alert_field(struct buf *b, const char *label, const char *value)
{
	buf_printf(b, "  %-10s", label);
	if (value == NULL || *value == '\0')
		buf_adds(b, "(none)");
	else
		mail_clean_text(b, value, false);
	buf_addc(b, '\n');
}

static void
alert_death_text(struct buf *b, const struct alert_msg *a,
    const struct alert_death *d)
{
	char when[128], n[24];

	buf_adds(b, d->reference);
	buf_adds(b, "  ");
	mail_clean_text(b, d->location, false);
	buf_addc(b, '\n');
	mail_time(when, sizeof(when), d->died, a->zone);
	alert_field(b, "Died:", when);
	snprintf(n, sizeof(n), "%d", d->attempts);
	alert_field(b, "Attempts:", n);
	alert_field(b, "Reply:", d->reply);
	if (d->status != NULL && strcmp(d->status, "dead") != 0)
		alert_field(b, "Now:", strcmp(d->status, "sent") == 0 ?
		    "sent (retried since)" : "pending (retried since)");
	if (a->console_url != NULL && *a->console_url != '\0') {
		buf_printf(b, "  %-10s%srequests/%s\n", "Console:",
		    a->console_url, d->reference);
	} else
		buf_printf(b, "  %-10sfrontdeskctl request show %s\n", "Details:",
		    d->reference);
	buf_addc(b, '\n');
}

static void
alert_body(struct buf *b, const struct alert_msg *a)
{
	buf_printf(b, "%zu %s could not be delivered to the front desk.\n\n",
	    a->total, a->total == 1 ? "notification" : "notifications");
	buf_adds(b, "Each was refused by the SMTP server (a 5xx reply) or still "
	    "not sent after\n[mail] give_up_after: nobody at the front desk "
	    "has been told of its\nrequest. Open each request and contact the "
	    "patient; then fix the cause\nthe reply names and put the mail back "
	    "in line:\n    frontdeskctl outbox retry --all-dead\n\n");
	for (size_t i = 0; i < a->n; i++)
		alert_death_text(b, a, &a->deaths[i]);
	if (a->total > a->n)
		buf_printf(b, "... and %zu more: frontdeskctl outbox list "
		    "--status dead\n\n", a->total - a->n);
	buf_printf(b, "-- \nfrontdesk-mailer. This alert carries no patient "
	    "data. Alerts come at\nmost every %ld seconds ([mail] "
	    "alert_interval): deaths meanwhile wait\nfor the next digest.\n",
	    a->interval);
}

enum mail_result
alert_compose(struct buf *out, const struct alert_msg *a, const char **why)
{
	struct buf subject = { 0 }, text = { 0 };
	char date[64];

	*why = NULL;
	if (a->n == 0 || a->total < a->n)
		*why = "no deaths";
	else if (!mail_message_id_valid(a->message_id))
		*why = "bad Message-ID";
	else if (a->console_url != NULL && *a->console_url != '\0' &&
	    !text_console_url(a->console_url))
		*why = "bad [mail] console_url";
	else if (a->nto == 0)
		*why = "no [mail] alert_to";
	for (size_t i = 0; *why == NULL && i < a->n; i++)
		if (a->deaths[i].reference == NULL ||
		    !reference_valid(a->deaths[i].reference))
			*why = "bad reference";
	if (*why != NULL)
		return MAIL_UNSENDABLE;
	mail_date(date, sizeof(date), a->date);
	buf_printf(out, "Date: %s\r\n", date);
	if (mail_header_from(out, a->from) == -1)
		*why = "bad [smtp] from";
	else if (mail_header_addrs(out, "To", a->to, a->nto) == -1)
		*why = "bad [mail] alert_to";
	if (*why != NULL)
		return MAIL_UNSENDABLE;
	buf_printf(&subject, "frontdesk: %zu %s could not be delivered",
	    a->total, a->total == 1 ? "message" : "messages");
	if (buf_str(&subject) != NULL)
		mail_header_text(out, "Subject", subject.p, false);
	else
		out->failed = true;
	buf_free(&subject);
	buf_printf(out, "Message-ID: %s\r\n", a->message_id);
	buf_adds(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n");
	buf_printf(out, "X-Frontdesk-Alert: %zu\r\n\r\n", a->total);
	alert_body(&text, a);
	if (text.failed)
		out->failed = true;
	else
		mail_qp(out, text.p, text.len);
	buf_free(&text);
	if (out->failed) {
		*why = "out of memory";
		return MAIL_NOMEM;
	}
	return MAIL_OK;
}
