/* csv: RFC 4180 cells for exports (frontdeskctl, the console). */
#ifndef FRONTDESK_CSV_H
#define FRONTDESK_CSV_H

#include <stdbool.h>

#include "buf.h"

/* Appends one cell (NULL: empty); `first` starts a row. A cell starting
 * with = + - @ (or a tab or CR) gets a leading ' so that a spreadsheet
 * never evaluates it. */
void csv_cell(struct buf *b, const char *s, bool first);
/* Ends a row with CRLF. */
void csv_end(struct buf *b);

#endif
