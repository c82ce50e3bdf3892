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

bool
ctl_parse_date(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	/* February 29th only in a leap year. */
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return false;
	return true;
}
