/* log: one logfmt line per event on stderr. */
#ifndef FRONTDESK_LOG_H
#define FRONTDESK_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(const char *prog, int verbose);

/* `fmt` (may be NULL) formats further key=value pairs. Values that may hold
 * spaces or quotes must go through log_quote(). Never pass form text. */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define log_debug(ev, ...) log_event(LOG_LEVEL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_LEVEL_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_LEVEL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_LEVEL_ERROR, ev, __VA_ARGS__)

/* Logs at error level and exits 1: start-up only. */
void fatal(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Writes s as a double-quoted logfmt value into buf; returns buf. Control
 * characters become spaces, so a value can never break the line. */
const char *log_quote(char *buf, size_t size, const char *s);
/* s as a logfmt value: bare when it is a plain token (printable ASCII, no
 * space, quote, backslash or '='), else as log_quote writes it. For values
 * from configuration, the environment or the network. */
const char *log_value(char *buf, size_t size, const char *s);

#endif
