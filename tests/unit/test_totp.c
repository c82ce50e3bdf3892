/* Unit tests for totp.c: RFC 6238's vectors, the accept rule (the step of
 * now or the one before, each once), the URI and the QR code's SVG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "totp.h"
#include "tap.h"

/* RFC 6238 appendix B's SHA-1 secret, "12345678901234567890", base32. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static const struct {
	long long t;
	const char *code;   /* the last 6 of the RFC's 8 digits */
} rfc[] = {
	{ 59, "287082" },
	{ 1111111109, "081804" },
	{ 1111111111, "050471" },
	{ 1234567890, "005924" },
	{ 2000000000, "279037" },
	{ 20000000000LL, "353130" },
};

static void
vectors(void)
{
	char code[TOTP_DIGITS + 1];

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		int rc = totp_code(RFC_SECRET, rfc[i].t / TOTP_STEP, code);

		tap_ok(rc == 0 && strcmp(code, rfc[i].code) == 0,
		    "RFC 6238 T=%lld: %s, want %s", rfc[i].t, code,
		    rfc[i].code);
		/* Any second of the step gives the step's code. */
		tap_ok(totp_check(RFC_SECRET, rfc[i].code, (time_t)rfc[i].t,
		    0) == rfc[i].t / TOTP_STEP, "accepted at T=%lld",
		    rfc[i].t);
	}
	tap_ok(totp_code("not base32!", 1, code) == -1 && code[0] == '\0',
	    "a bad secret: -1");
	tap_ok(totp_code("", 1, code) == -1, "an empty secret: -1");
	tap_ok(totp_code(NULL, 1, code) == -1, "a NULL secret: -1");
}

static void
window(void)
{
	const time_t now = 1111111111;   /* step 37037037, 1 s into it */
	const long long cur = now / TOTP_STEP;
	char c0[7], c1[7], c2[7], cf[7];

	totp_code(RFC_SECRET, cur, c0);
	totp_code(RFC_SECRET, cur - 1, c1);
	totp_code(RFC_SECRET, cur - 2, c2);
	totp_code(RFC_SECRET, cur + 1, cf);
	tap_ok(totp_check(RFC_SECRET, c0, now, 0) == cur, "current step ok");
	tap_ok(totp_check(RFC_SECRET, c1, now, 0) == cur - 1,
	    "previous step ok");
	tap_ok(totp_check(RFC_SECRET, c2, now, 0) == -1,
	    "two steps back refused");
	tap_ok(totp_check(RFC_SECRET, cf, now, 0) == -1,
	    "the next step (future) refused");
	tap_ok(totp_check(RFC_SECRET, c0, (time_t)(cur * 30 + 29), 0) == cur,
	    "current step ok at its last second");
	tap_ok(totp_check(RFC_SECRET, c0, (time_t)(cur * 30 + 30), 0) == cur,
	    "ok at the first second of the next step, as the previous");
	tap_ok(totp_check(RFC_SECRET, c0, (time_t)(cur * 30 + 59), 0) == cur,
	    "ok at the last second of the next step");
	tap_ok(totp_check(RFC_SECRET, c0, (time_t)(cur * 30 + 60), 0) == -1,
	    "refused two steps later");
	/* Replay: each step once. */
	tap_ok(totp_check(RFC_SECRET, c0, now, cur) == -1,
	    "a step = last_step refused (replay)");
	tap_ok(totp_check(RFC_SECRET, c0, now, cur + 5) == -1,
	    "a step < last_step refused");
	tap_ok(totp_check(RFC_SECRET, c1, now, cur - 1) == -1,
	    "previous step = last_step refused");
	tap_ok(totp_check(RFC_SECRET, c1, now, cur) == -1,
	    "previous step once the current was used refused");
	tap_ok(totp_check(RFC_SECRET, c0, now, cur - 1) == cur,
	    "current step after the previous was used ok");
	/* Codes that are not 6 digits never reach the comparison. */
	tap_ok(totp_check(RFC_SECRET, "05047", now, 0) == -1, "5 digits");
	tap_ok(totp_check(RFC_SECRET, "0504710", now, 0) == -1, "7 digits");
	tap_ok(totp_check(RFC_SECRET, "05047a", now, 0) == -1, "a letter");
	tap_ok(totp_check(RFC_SECRET, " 50471", now, 0) == -1, "a space");
	tap_ok(totp_check(RFC_SECRET, "", now, 0) == -1, "empty");
	tap_ok(totp_check(RFC_SECRET, NULL, now, 0) == -1, "NULL");
	tap_ok(totp_check("!!", c0, now, 0) == -1, "a bad secret");
	tap_ok(totp_check(RFC_SECRET, "287082", 59, 0) == 1 &&
	    totp_check(RFC_SECRET, "287082", 30, 0) == 1,
	    "step 1 over its 30 seconds");
	tap_ok(totp_check(RFC_SECRET, "287082", 29, 0) == -1,
	    "step 1 not at step 0 (future)");
}

