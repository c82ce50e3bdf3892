/* test_form: form_parse() over tables of bodies and content types. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "form.h"
#include "tap.h"

#define UE	"application/x-www-form-urlencoded"
#define MP	"multipart/form-data; boundary=XyZ"
/* A body literal and its length, so embedded NULs survive. */
#define B(s)	s, sizeof(s) - 1
#define CD	"Content-Disposition: form-data; "
#define TEN	"0123456789"
#define B70	TEN TEN TEN TEN TEN TEN TEN

struct form_case {
	const char	*desc;
	const char	*ctype;
	const char	*body;
	size_t		 len;
	int		 rc;
	const char	*fields;	/* see render(); checked when FORM_OK */
	const char	*why;		/* checked when non-NULL */
};

static const struct form_case cases[] = {
	/* urlencoded */
	{ "urlencoded: two fields", UE, B("a=1&b=2"), FORM_OK, "a=1;b=2;",
	    NULL },
	{ "urlencoded: '+' is a space", UE, B("name=Ann+Lee"), FORM_OK,
	    "name=Ann Lee;", NULL },
	{ "urlencoded: %20 is a space", UE, B("name=Ann%20Lee"), FORM_OK,
	    "name=Ann Lee;", NULL },
	{ "urlencoded: %2B is a plus, not a space", UE, B("p=%2B1"), FORM_OK,
	    "p=+1;", NULL },
	{ "urlencoded: %00 kept as a NUL with its length", UE, B("a=x%00y"),
	    FORM_OK, "a=x\\x00y;", NULL },
	{ "urlencoded: lower-case hex", UE, B("a=Jos%c3%a9"), FORM_OK,
	    "a=Jos\\xc3\\xa9;", NULL },
	{ "urlencoded: upper-case hex", UE, B("a=Jos%C3%A9"), FORM_OK,
	    "a=Jos\\xc3\\xa9;", NULL },
	{ "urlencoded: escapes in the name", UE, B("first%5Fname=Ann"),
	    FORM_OK, "first_name=Ann;", NULL },
	{ "urlencoded: escaped '&' and '=' stay in the value", UE,
	    B("a=%26%3D"), FORM_OK, "a=&\\x3d;", NULL },
	{ "urlencoded: raw UTF-8 passes through", UE, B("a=\xc5\x81ukasz"),
	    FORM_OK, "a=\\xc5\\x81ukasz;", NULL },
	{ "urlencoded: bad escape %zz", UE, B("a=%zz"), FORM_BAD, NULL,
	    "bad percent-escape" },
	{ "urlencoded: bad escape %4g", UE, B("a=%4g"), FORM_BAD, NULL, NULL },
	{ "urlencoded: truncated escape %4", UE, B("a=%4"), FORM_BAD, NULL,
	    NULL },
	{ "urlencoded: truncated escape %", UE, B("a=%"), FORM_BAD, NULL,
	    NULL },
	{ "urlencoded: truncated escape before '&'", UE, B("a=%4&b=1"),
	    FORM_BAD, NULL, NULL },
	{ "urlencoded: bad escape in a name", UE, B("%zz=1"), FORM_BAD, NULL,
	    NULL },
	{ "urlencoded: bad escape in a later field", UE, B("a=1&b=2&c=%"),
	    FORM_BAD, NULL, NULL },
	{ "urlencoded: empty body", UE, B(""), FORM_OK, "", NULL },
	{ "urlencoded: empty pairs skipped", UE, B("a=1&&b=2"), FORM_OK,
	    "a=1;b=2;", NULL },
	{ "urlencoded: leading and trailing '&'", UE, B("&a=1&"), FORM_OK,
	    "a=1;", NULL },
	{ "urlencoded: only '&'s", UE, B("&&&"), FORM_OK, "", NULL },
	{ "urlencoded: name without '=' has an empty value", UE, B("flag"),
	    FORM_OK, "flag=;", NULL },
	{ "urlencoded: name without '=' among others", UE, B("a=1&flag&b=2"),
	    FORM_OK, "a=1;flag=;b=2;", NULL },
	{ "urlencoded: empty value", UE, B("a="), FORM_OK, "a=;", NULL },
	{ "urlencoded: empty name", UE, B("=x"), FORM_OK, "=x;", NULL },
	{ "urlencoded: second '=' is part of the value", UE, B("a=b=c"),
	    FORM_OK, "a=b\\x3dc;", NULL },
	{ "urlencoded: duplicate fields kept as two", UE, B("a=1&a=2"),
	    FORM_OK, "a=1;a=2;", NULL },
	{ "urlencoded: a trailing CRLF stays in the value", UE, B("a=1\r\n"),
	    FORM_OK, "a=1\\x0d\\x0a;", NULL },
	{ "urlencoded: ';' is not a separator", UE, B("a=1;b=2"), FORM_OK,
	    "a=1\\x3bb\\x3d2;", NULL },

	/* content types */
	{ "type: charset parameter", UE "; charset=UTF-8", B("a=1"), FORM_OK,
	    "a=1;", NULL },
	{ "type: parameter without a space", UE ";charset=utf-8", B("a=1"),
	    FORM_OK, "a=1;", NULL },
	{ "type: media type is case-insensitive",
	    "Application/X-WWW-Form-URLEncoded", B("a=1"), FORM_OK, "a=1;",
	    NULL },
	{ "type: surrounding white space", "  " UE " \t", B("a=1"), FORM_OK,
	    "a=1;", NULL },
	{ "type: NULL is unsupported", NULL, B("a=1"), FORM_UNSUPPORTED, NULL,
	    NULL },
	{ "type: empty is unsupported", "", B("a=1"), FORM_UNSUPPORTED, NULL,
	    NULL },
	{ "type: text/plain is unsupported", "text/plain", B("a=1"),
	    FORM_UNSUPPORTED, NULL, NULL },
	{ "type: application/json is unsupported", "application/json",
	    B("{}"), FORM_UNSUPPORTED, NULL, NULL },
	{ "type: a longer media type is unsupported", UE "x", B("a=1"),
	    FORM_UNSUPPORTED, NULL, NULL },
	{ "type: a shorter media type is unsupported",
	    "application/x-www-form", B("a=1"), FORM_UNSUPPORTED, NULL, NULL },
	{ "type: junk after the media type is unsupported", UE " x",
	    B("a=1"), FORM_UNSUPPORTED, NULL, NULL },
	{ "type: multipart/mixed is unsupported",
	    "multipart/mixed; boundary=XyZ", B("--XyZ--"), FORM_UNSUPPORTED,
	    NULL, NULL },

	/* multipart framing */
	{ "multipart: two parts, unquoted boundary", MP,
	    B("--XyZ\r\n" CD "name=\"a\"\r\n\r\n1\r\n"
	    "--XyZ\r\n" CD "name=\"b\"\r\n\r\n2\r\n--XyZ--\r\n"), FORM_OK,
	    "a=1;b=2;", NULL },
	{ "multipart: quoted boundary",
	    "multipart/form-data; boundary=\"XyZ\"",
	    B("--XyZ\r\n" CD "name=\"a\"\r\n\r\n1\r\n--XyZ--"), FORM_OK,
	    "a=1;", NULL },
	{ "multipart: quoted boundary with a space and '='",
	    "multipart/form-data; boundary=\"a b=c\"",
	    B("--a b=c\r\n" CD "name=a\r\n\r\n1\r\n--a b=c--"), FORM_OK,
	    "a=1;", NULL },
	{ "multipart: case-insensitive type and parameter name",
	    "Multipart/Form-Data; BOUNDARY=XyZ",
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--"), FORM_OK, "a=1;",
	    NULL },
	{ "multipart: boundary after another parameter",
	    "multipart/form-data; charset=utf-8; boundary=XyZ",
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--"), FORM_OK, "a=1;",
	    NULL },
	{ "multipart: boundary of 70 characters",
	    "multipart/form-data; boundary=" B70,
	    B("--" B70 "\r\n" CD "name=a\r\n\r\n1\r\n--" B70 "--"), FORM_OK,
	    "a=1;", NULL },
	{ "multipart: boundary of 71 characters",
	    "multipart/form-data; boundary=" B70 "x",
	    B("--" B70 "x\r\n" CD "name=a\r\n\r\n1\r\n--" B70 "x--"),
	    FORM_BAD, NULL, "bad boundary" },
	{ "multipart: no boundary", "multipart/form-data",
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--"), FORM_BAD, NULL,
	    "no boundary" },
	{ "multipart: no boundary among other parameters",
	    "multipart/form-data; charset=utf-8", B("--XyZ--"), FORM_BAD, NULL,
	    "no boundary" },
	{ "multipart: empty boundary", "multipart/form-data; boundary=\"\"",
	    B("--\r\n--"), FORM_BAD, NULL, "bad boundary" },
	{ "multipart: boundary ending in a space",
	    "multipart/form-data; boundary=\"ab \"", B("--ab --"), FORM_BAD,
	    NULL, "bad boundary" },
	{ "multipart: no closing delimiter", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n"), FORM_BAD, NULL,
	    "no closing boundary" },
	{ "multipart: close delimiter without CRLF before it", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1--XyZ--"), FORM_BAD, NULL, NULL },
	{ "multipart: no opening delimiter", MP, B("hello"), FORM_BAD, NULL,
	    "no opening boundary" },
	{ "multipart: no header/body separator", MP,
	    B("--XyZ\r\n" CD "name=a\r\n--XyZ--"), FORM_BAD, NULL,
	    "part without header/body separator" },
	{ "multipart: empty part", MP, B("--XyZ\r\n\r\n--XyZ--"), FORM_BAD,
	    NULL, NULL },
	{ "multipart: form-data without a name", MP,
	    B("--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--"),
	    FORM_BAD, NULL, NULL },
	{ "multipart: no Content-Disposition", MP,
	    B("--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--"),
	    FORM_BAD, NULL, "part without a name" },
	{ "multipart: name* is not name", MP,
	    B("--XyZ\r\n" CD "name*=utf-8''a\r\n\r\n1\r\n--XyZ--"), FORM_BAD,
	    NULL, NULL },
	{ "multipart: disposition other than form-data", MP,
	    B("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n"
	    "--XyZ--"), FORM_BAD, NULL, "bad content-disposition" },
	{ "multipart: unterminated quoted name", MP,
	    B("--XyZ\r\n" CD "name=\"a\r\n\r\n1\r\n--XyZ--"), FORM_BAD, NULL,
	    NULL },
	{ "multipart: two Content-Disposition headers", MP,
	    B("--XyZ\r\n" CD "name=a\r\n" CD "name=b\r\n\r\n1\r\n--XyZ--"),
	    FORM_BAD, NULL, NULL },
	{ "multipart: a value containing CRLF", MP,
	    B("--XyZ\r\n" CD "name=m\r\n\r\nline1\r\nline2\r\n--XyZ--"),
	    FORM_OK, "m=line1\\x0d\\x0aline2;", NULL },
	{ "multipart: a value ending in CRLF keeps it", MP,
	    B("--XyZ\r\n" CD "name=m\r\n\r\nx\r\n\r\n--XyZ--"), FORM_OK,
	    "m=x\\x0d\\x0a;", NULL },
	{ "multipart: empty value", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n\r\n--XyZ--"), FORM_OK, "a=;",
	    NULL },
	{ "multipart: a NUL byte in a value", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\nx\0y\r\n--XyZ--"), FORM_OK,
	    "a=x\\x00y;", NULL },
	{ "multipart: preamble and epilogue ignored", MP,
	    B("preamble\r\n--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--\r\n"
	    "epilogue\r\n--XyZ\r\n"), FORM_OK, "a=1;", NULL },
	{ "multipart: padding after a boundary", MP,
	    B("--XyZ \t\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--"), FORM_OK,
	    "a=1;", NULL },
	{ "multipart: a longer boundary-like line is content", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZab\r\n2\r\n--XyZ--"),
	    FORM_OK, "a=1\\x0d\\x0a--XyZab\\x0d\\x0a2;", NULL },
	{ "multipart: a file part is a field", MP,
	    B("--XyZ\r\n" CD "name=\"f\"; filename=\"a.txt\"\r\n"
	    "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--"), FORM_OK,
	    "f=hello;", NULL },
	{ "multipart: filename before name", MP,
	    B("--XyZ\r\n" CD "filename=\"name.txt\"; name=f\r\n\r\nx\r\n"
	    "--XyZ--"), FORM_OK, "f=x;", NULL },
	{ "multipart: unquoted name", MP,
	    B("--XyZ\r\n" CD "name=first_name\r\n\r\nAnn\r\n--XyZ--"),
	    FORM_OK, "first_name=Ann;", NULL },
	{ "multipart: escaped quote in a quoted name", MP,
	    B("--XyZ\r\n" CD "name=\"a\\\"b\"\r\n\r\n1\r\n--XyZ--"), FORM_OK,
	    "a\"b=1;", NULL },
	{ "multipart: ';' inside a quoted name", MP,
	    B("--XyZ\r\n" CD "name=\"a;b\"\r\n\r\n1\r\n--XyZ--"), FORM_OK,
	    "a\\x3bb=1;", NULL },
	{ "multipart: header names and values case-insensitive", MP,
	    B("--XyZ\r\ncontent-disposition: FORM-DATA; NAME=a\r\n\r\n1\r\n"
	    "--XyZ--"), FORM_OK, "a=1;", NULL },
	{ "multipart: bare LF in part headers tolerated", MP,
	    B("--XyZ\r\n" CD "name=a\nContent-Type: text/plain\n\n1\r\n"
	    "--XyZ--"), FORM_OK, "a=1;", NULL },
	{ "multipart: duplicate names kept as two fields", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ\r\n" CD
	    "name=a\r\n\r\n2\r\n--XyZ--"), FORM_OK, "a=1;a=2;", NULL },
	{ "multipart: body is only the close delimiter", MP, B("--XyZ--"),
	    FORM_OK, "", NULL },
	{ "multipart: empty body is an empty form", MP, B(""), FORM_OK, "",
	    NULL },
	{ "multipart: body is only an opening delimiter", MP, B("--XyZ\r\n"),
	    FORM_BAD, NULL, NULL },
	{ "multipart: value is not percent-decoded", MP,
	    B("--XyZ\r\n" CD "name=a\r\n\r\n%zz+\r\n--XyZ--"), FORM_OK,
	    "a=%zz+;", NULL },
};

