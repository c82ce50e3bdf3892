/* ctl_check: frontdeskctl's checks of command-line values, pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_pure.h"
#include "common/text.h"

bool
ctl_parse_id(const char *s, long long *out)
{
	char *end;
	long long v;

	/* strtoll alone would take " 12", "+12" and "12abc". */
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 19)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*out = v;
	return true;
}

