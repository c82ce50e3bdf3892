/* ctl_pure: frontdeskctl's pure helpers, CSV cells and value checks, apart
 * from libpq so that the unit tests link them alone. */
#ifndef FRONTDESK_CTL_PURE_H
#define FRONTDESK_CTL_PURE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* ctl_csv.c: RFC 4180 cells, pure. */
/* Appends one cell (NULL: empty); `first` starts a row. A cell starting
 * with = + - @ (or a tab or CR) gets a leading ' so that a spreadsheet
 * never evaluates it. */
void ctl_csv_cell(struct buf *b, const char *s, bool first);
/* Ends a row with CRLF. */
void ctl_csv_end(struct buf *b);

/* ctl_check.c: value checks shared by the commands, pure. */
/* A positive decimal integer that fits a bigint. */
bool ctl_parse_id(const char *s, long long *out);
/* YYYY-MM-DD, a real calendar date. */
bool ctl_parse_date(const char *s);

#endif
