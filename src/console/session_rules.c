/* session_rules: reading the cookie, the origin rule. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "session_rules.h"

static bool
token_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

bool
session_cookie_token(const char *header, const char *name, char *out,
    size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, " \t;");
		n = strcspn(p, ";");
		if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vn = n - nlen - 1;

			while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn == 0 || vn >= size)
				return false;
			for (size_t i = 0; i < vn; i++)
				if (!token_char(v[i]))
					return false;
			memcpy(out, v, vn);
			out[vn] = '\0';
			return true;
		}
		p += n;
	}
	return false;
}

void
session_own_origin(const char *configured, const char *scheme,
    const char *https, const char *host, const char *port, char *out,
    size_t size)
{
	char h[300];
	const char *colon;
	size_t o;
	bool tls;

	if (configured != NULL && configured[0] != '\0') {
		snprintf(out, size, "%s", configured);
		o = strlen(out);
		while (o > 0 && out[o - 1] == '/')
			out[--o] = '\0';
		return;
	}
	tls = (scheme != NULL && strcasecmp(scheme, "https") == 0) ||
	    (https != NULL && strcasecmp(https, "on") == 0);
	snprintf(h, sizeof(h), "%s", host != NULL ? host : "");
	for (char *q = h; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	/* a port of its own: after the last ':' that is not inside [v6] */
	colon = strrchr(h, ':');
	if (colon != NULL && strchr(colon, ']') == NULL)
		snprintf(out, size, "%s://%s", tls ? "https" : "http", h);
	else if (port != NULL && port[0] != '\0' &&
	    strcmp(port, tls ? "443" : "80") != 0)
		snprintf(out, size, "%s://%s:%s", tls ? "https" : "http", h,
		    port);
	else
		snprintf(out, size, "%s://%s", tls ? "https" : "http", h);
}

bool
session_origin_foreign(const char *origin, const char *own)
{
	const char *os, *ws;
	size_t on, wn;

	if (origin == NULL)
		return false;
	/* scheme and host are case-insensitive; nothing else may differ */
	if ((os = strstr(origin, "://")) == NULL ||
	    (ws = strstr(own, "://")) == NULL)
		return true;
	on = strlen(origin);
	wn = strlen(own);
	return on != wn || strncasecmp(origin, own, on) != 0;
}
