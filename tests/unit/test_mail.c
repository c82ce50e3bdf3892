/* Unit tests for mail.c: headers, RFC 2047, quoted-printable, injection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail.h"
#include "tap.h"
#include "text.h"
#include "common/zone.h"
#include "../common/strcount.h"

#define MAXH 32

/* A composed message taken apart again: unfolded headers and the body. */
struct parsed {
	char *names[MAXH];
	char *values[MAXH];   /* unfolded, raw (still encoded) */
	size_t n;
	char *body;           /* quoted-printable decoded */
	int longest;          /* longest line, CRLF excluded */
	int bad_eol;          /* a CR or LF that is not part of CRLF */
};

static const char *const to1[] = { "desk@clinic.example" };
static const char *const to2[] = { "desk@clinic.example",
    "manager@clinic.example" };
static const char *const cc1[] = { "records@clinic.example" };

static struct mail_msg
base_msg(void)
{
	struct mail_msg m = {
		.from = "In Touch NYC Physical Therapy <appointments@clinic.example>",
		.message_id = "<FD-ABCDEFGH.1234@clinic.example>",
		.date = 1715090580,
		.to = to2, .nto = 2, .cc = cc1, .ncc = 1,
		.reference = "FD-ABCDEFGH",
		.location = "Midtown Manhattan",
		.first_name = "Ada", .last_name = "Lovelace",
		.email = "ada@example.org", .phone = "+1 212 555 0100",
		.service = "Physical therapy", .preferred_time = "Mornings",
		.message = "Lower back pain.\nSince May.",
		.consent = true, .received = 1715090000,
	};
	return m;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *
qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

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

static int
b64val(char c)
{
	const char *a =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* Decodes one encoded word's payload into o; returns bytes or -1. */
static int
ew_payload(char enc, const char *s, size_t n, char *o)
{
	int len = 0;

	if (enc == 'Q') {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '_')
				o[len++] = ' ';
			else if (s[i] == '=' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0
			    && hexval(s[i + 2]) >= 0) {
				o[len++] = (char)(hexval(s[i + 1]) * 16 +
				    hexval(s[i + 2]));
				i += 2;
			} else if (s[i] == '=' || s[i] == '?' || s[i] == ' ')
				return -1;
			else
				o[len++] = s[i];
		}
		return len;
	}
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int j = 0; j < 4; j++)
			v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
			return -1;
		o[len++] = (char)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			o[len++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			o[len++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	return len;
}

/*
 * RFC 2047 decoding of an unfolded header value: white space between two
 * encoded words vanishes. Sets *bad when a word is malformed, longer than
 * 75 bytes, or holds a partial UTF-8 sequence (a split character).
 */
static char *
rfc2047_decode(const char *v, int *bad)
{
	char *out = calloc(1, strlen(v) * 3 + 1), *o = out, *pending_ws = NULL;
	size_t pending_n = 0;
	int prev_ew = 0;

	*bad = 0;
	while (*v) {
		size_t ws = strspn(v, " \t"), wl;
		const char *w = v + ws;

		wl = strcspn(w, " \t");
		pending_ws = (char *)v;
		pending_n = ws;
		if (wl == 0) {
			memcpy(o, v, ws);
			o += ws;
			break;
		}
		if (wl > 12 && strncmp(w, "=?", 2) == 0 &&
		    strncmp(w + wl - 2, "?=", 2) == 0) {
			char enc, tmp[256];
			int n;

			if (wl > 75)
				*bad = 1;
			if (strncasecmp(w, "=?UTF-8?", 8) != 0 || w[9] != '?') {
				*bad = 1;
				break;
			}
			enc = w[8];
			n = ew_payload(enc, w + 10, wl - 12, tmp);
			if (n < 0 || !text_utf8_valid(tmp, (size_t)n)) {
				*bad = 1;
				break;
			}
			if (!prev_ew) {
				memcpy(o, pending_ws, pending_n);
				o += pending_n;
			}
			memcpy(o, tmp, (size_t)n);
			o += n;
			prev_ew = 1;
		} else {
			memcpy(o, pending_ws, pending_n);
			o += pending_n;
			memcpy(o, w, wl);
			o += wl;
			prev_ew = 0;
		}
		v = w + wl;
	}
	*o = '\0';
	/* The leading space after "Name:" is not part of the value. */
	if (out[0] == ' ')
		memmove(out, out + 1, strlen(out));
	return out;
}

static void
parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	free(p->body);
	memset(p, 0, sizeof(*p));
}

static void
check_lines(struct parsed *p, const char *s)
{
	int col = 0;

	for (const char *c = s; *c; c++) {
		if (*c == '\r' && c[1] == '\n') {
			if (col > p->longest)
				p->longest = col;
			col = 0;
			c++;
		} else if (*c == '\r' || *c == '\n')
			p->bad_eol++;
		else
			col++;
	}
	if (col > p->longest)
		p->longest = col;
}

/* Splits at the blank line, unfolds the headers, decodes the body. */
static int
parse(const char *msg, struct parsed *p)
{
	const char *end = strstr(msg, "\r\n\r\n"), *s = msg;

	memset(p, 0, sizeof(*p));
	check_lines(p, msg);
	if (end == NULL)
		return -1;
	while (s < end + 2 && p->n < MAXH) {
		const char *colon = strchr(s, ':'), *e = s;
		char *v;
		size_t o = 0;

		if (colon == NULL || colon > end || *s == ' ' || *s == '\t')
			return -1;
		/* the logical line runs until a CRLF not followed by WSP */
		while (!(e[0] == '\r' && e[1] == '\n' && e[2] != ' ' &&
		    e[2] != '\t'))
			e++;
		p->names[p->n] = strndup(s, (size_t)(colon - s));
		v = malloc((size_t)(e - colon) + 1);
		for (const char *c = colon + 1; c < e; c++)
			if (*c != '\r' && *c != '\n')
				v[o++] = *c;
		v[o] = '\0';
		p->values[p->n++] = v;
		s = e + 2;
	}
	p->body = qp_decode(end + 4);
	return 0;
}

static const char *
header(const struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->names[i], name) == 0)
			return p->values[i];
	return NULL;
}

static int
count_header(const struct parsed *p, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += strcasecmp(p->names[i], name) == 0;
	return n;
}

static const char *const expected_headers[] = { "Date", "From", "To", "Cc",
    "Reply-To", "Subject", "Message-ID", "MIME-Version", "Content-Type",
    "Content-Transfer-Encoding", "Auto-Submitted", "X-Frontdesk-Reference" };
