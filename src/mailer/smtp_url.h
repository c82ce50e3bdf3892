/* smtp_url: the host [smtp] url names, read the way libcurl reads it, and
 * whether tls = off may send there (only to the loopback). */
#ifndef FRONTDESK_SMTP_URL_H
#define FRONTDESK_SMTP_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Is host, as libcurl's URL parser gives it (CURLUPART_HOST: an IPv6
 * address in brackets), the loopback? Only "localhost" (any case), an
 * IPv4 literal in 127.0.0.0/8 and [::1] are: never a name that merely
 * starts like one (localhost.attacker.example, 127.0.0.1.nip.io). */
bool smtp_host_loopback(const char *host);

/* Checks url for tls = off (tls_off) or required. Returns 0 when the mail
 * may go there; -1 with a sentence in err when url cannot be parsed, or
 * when tls_off would send in the clear (smtp://) to a host that is not the
 * loopback. host gets the URL's host when it has one (never the URL's
 * user name or password), else "". */
int smtp_url_check(const char *url, bool tls_off, char *host,
    size_t hostsize, char *err, size_t errsize);

#endif
