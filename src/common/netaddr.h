/* netaddr: client addresses, trusted proxies, rate-limit keys. */
#ifndef FRONTDESK_NETADDR_H
#define FRONTDESK_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#define NETADDR_MAX_CIDRS 32
#define NETADDR_KEY_LEN 64

struct netaddr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char a[16];    /* IPv4 in the first 4 bytes */
};

struct netaddr_cidr {
	struct netaddr net;
	int bits;
};

/* Parses "a.b.c.d", "x::y" (IPv4-mapped IPv6 becomes IPv4); -1 if not. */
int netaddr_parse(const char *s, size_t len, struct netaddr *out);
/* Parses a comma- or space-separated CIDR list (a bare address is a /32 or
 * /128). Returns the count, or -1 with the bad item named in err. */
int netaddr_parse_cidrs(const char *list, struct netaddr_cidr *out,
    size_t max, char *err, size_t errsize);
bool netaddr_in(const struct netaddr *a, const struct netaddr_cidr *c);

/* The client of a request: REMOTE_ADDR, or, when it is a trusted proxy,
 * the last X-Forwarded-For hop that is not one. 0, or -1 when no usable
 * address is known. */
int netaddr_client(const char *remote_addr, const char *xff,
    const struct netaddr_cidr *trusted, size_t ntrusted, struct netaddr *out);
/* The address as text ("192.0.2.1", "2001:db8::1"). */
void netaddr_format(const struct netaddr *a, char out[NETADDR_KEY_LEN]);
/* The same client: REMOTE_ADDR, or, when it is a trusted proxy,
 * the last X-Forwarded-For hop that is not one. Writes the rate-limit key
 * into out: the IPv4 address, or the IPv6 /64 ("2001:db8:1:2::/64").
 * -1 when no usable address is known. */
int netaddr_client_key(const char *remote_addr, const char *xff,
    const struct netaddr_cidr *trusted, size_t ntrusted,
    char out[NETADDR_KEY_LEN]);

#endif