#define NEXPECTED (sizeof(expected_headers) / sizeof(expected_headers[0]))

/* Exactly the expected headers, each once: nothing added by the form. */
static int
headers_exact(const struct parsed *p, bool reply_to)
{
	size_t want = NEXPECTED - (reply_to ? 0 : 1);

	if (p->n != want)
		return 0;
	for (size_t i = 0; i < NEXPECTED; i++) {
		int n = count_header(p, expected_headers[i]);

		if (n != ((!reply_to && strcmp(expected_headers[i],
		    "Reply-To") == 0) ? 0 : 1))
			return 0;
	}
	return 1;
}

static int
compose(const struct mail_msg *m, struct parsed *p, struct buf *raw)
{
	const char *why;

	buf_reset(raw);
	if (mail_compose(raw, m, &why) == -1)
		return -1;
	return parse(buf_str(raw), p);
}

/* Header text by example: bare words stay bare, the rest is encoded. */
static const struct {
	const char *value;
	bool phrase;
	const char *want;
} texts[] = {
	{ "Hello world", false, "Subject: Hello world\r\n" },
	{ "  Hello \t  world  ", false, "Subject: Hello world\r\n" },
	{ "Caf\xc3\xa9 au lait", false,
	  "Subject: =?UTF-8?Q?Caf=C3=A9?= au lait\r\n" },
	{ "au caf\xc3\xa9 cr\xc3\xa8me", false,
	  "Subject: au =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=\r\n" },
	{ "a =?UTF-8?Q?b?= c", false,
	  "Subject: a =?UTF-8?Q?=3D=3FUTF-8=3FQ=3Fb=3F=3D?= c\r\n" },
	{ "Ada Lovelace", true, "Subject: =?UTF-8?Q?Ada_Lovelace?=\r\n" },
	{ "\xe7\x8e\x8b", true, "Subject: =?UTF-8?B?546L?=\r\n" },
	{ "line\r\nBcc: x@y", false,
	  "Subject: line Bcc: x@y\r\n" },
	{ "", false, "Subject:\r\n" },
};

static void
test_header_text(void)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct buf b = { 0 };

		mail_header_text(&b, "Subject", texts[i].value, texts[i].phrase);
		tap_ok(buf_str(&b) && strcmp(b.p, texts[i].want) == 0,
		    "header text %zu", i);
		buf_free(&b);
	}
}

static void
test_basic(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	char *subj;
	int bad;

	tap_ok(compose(&m, &p, &raw) == 0, "basic: composes and parses");
	tap_ok(headers_exact(&p, true), "basic: exactly the expected headers");
	tap_ok(p.bad_eol == 0, "basic: CRLF everywhere");
	tap_ok(p.longest <= 78, "basic: longest line %d <= 78", p.longest);
	tap_ok(strcmp(header(&p, "From"),
	    " In Touch NYC Physical Therapy <appointments@clinic.example>") == 0,
	    "basic: From %s", header(&p, "From"));
	tap_ok(strcmp(header(&p, "To"),
	    " desk@clinic.example, manager@clinic.example") == 0,
	    "basic: To lists the to routes");
	tap_ok(strcmp(header(&p, "Cc"), " records@clinic.example") == 0,
	    "basic: Cc lists the cc routes");
	tap_ok(strstr(buf_str(&raw), "\r\nBcc:") == NULL, "basic: no Bcc header");
	subj = rfc2047_decode(header(&p, "Subject"), &bad);
	tap_ok(!bad && strcmp(subj, "Appointment request FD-ABCDEFGH "
	    "\xe2\x80\x93 Midtown Manhattan") == 0, "basic: Subject decodes to "
	    "'%s'", subj);
	tap_ok(strstr(header(&p, "Subject"), "FD-ABCDEFGH") != NULL,
	    "basic: reference readable in the raw Subject");
	free(subj);
	tap_ok(strcmp(header(&p, "Message-ID"),
	    " <FD-ABCDEFGH.1234@clinic.example>") == 0, "basic: Message-ID "
	    "from the row");
	tap_ok(strcmp(header(&p, "Content-Type"),
	    " text/plain; charset=UTF-8") == 0, "basic: text/plain UTF-8");
	tap_ok(strcmp(header(&p, "Content-Transfer-Encoding"),
	    " quoted-printable") == 0, "basic: quoted-printable");
	subj = rfc2047_decode(header(&p, "Reply-To"), &bad);
	tap_ok(!bad && strcmp(subj, "Ada Lovelace <ada@example.org>") == 0,
	    "basic: Reply-To is the submitter: %s", subj);
	free(subj);
	tap_ok(strstr(p.body, "Name:           Ada Lovelace\n") &&
	    strstr(p.body, "Email:          ada@example.org\n") &&
	    strstr(p.body, "Phone:          +1 212 555 0100\n") &&
	    strstr(p.body, "Location:       Midtown Manhattan\n") &&
	    strstr(p.body, "Service:        Physical therapy\n") &&
	    strstr(p.body, "Preferred time: Mornings\n") &&
	    strstr(p.body, "Consent:        yes\n") &&
	    strstr(p.body, "Reference:      FD-ABCDEFGH\n") &&
	    strstr(p.body, "Received:       2024-05-07 13:53:20 UTC (UTC+00:00)\n") &&
	    strstr(p.body, "Message:\nLower back pain.\nSince May.\n"),
	    "basic: the body lists every field");
	tap_ok(strcmp(header(&p, "Date"), " Tue, 07 May 2024 14:03:00 +0000")
	    == 0, "basic: Date %s", header(&p, "Date"));
	parsed_free(&p);
	buf_free(&raw);
}

static void
test_recipients(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	const char *bad_to[] = { "desk@clinic.example\r\nBcc: x@evil.example" };

	m.nto = 0;
	m.ncc = 0;
	tap_ok(compose(&m, &p, &raw) == 0 &&
	    strcmp(header(&p, "To"), " undisclosed-recipients:;") == 0 &&
	    count_header(&p, "Cc") == 0, "bcc only: To undisclosed, no Cc");
	parsed_free(&p);
	m.to = to1;
	m.nto = 1;
	tap_ok(compose(&m, &p, &raw) == 0 && count_header(&p, "Cc") == 0,
	    "no cc: no Cc header");
	parsed_free(&p);
	m.to = bad_to;
	tap_ok(compose(&m, &p, &raw) == -1, "recipient with CRLF refused");
	buf_free(&raw);
}