/* Bodies too big for a literal: n fields or parts, optionally broken. */
struct gen_case {
	const char	*desc;
	const char	*ctype;
	int		 nfields;
	int		 broken;	/* a bad escape first / no close */
	int		 rc;
};

static const struct gen_case gen_cases[] = {
	{ "urlencoded: exactly 50 fields", UE, 50, 0, FORM_OK },
	{ "urlencoded: 51 fields is too many", UE, 51, 0, FORM_TOO_MANY },
	{ "urlencoded: 1000 fields is too many", UE, 1000, 0, FORM_TOO_MANY },
	{ "urlencoded: 51 fields outranks a bad escape", UE, 51, 1,
	    FORM_TOO_MANY },
	{ "urlencoded: 50 fields with a bad escape", UE, 50, 1, FORM_BAD },
	{ "multipart: exactly 50 parts", MP, 50, 0, FORM_OK },
	{ "multipart: 51 parts is too many", MP, 51, 0, FORM_TOO_MANY },
	{ "multipart: 51 parts outranks a missing close", MP, 51, 1,
	    FORM_TOO_MANY },
	{ "multipart: 50 parts and no close", MP, 50, 1, FORM_BAD },
};

/* Hostile bodies of 16 MiB: each must finish in linear time. */
struct big_case {
	const char	*desc;
	const char	*ctype;
	const char	*head;
	const char	*unit;		/* repeated to fill 16 MiB */
	const char	*tail;
	int		 rc;
};

