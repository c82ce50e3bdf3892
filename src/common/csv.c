/* csv: RFC 4180 cells, spreadsheet formulas neutralised, pure. */
#include <string.h>

#include "csv.h"

/* A spreadsheet reads a cell starting with one of these as a formula
 * (tab and CR too, per OWASP's CSV injection advice). */
static bool
csv_formula(const char *s)
{
	return s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
}

void
csv_cell(struct buf *b, const char *s, bool first)
{
	bool quote;

	if (!first)
		buf_addc(b, ',');
	if (s == NULL)
		return;
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		buf_addc(b, '"');
	if (csv_formula(s))
		buf_addc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	if (quote)
		buf_addc(b, '"');
}

void
csv_end(struct buf *b)
{
	buf_adds(b, "\r\n");
}