/* Names: each decodes back exactly, encoded words never split a char. */
static const char *const names[][2] = {
	{ "Jos\xc3\xa9", "\xc5\x81ukasz \xe7\x8e\x8b" },
	{ "Ada", "Lovelace" },
	{ "=?UTF-8?Q?Evil?=", "O'Brien-Smith" },
	{ "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"
	  "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"
	  "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"
	  "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"
	  "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b",
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80" },
	{ "\"Quoted\" <x@evil.example>,", "(comment) ; : @ [ ] \\" },
	{ "A\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	  "x" },
};

static void
test_names(void)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mail_msg m = base_msg();
		struct buf raw = { 0 }, want = { 0 };
		struct parsed p;
		char *got;
		int bad;

		m.first_name = names[i][0];
		m.last_name = names[i][1];
		buf_printf(&want, "%s %s <ada@example.org>", names[i][0],
		    names[i][1]);
		if (compose(&m, &p, &raw) != 0) {
			tap_ok(0, "name %zu composes", i);
			continue;
		}
		got = rfc2047_decode(header(&p, "Reply-To"), &bad);
		tap_ok(!bad && strcmp(got, want.p) == 0, "name %zu: Reply-To "
		    "round-trips (%s)", i, got);
		tap_ok(headers_exact(&p, true) && p.longest <= 76 &&
		    p.bad_eol == 0, "name %zu: no extra header, lines %d <= 76",
		    i, p.longest);
		tap_ok(strstr(p.body, names[i][0]) != NULL, "name %zu: in the "
		    "body", i);
		free(got);
		parsed_free(&p);
		buf_free(&raw);
		buf_free(&want);
	}
}

/* Location names (admin data) of every shape: the Subject round-trips. */
static const char *const locations[] = {
	"Woodbury, Long Island",
	"Financial District",
	"S\xc3\xa3o Paulo \xe2\x80\x93 Centro",
	"A very long location name that goes on and on past the fold column "
	"of seventy-eight characters and then some more words still to come "
	"and more after that to reach nearly two hundred",
	"Averylongwordwithoutanyspacesatallthatcannotbefoldedatwhitespaceok"
	"andgoesonandonandonandonandon",
	"\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4"
	"\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d"
	"\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac"
	"\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4"
	"\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d\xb1\xe4\xba\xac\xe6\x9d"
	"\xb1\xe4\xba\xac \xe6\x9d\xb1\xe4\xba\xac mixed \xc3\xa9t\xc3\xa9",
	"=?UTF-8?B?SGk=?= looks encoded",
};

static void
test_subjects(void)
{
	for (size_t i = 0; i < sizeof(locations) / sizeof(locations[0]); i++) {
		struct mail_msg m = base_msg();
		struct buf raw = { 0 }, want = { 0 };
		struct parsed p;
		char *got;
		int bad;

		m.location = locations[i];
		buf_printf(&want, "Appointment request FD-ABCDEFGH \xe2\x80\x93 %s",
		    locations[i]);
		if (compose(&m, &p, &raw) != 0) {
			tap_ok(0, "location %zu composes", i);
			continue;
		}
		got = rfc2047_decode(header(&p, "Subject"), &bad);
		tap_ok(!bad && strcmp(got, want.p) == 0, "subject %zu "
		    "round-trips: %s", i, got);
		tap_ok(p.longest <= 76 && headers_exact(&p, true),
		    "subject %zu: lines %d <= 76, no extra header", i, p.longest);
		free(got);
		parsed_free(&p);
		buf_free(&raw);
		buf_free(&want);
	}
}

/* Header injection: every text field, every line-break trick. */
static const char *const attacks[] = {
	"x\r\nBcc: victim@evil.example",
	"x\nBcc: victim@evil.example",
	"x\rBcc: victim@evil.example",
	"x\r\n\r\nInjected body",
	"x\r\n X-Continued: folded",
	"x\xc2\x85X-NEL: next line",
	"x\xe2\x80\xa8X-LS: line separator",
	"x\xe2\x80\xa9X-PS: paragraph separator",
	"x\0\r\nBcc: victim@evil.example",
	"x\r\nTo: victim@evil.example\r\nSubject: hi",
	"=?UTF-8?Q?a=0D=0ABcc:_victim@evil.example?=",
};

enum field { F_FIRST, F_LAST, F_EMAIL, F_PHONE, F_SERVICE, F_TIME,
    F_MESSAGE, F_LOCATION, F_NFIELDS };
static const char *const field_names[] = { "first_name", "last_name",
    "email", "phone", "service", "preferred_time", "message", "location" };

static void
set_field(struct mail_msg *m, enum field f, const char *v)
{
	const char **slot[] = { &m->first_name, &m->last_name, &m->email,
	    &m->phone, &m->service, &m->preferred_time, &m->message,
	    &m->location };

	*slot[f] = v;
}

/* To, Cc and From exactly as configured: the form added no recipient. */
static int
recipients_intact(const struct parsed *p)
{
	return strcmp(header(p, "To"),
	    " desk@clinic.example, manager@clinic.example") == 0 &&
	    strcmp(header(p, "Cc"), " records@clinic.example") == 0 &&
	    strcmp(header(p, "From"), " In Touch NYC Physical Therapy "
	    "<appointments@clinic.example>") == 0;
}

/* Decoded, every header is still one line: no CR, LF, NEL, LS or PS was
 * encoded in. */
static int
decoded_one_line(const struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		int bad;
		char *v = rfc2047_decode(p->values[i], &bad);
		int ok = !bad && strpbrk(v, "\r\n") == NULL &&
		    strstr(v, "\xc2\x85") == NULL &&
		    strstr(v, "\xe2\x80\xa8") == NULL &&
		    strstr(v, "\xe2\x80\xa9") == NULL;

		free(v);
		if (!ok)
			return 0;
	}
	return 1;
}

static void
test_injection(void)
{
	for (int f = 0; f < F_NFIELDS; f++) {
		int failures = 0;

		for (size_t a = 0; a < sizeof(attacks) / sizeof(attacks[0]);
		    a++) {
			struct mail_msg m = base_msg();
			struct buf raw = { 0 };
			struct parsed p;
			set_field(&m, (enum field)f, attacks[a]);
			if (compose(&m, &p, &raw) != 0) {
				failures++;
				continue;
			}
			if (!headers_exact(&p, f != F_EMAIL) || p.bad_eol ||
			    !recipients_intact(&p) || !decoded_one_line(&p))
				failures++;
			parsed_free(&p);
			buf_free(&raw);
		}
		tap_ok(failures == 0, "injection in %s: no extra header or "
		    "recipient (%d failures)", field_names[f], failures);
	}
}