#define END_PART	"\r\n\r\nv\r\n--XyZ--"

static const struct big_case big_cases[] = {
	{ "16 MiB of '&'", UE, "", "&", "", FORM_OK },
	{ "16 MiB of '%'", UE, "a=", "%", "", FORM_BAD },
	{ "16 MiB of \"%41\"", UE, "a=", "%41", "", FORM_OK },
	{ "16 MiB in one value", UE, "a=", "v", "", FORM_OK },
	{ "16 MiB of false delimiters", MP, "--XyZ\r\n", "\r\n--XyZx", "",
	    FORM_BAD },
	{ "16 MiB of CRs", MP, "--XyZ\r\n", "\r", "", FORM_BAD },
	{ "16 MiB of padding after a delimiter", MP, "--XyZ\r\n\r\n--XyZ",
	    " ", "", FORM_BAD },
	{ "16 MiB of one header line", MP, "--XyZ\r\n", "x", END_PART,
	    FORM_BAD },
	{ "16 MiB of parameters", MP, "--XyZ\r\n" CD "name=a", "; a=b",
	    END_PART, FORM_OK },
	{ "16 MiB of header lines", MP, "--XyZ\r\n" CD "name=a", "\nX: y",
	    END_PART, FORM_OK },
	{ "16 MiB in one part", MP, "--XyZ\r\n" CD "name=a\r\n\r\n", "v",
	    "\r\n--XyZ--", FORM_OK },
};

