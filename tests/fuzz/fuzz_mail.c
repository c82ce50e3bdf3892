/* fuzz_mail: libFuzzer harness for composing the notification email from
 * untrusted form text. The first byte picks html (1), minimal (2),
 * consent (4), details = none (8) and a console link (16; none always has
 * one); the rest is first_name, last_name, email, phone, location,
 * service, preferred_time and message, separated by NUL bytes. Whatever
 * the fields hold, a composed message is 7-bit, CRLF only, no line over
 * 78 bytes but an address that cannot be folded (and none over RFC 5322's
 * 998), with exactly the headers frontdesk writes, never a Bcc, and, in
 * HTML mode, the boundary only where it belongs; the link, when there is
 * one, is in the text; with details = none the message is byte for byte
 * that of a request with every patient field empty. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "text.h"
#include "../common/strcount.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CONSOLE "https://staff.clinic.example/console/"
#define LINK CONSOLE "requests/FD-ABCDEFGH"

static const char *const to[] = { "desk@clinic.example" };
static const char *const cc[] = { "records@clinic.example" };

/* A line over 78 bytes is allowed only where nothing can fold it: an
 * address alone on a header's continuation line, " <local@domain>" (an
 * address may be 254 bytes long). */
static bool
lone_address(const char *line, size_t n, bool in_headers)
{
	if (!in_headers || n < 4 || line[0] != ' ' || line[1] != '<' ||
	    (line[n - 1] != '>' && !(line[n - 2] == '>' && line[n - 1] == ',')))
		return false;
	for (size_t i = 2; i < n - 1; i++)
		if (line[i] == ' ' || line[i] == '<')
			return false;
	return true;
}

static void
check(const char *s, size_t len, const struct mail_msg *m)
{
	const char *end = strstr(s, "\r\n\r\n");
	size_t col = 0, headers = 0;

	if (end == NULL || strlen(s) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 || c == '\0')
			abort();
		if (c == '\r') {
			if (s[i + 1] != '\n' || (col > 78 &&
			    !lone_address(s + i - col, col, s + i <= end)))
				abort();
			col = 0;
			i++;
			/* a header starts after each CRLF that is not a fold */
			if (s + i < end + 2 && s[i + 1] != ' ' && s[i + 1] != '\t')
				headers++;
			continue;
		}
		if (c == '\n' || ++col > 998)
			abort();
	}
	/* Date, From, To, Cc, Subject, Message-ID, MIME-Version,
	 * Content-Type, [Content-Transfer-Encoding], Auto-Submitted,
	 * X-Frontdesk-Reference, and Reply-To when the email is an address
	 * (never with details = none).
	 * (The first header has no CRLF before it; the blank line adds one.) */
	if (headers != (m->html ? 10u : 11u) + (m->details != MAIL_DETAILS_NONE
	    && text_email_patient(m->email, strlen(m->email)) &&
	    text_email_route(m->email) ? 1u : 0u))
		abort();
	/* the link on a line of its own in the text (short enough never to
	 * take a soft break) */
	if (m->console_url != NULL && strcount(end, "\r\n" LINK "\r\n") < 1)
		abort();
	/* no Bcc among the headers (the message text may say anything) */
	for (const char *b = s; (b = strstr(b, "Bcc:")) != NULL && b < end;
	    b++)
		if (b == s || b[-1] == '\n')
			abort();
	/* in the body, the boundary only as the two delimiters and the close
	 * (a header may quote it: the Subject carries the location's name) */
	if (strcount(end, "=_frontdesk_") != (m->html ? 3u : 0u))
		abort();
}

/* details = none: nothing the patient wrote changes a byte. */
static void
same_as_blank(const struct buf *out, const struct mail_msg *m)
{
	struct mail_msg blank = *m;
	struct buf b = { 0 };
	const char *why;

	blank.first_name = blank.last_name = blank.email = blank.phone = "";
	blank.service = blank.preferred_time = blank.message = "";
	blank.consent = false;
	if (mail_compose(&b, &blank, &why) == 0 && (b.len != out->len ||
	    memcmp(b.p, out->p, b.len) != 0))
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[8] = { "", "", "", "", "", "", "", "" };
	struct mail_msg m = {
		.from = "In Touch NYC Physical Therapy <appointments@clinic.example>",
		.message_id = "<FD-ABCDEFGH.1234@clinic.example>",
		.date = 1715090580, .received = 1715090000,
		.to = to, .nto = 1, .cc = cc, .ncc = 1,
		.reference = "FD-ABCDEFGH",
	};
	struct buf out = { 0 };
	const char *why;
	char *text;
	size_t n = 0;

	if (size == 0)
		return 0;
	m.html = data[0] & 1;
	m.details = data[0] & 8 ? MAIL_DETAILS_NONE : data[0] & 2 ?
	    MAIL_DETAILS_MINIMAL : MAIL_DETAILS_FULL;
	m.consent = data[0] & 4;
	if (data[0] & 24)
		m.console_url = CONSOLE;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	f[n++] = text;
	for (size_t i = 0; i + 1 < size && n < 8; i++)
		if (text[i] == '\0')
			f[n++] = text + i + 1;
	m.first_name = f[0], m.last_name = f[1], m.email = f[2];
	m.phone = f[3], m.location = f[4], m.service = f[5];
	m.preferred_time = f[6], m.message = f[7];
	if (mail_compose(&out, &m, &why) == 0) {
		check(out.p, out.len, &m);
		if (m.details == MAIL_DETAILS_NONE)
			same_as_blank(&out, &m);
	} else if (!out.failed)
		abort();    /* the fixed fields are good: only memory can fail */
	buf_free(&out);
	free(text);
	return 0;
}
