/* mail: the notification email as RFC 5322/MIME text (pure, no I/O). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mail.h"
#include "common/reference.h"
#include "common/text.h"

/* Lines are folded at 76 columns: RFC 2047 caps a line holding encoded
 * words at 76, which also keeps us under RFC 5322's preferred 78. */
#define MAIL_FOLD 76
#define EW_MAX 75                  /* one encoded word, RFC 2047 */
#define EW_OVERHEAD 12             /* "=?UTF-8?Q?" and "?=" */
#define RAW_WORD_MAX 60            /* longer ASCII words get encoded (folded) */
#define QP_LINE 76

struct hdr {
	struct buf *b;
	size_t col;
};

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex[] = "0123456789ABCDEF";

/*
 * Appends s as clean UTF-8: invalid bytes become U+FFFD and control
 * characters (C0, DEL, C1) spaces. One-line text has its white space runs
 * collapsed and trimmed (U+2028 and U+2029 too); multi-line text keeps
 * tabs, and CR LF, CR, LF, U+2028 and U+2029 all become "\n". Nothing else
 * from the form survives as a control, and one-line text (headers, the
 * table's values) loses bidirectional controls and marks, which could make
 * a name or an address show in another order than it is.
 */
static void
mail_clean(struct buf *out, const char *s, bool multiline)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), start = out->len;
	bool space = true;    /* one-line: drop leading and doubled spaces */

	while (n > 0) {
		uint32_t cp;
		size_t k = text_utf8_decode(p, n, &cp);

		if (k == 0) {
			buf_adds(out, "\xef\xbf\xbd");
			space = false;
			p++, n--;
			continue;
		}
		if (multiline && (cp == '\r' || cp == '\n' || cp == 0x2028 ||
		    cp == 0x2029)) {
			if (cp == '\r' && n > 1 && p[1] == '\n')
				k = 2;
			buf_addc(out, '\n');
		} else if (multiline && cp == '\t')
			buf_addc(out, '\t');
		else if (!multiline && text_is_bidi_control(cp))
			;   /* in a header it could reorder what a reader sees */
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == ' ' || cp == 0x2028 || cp == 0x2029) {
			if (multiline || !space)
				buf_addc(out, ' ');
			space = true;
		} else {
			buf_add(out, p, k);
			space = false;
		}
		p += k, n -= k;
	}
	if (!multiline && !out->failed && out->len > start &&
	    out->p[out->len - 1] == ' ')
		out->p[--out->len] = '\0';
}

static void
hdr_begin(struct hdr *h, struct buf *b, const char *name)
{
	h->b = b;
	buf_adds(b, name);
	buf_addc(b, ':');
	h->col = strlen(name) + 1;
}

/* One space and a word, folding first when the word would pass the fold
 * column (a word is never split). */
static void
hdr_word(struct hdr *h, const char *w, size_t n)
{
	if (h->col + 1 + n > MAIL_FOLD) {
		buf_adds(h->b, "\r\n");
		h->col = 0;
	}
	buf_addc(h->b, ' ');
	buf_add(h->b, w, n);
	h->col += 1 + n;
}

static void
hdr_end(struct hdr *h)
{
	buf_adds(h->b, "\r\n");
}

/* RFC 2047 "Q" may leave only these bare in any context (5.3). */
static bool
q_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!*+-/", c) != NULL);
}

static size_t
q_len(const unsigned char *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += (q_plain(s[i]) || s[i] == ' ') ? 1 : 3;
	return len;
}

static size_t
q_put(char *out, const unsigned char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (q_plain(s[i]))
			out[o++] = (char)s[i];
		else if (s[i] == ' ')
			out[o++] = '_';
		else {
			out[o++] = '=';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 15];
		}
	}
	return o;
}

