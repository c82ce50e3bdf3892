/* log: one logfmt line per event on stderr, written with one write(2). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "frontdesk";
static int log_verbose;

static const char *const log_levels[] = { "debug", "info", "warn", "error" };

void
log_init(const char *prog, int verbose)
{
	log_prog = prog;
	log_verbose = verbose;
}

static void
log_vevent(enum log_level level, const char *event, const char *fmt,
    va_list ap)
{
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	size_t n;
	int r;

	if (level == LOG_LEVEL_DEBUG && !log_verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s prog=%s event=%s",
	    ts, now.tv_nsec / 1000000, log_levels[level], log_prog, event);
	n = r < 0 ? 0 : (size_t)r;
	if (fmt != NULL && n < sizeof(line) - 1) {
		line[n++] = ' ';
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* A line is one event: never let a value split it. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vevent(level, event, fmt, ap);
	va_end(ap);
}

void
fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vevent(LOG_LEVEL_ERROR, event, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;

	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; s != NULL && *s != '\0' && o + 3 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf[o++] = '\\';
		buf[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *
log_value(char *buf, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	bool bare = n > 0 && n < size;

	for (size_t i = 0; bare && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		bare = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
	}
	if (!bare)
		return log_quote(buf, size, s);
	memcpy(buf, s, n + 1);
	return buf;
}