static void
test_minimal(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;

	m.details = MAIL_DETAILS_MINIMAL;
	m.service = "SECRET-SERVICE";
	m.preferred_time = "SECRET-TIME";
	m.message = "SECRET-MESSAGE";
	tap_ok(compose(&m, &p, &raw) == 0, "minimal: composes");
	tap_ok(strstr(buf_str(&raw), "SECRET") == NULL &&
	    strstr(p.body, "SECRET") == NULL, "minimal: no service, time or "
	    "message");
	tap_ok(strstr(p.body, "Name:           Ada Lovelace") &&
	    strstr(p.body, "Reference:      FD-ABCDEFGH") &&
	    strstr(p.body, "Phone:") && strstr(p.body, "Email:") &&
	    strstr(p.body, "Consent:") && strstr(p.body, "Received:"),
	    "minimal: still names, contacts, reference, time");
	parsed_free(&p);
	m.details = MAIL_DETAILS_FULL;
	m.email = NULL;
	m.service = m.preferred_time = m.message = NULL;
	m.consent = false;
	tap_ok(compose(&m, &p, &raw) == 0 && headers_exact(&p, false) &&
	    strstr(p.body, "Email:          (not given)") &&
	    strstr(p.body, "Consent:        no"), "no email: no Reply-To, "
	    "said in the body");
	parsed_free(&p);
	buf_free(&raw);
}

static const struct {
	const char *in, *want;
} qps[] = {
	{ "a=b", "a=3Db\r\n" },
	{ "trailing ", "trailing=20\r\n" },
	{ "tab\t\nx", "tab=09\r\nx\r\n" },
	{ ".\nlone dot", "=2E\r\nlone dot\r\n" },
	{ "From here", "=46rom here\r\n" },
	{ "caf\xc3\xa9", "caf=C3=A9\r\n" },
	{ "", "\r\n" },
	{ "a\n\nb", "a\r\n\r\nb\r\n" },
};

static void
test_qp(void)
{
	struct buf b = { 0 }, in = { 0 };
	int longest = 0, split = 0, col = 0;
	char *dec;

	for (size_t i = 0; i < sizeof(qps) / sizeof(qps[0]); i++) {
		buf_reset(&b);
		mail_qp(&b, qps[i].in, strlen(qps[i].in));
		tap_ok(strcmp(buf_str(&b), qps[i].want) == 0, "qp %zu", i);
	}
	/* A long line of two-byte characters: soft breaks, none inside. */
	for (int i = 0; i < 300; i++)
		buf_adds(&in, i % 7 ? "\xc3\xa9" : "ab= ");
	buf_reset(&b);
	mail_qp(&b, in.p, in.len);
	for (const char *c = b.p; *c; c++) {
		if (c[0] == '\r') {
			longest = col > longest ? col : longest;
			/* a soft break right after a lead byte splits it */
			if (c >= b.p + 4 && strncmp(c - 4, "=C3=", 4) == 0)
				split++;
			col = 0;
			c++;
		} else
			col++;
	}
	dec = qp_decode(b.p);
	tap_ok(longest <= 76, "qp: longest line %d <= 76", longest);
	tap_ok(split == 0, "qp: no UTF-8 sequence split by a soft break");
	tap_ok(strncmp(dec, in.p, in.len) == 0 && dec[in.len] == '\n',
	    "qp: decodes back");
	free(dec);
	buf_free(&b);
	buf_free(&in);
}

static const struct {
	const char *addr;
	bool ok;
} addrs[] = {
	{ "desk@clinic.example", true },
	{ "frontdesk@localhost", true },
	{ "a.b+c@x-y.example", true },
	{ "a@b", true },
	{ "", false },
	{ "@x.example", false },
	{ "a@", false },
	{ "a..b@x.example", false },
	{ ".a@x.example", false },
	{ "a.@x.example", false },
	{ "a b@x.example", false },
	{ "a@x.example\r\nBcc: e@evil.example", false },
	{ "a@x..example", false },
	{ "a@-x.example", false },
	{ "a@x-.example", false },
	{ "<a@x.example>", false },
	{ "a@x.example,b@y.example", false },
	{ "\"a\"@x.example", false },
	{ "a@[127.0.0.1]", false },
};

static const struct {
	const char *from, *want;
} froms[] = {
	{ "In Touch NYC <appointments@clinic.example>",
	  "appointments@clinic.example" },
	{ "appointments@clinic.example", "appointments@clinic.example" },
	{ "  appointments@clinic.example ", "appointments@clinic.example" },
	{ "\"Clinic, Inc.\" <a@clinic.example>", "a@clinic.example" },
	{ "<a@clinic.example>", "a@clinic.example" },
	{ "Name <a@clinic.example> trailing", NULL },
	{ "Name <a@clinic.example", NULL },
	{ "two words@x.example", NULL },
	{ "", NULL },
};

static void
test_addresses(void)
{
	char out[TEXT_ADDR_MAX + 1];

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		tap_ok(text_email_route(addrs[i].addr) == addrs[i].ok,
		    "address %zu %s", i, addrs[i].ok ? "valid" : "invalid");
	for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		int r = text_addr_spec(froms[i].from, out, sizeof(out));

		tap_ok(froms[i].want ? r == 0 && strcmp(out, froms[i].want) == 0
		    : r == -1, "from %zu: %s", i, froms[i].from);
	}
}

static void
test_from_rendering(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	char *got;
	int bad;

	m.from = "\"Clinic, Inc.\" <a@clinic.example>";
	tap_ok(compose(&m, &p, &raw) == 0, "quoted From composes");
	got = rfc2047_decode(header(&p, "From"), &bad);
	tap_ok(!bad && strcmp(got, "Clinic, Inc. <a@clinic.example>") == 0 &&
	    strchr(header(&p, "From"), ',') == NULL,
	    "a From name with specials is encoded: %s", header(&p, "From"));
	free(got);
	parsed_free(&p);
	m.from = "Cl\xc3\xadnica <a@clinic.example>";
	tap_ok(compose(&m, &p, &raw) == 0, "non-ASCII From composes");
	got = rfc2047_decode(header(&p, "From"), &bad);
	tap_ok(!bad && strcmp(got, "Cl\xc3\xadnica <a@clinic.example>") == 0,
	    "non-ASCII From name round-trips");
	free(got);
	parsed_free(&p);
	buf_free(&raw);
}