static size_t
b_put(char *out, const unsigned char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

/* Encoded length of n bytes in the chosen encoding. */
static size_t
ew_len(bool q, const unsigned char *s, size_t n)
{
	return q ? q_len(s, n) : (n + 2) / 3 * 4;
}

/*
 * Appends s (clean UTF-8) as encoded words, each at most 75 bytes and
 * holding whole characters only, sized to fill the current line. Q for
 * mostly ASCII text (readable raw), B when Q would be a third longer.
 */
static void
hdr_encoded(struct hdr *h, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t blen = (n + 2) / 3 * 4;
	bool q = q_len(p, n) <= blen + blen / 3;  /* Q reads better */

	while (n > 0) {
		char word[EW_MAX + 1];
		size_t avail, take = 0, space = 0, o;

		avail = h->col + 1 + EW_OVERHEAD < MAIL_FOLD ?
		    MAIL_FOLD - h->col - 1 - EW_OVERHEAD : 0;
		if (avail < 16)
			avail = EW_MAX - EW_OVERHEAD;
		if (avail > EW_MAX - EW_OVERHEAD)
			avail = EW_MAX - EW_OVERHEAD;
		while (take < n) {
			uint32_t cp;
			size_t k = text_utf8_decode(p + take, n - take, &cp);

			if (k == 0)
				k = 1;  /* cannot happen: s is clean */
			if (ew_len(q, p, take + k) > avail)
				break;
			take += k;
			if (p[take - 1] == ' ')
				space = take;
		}
		if (take == 0)
			break;  /* cannot happen: a character fits in 16 */
		/* Prefer to end a word after a space: lenient decoders that
		 * keep the blank between encoded words then split no word. */
		if (take < n && space > take / 2)
			take = space;
		memcpy(word, q ? "=?UTF-8?Q?" : "=?UTF-8?B?", 10);
		o = 10 + (q ? q_put(word + 10, p, take) : b_put(word + 10, p, take));
		word[o++] = '?';
		word[o++] = '=';
		hdr_word(h, word, o);
		p += take, n -= take;
	}
}

/* May this word of unstructured text go bare? Printable ASCII, short, and
 * nothing a decoder could take for an encoded word. */
static bool
word_raw(const char *w, size_t n)
{
	if (n > RAW_WORD_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)w[i] <= ' ' || (unsigned char)w[i] >= 0x7f)
			return false;
		if (w[i] == '=' && i + 1 < n && w[i + 1] == '?')
			return false;
	}
	return true;
}

/*
 * Unstructured text (RFC 5322 2.2.1): bare ASCII words where possible, and
 * each run of words that need it as encoded words. The space between a
 * bare word and an encoded word survives decoding; spaces inside a run are
 * encoded with it.
 */
static void
hdr_unstructured(struct hdr *h, const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t e = i + strcspn(s + i, " "), run_end;

		if (word_raw(s + i, e - i)) {
			hdr_word(h, s + i, e - i);
			i = e + (e < n);
			continue;
		}
		/* Extend the run over the following words that need encoding. */
		run_end = e;
		while (run_end < n) {
			size_t ws = run_end + 1, we = ws + strcspn(s + ws, " ");

			if (word_raw(s + ws, we - ws))
				break;
			run_end = we;
		}
		hdr_encoded(h, s + i, run_end - i);
		i = run_end + (run_end < n);
	}
}

void
mail_header_text(struct buf *out, const char *name, const char *value,
    bool phrase)
{
	struct buf clean = { 0 };
	struct hdr h;

	mail_clean(&clean, value, false);
	hdr_begin(&h, out, name);
	if (clean.failed)
		out->failed = true;
	else if (phrase)
		hdr_encoded(&h, clean.p ? clean.p : "", clean.len);
	else
		hdr_unstructured(&h, clean.p ? clean.p : "");
	hdr_end(&h);
	buf_free(&clean);
}


