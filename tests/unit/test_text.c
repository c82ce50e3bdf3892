/* test_text: common/text.c, the checks every program shares. */
#include <string.h>

#include "tap.h"
#include "text.h"


/* The building blocks, each over its own table. */
struct str_case {
	const char	*s;
	size_t		 len;
	bool		 ok;
	const char	*desc;		/* when the value is unreadable */
};

#define NELEM(t)	(sizeof(t) / sizeof((t)[0]))
#define S(s)	s, sizeof(s) - 1
#define X10	"xxxxxxxxxx"
#define Y10	"yyyyyyyyyy"
#define L64	X10 X10 X10 X10 X10 X10 "xxxx"
#define D61	Y10 Y10 Y10 Y10 Y10 Y10 "y"
#define D63	D61 "yy"

static const struct str_case emails[] = {
	{ S("ann@example.com"), true, NULL },
	{ S("Ann.Lee@Example.COM"), true, NULL },
	{ S("a@b.co"), true, NULL },
	{ S("o'brien@example.ie"), true, NULL },
	{ S("!#$%&'*+/=?^_`{|}~-@example.com"), true, NULL },
	{ S("a.b.c@mail.example.co.uk"), true, NULL },
	{ S("a@123.example"), true, NULL },
	{ S("a@ex-ample.com"), true, NULL },
	{ S("a@xn--exmple-cua.com"), true, NULL },
	{ S(L64 "@example.com"), true, "64-byte local part" },
	{ S(L64 "x@example.com"), false, "65-byte local part" },
	{ S(L64 "@" D63 "." D63 "." D61), true, "254 bytes in all" },
	{ S(L64 "@" D63 "." D63 "." D61 "y"), false,
	    "255 bytes in all" },
	{ S("a@" D63 ".com"), true, "63-byte domain label" },
	{ S("a@" D63 "y.com"), false, "64-byte domain label" },
	{ S(""), false, NULL },
	{ S("ann"), false, NULL },
	{ S("@example.com"), false, NULL },
	{ S("ann@"), false, NULL },
	{ S("ann@localhost"), false, NULL },
	{ S(".ann@example.com"), false, NULL },
	{ S("ann.@example.com"), false, NULL },
	{ S("a..b@example.com"), false, NULL },
	{ S("a@b@example.com"), false, NULL },
	{ S("\"ann\"@example.com"), false, NULL },
	{ S("\"a b\"@example.com"), false, NULL },
	{ S("Maria <m@x.com>"), false, NULL },
	{ S("<m@x.com>"), false, NULL },
	{ S("ann(comment)@example.com"), false, NULL },
	{ S("ann@example.com (Ann)"), false, NULL },
	{ S("a b@example.com"), false, NULL },
	{ S("a\\b@example.com"), false, NULL },
	{ S("a,b@example.com"), false, NULL },
	{ S("jos\xc3\xa9@example.com"), false, NULL },
	{ S("a@ex\xc3\xa4mple.com"), false, NULL },
	{ S("a@-example.com"), false, NULL },
	{ S("a@example-.com"), false, NULL },
	{ S("a@example.-com"), false, NULL },
	{ S("a@example.com-"), false, NULL },
	{ S("a@example..com"), false, NULL },
	{ S("a@.example.com"), false, NULL },
	{ S("a@example.com."), false, NULL },
	{ S("a@ex_ample.com"), false, NULL },
	{ S("a@[192.0.2.1]"), false, NULL },
	{ S("a@example.com\r\nBcc: x@y.z"), false, NULL },
	{ S("a@example.com\0.evil"), false, NULL },
};

static const struct str_case phones[] = {
	{ S("2125550100"), true, NULL },
	{ S("5550100"), true, NULL },
	{ S("555010"), false, NULL },
	{ S("123456789012345"), true, NULL },
	{ S("1234567890123456"), false, NULL },
	{ S("+1 (212) 555-0100"), true, NULL },
	{ S("(212) 555-0100"), true, NULL },
	{ S("212.555.0100"), true, NULL },
	{ S("+44 20 7946 0958"), true, NULL },
	{ S("+12125550100"), true, NULL },
	{ S("++1 212 555 0100"), false, NULL },
	{ S("+1 +212 555 0100"), false, NULL },
	{ S("1+2125550100"), false, NULL },
	{ S("212-555-0100 x5"), false, NULL },
	{ S("CALL-ME-NOW"), false, NULL },
	{ S("212/555/0100"), false, NULL },
	{ S("+"), false, NULL },
	{ S(""), false, NULL },
	{ S("-------"), false, NULL },
	{ S("+ 1 212 555 0100"), true, NULL },
	{ S("\xef\xbc\x92\xef\xbc\x91\xef\xbc\x92" "5550100"), false, NULL },
	{ S("212555\0" "0100"), false, NULL },
};

