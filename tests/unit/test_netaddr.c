/* Unit tests for netaddr.c: parsing, CIDR matching, client keys. */
#include <string.h>

#include "netaddr.h"
#include "tap.h"

static const struct {
	const char *remote, *xff, *trusted, *want;
} keys[] = {
	{ "203.0.113.7", NULL, "", "203.0.113.7" },
	{ "203.0.113.7", "198.51.100.1", "", "203.0.113.7" },  /* untrusted */
	{ "127.0.0.1", "198.51.100.1", "127.0.0.1", "198.51.100.1" },
	{ "127.0.0.1", "6.6.6.6, 198.51.100.1", "127.0.0.1", "198.51.100.1" },
	{ "10.0.0.2", "198.51.100.1, 10.0.0.1", "10.0.0.0/8", "198.51.100.1" },
	{ "10.0.0.2", "10.0.0.9", "10.0.0.0/8", "10.0.0.9" },  /* all trusted */
	{ "10.0.0.2", "garbage, 10.0.0.1", "10.0.0.0/8", "10.0.0.1" },
	{ "127.0.0.1", "", "127.0.0.1", "127.0.0.1" },
	{ "2001:db8:1:2:3:4:5:6", NULL, "", "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::ffff", NULL, "", "2001:db8:1:2::/64" },
	{ "::ffff:192.0.2.9", NULL, "", "192.0.2.9" },
	{ "::1", "[2001:db8::1]", "::1", "2001:db8::/64" },
	{ "::1", "192.0.2.1", "::1/128", "192.0.2.1" },
	/* a hop may carry a port (docs/interface.md): the port is ignored */
	{ "127.0.0.1", "198.51.100.1:51234", "127.0.0.1", "198.51.100.1" },
	{ "127.0.0.1", "[2001:db8:5::1]:443", "127.0.0.1", "2001:db8:5::/64" },
	{ "127.0.0.1", "6.6.6.6:1, 198.51.100.2:80", "127.0.0.1",
	    "198.51.100.2" },
	{ "10.0.0.2", "198.51.100.3, 10.0.0.1:8080", "10.0.0.0/8",
	    "198.51.100.3" },
	/* not a port: the trusted hop stands */
	{ "127.0.0.1", "198.51.100.1:", "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.1", "198.51.100.1:x", "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.1", "[2001:db8::1]x", "127.0.0.1", "127.0.0.1" },
	{ "127.0.0.1", "unknown", "127.0.0.1", "127.0.0.1" },
	/* a bare IPv6 address is no address and port */
	{ "127.0.0.1", "2001:db8:6::1", "127.0.0.1", "2001:db8:6::/64" },
};

static const struct {
	const char *list;
	int n;
} lists[] = {
	{ "", 0 },
	{ "127.0.0.1", 1 },
	{ "127.0.0.1, ::1", 2 },
	{ "10.0.0.0/8 192.168.0.0/16,fd00::/8", 3 },
	{ "10.0.0.0/33", -1 },
	{ "::/129", -1 },
	{ "10.0.0.0/", -1 },
	{ "10.0.0.0/8x", -1 },
	{ "not-an-ip", -1 },
	{ "300.1.1.1", -1 },
};

static const struct {
	const char *addr, *cidr;
	bool in;
} matches[] = {
	{ "10.1.2.3", "10.0.0.0/8", true },
	{ "11.1.2.3", "10.0.0.0/8", false },
	{ "192.168.1.130", "192.168.1.128/25", true },
	{ "192.168.1.127", "192.168.1.128/25", false },
	{ "1.2.3.4", "0.0.0.0/0", true },
	{ "::1", "0.0.0.0/0", false },
	{ "2001:db8::5", "2001:db8::/32", true },
	{ "2001:db9::5", "2001:db8::/32", false },
};

int
main(void)
{
	struct netaddr_cidr t[NETADDR_MAX_CIDRS];
	char err[128], key[NETADDR_KEY_LEN];
	struct netaddr a;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int n = netaddr_parse_cidrs(keys[i].trusted, t, NETADDR_MAX_CIDRS,
		    err, sizeof(err));
		int r = netaddr_client_key(keys[i].remote, keys[i].xff, t,
		    n < 0 ? 0 : (size_t)n, key);

		tap_ok(r == 0 && strcmp(key, keys[i].want) == 0,
		    "client of %s xff=%s trusted=%s: %s", keys[i].remote,
		    keys[i].xff ? keys[i].xff : "-", keys[i].trusted,
		    r == 0 ? key : "(none)");
	}
	tap_ok(netaddr_client_key(NULL, NULL, t, 0, key) == -1, "no REMOTE_ADDR");
	tap_ok(netaddr_client_key("unix:", NULL, t, 0, key) == -1, "not an IP");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		tap_ok(netaddr_parse_cidrs(lists[i].list, t, NETADDR_MAX_CIDRS,
		    err, sizeof(err)) == lists[i].n, "CIDR list \"%s\"",
		    lists[i].list);
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		netaddr_parse_cidrs(matches[i].cidr, t, 1, err, sizeof(err));
		netaddr_parse(matches[i].addr, strlen(matches[i].addr), &a);
		tap_ok(netaddr_in(&a, &t[0]) == matches[i].in, "%s in %s: %d",
		    matches[i].addr, matches[i].cidr, matches[i].in);
	}
	return tap_done();
}