/* The display name of "Name <addr>" (quotes and escapes removed). */
static int
from_name(const char *from, char *name, size_t size)
{
	const char *lt = strrchr(from, '<'), *s = from, *e;
	size_t o = 0;

	if (lt == NULL) {
		name[0] = '\0';
		return 0;
	}
	s += strspn(s, " \t");
	for (e = lt; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (e - s >= 2 && *s == '"' && e[-1] == '"')
		s++, e--;
	for (; s < e; s++) {
		if (*s == '\\' && s + 1 < e)
			s++;
		if (o + 1 >= size)
			return -1;
		name[o++] = *s;
	}
	name[o] = '\0';
	return 0;
}

/* From: the configured display name bare when it is plain atoms, else
 * encoded; then the address. */
static int
hdr_from(struct buf *out, const char *from)
{
	char addr[TEXT_ADDR_MAX + 3], name[512];
	struct buf clean = { 0 };
	bool bare = true;
	struct hdr h;

	if (text_addr_spec(from, addr + 1, sizeof(addr) - 2) == -1 ||
	    from_name(from, name, sizeof(name)) == -1)
		return -1;
	addr[0] = '<';
	strcat(addr, ">");
	for (const char *p = name; *p != '\0'; p++)
		if (!text_is_atext(*p) && *p != ' ')
			bare = false;
	mail_clean(&clean, name, false);
	hdr_begin(&h, out, "From");
	if (clean.failed)
		out->failed = true;
	else if (clean.len > 0 && bare)
		hdr_unstructured(&h, clean.p);
	else if (clean.len > 0)
		hdr_encoded(&h, clean.p, clean.len);
	buf_free(&clean);
	hdr_word(&h, addr, strlen(addr));
	hdr_end(&h);
	return 0;
}

/* To or Cc: comma-separated addresses, folded between them. */
static int
hdr_addrs(struct buf *out, const char *name, const char *const *v, size_t n)
{
	struct hdr h;

	for (size_t i = 0; i < n; i++)
		if (v[i] == NULL || !text_email_route(v[i]))
			return -1;
	hdr_begin(&h, out, name);
	for (size_t i = 0; i < n; i++) {
		char w[TEXT_ADDR_MAX + 2];
		int len = snprintf(w, sizeof(w), "%s%s", v[i],
		    i + 1 < n ? "," : "");

		hdr_word(&h, w, (size_t)len);
	}
	hdr_end(&h);
	return 0;
}

/* "First Last", raw from the form: the caller cleans or encodes it. */
static void
full_name(struct buf *name, const struct mail_msg *m)
{
	buf_adds(name, m->first_name ? m->first_name : "");
	buf_addc(name, ' ');
	buf_adds(name, m->last_name ? m->last_name : "");
}

/* The submitter's email is one to reply to (Reply-To, a mailto: link):
 * the web's rule and the header's. */
static bool
email_usable(const struct mail_msg *m)
{
	return m->email != NULL && text_email_patient(m->email, strlen(m->email)) &&
	    text_email_route(m->email);
}

/* Reply-To: the submitter, the name only ever inside encoded words. */
static void
hdr_reply_to(struct buf *out, const struct mail_msg *m)
{
	struct buf name = { 0 };
	char addr[TEXT_ADDR_MAX + 3];
	struct hdr h;

	if (m->details == MAIL_DETAILS_NONE || !email_usable(m))
		return;
	snprintf(addr, sizeof(addr), "<%s>", m->email);
	full_name(&name, m);
	hdr_begin(&h, out, "Reply-To");
	if (buf_str(&name) != NULL) {
		struct buf clean = { 0 };

		mail_clean(&clean, name.p, false);
		if (clean.len > 0)
			hdr_encoded(&h, clean.p, clean.len);
		if (clean.failed)
			out->failed = true;
		buf_free(&clean);
	} else
		out->failed = true;
	hdr_word(&h, addr, strlen(addr));
	hdr_end(&h);
	buf_free(&name);
}

static bool
msgid_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 5 || n > 250 || s[0] != '<' || s[n - 1] != '>' ||
	    strchr(s, '@') == NULL)
		return false;
	for (size_t i = 1; i < n - 1; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || strchr("<>\"\\()[],;:", s[i]))
			return false;
	return true;
}

void
mail_date(char *out, size_t size, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}