static void
test_refusals(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	const char *why;
	int r;

	m.message_id = "<x@y>\r\nBcc: e@evil.example";
	r = mail_compose(&raw, &m, &why);
	tap_ok(r == -1 && strcmp(why, "bad Message-ID") == 0, "Message-ID "
	    "with CRLF refused");
	m = base_msg();
	m.message_id = "no-brackets@x";
	tap_ok(mail_compose(&raw, &m, &why) == -1, "Message-ID without <> "
	    "refused");
	m = base_msg();
	m.reference = "FD-ABC\r\nX: y";
	tap_ok(mail_compose(&raw, &m, &why) == -1, "bad reference refused");
	m = base_msg();
	m.from = "Clinic <a@clinic.example>\r\nBcc: e@evil.example";
	tap_ok(mail_compose(&raw, &m, &why) == -1, "From with CRLF refused");
	buf_free(&raw);
}

static void
test_invalid_utf8(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	char *got;
	int bad;

	m.first_name = "Bad\xff\xc0\xafName";
	tap_ok(compose(&m, &p, &raw) == 0, "invalid UTF-8 composes");
	got = rfc2047_decode(header(&p, "Reply-To"), &bad);
	tap_ok(!bad && text_utf8_valid(got, strlen(got)) &&
	    strstr(got, "Bad\xef\xbf\xbd") == got, "invalid bytes become "
	    "U+FFFD: %s", got);
	free(got);
	parsed_free(&p);
	buf_free(&raw);
}

static void
test_dates(void)
{
	char d[64];

	setenv("TZ", "America/New_York", 1);
	tzset();
	mail_date(d, sizeof(d), 1715090580);
	tap_ok(strcmp(d, "Tue, 07 May 2024 10:03:00 -0400") == 0, "date EDT %s",
	    d);
	mail_date(d, sizeof(d), 1704067200);
	tap_ok(strcmp(d, "Sun, 31 Dec 2023 19:00:00 -0500") == 0, "date EST %s",
	    d);
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	mail_date(d, sizeof(d), 0);
	tap_ok(strcmp(d, "Thu, 01 Jan 1970 05:30:00 +0530") == 0, "date IST %s",
	    d);
	setenv("TZ", "UTC", 1);
	tzset();
}

/* Part k (0 or 1) of a multipart body: its headers into *hdrs and its
 * quoted-printable content decoded; NULL when the framing is wrong. */
static char *
part(const char *raw, const char *boundary, int k, char **hdrs)
{
	char delim[128], *out = NULL;
	const char *s = raw, *e, *h;

	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	for (int i = 0; i <= k; i++) {
		if ((s = strstr(s, delim)) == NULL)
			return NULL;
		s += strlen(delim);
	}
	if (strncmp(s, "\r\n", 2) != 0 || (e = strstr(s, delim)) == NULL ||
	    (h = strstr(s, "\r\n\r\n")) == NULL || h > e)
		return NULL;
	*hdrs = strndup(s + 2, (size_t)(h - s - 2));
	{
		char *qp = strndup(h + 4, (size_t)(e - h - 4));

		out = qp_decode(qp);
		free(qp);
	}
	return out;
}

static void
test_html(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 }, plain = { 0 };
	struct parsed p, pp;
	char *th = NULL, *hh = NULL, *text, *html;
	const char *b = "=_frontdesk_FD-ABCDEFGH";

	m.first_name = "<script>alert(1)</script>";
	m.last_name = "O'Brien & \"Sons\"";
	m.email = "o'brien&x@example.org";
	m.phone = "+1 (212) 555-0100";
	m.message = "a < b\n\"quoted\" & more\n<img src=x onerror=alert(1)>";
	tap_ok(compose(&m, &pp, &plain) == 0, "html: the text-only twin");
	m.html = true;
	tap_ok(compose(&m, &p, &raw) == 0, "html: composes and parses");
	tap_ok(p.bad_eol == 0 && p.longest <= 78, "html: CRLF, longest line "
	    "%d <= 78", p.longest);
	tap_ok(strcmp(header(&p, "Content-Type"), " multipart/alternative; "
	    "boundary=\"=_frontdesk_FD-ABCDEFGH\"") == 0,
	    "html: multipart/alternative: %s", header(&p, "Content-Type"));
	tap_ok(count_header(&p, "Content-Transfer-Encoding") == 0 &&
	    count_header(&p, "MIME-Version") == 1 &&
	    count_header(&p, "Reply-To") == 1 && p.n == NEXPECTED - 1,
	    "html: the same headers but the transfer encoding");
	tap_ok(strcount(buf_str(&raw), b) == 4 &&
	    strstr(raw.p, "\r\n--=_frontdesk_FD-ABCDEFGH--\r\n") != NULL &&
	    strcmp(raw.p + raw.len - strlen(b) - 6, "--=_frontdesk_FD-ABCDEFGH"
	    "--\r\n") == 0, "html: the boundary only where it belongs, closed "
	    "last");
	text = part(raw.p, b, 0, &th);
	html = part(raw.p, b, 1, &hh);
	tap_ok(text && th && strcmp(th, "Content-Type: text/plain; "
	    "charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable") == 0,
	    "html: part 1 is the text");
	tap_ok(html && hh && strcmp(hh, "Content-Type: text/html; "
	    "charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable") == 0,
	    "html: part 2, the preferred, is the HTML");
	tap_ok(text && strcmp(text, pp.body) == 0,
	    "html: the text part is the text-only body");
	tap_ok(html && strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; "
	    "O&#39;Brien &amp; &quot;Sons&quot;</td>") != NULL,
	    "html: the name escaped");
	tap_ok(html && strstr(html, "<script") == NULL &&
	    strstr(html, "<img") == NULL, "html: no markup from the form");
	tap_ok(html && strstr(html, "<a href=\"mailto:o%27brien%26x@example."
	    "org\">o&#39;brien&amp;x@example.org</a>") != NULL,
	    "html: the email a mailto: link, percent-encoded");
	tap_ok(html && strstr(html, "<a href=\"tel:+12125550100\">+1 (212) "
	    "555-0100</a>") != NULL, "html: the phone a tel: link");
	tap_ok(html && strstr(html, "<p>a &lt; b<br>\n&quot;quoted&quot; &amp; "
	    "more<br>\n&lt;img src=x onerror=alert(1)&gt;</p>") != NULL,
	    "html: the message escaped, its line breaks kept");
	tap_ok(html && strstr(html, "Midtown Manhattan") &&
	    strstr(html, "Physical therapy") && strstr(html, "Mornings") &&
	    strstr(html, "2024-05-07 13:53:20 UTC (UTC+00:00)") &&
	    strstr(html, "<title>Appointment request FD-ABCDEFGH</title>"),
	    "html: every field");
	parsed_free(&p);
	parsed_free(&pp);
	free(text), free(html), free(th), free(hh);
	th = hh = NULL;

	/* minimal: the HTML leaves out what the text leaves out */
	m.details = MAIL_DETAILS_MINIMAL;
	m.service = "SECRET-SERVICE";
	m.preferred_time = "SECRET-TIME";
	m.message = "SECRET-MESSAGE";
	m.email = "not an address";
	m.phone = "12";
	tap_ok(compose(&m, &p, &raw) == 0, "html minimal: composes");
	html = part(raw.p, b, 1, &hh);
	tap_ok(html && strstr(html, "SECRET") == NULL &&
	    strstr(raw.p, "SECRET") == NULL &&
	    strstr(html, "frontdeskctl request show FD-ABCDEFGH") != NULL,
	    "html minimal: no service, time or message");
	tap_ok(html && strstr(html, "href") == NULL &&
	    strstr(html, "not an address</td>") && strstr(html, ">12</td>"),
	    "html: no link for a bad address or phone, the text shown");
	parsed_free(&p);
	free(html), free(hh);
	buf_free(&raw);
	buf_free(&plain);
}

