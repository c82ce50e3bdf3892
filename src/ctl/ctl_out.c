/* ctl_out: a query's rows as an aligned table, JSON or CSV on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "db/db.h"
#include "common/text.h"

/* PostgreSQL type OIDs (pg_type.h is a server header). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

const char *
ctl_value(const PGresult *r, int row, const char *field)
{
	int col = PQfnumber(r, field);

	if (col < 0 || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

void
ctl_out_escape(struct buf *b, const char *s, bool newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n;
	uint32_t c;

	for (size_t i = 0; i < len; i += n) {
		if ((n = text_utf8_decode(p + i, len - i, &c)) == 0) {
			buf_printf(b, "\\x%02x", p[i]);
			n = 1;
		} else if (newlines && (c == '\n' || c == '\t'))
			buf_addc(b, (char)c);
		else if (text_is_control(c) || text_is_break(c) || c == '\t' ||
		    text_is_bidi_control(c) || (text_is_invisible(c) &&
		    c != 0x200c && c != 0x200d))
			buf_printf(b, c < 0x80 ? "\\x%02x" : "\\u%04x",
			    (unsigned)c);
		else
			buf_add(b, p + i, n);
	}
}

/* Display width: one column per code point, good enough for names. */
static size_t
ctl_out_width(const char *s)
{
	size_t len = strlen(s);

	return text_utf8_valid(s, len) ? text_utf8_length(s, len) : len;
}

static const char *
ctl_out_cell(const PGresult *r, int row, const char *field)
{
	const char *v = ctl_value(r, row, field);
	int col = PQfnumber(r, field);

	if (v == NULL)
		return "-";
	if (col >= 0 && PQftype(r, col) == DB_OID_BOOL)
		return strcmp(v, "t") == 0 ? "yes" : "no";
	return v;
}

/* A cell as printed: escaped, so that no value can start a line. */
static const char *
ctl_out_shown(struct buf *b, const PGresult *r, int row, const char *field)
{
	buf_reset(b);
	ctl_out_escape(b, ctl_out_cell(r, row, field), false);
	return buf_str(b) ? buf_str(b) : "";
}

void
ctl_out_table(const PGresult *r, const struct ctl_column *cols, size_t ncols)
{
	size_t width[16] = { 0 };
	int rows = PQntuples(r);
	struct buf cell = { 0 };

	if (ncols > 16)
		ncols = 16;
	for (size_t j = 0; j < ncols; j++) {
		width[j] = ctl_out_width(cols[j].title);
		for (int i = 0; i < rows; i++) {
			size_t w = ctl_out_width(ctl_out_shown(&cell, r, i,
			    cols[j].field));

			if (w > width[j])
				width[j] = w;
		}
	}
	for (int i = -1; i < rows; i++) {
		struct buf line = { 0 };

		for (size_t j = 0; j < ncols; j++) {
			const char *v = i < 0 ? cols[j].title :
			    ctl_out_shown(&cell, r, i, cols[j].field);

			buf_adds(&line, v);
			/* Padding to the column, then two spaces. */
			for (size_t w = ctl_out_width(v); j + 1 < ncols &&
			    w < width[j] + 2; w++)
				buf_addc(&line, ' ');
		}
		while (line.len > 0 && line.p[line.len - 1] == ' ')
			line.len--;
		if (buf_str(&line) != NULL)
			fwrite(buf_str(&line), 1, line.len, stdout);
		putchar('\n');
		buf_free(&line);
	}
	buf_free(&cell);
}

static json_t *
ctl_out_json_value(const PGresult *r, int row, int col)
{
	const char *v;

	if (PQgetisnull(r, row, col))
		return json_null();
	v = PQgetvalue(r, row, col);
	switch (PQftype(r, col)) {
	case DB_OID_BOOL:
		return json_boolean(strcmp(v, "t") == 0);
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_integer(strtoll(v, NULL, 10));
	default:
		return json_string(v);
	}
}

static json_t *
ctl_out_json_row(const PGresult *r, int row)
{
	json_t *o = json_object();

	for (int col = 0; o != NULL && col < PQnfields(r); col++)
		if (json_object_set_new(o, PQfname(r, col),
		    ctl_out_json_value(r, row, col)) == -1) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int
ctl_out_json(const PGresult *r, bool one)
{
	json_t *doc = one ? ctl_out_json_row(r, 0) : json_array();
	int rc = CTL_OK;

	for (int i = 0; !one && doc != NULL && i < PQntuples(r); i++)
		if (json_array_append_new(doc, ctl_out_json_row(r, i)) == -1) {
			json_decref(doc);
			doc = NULL;
		}
	if (doc == NULL || json_dumpf(doc, stdout,
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
		rc = ctl_err("cannot write JSON: out of memory");
	else
		putchar('\n');
	json_decref(doc);
	return rc;
}

int
ctl_out_csv(const PGresult *r)
{
	struct buf b = { 0 };
	int rc = CTL_OK;

	db_csv(r, &b);
	if (buf_str(&b) == NULL)
		rc = ctl_err("cannot write CSV: out of memory");
	else
		fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
	return rc;
}