void
mail_time(char *out, size_t size, time_t t, const char *zone)
{
	struct tm tm;
	char when[32], abbr[16];
	long off;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (strftime(abbr, sizeof(abbr), "%Z", &tm) == 0)
		abbr[0] = '\0';
	off = tm.tm_gmtoff / 60;
	snprintf(out, size, "%s%s%s (%s%sUTC%c%02ld:%02ld)", when,
	    abbr[0] ? " " : "", abbr, zone && *zone ? zone : "",
	    zone && *zone ? ", " : "", off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}


static void
qp_soft_break(struct buf *out, size_t *col, size_t need)
{
	if (*col + need > QP_LINE - 1) {
		buf_adds(out, "=\r\n");
		*col = 0;
	}
}

/*
 * Quoted-printable (RFC 2045 6.7): lines of at most 76 bytes, soft breaks
 * between characters (never inside a UTF-8 sequence), trailing white space
 * encoded, and a leading "." or "From " encoded so neither SMTP nor an
 * mbox can take the line for anything but text.
 */
void
mail_qp(struct buf *out, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;

	for (size_t i = 0; i < len;) {
		size_t k = 1, need;
		bool lit, eol;

		if (p[i] == '\n') {
			buf_adds(out, "\r\n");
			col = 0;
			i++;
			continue;
		}
		if (p[i] >= 0xc0) {
			uint32_t cp;

			k = text_utf8_decode(p + i, len - i, &cp);
			k = k ? k : 1;
		}
		eol = i + k >= len || p[i + k] == '\n';
		lit = k == 1 && ((p[i] > ' ' && p[i] < 0x7f && p[i] != '=') ||
		    ((p[i] == ' ' || p[i] == '\t') && !eol));
		if (col == 0 && (p[i] == '.' || (p[i] == 'F' &&
		    len - i >= 5 && memcmp(p + i, "From ", 5) == 0)))
			lit = false;
		need = lit ? 1 : 3 * k;
		qp_soft_break(out, &col, need);
		for (size_t j = 0; j < k; j++) {
			if (lit)
				buf_addc(out, (char)p[i + j]);
			else {
				buf_addc(out, '=');
				buf_addc(out, hex[p[i + j] >> 4]);
				buf_addc(out, hex[p[i + j] & 15]);
			}
		}
		col += need;
		i += k;
	}
	if (col > 0 || len == 0 || p[len - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* One "Label: value" line of the body; a missing value says so. */
static void
body_field(struct buf *b, const char *label, const char *value)
{
	buf_printf(b, "%-16s", label);
	if (value == NULL || *value == '\0')
		buf_adds(b, "(not given)");
	else
		mail_clean(b, value, false);
	buf_addc(b, '\n');
}

static bool
has_link(const struct mail_msg *m)
{
	return m->console_url != NULL && *m->console_url != '\0';
}

/* The request in the console: console_url (checked) and the reference
 * (checked), nothing else. */
static void
console_link(struct buf *b, const struct mail_msg *m)
{
	buf_adds(b, m->console_url);
	buf_adds(b, "requests/");
	buf_adds(b, m->reference);
}

/* The heading, and the link on a line of its own when there is one. */
static void
body_text_head(struct buf *b, const struct mail_msg *m)
{
	buf_adds(b, "New appointment request ");
	buf_adds(b, m->reference);
	buf_adds(b, "\n\n");
	if (has_link(m)) {
		buf_adds(b, "Open it in the console:\n");
		console_link(b, m);
		buf_adds(b, "\n\n");
	}
}

/* details = none: built from the location, the reference, the time and
 * the link alone; no patient field is read here. */
static void
body_text_none(struct buf *b, const struct mail_msg *m)
{
	char when[128];

	body_text_head(b, m);
	body_field(b, "Location:", m->location);
	body_field(b, "Reference:", m->reference);
	mail_time(when, sizeof(when), m->received, m->zone);
	body_field(b, "Received:", when);
	buf_adds(b, "\nThis email carries no patient details (details = "
	    "none):\nthe request is in the console, behind sign-in.\n");
}

static void
body_text(struct buf *b, const struct mail_msg *m)
{
	struct buf name = { 0 };
	char when[128];
	bool minimal = m->details == MAIL_DETAILS_MINIMAL;

	if (m->details == MAIL_DETAILS_NONE) {
		body_text_none(b, m);
		return;
	}
	full_name(&name, m);
	body_text_head(b, m);
	body_field(b, "Name:", buf_str(&name) ? name.p : "");
	if (name.failed)
		b->failed = true;
	body_field(b, "Email:", m->email);
	body_field(b, "Phone:", m->phone);
	body_field(b, "Location:", m->location);
	if (!minimal) {
		body_field(b, "Service:", m->service);
		body_field(b, "Preferred time:", m->preferred_time);
	}
	body_field(b, "Consent:", m->consent ? "yes" : "no");
	body_field(b, "Reference:", m->reference);
	mail_time(when, sizeof(when), m->received, m->zone);
	body_field(b, "Received:", when);
	if (minimal)
		buf_printf(b, "\nService, preferred time and message are not "
		    "included in this email\n(details = minimal): see "
		    "\"frontdeskctl request show %s\".\n", m->reference);
	else if (m->message != NULL && *m->message != '\0') {
		buf_adds(b, "\nMessage:\n");
		mail_clean(b, m->message, true);
		buf_addc(b, '\n');
	} else
		buf_adds(b, "\nMessage:        (none)\n");
	buf_free(&name);
}

/* s, cleaned as mail_clean does, with HTML's five special characters as
 * entities; in multi-line text each line break becomes "<br>". */
static void
html_text(struct buf *b, const char *s, bool multiline)
{
	struct buf t = { 0 };

	mail_clean(&t, s, multiline);
	if (t.failed) {
		b->failed = true;
		return;
	}
	for (size_t i = 0; i < t.len; i++) {
		switch (t.p[i]) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		case '\n': buf_adds(b, "<br>\n"); break;
		default: buf_addc(b, t.p[i]);
		}
	}
	buf_free(&t);
}

/* A link target holds only unreserved URL characters; the rest are
 * percent-encoded, so no address can end the attribute or add to it. */
static void
html_href(struct buf *b, const char *scheme, const char *s)
{
	buf_adds(b, scheme);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p != '\0' &&
		    strchr("-._~@+", *p) != NULL))
			buf_addc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

/* One row of the HTML table; link: "mailto:", "tel:" or NULL, and href
 * the link's target (already safe to use) when value is given. */
static void
html_row(struct buf *b, const char *label, const char *value,
    const char *link, const char *href)
{
	buf_printf(b, "<tr><th align=\"left\" valign=\"top\" "
	    "style=\"padding:4px 12px 4px 0\">%s</th><td "
	    "style=\"padding:4px 0\">", label);
	if (value == NULL || *value == '\0')
		buf_adds(b, "<em>(not given)</em>");
	else if (link != NULL && href != NULL) {
		buf_adds(b, "<a href=\"");
		html_href(b, link, href);
		buf_adds(b, "\">");
		html_text(b, value, false);
		buf_adds(b, "</a>");
	} else
		html_text(b, value, false);
	buf_adds(b, "</td></tr>\n");
}

/* The phone's digits, with its leading "+", for a tel: link; NULL when
 * there are not 7 to 15 of them. */
static const char *
phone_digits(const char *phone, char out[17])
{
	size_t n = 0;
	const char *p = phone;

	if (p == NULL)
		return NULL;
	while (*p == ' ')
		p++;
	if (*p == '+')
		out[n++] = *p++;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n == 16)
				return NULL;
			out[n++] = *p;
		} else if (strchr(" -.()", *p) == NULL)
			return NULL;
	}
	out[n] = '\0';
	n -= out[0] == '+';
	return n >= 7 && n <= 15 ? out : NULL;
}

