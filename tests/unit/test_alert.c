/* Unit tests for alert_mail.c: the digest that [mail] alert_to receives
 * (headers, CRLF, line lengths, what it lists, what it never carries) and
 * the reading of alert_to. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "tap.h"
#include "../common/strcount.h"

static const char *const to2[] = { "alerts@clinic.example",
    "oncall@clinic.example" };
#define FROM "In Touch NYC Physical Therapy <appointments@clinic.example>"
#define URL "https://staff.clinic.example/console/"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The body after the blank line, quoted-printable decoded, "\n" lines. */
static char *
body_of(const char *msg)
{
	const char *s = strstr(msg, "\r\n\r\n");
	char *out, *o;

	if (s == NULL)
		return strdup("");
	s += 4;
	out = o = malloc(strlen(s) + 1);
	while (*s) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n')
			s += 3;
		else if (s[0] == '=' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			*o++ = '\n';
			s += 2;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

/* CRLF only, no line over 78 bytes, 7-bit throughout. */
static bool
well_formed(const char *msg)
{
	size_t col = 0;

	for (const char *p = msg; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			return false;
		if (*p == '\r') {
			if (p[1] != '\n')
				return false;
			p++;
			col = 0;
			continue;
		}
		if (*p == '\n' || ++col > 78)
			return false;
	}
	return true;
}

/* The value of header name (unfolded), or NULL. */
static char *
header(const char *msg, const char *name)
{
	size_t n = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	char *out;
	size_t o = 0;

	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") + 2) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			out = malloc(strlen(p) + 1);
			for (p += n + 1; *p == ' '; p++)
				;
			while (p < end) {
				if (p[0] == '\r' && p[1] == '\n' &&
				    (p[2] == ' ' || p[2] == '\t'))
					p += 2;
				else if (p[0] == '\r')
					break;
				else
					out[o++] = *p++;
			}
			out[o] = '\0';
			return out;
		}
	}
	return NULL;
}

static struct alert_death deaths[3] = {
	{ "FD-ABCDEFGH", "Midtown Manhattan",
	    "550 5.1.1 <midtown.desk@clinic.example>: mailbox unavailable",
	    "dead", 1715090580, 1 },
	{ "FD-7K2M9QXA", "Woodbury, Long Island",
	    "no recipients: the location has no routes and [mail] default_to "
	    "is empty", "pending", 1715090600, 9 },
	{ "FD-0123456J", "Caf\xc3\xa9 Montr\xc3\xa9" "al",
	    "554 5.6.0 bad\r\nInjected: header\x01", "dead", 1715090700, 2 },
};

static struct alert_msg
base(size_t n)
{
	struct alert_msg a = {
		.from = FROM, .message_id = "<frontdesk-alert.1.ab@clinic.example>",
		.date = 1715090800, .console_url = URL, .zone = "UTC",
		.interval = 600, .to = to2, .nto = 2, .deaths = deaths, .n = n,
		.total = n,
	};
	return a;
}

static void
test_digest(void)
{
	struct buf b = { 0 };
	struct alert_msg a = base(3);
	const char *why = "x";
	char *body, *subject, *to;

	tap_ok(alert_compose(&b, &a, &why) == MAIL_OK && why == NULL,
	    "three deaths compose");
	tap_ok(well_formed(b.p), "CRLF lines of at most 78 bytes, 7-bit");
	subject = header(b.p, "Subject");
	tap_ok(subject && strcmp(subject,
	    "frontdesk: 3 messages could not be delivered") == 0,
	    "Subject counts them: %s", subject ? subject : "(none)");
	to = header(b.p, "To");
	tap_ok(to && strcmp(to, "alerts@clinic.example, oncall@clinic.example")
	    == 0, "To: every alert_to address: %s", to ? to : "(none)");
	tap_ok(strstr(b.p, "\r\nFrom: In Touch NYC Physical Therapy "
	    "<appointments@clinic.example>\r\n") != NULL, "From: [smtp] from");
	tap_ok(strstr(b.p, "\r\nMessage-ID: <frontdesk-alert.1.ab@clinic.example>"
	    "\r\n") != NULL && strstr(b.p, "\r\nAuto-Submitted: auto-generated"
	    "\r\n") != NULL && strstr(b.p, "\r\nContent-Type: text/plain; "
	    "charset=UTF-8\r\n") != NULL, "Message-ID, Auto-Submitted, text/plain");
	body = body_of(b.p);
	tap_ok(strstr(body, "FD-ABCDEFGH  Midtown Manhattan\n") != NULL &&
	    strstr(body, "  Reply:    550 5.1.1 <midtown.desk@clinic.example>: "
	    "mailbox unavailable\n") != NULL && strstr(body, "  Attempts: 1\n")
	    != NULL && strstr(body, "  Died:     2024-05-07 14:03:00 UTC") !=
	    NULL, "a death: reference, location, when, attempts, reply");
	tap_ok(strstr(body, "  Console:  " URL "requests/FD-ABCDEFGH\n") != NULL &&
	    strcount(body, URL "requests/") == 3, "one console link per death");
	tap_ok(strstr(body, "FD-0123456J  Caf\xc3\xa9 Montr\xc3\xa9" "al\n") !=
	    NULL, "a non-ASCII location name, as UTF-8 in the text");
	tap_ok(strstr(body, "554 5.6.0 bad Injected: header \n") == NULL &&
	    strstr(body, "  Reply:    554 5.6.0 bad Injected: header\n") != NULL
	    && strchr(body, '\x01') == NULL && strstr(b.p, "\r\nInjected:")
	    == NULL, "a reply's line breaks and controls become spaces");
	tap_ok(strstr(body, "  Now:      pending (retried since)\n") != NULL &&
	    strcount(body, "  Now:") == 1, "a death retried since says so");
	tap_ok(strstr(body, "... and") == NULL, "nothing more to count");
	free(body);
	free(subject);
	free(to);
	buf_free(&b);
}