#define CONSOLE "https://staff.clinic.example/console/"
#define LINK CONSOLE "requests/FD-ABCDEFGH"

/* A patient who is easy to spot: every value of hers, and the forms a
 * value could take on its way into a message (the phone's digits). */
static const char *const secrets[] = { "Zebulon", "Quixotic",
    "zeb.quix@example.net", "+1 917 555 0199", "Knee Rehab Secret",
    "Tea time Tuesdays", "My private symptom", "since the marathon",
    "917 555", "9175550199", "zeb.quix" };
#define NSECRETS (sizeof(secrets) / sizeof(secrets[0]))

static struct mail_msg
secret_msg(void)
{
	struct mail_msg m = base_msg();

	m.first_name = "Zebulon";
	m.last_name = "Quixotic";
	m.email = "zeb.quix@example.net";
	m.phone = "+1 917 555 0199";
	m.service = "Knee Rehab Secret";
	m.preferred_time = "Tea time Tuesdays";
	m.message = "My private symptom\nsince the marathon";
	m.consent = true;
	m.console_url = CONSOLE;
	return m;
}

/* How many of the patient's values a message shows anywhere: the raw
 * bytes, the quoted-printable body decoded, and every header decoded
 * (RFC 2047), case ignored. */
static size_t
secrets_shown(const char *raw, const struct parsed *p)
{
	size_t found = 0;

	for (size_t i = 0; i < NSECRETS; i++) {
		bool seen = strcasestr(raw, secrets[i]) != NULL ||
		    strcasestr(p->body, secrets[i]) != NULL;

		for (size_t h = 0; h < p->n && !seen; h++) {
			int bad;
			char *v = rfc2047_decode(p->values[h], &bad);

			seen = strcasestr(v, secrets[i]) != NULL;
			free(v);
		}
		found += seen;
	}
	return found;
}

static void
test_none(void)
{
	struct mail_msg m = secret_msg(), blank;
	struct buf raw = { 0 }, raw2 = { 0 };
	struct parsed p;
	char *subj, *html, *hh = NULL;
	int bad;

	/* The checker first: a full message (with its tel: link) shows the
	 * patient throughout. */
	m.html = true;
	tap_ok(compose(&m, &p, &raw) == 0 &&
	    secrets_shown(raw.p, &p) == NSECRETS, "none: the check sees all "
	    "%zu values in a full message", NSECRETS);
	parsed_free(&p);

	for (int h = 0; h < 2; h++) {
		m = secret_msg();
		m.details = MAIL_DETAILS_NONE;
		m.html = h;
		tap_ok(compose(&m, &p, &raw) == 0, "none%s: composes",
		    h ? " html" : "");
		tap_ok(secrets_shown(raw.p, &p) == 0, "none%s: no patient value "
		    "anywhere, headers included (%zu shown)", h ? " html" : "",
		    secrets_shown(raw.p, &p));
		tap_ok(count_header(&p, "Reply-To") == 0 &&
		    p.n == NEXPECTED - 1 - (size_t)h, "none%s: no Reply-To, the "
		    "other headers as ever", h ? " html" : "");
		subj = rfc2047_decode(header(&p, "Subject"), &bad);
		tap_ok(!bad && strcmp(subj, "Appointment request FD-ABCDEFGH "
		    "\xe2\x80\x93 Midtown Manhattan") == 0, "none%s: Subject is "
		    "the reference and the location: %s", h ? " html" : "", subj);
		free(subj);
		tap_ok(p.bad_eol == 0 && p.longest <= 78, "none%s: CRLF, lines "
		    "%d <= 78", h ? " html" : "", p.longest);
		/* The same message whatever the patient wrote: it is made of
		 * the location, reference, time and link alone. */
		blank = m;
		blank.first_name = blank.last_name = blank.email = NULL;
		blank.phone = blank.service = blank.preferred_time = NULL;
		blank.message = NULL;
		blank.consent = false;
		buf_reset(&raw2);
		{
			const char *why;

			tap_ok(mail_compose(&raw2, &blank, &why) == MAIL_OK &&
			    strcmp(raw.p, raw2.p) == 0, "none%s: byte for byte "
			    "the message of a blank request", h ? " html" : "");
		}
		if (!h) {
			tap_ok(strcmp(p.body, "New appointment request FD-ABCDEFGH"
			    "\n\nOpen it in the console:\n" LINK "\n\n"
			    "Location:       Midtown Manhattan\n"
			    "Reference:      FD-ABCDEFGH\n"
			    "Received:       2024-05-07 13:53:20 UTC (UTC+00:00)\n"
			    "\nThis email carries no patient details (details = "
			    "none):\nthe request is in the console, behind "
			    "sign-in.\n") == 0, "none: the whole body: location, "
			    "reference, time, link: %s", p.body);
		} else {
			html = part(raw.p, "=_frontdesk_FD-ABCDEFGH", 1, &hh);
			tap_ok(html && strcount(html, "<a href=\"" LINK "\">") == 1 &&
			    strcount(html, "href") == 1, "none html: one link, "
			    "the request's");
			tap_ok(html && strstr(html, "Midtown Manhattan") &&
			    strstr(html, "FD-ABCDEFGH") &&
			    strstr(html, "2024-05-07 13:53:20 UTC (UTC+00:00)") &&
			    strstr(html, "Consent") == NULL &&
			    strstr(html, "Name") == NULL, "none html: location, "
			    "reference, time; no name or consent row");
			free(html);
			free(hh);
			hh = NULL;
		}
		parsed_free(&p);
	}
	/* none without a link has nothing to offer: refused */
	m = secret_msg();
	m.details = MAIL_DETAILS_NONE;
	m.console_url = NULL;
	{
		const char *why;

		buf_reset(&raw);
		tap_ok(mail_compose(&raw, &m, &why) == MAIL_UNSENDABLE &&
		    strstr(why, "console_url") != NULL, "none without "
		    "console_url refused: %s", why);
	}
	buf_free(&raw);
	buf_free(&raw2);
}