static const struct str_case keys[] = {
	{ S("a"), true, NULL },
	{ S("A-z_0-9"), true, NULL },
	{ S(L64), true, "64 characters" },
	{ S(L64 "x"), false, "65 characters" },
	{ S(""), false, NULL },
	{ S("a b"), false, NULL },
	{ S("a.b"), false, NULL },
	{ S("a/b"), false, NULL },
	{ S("a\0b"), false, NULL },
};

static const struct str_case slugs[] = {
	{ S("midtown"), true, NULL },
	{ S("fidi-2"), true, NULL },
	{ S("9th-ave"), true, NULL },
	{ S(L64), true, "64 characters" },
	{ S(L64 "x"), false, "65 characters" },
	{ S(""), false, NULL },
	{ S("-midtown"), false, NULL },
	{ S("Midtown"), false, NULL },
	{ S("mid_town"), false, NULL },
	{ S("mid town"), false, NULL },
	{ S("../x"), false, NULL },
};

struct utf8_case {
	const char	*desc;
	const char	*s;
	size_t		 len;
	bool		 valid;
	size_t		 length;	/* code points, when valid */
};

static const struct utf8_case utf8s[] = {
	{ "empty", S(""), true, 0 },
	{ "ASCII", S("Ann"), true, 3 },
	{ "Jos\xc3\xa9", S("Jos\xc3\xa9"), true, 4 },
	{ "CJK", S("\xe5\xb1\xb1\xe7\x94\xb0"), true, 2 },
	{ "emoji", S("\xf0\x9f\x98\x80"), true, 1 },
	{ "U+10FFFF", S("\xf4\x8f\xbf\xbf"), true, 1 },
	{ "U+FFFF", S("\xef\xbf\xbf"), true, 1 },
	{ "U+D7FF below the surrogates", S("\xed\x9f\xbf"), true, 1 },
	{ "embedded NUL", S("a\0b"), true, 3 },
	{ "overlong C0 AF", S("\xc0\xaf"), false, 0 },
	{ "overlong C1 BF", S("\xc1\xbf"), false, 0 },
	{ "overlong E0 80 AF", S("\xe0\x80\xaf"), false, 0 },
	{ "overlong E0 9F BF", S("\xe0\x9f\xbf"), false, 0 },
	{ "overlong F0 8F BF BF", S("\xf0\x8f\xbf\xbf"), false, 0 },
	{ "surrogate ED A0 80", S("\xed\xa0\x80"), false, 0 },
	{ "above U+10FFFF F4 90 80 80", S("\xf4\x90\x80\x80"), false, 0 },
	{ "F5 lead byte", S("\xf5\x80\x80\x80"), false, 0 },
	{ "truncated C3", S("a\xc3"), false, 0 },
	{ "truncated F0 9F 98", S("\xf0\x9f\x98"), false, 0 },
	{ "bad continuation C3 41", S("\xc3\x41"), false, 0 },
	{ "lone continuation", S("\x80"), false, 0 },
};

static const struct {
	const char *url;
	bool ok;
} redirects[] = {
	{ "/thank-you/", true }, { "https://clinic.example/t", true },
	{ "http://clinic.example/", true }, { "", false },
	{ "//evil.example/", false }, { "/\\evil.example", false },
	{ "javascript:alert(1)", false }, { "/a b", false },
	{ "/a\r\nSet-Cookie: x", false }, { "https://", false },
	{ "thanks.html", false },
};


/* An address an operator configures may have a one-label domain; a
 * patient's may not. Both refuse what is not a plain address. */
static const struct {
	const char *s;
	bool patient, route;
} addrs[] = {
	{ "ann@example.com", true, true },
	{ "root@localhost", false, true },
	{ "front.desk+mid@clinic.example", true, true },
	{ "a@b@c.example", false, false },
	{ "@clinic.example", false, false },
	{ "ann@", false, false },
	{ "ann@-x.example", false, false },
	{ "ann..lee@clinic.example", false, false },
	{ "Ann <ann@clinic.example>", false, false },
	{ "ann@clinic.example;", false, false },
	{ "ann@clinic.example.", false, false },
};

/* frontdeskctl's names (moved from test_csv with the check). */
static const struct {
	const char *in;
	size_t max;
	int ok;
} texts[] = {
	{ "Midtown Manhattan", 200, 1 },
	{ "Woodbury, Long Island", 200, 1 },
	{ "", 200, 0 },
	{ "two\nlines", 200, 0 },
	{ "tab\there", 200, 0 },
	{ "del\x7f", 200, 0 },
	{ "c1 \xc2\x85 nel", 200, 0 },
	{ "bad utf-8 \xff", 200, 0 },
	{ "overlong \xc0\xaf", 200, 0 },
	{ "\xc3\xa9\xc3\xa9\xc3\xa9", 3, 1 },   /* characters, not bytes */
	{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, 0 },
	{ "abcd", 3, 0 },
};

