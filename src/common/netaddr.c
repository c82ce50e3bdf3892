/* netaddr: client addresses, trusted proxies, rate-limit keys. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

int
netaddr_parse(const char *s, size_t len, struct netaddr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	/* "[::1]" as some proxies write it */
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		s++, len -= 2;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->a) != 1)
		return -1;
	out->family = AF_INET6;
	if (memcmp(out->a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(out->a, out->a + 12, 4);
		memset(out->a + 4, 0, 12);
		out->family = AF_INET;
	}
	return 0;
}

/* One X-Forwarded-For hop: an address, and maybe a port, which proxies
 * such as some load balancers append ("192.0.2.1:51234",
 * "[2001:db8::1]:443"); the port says nothing about the client. */
static int
parse_hop(const char *s, size_t len, struct netaddr *out)
{
	const char *colon;
	size_t n;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return -1;
		n = (size_t)(close - s) + 1;
		if (n < len && (s[n] != ':' || n + 1 == len ||
		    strspn(s + n + 1, "0123456789") < len - n - 1))
			return -1;
		return netaddr_parse(s, n, out);
	}
	/* IPv4 with a port: one colon, digits after it. */
	if ((colon = memchr(s, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL &&
	    memchr(s, '.', (size_t)(colon - s)) != NULL) {
		size_t port = len - (size_t)(colon - s) - 1;

		for (size_t i = 0; i < port; i++)
			if (colon[1 + i] < '0' || colon[1 + i] > '9')
				return -1;
		if (port == 0)
			return -1;
		return netaddr_parse(s, (size_t)(colon - s), out);
	}
	return netaddr_parse(s, len, out);
}

int
netaddr_parse_cidrs(const char *list, struct netaddr_cidr *out, size_t max,
    char *err, size_t errsize)
{
	size_t n = 0;

	while (*list != '\0') {
		size_t len = strcspn(list, ", \t"), alen;
		const char *slash;
		char *end;
		long bits;

		if (len == 0) {
			list++;
			continue;
		}
		slash = memchr(list, '/', len);
		alen = slash ? (size_t)(slash - list) : len;
		if (n == max || netaddr_parse(list, alen, &out[n].net) == -1)
			goto bad;
		bits = out[n].net.family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			long maxbits = bits;

			bits = strtol(slash + 1, &end, 10);
			if (end != list + len || end == slash + 1 || bits < 0 ||
			    bits > maxbits)
				goto bad;
		}
		out[n++].bits = (int)bits;
		list += len;
		continue;
bad:
		snprintf(err, errsize, "\"%.*s\" is not an address or CIDR%s",
		    (int)len, list, n == max ? " (too many)" : "");
		return -1;
	}
	return (int)n;
}

bool
netaddr_in(const struct netaddr *a, const struct netaddr_cidr *c)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (a->family != c->net.family)
		return false;
	if (memcmp(a->a, c->net.a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->a[full] ^ c->net.a[full]) & (0xff << (8 - rest))) == 0;
}

static bool
trusted_one(const struct netaddr *a, const struct netaddr_cidr *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (netaddr_in(a, &t[i]))
			return true;
	return false;
}

static void
key_of(const struct netaddr *a, char out[NETADDR_KEY_LEN])
{
	unsigned char net[16] = { 0 };
	char s[INET6_ADDRSTRLEN];

	if (a->family == AF_INET) {
		inet_ntop(AF_INET, a->a, out, NETADDR_KEY_LEN);
		return;
	}
	/* One IPv6 subscriber usually has a whole /64. */
	memcpy(net, a->a, 8);
	inet_ntop(AF_INET6, net, s, sizeof(s));
	snprintf(out, NETADDR_KEY_LEN, "%s/64", s);
}

int
netaddr_client(const char *remote_addr, const char *xff,
    const struct netaddr_cidr *trusted, size_t ntrusted, struct netaddr *out)
{
	struct netaddr a, hop;
	size_t end;

	if (remote_addr == NULL ||
	    netaddr_parse(remote_addr, strlen(remote_addr), &a) == -1)
		return -1;
	/* Walk X-Forwarded-For from the right while the hop we trust says
	 * who connected to it; the first untrusted hop is the client. */
	end = xff ? strlen(xff) : 0;
	while (ntrusted > 0 && trusted_one(&a, trusted, ntrusted) && end > 0) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (parse_hop(xff + start, end - start, &hop) == -1)
			break;
		a = hop;
		end = start > 0 ? start - 1 : 0;
	}
	*out = a;
	return 0;
}

int
netaddr_client_key(const char *remote_addr, const char *xff,
    const struct netaddr_cidr *trusted, size_t ntrusted,
    char out[NETADDR_KEY_LEN])
{
	struct netaddr a;

	if (netaddr_client(remote_addr, xff, trusted, ntrusted, &a) == -1)
		return -1;
	key_of(&a, out);
	return 0;
}

void
netaddr_format(const struct netaddr *a, char out[NETADDR_KEY_LEN])
{
	inet_ntop(a->family, a->a, out, NETADDR_KEY_LEN);
}
