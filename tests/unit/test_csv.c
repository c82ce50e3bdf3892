/* Unit tests for ctl_csv.c and ctl_check.c: RFC 4180 cells, formula
 * neutralising and frontdeskctl's checks of command-line values. */
#include <string.h>

#include "csv.h"
#include "text.h"
#include "ctl_pure.h"
#include "tap.h"

/* One cell, as the second of a row (so it starts with its comma). */
static const struct {
	const char *in;    /* NULL: SQL NULL */
	const char *want;
} cells[] = {
	{ NULL, "," },
	{ "", "," },
	{ "plain", ",plain" },
	{ "Maria Gonzalez", ",Maria Gonzalez" },
	{ "a,b", ",\"a,b\"" },
	{ "say \"hi\"", ",\"say \"\"hi\"\"\"" },
	{ "\"", ",\"\"\"\"" },
	{ "line one\nline two", ",\"line one\nline two\"" },
	{ "crlf\r\ninside", ",\"crlf\r\ninside\"" },
	{ "lone\rcr", ",\"lone\rcr\"" },
	{ "=SUM(A1:A9)", ",'=SUM(A1:A9)" },
	{ "+1 212 555 0143", ",'+1 212 555 0143" },
	{ "-2+3", ",'-2+3" },
	{ "@cmd", ",'@cmd" },
	{ "\tTab", ",'\tTab" },
	{ "=HYPERLINK(\"http://x\",\"y\")",
	    ",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
	{ "=a,b", ",\"'=a,b\"" },
	{ "a=b", ",a=b" },
	{ "it's", ",it's" },
	{ "Jos\xc3\xa9 \xe2\x80\x94 ok", ",Jos\xc3\xa9 \xe2\x80\x94 ok" },
	{ " =lead space", ", =lead space" },
};

static const struct {
	const char *in;
	int ok;
	long long want;
} ids[] = {
	{ "1", 1, 1 },
	{ "42", 1, 42 },
	{ "9223372036854775807", 1, 9223372036854775807LL },
	{ "9223372036854775808", 0, 0 },
	{ "0", 0, 0 },
	{ "-1", 0, 0 },
	{ "+1", 0, 0 },
	{ " 1", 0, 0 },
	{ "1 ", 0, 0 },
	{ "12abc", 0, 0 },
	{ "", 0, 0 },
	{ "x", 0, 0 },
	{ "99999999999999999999", 0, 0 },
};

static const struct {
	const char *in;
	int ok;
} dates[] = {
	{ "2024-05-01", 1 },
	{ "2024-02-29", 1 },
	{ "2000-02-29", 1 },
	{ "1900-02-29", 0 },
	{ "2023-02-29", 0 },
	{ "2024-02-30", 0 },
	{ "2024-04-31", 0 },
	{ "2024-12-31", 1 },
	{ "2024-13-01", 0 },
	{ "2024-00-10", 0 },
	{ "2024-01-00", 0 },
	{ "0000-01-01", 0 },
	{ "2024-5-1", 0 },
	{ "2024/05/01", 0 },
	{ "2024-05-01T00", 0 },
	{ "yesterday", 0 },
	{ "", 0 },
};


/* A description must stay on its TAP line. */
static const char *
oneline(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = strchr("\r\n\t", s[i]) != NULL ? ' ' : s[i];
	buf[i] = '\0';
	return buf;
}

static void
test_cells(void)
{
	char d[128];

	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		struct buf b = { 0 };
		const char *got;

		csv_cell(&b, cells[i].in, false);
		got = buf_str(&b);
		tap_ok(got != NULL && strcmp(got, cells[i].want) == 0,
		    "cell %zu: %s", i, oneline(d, sizeof(d), cells[i].want));
		buf_free(&b);
	}
}

static void
test_row(void)
{
	struct buf b = { 0 };
	const char *got;

	csv_cell(&b, "reference", true);
	csv_cell(&b, "message", false);
	csv_end(&b);
	csv_cell(&b, "FD-00000001", true);
	csv_cell(&b, "a, \"b\"\nc", false);
	csv_cell(&b, NULL, false);
	csv_end(&b);
	csv_cell(&b, "-", true);
	csv_end(&b);
	got = buf_str(&b);
	tap_ok(got != NULL && strcmp(got, "reference,message\r\n"
	    "FD-00000001,\"a, \"\"b\"\"\nc\",\r\n'-\r\n") == 0,
	    "rows end in CRLF; first cells have no comma; a lone - is "
	    "neutralised");
	buf_free(&b);
}

static void
test_checks(void)
{
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		long long v = 0;
		int ok = ctl_parse_id(ids[i].in, &v);

		tap_ok(ok == ids[i].ok && (!ok || v == ids[i].want),
		    "id \"%s\" %s", ids[i].in, ids[i].ok ? "ok" : "refused");
	}
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
		tap_ok(text_date(dates[i].in) == dates[i].ok,
		    "date \"%s\" %s", dates[i].in,
		    dates[i].ok ? "ok" : "refused");
}

int
main(void)
{
	test_cells();
	test_row();
	test_checks();
	return tap_done();
}
