/* smtp_url: the host [smtp] url names, and whether tls = off may go there.
 *
 * The host comes from libcurl's own URL parser (curl_url), the one that
 * later decides where to connect: a hand-made split of the string would
 * have to agree with it on userinfo, brackets, ports, percent-escapes and
 * IPv4 spellings (127.1, 0x7f.1, 2130706433, which libcurl turns into
 * 127.0.0.1), and a prefix test let smtp://localhost.attacker.example
 * pass for the loopback. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "smtp_url.h"

bool
smtp_host_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	char inner[INET6_ADDRSTRLEN + 1];
	size_t n;

	if (host == NULL)
		return false;
	/* Whole names only. libcurl resolves "localhost" itself, to the
	 * loopback, without asking DNS or /etc/hosts. */
	if (strcasecmp(host, "localhost") == 0)
		return true;
	/* inet_pton takes the dotted quad alone: no trailing name. */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	n = strlen(host);
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' ||
	    n - 2 >= sizeof(inner))
		return false;
	memcpy(inner, host + 1, n - 2);
	inner[n - 2] = '\0';
	return inet_pton(AF_INET6, inner, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

int
smtp_url_check(const char *url, bool tls_off, char *host, size_t hostsize,
    char *err, size_t errsize)
{
	CURLU *u;
	CURLUcode rc;
	char *scheme = NULL, *h = NULL;
	int ret = -1;

	if (hostsize > 0)
		host[0] = '\0';
	if ((u = curl_url()) == NULL) {
		snprintf(err, errsize, "[smtp] url: out of memory");
		return -1;
	}
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) !=
	    CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_HOST, &h, 0)) != CURLUE_OK) {
		/* Not the URL itself: it may hold a password. */
		snprintf(err, errsize, "[smtp] url: not a URL libcurl can use "
		    "(%s)", curl_url_strerror(rc));
		goto out;
	}
	if (hostsize > 0)
		snprintf(host, hostsize, "%s", h);
	/* smtps:// is TLS from the first byte, whatever tls says. */
	if (tls_off && strcmp(scheme, "smtp") == 0 && !smtp_host_loopback(h)) {
		snprintf(err, errsize, "[smtp] tls = off sends the mail (and any "
		    "password) in the clear, so it is only for a relay on the "
		    "loopback (localhost, 127.0.0.0/8 or [::1]), which this "
		    "host is not");
		goto out;
	}
	ret = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return ret;
}
