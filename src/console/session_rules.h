/* session_rules: the pure parts of the console's sessions: reading the
 * cookie and the origin rule. tests/unit/test_session.c holds their
 * tables. */
#ifndef FRONTDESK_SESSION_RULES_H
#define FRONTDESK_SESSION_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* The value of cookie `name` in a Cookie header into out: false when
 * absent, empty, too long or not a token's characters (base64url). When
 * it is given twice, the first (RFC 6265 orders the most specific path
 * first) is taken. */
bool session_cookie_token(const char *header, const char *name, char *out,
    size_t size);
/* The console's own origin: [console] origin when set, else the scheme
 * (REQUEST_SCHEME, or HTTPS=on), the host (Host, lower-cased) and the
 * port (Host's own, else SERVER_PORT unless it is the scheme's default). */
void session_own_origin(const char *configured, const char *scheme,
    const char *https, const char *host, const char *port, char *out,
    size_t size);
/* Is an Origin header foreign to own? Absent is not; "null" is; the
 * comparison is exact (scheme and host in any case), never a prefix. */
bool session_origin_foreign(const char *origin, const char *own);

#endif