/* Renders fields as "name=value;" with bytes that could confuse the reading
 * escaped as \xHH. */
static void
render(const struct form *f, char *out, size_t size)
{
	size_t	 i, j, o = 0;

	for (i = 0; i < f->nfields; i++) {
		const struct form_field *fld = &f->fields[i];

		for (j = 0; j < fld->name_len + 1 + fld->value_len + 1; j++) {
			unsigned char c;

			if (o + 5 >= size)
				break;
			if (j < fld->name_len)
				c = fld->name[j];
			else if (j == fld->name_len) {
				out[o++] = '=';
				continue;
			} else if (j <= fld->name_len + fld->value_len)
				c = fld->value[j - fld->name_len - 1];
			else {
				out[o++] = ';';
				continue;
			}
			if (c < 0x20 || c >= 0x7f || c == '\\' || c == ';' ||
			    c == '=')
				o += snprintf(out + o, size - o, "\\x%02x", c);
			else
				out[o++] = c;
		}
	}
	out[o] = '\0';
}

static void
run_case(const struct form_case *c)
{
	struct form	 f;
	const char	*why = NULL;
	char		 got[1024];
	int		 rc, ok;

	rc = form_parse(&f, c->ctype, c->body, c->len, &why);
	render(&f, got, sizeof(got));
	ok = rc == c->rc;
	if (ok && rc == FORM_OK)
		ok = strcmp(got, c->fields) == 0;
	if (ok && c->why != NULL)
		ok = why != NULL && strcmp(why, c->why) == 0;
	if (ok && rc != FORM_OK)
		ok = f.nfields == 0 && why != NULL;
	if (!tap_ok(ok, "%s", c->desc))
		printf("# rc %d (want %d), fields \"%s\", why \"%s\"\n", rc,
		    c->rc, got, why ? why : "(null)");
	form_free(&f);
}