static const struct {
	const char *url;
	bool ok;
} console_urls[] = {
	{ "https://staff.clinic.example/console/", true },
	{ "https://staff.clinic.example/", true },
	{ "http://127.0.0.1:8080/console/", true },
	{ "http://[::1]:8080/console/", true },
	{ "https://staff.clinic.example/a-b_c.d~e/%7Ex/;v=1/", true },
	{ "https://staff.clinic.example/console", false },
	{ "https://staff.clinic.example", false },
	{ "https:///console/", false },
	{ "ftp://staff.clinic.example/", false },
	{ "javascript:alert(1)//", false },
	{ "HTTPS://staff.clinic.example/", false },
	{ "https://user:pw@staff.clinic.example/", false },
	{ "https://staff.clinic.example/con sole/", false },
	{ "https://staff.clinic.example/\"><script>/", false },
	{ "https://staff.clinic.example/a'b/", false },
	{ "https://staff.clinic.example/a&b/", false },
	{ "https://staff.clinic.example/?next=/", false },
	{ "https://staff.clinic.example/#/", false },
	{ "https://staff.clinic.example/a(b)/", false },
	{ "https://staff.clinic.example/%zz/", false },
	{ "https://staff.clinic.example/\xc3\xa9/", false },
	{ "https://staff.clinic.example/a\r\nb/", false },
	{ "https://staff.clinic.example:123456/", false },
	{ "https://-staff.clinic.example/", false },
	{ "https://[::1/", false },
	{ "", false },
};

static void
test_console_link(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	char *html, *hh = NULL;
	const char *why;

	for (size_t i = 0; i < sizeof(console_urls) / sizeof(console_urls[0]);
	    i++)
		tap_ok(text_console_url(console_urls[i].url) ==
		    console_urls[i].ok, "console_url %zu %s: %s", i,
		    console_urls[i].ok ? "valid" : "invalid", console_urls[i].url);
	m.console_url = CONSOLE;
	tap_ok(compose(&m, &p, &raw) == 0, "link, full: composes");
	tap_ok(strncmp(p.body, "New appointment request FD-ABCDEFGH\n\n"
	    "Open it in the console:\n" LINK "\n\nName:           Ada "
	    "Lovelace\n", 120) == 0 && strcount(p.body, LINK) == 1 &&
	    strcount(p.body, "http") == 1, "link, full: one link, the "
	    "request's, on its own line at the top");
	tap_ok(headers_exact(&p, true) && strstr(p.body, "Message:\nLower back "
	    "pain.\nSince May.\n") && strstr(p.body, "Phone:          +1 212 "
	    "555 0100\n"), "link, full: every field and the Reply-To still");
	parsed_free(&p);
	m.html = true;
	tap_ok(compose(&m, &p, &raw) == 0, "link, full html: composes");
	html = part(raw.p, "=_frontdesk_FD-ABCDEFGH", 1, &hh);
	tap_ok(html && strstr(html, "<p style=\"font-size:16px\"><a href=\""
	    LINK "\">Open FD-ABCDEFGH in the console</a></p>") &&
	    strcount(html, "href") == 3, "link, full html: the link, and the "
	    "mailto: and tel: as before");
	free(html), free(hh);
	hh = NULL;
	parsed_free(&p);
	m.html = false;
	m.details = MAIL_DETAILS_MINIMAL;
	m.service = "SECRET-SERVICE";
	tap_ok(compose(&m, &p, &raw) == 0 && strcount(p.body, LINK) == 1 &&
	    strstr(raw.p, "SECRET") == NULL && strstr(p.body, "Name:"),
	    "link, minimal: the link, still no service");
	parsed_free(&p);
	m = base_msg();
	tap_ok(compose(&m, &p, &raw) == 0 && strstr(p.body, "console") == NULL
	    && strstr(p.body, "http") == NULL, "no console_url: no link");
	parsed_free(&p);
	m.console_url = "https://staff.clinic.example/\"><b>/";
	buf_reset(&raw);
	tap_ok(mail_compose(&raw, &m, &why) == MAIL_UNSENDABLE &&
	    strcmp(why, "bad [mail] console_url") == 0, "a bad console_url "
	    "is refused, never written");
	buf_free(&raw);
}

static const struct {
	const char *name;
	bool ok;
} zone_names[] = {
	{ "America/New_York", true },
	{ "UTC", true },
	{ "Etc/GMT+5", true },
	{ "America/Argentina/Buenos_Aires", true },
	{ "", false },
	{ "/etc/passwd", false },
	{ "../../etc/passwd", false },
	{ "America/../../etc/passwd", false },
	{ "America//New_York", false },
	{ "America/", false },
	{ "America/New York", false },
	{ ":America/New_York", false },
	{ "America/New_York\n", false },
	{ "EST5EDT,M3.2.0,M11.1.0", false },
};

/* Received in America/New_York, winter and summer, then in UTC: the
 * zone's start-up path (zone_setup) and then the message. */