static void
secrets(void)
{
	char s[8][TOTP_SECRET_B32 + 1], code[7], small[TOTP_SECRET_B32];
	int bad = 0, dup = 0;

	for (int i = 0; i < 8; i++) {
		if (totp_new_secret(s[i], sizeof(s[i])) != 0 ||
		    strlen(s[i]) != TOTP_SECRET_B32 ||
		    s[i][strspn(s[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")] !=
		    '\0' || totp_code(s[i], 1, code) != 0)
			bad++;
		for (int j = 0; j < i; j++)
			dup += strcmp(s[i], s[j]) == 0;
	}
	tap_ok(bad == 0, "new secrets: 32 of base32, usable: %s", s[0]);
	tap_ok(dup == 0, "8 new secrets are distinct");
	tap_ok(totp_new_secret(small, sizeof(small)) == -1, "no room: -1");
}

static void
uri(void)
{
	struct buf b = { 0 };

	totp_uri(&b, "frontdesk", "maria", RFC_SECRET);
	tap_ok(strcmp(buf_str(&b), "otpauth://totp/frontdesk:maria?secret="
	    RFC_SECRET "&issuer=frontdesk&algorithm=SHA1&digits=6&period=30")
	    == 0, "uri: %s", buf_str(&b));
	buf_reset(&b);
	totp_uri(&b, "In Touch NYC: PT&Co", "m.g@clinic?x=1", RFC_SECRET);
	tap_ok(strcmp(buf_str(&b), "otpauth://totp/In%20Touch%20NYC%3A%20PT"
	    "%26Co:m.g%40clinic%3Fx%3D1?secret=" RFC_SECRET "&issuer=In%20"
	    "Touch%20NYC%3A%20PT%26Co&algorithm=SHA1&digits=6&period=30") == 0,
	    "uri: label and issuer percent-encoded: %s", buf_str(&b));
	buf_free(&b);
}

/* Reads the SVG's path back into a grid of modules and compares it with
 * libqrencode's own symbol for the same text: the image is the code. */
static void
qr(void)
{
	const char *text = "otpauth://totp/frontdesk:maria?secret=" RFC_SECRET
	    "&issuer=frontdesk&algorithm=SHA1&digits=6&period=30";
	struct buf b = { 0 };
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int w = q->width, size = w + 8, vb = 0, wrong = 0, outside = 0;
	unsigned char *grid = calloc((size_t)(size * size), 1);
	const char *svg, *p;
	char want[64];

	tap_ok(totp_qr_svg(&b, text) == 0, "qr: svg made");
	svg = buf_str(&b);
	tap_ok(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39)
	    == 0 && strcmp(svg + b.len - 6, "</svg>") == 0, "qr: an svg");
	snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\"", size, size);
	tap_ok(strstr(svg, want) != NULL, "qr: %s (a quiet zone of 4)", want);
	tap_ok(strstr(svg, "fill=\"#fff\"") != NULL, "qr: white ground");
	p = strstr(svg, " d=\"");
	for (p = p != NULL ? p + 4 : ""; *p == 'M'; ) {
		int x, y, n, n2, used;

		if (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2, &used) !=
		    4 || n != n2) {
			wrong++;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (x + i < 4 || y < 4 || x + i >= w + 4 || y >= w + 4)
				outside++;
			else
				grid[y * size + x + i] = 1;
		}
		vb++;
		p += used;
	}
	tap_ok(*p == '"' && wrong == 0 && vb > 0, "qr: the path is %d runs",
	    vb);
	tap_ok(outside == 0, "qr: nothing dark in the quiet zone");
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			wrong += (q->data[y * w + x] & 1) !=
			    grid[(y + 4) * size + x + 4];
	tap_ok(wrong == 0, "qr: every module as libqrencode made it (%dx%d)",
	    w, w);
	QRcode_free(q);
	free(grid);
	buf_free(&b);
	tap_ok(totp_qr_svg(&b, NULL) == -1, "qr: NULL text -1");
	buf_free(&b);
}

int
main(void)
{
	vectors();
	window();
	secrets();
	uri();
	qr();
	return tap_done();
}