/* The page's head, its heading and the console link when there is one
 * (the URL and the reference are checked: nothing in them needs escaping,
 * and html_text escapes them all the same). */
static void
body_html_head(struct buf *b, const struct mail_msg *m)
{
	buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "\n<title>Appointment request %s</title></head>\n"
	    "<body style=\"font-family:sans-serif;font-size:15px\">\n"
	    "<h2 style=\"font-size:18px\">New appointment request %s</h2>\n",
	    m->reference, m->reference);
	if (has_link(m)) {
		struct buf url = { 0 };

		console_link(&url, m);
		if (buf_str(&url) == NULL)
			b->failed = true;
		else {
			buf_adds(b, "<p style=\"font-size:16px\"><a href=\"");
			html_text(b, url.p, false);
			buf_printf(b, "\">Open %s in the console</a></p>\n",
			    m->reference);
		}
		buf_free(&url);
	}
	buf_adds(b, "<table style=\"border-collapse:collapse\">\n");
}

/* details = none, as body_text_none: no patient field is read here. */
static void
body_html_none(struct buf *b, const struct mail_msg *m)
{
	char when[128];

	body_html_head(b, m);
	html_row(b, "Location", m->location, NULL, NULL);
	html_row(b, "Reference", m->reference, NULL, NULL);
	mail_time(when, sizeof(when), m->received, m->zone);
	html_row(b, "Received", when, NULL, NULL);
	buf_adds(b, "</table>\n<p>This email carries no patient details "
	    "(details = none): the request is in the console, behind "
	    "sign-in.</p>\n</body></html>\n");
}