static void
test_zones(void)
{
	struct mail_msg m = base_msg();
	struct buf raw = { 0 };
	struct parsed p;
	char shown[64], t[128], *html, *hh = NULL;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(zone_names) / sizeof(zone_names[0]); i++)
		tap_ok(zone_name_valid(zone_names[i].name) == zone_names[i].ok,
		    "zone name %zu %s", i, zone_names[i].ok ? "valid" : "invalid");
	tap_ok(zone_setup("America/New_York", shown, sizeof(shown), &why) == 0
	    && strcmp(shown, "America/New_York") == 0, "zone: New York set");
	m.zone = shown;
	m.html = true;
	m.received = 1796158743;    /* 2026-12-01 20:59:03 UTC */
	m.date = 1796158800;
	tap_ok(compose(&m, &p, &raw) == 0, "zone winter: composes");
	tap_ok(strstr(p.body, "Received:       2026-12-01 15:59:03 EST "
	    "(America/New_York, UTC-05:00)\n") != NULL, "zone winter: EST, "
	    "the zone named");
	html = part(raw.p, "=_frontdesk_FD-ABCDEFGH", 1, &hh);
	tap_ok(html && strstr(html, "<td style=\"padding:4px 0\">2026-12-01 "
	    "15:59:03 EST (America/New_York, UTC-05:00)</td>"), "zone winter: "
	    "the HTML part too");
	free(html), free(hh);
	hh = NULL;
	tap_ok(strcmp(header(&p, "Date"), " Tue, 01 Dec 2026 16:00:00 -0500")
	    == 0, "zone winter: Date valid, in the zone: %s",
	    header(&p, "Date"));
	parsed_free(&p);
	m.html = false;
	m.received = 1782921600;    /* 2026-07-01 16:00:00 UTC */
	m.details = MAIL_DETAILS_NONE;
	m.console_url = CONSOLE;
	tap_ok(compose(&m, &p, &raw) == 0 && strstr(p.body, "Received:       "
	    "2026-07-01 12:00:00 EDT (America/New_York, UTC-04:00)\n") != NULL,
	    "zone summer: EDT, the zone named (details = none too)");
	parsed_free(&p);
	/* refused names leave the zone as it was */
	tap_ok(zone_setup("Mars/Olympus_Mons", shown, sizeof(shown), &why) ==
	    -1 && strstr(why, "no such zone") != NULL, "zone: unknown refused");
	tap_ok(zone_setup("zone.tab", shown, sizeof(shown), &why) == -1,
	    "zone: a name with a dot refused");
	tap_ok(zone_check(ZONE_DIR, "America", &why) == -1 &&
	    strstr(why, "TZif") != NULL, "zone: a folder is not a zone");
	tap_ok(zone_check(ZONE_DIR, "America/New_York", &why) == 0 &&
	    zone_check(ZONE_DIR, "US/Eastern", &why) == 0, "zone: a file "
	    "and a link to one are zones");
	tap_ok(zone_setup("../../../etc/passwd", shown, sizeof(shown), &why) ==
	    -1 && strstr(why, "not a zone name") != NULL,
	    "zone: a path out of the folder refused");
	mail_time(t, sizeof(t), 1796158743, "America/New_York");
	tap_ok(strcmp(t, "2026-12-01 15:59:03 EST (America/New_York, "
	    "UTC-05:00)") == 0, "zone: still New York after refusals: %s", t);
	tap_ok(zone_setup("UTC", shown, sizeof(shown), &why) == 0, "zone: UTC");
	mail_time(t, sizeof(t), 1796158743, shown);
	tap_ok(strcmp(t, "2026-12-01 20:59:03 UTC (UTC, UTC+00:00)") == 0,
	    "zone: UTC rendered: %s", t);
	m = base_msg();
	m.zone = shown;
	m.received = 1796158743;
	tap_ok(compose(&m, &p, &raw) == 0 && strstr(p.body, "Received:       "
	    "2026-12-01 20:59:03 UTC (UTC, UTC+00:00)\n") != NULL,
	    "zone: UTC in the message");
	parsed_free(&p);
	/* empty: the system's zone, named when it can be told */
	setenv("TZ", "Asia/Kolkata", 1);
	tap_ok(zone_setup("", shown, sizeof(shown), &why) == 0 &&
	    strcmp(shown, "Asia/Kolkata") == 0, "zone: the system's, by TZ");
	mail_time(t, sizeof(t), 1796158743, shown);
	tap_ok(strcmp(t, "2026-12-02 02:29:03 IST (Asia/Kolkata, UTC+05:30)")
	    == 0, "zone: the system's rendered: %s", t);
	setenv("TZ", ":" ZONE_DIR "/Europe/Paris", 1);
	tap_ok(zone_setup(NULL, shown, sizeof(shown), &why) == 0 &&
	    strcmp(shown, "Europe/Paris") == 0, "zone: the system's, by a TZ "
	    "path: %s", shown);
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tap_ok(zone_setup("", shown, sizeof(shown), &why) == 0 &&
	    shown[0] == '\0', "zone: a POSIX rule has no name to show");
	mail_time(t, sizeof(t), 1796158743, shown);
	tap_ok(strcmp(t, "2026-12-01 15:59:03 EST (UTC-05:00)") == 0,
	    "zone: no name, the abbreviation and offset: %s", t);
	setenv("TZ", "UTC", 1);
	tzset();
	buf_free(&raw);
}

/* A bidirectional control in a name never reaches a header: a reader's
 * client would show "Ann <mallory@evil>" reordered. The message keeps
 * them (many lines: the patient's own words). */
static void
test_bidi_in_headers(void)
{
	struct mail_msg m = base_msg();
	struct parsed p;
	struct buf raw = { 0 };
	char *rt;
	int bad = 0;

	m.first_name = "Ann\xe2\x80\xae";      /* RIGHT-TO-LEFT OVERRIDE */
	m.last_name = "Lee\xe2\x81\xa6x";      /* LEFT-TO-RIGHT ISOLATE */
	m.message = "\xe2\x80\xabshalom";       /* RIGHT-TO-LEFT EMBEDDING */
	tap_ok(compose(&m, &p, &raw) == 0, "bidi: composed");
	rt = rfc2047_decode(header(&p, "Reply-To"), &bad);
	tap_ok(!bad && rt != NULL && strcmp(rt, "Ann Leex <ada@example.org>") ==
	    0, "bidi: none in Reply-To: %s", rt ? rt : "(none)");
	free(rt);
	tap_ok(strstr(buf_str(&raw), "=E2=80=AE") == NULL &&
	    strstr(buf_str(&raw), "=E2=81=A6") == NULL,
	    "bidi: none in the name's line of the body either");
	tap_ok(strstr(buf_str(&raw), "=E2=80=ABshalom") != NULL,
	    "bidi: the message keeps its own");
	parsed_free(&p);
	buf_free(&raw);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_header_text();
	test_basic();
	test_recipients();
	test_names();
	test_subjects();
	test_injection();
	test_minimal();
	test_html();
	test_qp();
	test_addresses();
	test_from_rendering();
	test_refusals();
	test_invalid_utf8();
	test_dates();
	test_none();
	test_console_link();
	test_zones();
	test_bidi_in_headers();
	return tap_done();
}
