/* totp: RFC 6238 codes through liboath, the rule for accepting one, the
 * otpauth URI and its QR code (libqrencode) as an SVG image. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "totp.h"

#define TOTP_QUIET 4   /* modules of white around the code (ISO 18004) */

static pthread_once_t totp_once = PTHREAD_ONCE_INIT;
static int totp_oath_rc;

/* liboath asks for oath_init before anything else; the console calls in
 * from many threads, so once, whoever comes first. */
static void
totp_oath_init(void)
{
	totp_oath_rc = oath_init();
}

static int
totp_ready(void)
{
	pthread_once(&totp_once, totp_oath_init);
	return totp_oath_rc == OATH_OK ? 0 : -1;
}

int
totp_new_secret(char *out, size_t size)
{
	unsigned char raw[TOTP_SECRET_BYTES];
	char *b32 = NULL;
	size_t len = 0;
	int rc = -1;

	if (out == NULL || size < TOTP_SECRET_B32 + 1 || totp_ready() == -1 ||
	    sodium_init() < 0)
		return -1;
	randombytes_buf(raw, sizeof(raw));
	/* 20 bytes are exactly 32 base32 digits: no padding to strip. */
	if (oath_base32_encode((const char *)raw, sizeof(raw), &b32,
	    &len) == OATH_OK && len == TOTP_SECRET_B32) {
		memcpy(out, b32, len);
		out[len] = '\0';
		rc = 0;
	}
	sodium_memzero(raw, sizeof(raw));
	if (b32 != NULL) {
		sodium_memzero(b32, len);
		free(b32);
	}
	return rc;
}

int
totp_code(const char *secret_b32, long long step, char out[TOTP_DIGITS + 1])
{
	char *key = NULL;
	size_t keylen = 0;
	int rc;

	out[0] = '\0';
	if (secret_b32 == NULL || step < 0 || totp_ready() == -1)
		return -1;
	if (oath_base32_decode(secret_b32, strlen(secret_b32), &key,
	    &keylen) != OATH_OK || keylen == 0) {
		free(key);
		return -1;
	}
	/* The step's first second: liboath divides by the step again. */
	rc = oath_totp_generate(key, keylen, (time_t)(step * TOTP_STEP),
	    TOTP_STEP, 0, TOTP_DIGITS, out);
	sodium_memzero(key, keylen);
	free(key);
	if (rc != OATH_OK) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

long long
totp_check(const char *secret_b32, const char *code, time_t now,
    long long last_step)
{
	char want[TOTP_DIGITS + 1];
	long long cur;
	long long found = -1;

	if (code == NULL || strlen(code) != TOTP_DIGITS || now < 0)
		return -1;
	for (size_t i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return -1;
	cur = (long long)now / TOTP_STEP;
	/* The step of now, then the one before (a code typed as its step
	 * ends); both are computed and compared whatever the first gave, so
	 * the time taken says nothing. A step at or before the last one
	 * accepted is never accepted again: a code is good once, and once a
	 * code of now is used the one before it is dead too. */
	for (long long step = cur; step >= cur - 1 && step >= 0; step--) {
		bool match;

		if (totp_code(secret_b32, step, want) == -1)
			return -1;
		match = sodium_memcmp(want, code, TOTP_DIGITS) == 0;
		if (match && step > last_step && found == -1)
			found = step;
	}
	sodium_memzero(want, sizeof(want));
	return found;
}

/* RFC 3986 unreserved characters stay, the rest is %XX: a label or an
 * issuer holding ':', '&', '?' or a space cannot change the URI's
 * structure. */
static void
totp_pct(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_addc(out, (char)c);
		} else {
			buf_addc(out, '%');
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 15]);
		}
	}
}

void
totp_uri(struct buf *out, const char *issuer, const char *user,
    const char *secret_b32)
{
	buf_adds(out, "otpauth://totp/");
	totp_pct(out, issuer);
	buf_addc(out, ':');
	totp_pct(out, user);
	buf_adds(out, "?secret=");
	totp_pct(out, secret_b32);
	buf_adds(out, "&issuer=");
	totp_pct(out, issuer);
	buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS,
	    TOTP_STEP);
}

int
totp_qr_svg(struct buf *out, const char *text)
{
	QRcode *qr;
	int w, size;

	if (text == NULL)
		return -1;
	/* 8-bit mode: the URI as it is; level M survives a smudged screen
	 * and keeps the code small enough for a phone at arm's length. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL)
		return -1;
	w = qr->width;
	size = w + 2 * TOTP_QUIET;
	buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", size, size, size * 6, size * 6, size,
	    size);
	/* One path: each run of dark modules in a row is one rectangle. Bit
	 * 0 of a module's byte is its colour (qrencode.h). */
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w; ) {
			int run = 0;

			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			buf_printf(out, "M%d %dh%dv1h-%dz", x + TOTP_QUIET,
			    y + TOTP_QUIET, run, run);
			x += run;
		}
	}
	buf_adds(out, "\"/></svg>");
	QRcode_free(qr);
	return buf_str(out) == NULL ? -1 : 0;
}
