/* ctl_pure: frontdeskctl's pure helpers, value checks, apart
 * from libpq so that the unit tests link them alone. */
#ifndef FRONTDESK_CTL_PURE_H
#define FRONTDESK_CTL_PURE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/csv.h"

/* ctl_check.c: value checks shared by the commands, pure. */
/* A positive decimal integer that fits a bigint. */
bool ctl_parse_id(const char *s, long long *out);

#endif
