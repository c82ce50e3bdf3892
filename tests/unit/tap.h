/* tap: a minimal Test Anything Protocol emitter for the unit tests. */
#ifndef FRONTDESK_TAP_H
#define FRONTDESK_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	char text[2048];

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* One line per test, whatever the text holds: control characters
	 * (a CR LF under test would start a line TAP cannot read) are shown
	 * as \xNN, and '#' is escaped so it never reads as a SKIP/TODO. */
	for (const char *c = text; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			printf("\\x%02x", (unsigned)(unsigned char)*c);
		else if (*c == '#' || *c == '\\')
			printf("\\%c", *c);
		else
			putchar(*c);
	}
	printf("\n");
	if (!cond)
		tap_failed++;
	return cond;
}

/* Prints the plan and returns the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