/* The same facts as body_text, as a small HTML page for mail clients
 * that show HTML: a table, the email and phone as links. */
static void
body_html(struct buf *b, const struct mail_msg *m)
{
	struct buf name = { 0 };
	char when[128], tel[17];
	bool minimal = m->details == MAIL_DETAILS_MINIMAL;

	if (m->details == MAIL_DETAILS_NONE) {
		body_html_none(b, m);
		return;
	}
	full_name(&name, m);
	if (name.failed)
		b->failed = true;
	body_html_head(b, m);
	html_row(b, "Name", name.p ? name.p : "", NULL, NULL);
	html_row(b, "Email", m->email, "mailto:",
	    email_usable(m) ? m->email : NULL);
	html_row(b, "Phone", m->phone, "tel:", phone_digits(m->phone, tel));
	html_row(b, "Location", m->location, NULL, NULL);
	if (!minimal) {
		html_row(b, "Service", m->service, NULL, NULL);
		html_row(b, "Preferred time", m->preferred_time, NULL, NULL);
	}
	html_row(b, "Consent", m->consent ? "yes" : "no", NULL, NULL);
	html_row(b, "Reference", m->reference, NULL, NULL);
	mail_time(when, sizeof(when), m->received, m->zone);
	html_row(b, "Received", when, NULL, NULL);
	buf_adds(b, "</table>\n");
	if (minimal)
		buf_printf(b, "<p>Service, preferred time and message are not "
		    "included in this email (details = minimal): see "
		    "<code>frontdeskctl request show %s</code>.</p>\n",
		    m->reference);
	else if (m->message != NULL && *m->message != '\0') {
		buf_adds(b, "<h3 style=\"font-size:16px\">Message</h3>\n<p>");
		html_text(b, m->message, true);
		buf_adds(b, "</p>\n");
	} else
		buf_adds(b, "<h3 style=\"font-size:16px\">Message</h3>\n"
		    "<p><em>(none)</em></p>\n");
	buf_adds(b, "</body></html>\n");
	buf_free(&name);
}

/* Subject: the reference bare (greppable), the location's name encoded
 * only where it needs to be. */
static void
hdr_subject(struct buf *out, const struct mail_msg *m)
{
	struct buf s = { 0 };

	buf_printf(&s, "Appointment request %s \xe2\x80\x93 ", m->reference);
	mail_clean(&s, m->location, false);
	if (s.failed)
		out->failed = true;
	else
		mail_header_text(out, "Subject", s.p, false);
	buf_free(&s);
}

#define PART_TEXT "Content-Type: text/plain; charset=UTF-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"
#define PART_HTML "Content-Type: text/html; charset=UTF-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"