static char *
build_body(const struct gen_case *c, size_t *len)
{
	size_t	 size = 64 + (size_t)c->nfields * 80, o = 0;
	char	*b;
	int	 i;

	if ((b = malloc(size)) == NULL)
		abort();
	for (i = 0; i < c->nfields; i++) {
		if (c->ctype[0] == 'a')
			o += snprintf(b + o, size - o, "%sf%d=%s",
			    i ? "&" : "", i, c->broken && i == 0 ? "%" : "v");
		else
			o += snprintf(b + o, size - o, "--XyZ\r\n" CD
			    "name=f%d\r\n\r\nv\r\n", i);
	}
	if (c->ctype[0] == 'm' && !c->broken)
		o += snprintf(b + o, size - o, "--XyZ--\r\n");
	*len = o;
	return b;
}

static void
run_gen(const struct gen_case *c)
{
	struct form	 f;
	const char	*why;
	size_t		 len;
	char		*body = build_body(c, &len);
	int		 rc;

	rc = form_parse(&f, c->ctype, body, len, &why);
	tap_ok(rc == c->rc && (rc != FORM_OK ||
	    f.nfields == (size_t)c->nfields), "%s", c->desc);
	form_free(&f);
	free(body);
}

static void
run_big(const struct big_case *c)
{
	const size_t	 size = 16 << 20;
	struct form	 f;
	const char	*why;
	size_t		 o, hlen = strlen(c->head), ulen = strlen(c->unit),
			 tlen = strlen(c->tail);
	char		*body;
	clock_t		 t0;
	double		 secs;
	int		 rc;

	if ((body = malloc(size)) == NULL)
		abort();
	memcpy(body, c->head, hlen);
	for (o = hlen; o + ulen + tlen <= size; o += ulen)
		memcpy(body + o, c->unit, ulen);
	memcpy(body + o, c->tail, tlen);
	o += tlen;
	t0 = clock();
	rc = form_parse(&f, c->ctype, body, o, &why);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (!tap_ok(rc == c->rc && secs < 10, "%s (%.2fs)", c->desc, secs))
		printf("# rc %d (want %d)\n", rc, c->rc);
	form_free(&f);
	free(body);
}