/* A name an admin types: one line of valid UTF-8 without controls. */
static const struct {
	const char *s;
	bool ok;
	const char *desc;
} lines[] = {
	{ "Midtown Manhattan", true, "plain" },
	{ "Woodbury, Long Island", true, "punctuation" },
	{ "Jos\xc3\xa9", true, "UTF-8" },
	{ "", false, "empty" },
	{ "a\tb", false, "a tab" },
	{ "a\x7f", false, "DEL" },
	{ "a\xc2\x85", false, "NEL (C1)" },
	{ "a\xc2\x9b", false, "CSI (C1)" },
	{ "a\xe2\x80\xa8" "b", false, "LINE SEPARATOR" },
	{ "a\xff", false, "invalid UTF-8" },
	{ "\xd8\xb9\xd9\x84\xe2\x80\x8c\xd9\x8a", true, "ZWNJ in Persian" },
};

static void
run_str(const char *what, bool (*fn)(const char *, size_t),
    const struct str_case *t, size_t n)
{
	char	 shown[256];
	size_t	 i, j, o;

	for (i = 0; i < n; i++) {
		/* Control bytes would break the TAP line. */
		for (j = o = 0; j < t[i].len && o + 5 < sizeof(shown); j++)
			if ((unsigned char)t[i].s[j] < 0x20)
				o += snprintf(shown + o, sizeof(shown) - o,
				    "\\x%02x", (unsigned char)t[i].s[j]);
			else
				shown[o++] = t[i].s[j];
		shown[o] = '\0';
		tap_ok(fn(t[i].s, t[i].len) == t[i].ok, "%s %s %s%s%s", what,
		    t[i].ok ? "accepts" : "rejects", t[i].desc ? "" : "\"",
		    t[i].desc ? t[i].desc : shown, t[i].desc ? "" : "\"");
	}
}

static void
run_utf8(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(utf8s) / sizeof(utf8s[0]); i++) {
		const struct utf8_case *u = &utf8s[i];

		tap_ok(text_utf8_valid(u->s, u->len) == u->valid &&
		    (!u->valid || text_utf8_length(u->s, u->len) == u->length),
		    "utf8: %s is %s", u->desc, u->valid ? "valid" : "invalid");
	}
}

int
main(void)
{
	for (size_t i = 0; i < NELEM(addrs); i++) {
		tap_ok(text_email_patient(addrs[i].s, strlen(addrs[i].s)) ==
		    addrs[i].patient, "patient email %s %s", addrs[i].s,
		    addrs[i].patient ? "ok" : "refused");
		tap_ok(text_email_route(addrs[i].s) == addrs[i].route,
		    "route email %s %s", addrs[i].s,
		    addrs[i].route ? "ok" : "refused");
	}
	for (size_t i = 0; i < NELEM(lines); i++)
		tap_ok(text_one_line(lines[i].s, 100) == lines[i].ok,
		    "one line: %s %s", lines[i].desc,
		    lines[i].ok ? "ok" : "refused");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		tap_ok(text_one_line(texts[i].in, texts[i].max) ==
		    texts[i].ok, "text %zu (max %zu) %s", i, texts[i].max,
		    texts[i].ok ? "ok" : "refused");
	tap_ok(!text_one_line("abcd", 3) && text_one_line("abc", 3),
	    "one line: at most max_chars code points");
	{
		const char *s = "\xc2\xa0 Ann\xe3\x80\x80 ";
		size_t n = strlen(s);

		text_trim(&s, &n);
		tap_ok(n == 3 && memcmp(s, "Ann", 3) == 0,
		    "trim: NBSP and ideographic space go");
	}
	tap_ok(text_is_control(0x85) && text_is_control(0x7f) &&
	    text_is_control(0) && !text_is_control(0xa0) &&
	    !text_is_control(0x200c), "controls: C0, DEL, C1; not NBSP or ZWNJ");
	tap_ok(text_is_bidi_control(0x202e) && text_is_bidi_control(0x2066) &&
	    text_is_bidi_control(0x200f) && !text_is_bidi_control(0x200d),
	    "bidi controls: RLO, LRI, RLM; not ZWJ");
	tap_ok(text_is_invisible(0x200b) && text_is_invisible(0x200d) &&
	    text_is_invisible(0x2060) && text_is_invisible(0xe0041) &&
	    !text_is_invisible('a') && !text_is_invisible(0x0645),
	    "invisible: ZWSP, ZWJ, WJ, a tag; not letters");
	tap_ok(!text_shows_something("\xe2\x80\x8b\xe2\x81\xa0", 6) &&
	    text_shows_something("a\xe2\x80\x8b", 4) &&
	    !text_shows_something("", 0),
	    "shows something: not ZWSP and WJ alone, yes with a letter");
	run_str("email", text_email_patient, emails, NELEM(emails));
	run_str("phone", text_phone, phones, NELEM(phones));
	run_str("key", text_key, keys, NELEM(keys));
	run_str("slug", text_slug, slugs, NELEM(slugs));
	run_utf8();
	for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
		tap_ok(text_redirect_url(redirects[i].url) == redirects[i].ok,
		    "redirect URL \"%s\" %s", redirects[i].url,
		    redirects[i].ok ? "ok" : "refused");
	return tap_done();
}
