/* strcount: how often a string occurs in another, for the tests and fuzz
 * harnesses that check what a composed message holds. */
#ifndef FRONTDESK_STRCOUNT_H
#define FRONTDESK_STRCOUNT_H

#include <string.h>

/* Non-overlapping occurrences of what (not empty) in s. */
static inline size_t
strcount(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

#endif