/* The lookups and the raw multipart entry point. */
static void
run_misc(void)
{
	struct form	 f;
	const char	*why;

	form_parse(&f, UE, B("a=1&a%00b=x&a=2&b=3"), &why);
	tap_ok(form_count(&f, "a") == 2, "form_count counts duplicates");
	tap_ok(form_get(&f, "a") == &f.fields[0], "form_get finds the first");
	tap_ok(form_get(&f, "b") == &f.fields[3],
	    "form_get skips a name with a NUL in it");
	tap_ok(form_get(&f, "c") == NULL && form_count(&f, "c") == 0,
	    "form_get of a missing name is NULL");
	form_free(&f);
	tap_ok(f.nfields == 0, "form_free empties the form");
	form_free(&f);
	tap_ok(form_parse_multipart(&f, "", 0, B("--\r\n"), &why) == FORM_BAD,
	    "form_parse_multipart: empty boundary");
	tap_ok(form_parse_multipart(&f, B70 "x", 71, B("x"), &why) == FORM_BAD,
	    "form_parse_multipart: boundary of 71 characters");
	tap_ok(form_parse_multipart(&f, "b", 1,
	    B("--b\r\n" CD "name=a\r\n\r\n1\r\n--b--"), NULL) == FORM_OK &&
	    f.nfields == 1, "form_parse_multipart: why may be NULL");
	form_free(&f);
	tap_ok(form_parse(&f, UE, NULL, 0, &why) == FORM_OK &&
	    f.nfields == 0, "urlencoded: NULL body of length 0");
	tap_ok(form_parse(&f, MP, NULL, 0, &why) == FORM_OK &&
	    f.nfields == 0, "multipart: NULL body of length 0");
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	for (i = 0; i < sizeof(gen_cases) / sizeof(gen_cases[0]); i++)
		run_gen(&gen_cases[i]);
	for (i = 0; i < sizeof(big_cases) / sizeof(big_cases[0]); i++)
		run_big(&big_cases[i]);
	run_misc();
	return tap_done();
}