/* The boundary of the HTML alternative: "=_" never occurs in
 * quoted-printable text (a literal "=" is always "=3D"), so neither part
 * can hold it. */
#define BOUNDARY "=_frontdesk_"

static void
headers_fixed(struct buf *out, const struct mail_msg *m)
{
	hdr_subject(out, m);
	buf_printf(out, "Message-ID: %s\r\n", m->message_id);
	buf_adds(out, "MIME-Version: 1.0\r\n");
	if (m->html)
		buf_printf(out, "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"" BOUNDARY "%s\"\r\n", m->reference);
	else
		buf_adds(out, PART_TEXT);
	buf_adds(out, "Auto-Submitted: auto-generated\r\n");
	buf_printf(out, "X-Frontdesk-Reference: %s\r\n", m->reference);
}

/* The body: the text alone, or the text and its HTML alternative (the
 * preferred last, RFC 2046 5.1.4), each quoted-printable. */
static void
body_all(struct buf *out, const struct mail_msg *m)
{
	struct buf text = { 0 }, html = { 0 };

	body_text(&text, m);
	if (m->html)
		body_html(&html, m);
	if (text.failed || html.failed)
		out->failed = true;
	else if (!m->html)
		mail_qp(out, text.p, text.len);
	else {
		buf_printf(out, "This is a MIME message: the same request as "
		    "plain text and as HTML.\r\n\r\n--" BOUNDARY "%s\r\n"
		    PART_TEXT "\r\n", m->reference);
		mail_qp(out, text.p, text.len);
		buf_printf(out, "\r\n--" BOUNDARY "%s\r\n" PART_HTML "\r\n",
		    m->reference);
		mail_qp(out, html.p, html.len);
		buf_printf(out, "\r\n--" BOUNDARY "%s--\r\n", m->reference);
	}
	buf_free(&text);
	buf_free(&html);
}

enum mail_result
mail_compose(struct buf *out, const struct mail_msg *m, const char **why)
{
	char date[64];

	*why = NULL;
	if (m->reference == NULL || !reference_valid(m->reference))
		*why = "bad reference";
	else if (!msgid_valid(m->message_id))
		*why = "bad Message-ID";
	else if (has_link(m) && !text_console_url(m->console_url))
		*why = "bad [mail] console_url";
	else if (m->details == MAIL_DETAILS_NONE && !has_link(m))
		*why = "details = none without [mail] console_url";
	if (*why != NULL)
		return MAIL_UNSENDABLE;
	mail_date(date, sizeof(date), m->date);
	buf_printf(out, "Date: %s\r\n", date);
	if (hdr_from(out, m->from) == -1)
		*why = "bad [smtp] from";
	else if (m->nto == 0)
		buf_adds(out, "To: undisclosed-recipients:;\r\n");
	else if (hdr_addrs(out, "To", m->to, m->nto) == -1)
		*why = "bad To address";
	if (*why == NULL && m->ncc > 0 &&
	    hdr_addrs(out, "Cc", m->cc, m->ncc) == -1)
		*why = "bad Cc address";
	if (*why != NULL)
		return MAIL_UNSENDABLE;
	hdr_reply_to(out, m);
	headers_fixed(out, m);
	buf_adds(out, "\r\n");
	body_all(out, m);
	if (out->failed) {
		*why = "out of memory";
		return MAIL_NOMEM;
	}
	return MAIL_OK;
}

/* The building blocks other messages of the mailer share (alert_mail.c):
 * the same From, address lists, Message-ID rule and cleaning. */
int
mail_header_from(struct buf *out, const char *from)
{
	return hdr_from(out, from);
}

int
mail_header_addrs(struct buf *out, const char *name,
    const char *const *addrs, size_t n)
{
	return hdr_addrs(out, name, addrs, n);
}

void
mail_clean_text(struct buf *out, const char *s, bool multiline)
{
	mail_clean(out, s, multiline);
}

bool
mail_message_id_valid(const char *s)
{
	return msgid_valid(s);
}