static void
test_one_and_more(void)
{
	struct buf b = { 0 };
	struct alert_msg a = base(1);
	const char *why;
	char *body, *subject;

	tap_ok(alert_compose(&b, &a, &why) == MAIL_OK, "one death composes");
	subject = header(b.p, "Subject");
	tap_ok(subject && strcmp(subject,
	    "frontdesk: 1 message could not be delivered") == 0,
	    "Subject in the singular: %s", subject ? subject : "(none)");
	free(subject);
	buf_reset(&b);
	a.total = 120;
	tap_ok(alert_compose(&b, &a, &why) == MAIL_OK, "1 listed of 120");
	body = body_of(b.p);
	subject = header(b.p, "Subject");
	tap_ok(subject && strstr(subject, " 120 messages ") && body &&
	    strstr(body, "... and 119 more: frontdeskctl outbox list --status "
	    "dead\n") != NULL, "the rest counted, and where to see them");
	free(body);
	free(subject);
	buf_reset(&b);
	a.total = 1;
	a.console_url = "";
	tap_ok(alert_compose(&b, &a, &why) == MAIL_OK, "no console_url");
	body = body_of(b.p);
	tap_ok(strstr(body, "  Details:  frontdeskctl request show FD-ABCDEFGH\n")
	    != NULL && strstr(body, "Console:") == NULL,
	    "without console_url: the command instead of a link");
	free(body);
	buf_free(&b);
}

static void
test_refused(void)
{
	struct buf b = { 0 };
	struct alert_msg a = base(1);
	struct alert_death bad = deaths[0];
	const char *why;

	a.n = 0;
	tap_ok(alert_compose(&b, &a, &why) == MAIL_UNSENDABLE,
	    "no deaths: no digest");
	a = base(1);
	a.nto = 0;
	tap_ok(alert_compose(&b, &a, &why) == MAIL_UNSENDABLE && why &&
	    strstr(why, "alert_to"), "no recipient: refused");
	a = base(1);
	a.message_id = "<no at sign>";
	tap_ok(alert_compose(&b, &a, &why) == MAIL_UNSENDABLE,
	    "a bad Message-ID: refused");
	a = base(1);
	bad.reference = "FD-ABC\r\nBcc: x@y";
	a.deaths = &bad;
	tap_ok(alert_compose(&b, &a, &why) == MAIL_UNSENDABLE,
	    "a bad reference: refused");
	a = base(1);
	a.console_url = "javascript:alert(1)//";
	tap_ok(alert_compose(&b, &a, &why) == MAIL_UNSENDABLE,
	    "a bad console_url: refused");
	buf_free(&b);
}

static void
test_message_id(void)
{
	char id[128];

	tap_ok(alert_message_id(id, sizeof(id), FROM, 1715090800,
	    0x0123456789abcdefULL) == 0 && strcmp(id,
	    "<frontdesk-alert.1715090800.0123456789abcdef@clinic.example>") ==
	    0, "Message-ID on the From domain: %s", id);
	tap_ok(alert_message_id(id, sizeof(id), "no address here", 1, 1) == -1,
	    "no address in From: -1");
	tap_ok(alert_message_id(id, 20, FROM, 1, 1) == -1, "too small: -1");
}

static void
test_alert_to(void)
{
	static struct config cfg;
	struct alert a;

	tap_ok(alert_init(&a, &cfg) == 0 && !a.enabled, "empty: no alerts");
	strcpy(cfg.mail_alert_to, "alerts@clinic.example, oncall@clinic.example");
	tap_ok(alert_init(&a, &cfg) == 0 && a.enabled && a.rc.nto == 2 &&
	    a.rc.nall == 2 && strcmp(a.rc.to[1], "oncall@clinic.example") == 0,
	    "two addresses");
	strcpy(cfg.mail_alert_to, "Ops <ops@clinic.example>");
	tap_ok(alert_init(&a, &cfg) == -1, "a display name: refused");
	strcpy(cfg.mail_alert_to, "ops@clinic.example, not-an-address");
	tap_ok(alert_init(&a, &cfg) == -1, "one bad address: refused");
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_digest();
	test_one_and_more();
	test_refused();
	test_message_id();
	test_alert_to();
	return tap_done();
}
