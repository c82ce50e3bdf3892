/* Unit tests for smtp_url.c and secret.c: where tls = off may send, and
 * whether a password file is the mailer's alone. */
#include <stdint.h>
#include <string.h>

#include "secret.h"
#include "smtp_url.h"
#include "tap.h"

static const struct {
	const char *host;
	bool loopback;
} hosts[] = {
	{ "localhost", true },
	{ "LocalHost", true },
	{ "127.0.0.1", true },
	{ "127.255.10.2", true },
	{ "[::1]", true },
	{ "[0:0:0:0:0:0:0:1]", true },
	{ "localhost.attacker.example", false },
	{ "localhostx", false },
	{ "localhost.", false },
	{ "127.0.0.1.nip.io", false },
	{ "127.0.0.1x", false },
	{ "128.0.0.1", false },
	{ "126.255.255.255", false },
	{ "[::1].attacker.example", false },
	{ "[::2]", false },
	{ "[::ffff:127.0.0.1]", false },
	{ "::1", false },
	{ "[::1", false },
	{ "", false },
};

static const struct {
	const char *url;
	bool tls_off;
	int want;
	const char *host;
} urls[] = {
	{ "smtp://localhost.attacker.example:25", true, -1,
	    "localhost.attacker.example" },
	{ "smtp://LOCALHOST.attacker.example", true, -1,
	    "LOCALHOST.attacker.example" },
	{ "smtp://127.0.0.1.attacker.example:25", true, -1,
	    "127.0.0.1.attacker.example" },
	{ "smtp://[::1].attacker.example", true, -1, "" },
	{ "smtp://localhost:2525", true, 0, "localhost" },
	{ "smtp://127.0.0.1:25/clinic.example", true, 0, "127.0.0.1" },
	{ "smtp://127.9.9.9", true, 0, "127.9.9.9" },
	{ "smtp://[::1]:25", true, 0, "[::1]" },
	/* libcurl reads these IPv4 spellings as 127.0.0.1, and so do we */
	{ "smtp://127.1:25", true, 0, "127.0.0.1" },
	{ "smtp://2130706433", true, 0, "127.0.0.1" },
	/* userinfo is not the host, whichever side of it "localhost" is */
	{ "smtp://u:s3cret@127.0.0.1:25", true, 0, "127.0.0.1" },
	{ "smtp://localhost@evil.example:25", true, -1, "evil.example" },
	{ "smtp://127.0.0.1:pw@evil.example", true, -1, "evil.example" },
	{ "smtp://evil.example/127.0.0.1", true, -1, "evil.example" },
	{ "smtp://192.0.2.1:25", true, -1, "192.0.2.1" },
	/* TLS from the first byte, or required: anywhere */
	{ "smtps://relay.example:465", true, 0, "relay.example" },
	{ "smtp://relay.example:587", false, 0, "relay.example" },
	{ "SMTP://localhost.attacker.example", true, -1,
	    "localhost.attacker.example" },
	/* not a URL at all: refused, whatever tls says */
	{ "smtp://", true, -1, "" },
	{ "smtp://", false, -1, "" },
};

/* An ACL attribute as the kernel stores it. */
static size_t
acl(unsigned char *out, const uint32_t (*e)[3], size_t n)
{
	size_t o = 4;

	memset(out, 0, 4);
	out[0] = 2;
	for (size_t i = 0; i < n; i++, o += 8) {
		out[o] = (unsigned char)e[i][0];
		out[o + 1] = (unsigned char)(e[i][0] >> 8);
		out[o + 2] = (unsigned char)e[i][1];
		out[o + 3] = 0;
		for (int b = 0; b < 4; b++)
			out[o + 4 + b] = (unsigned char)(e[i][2] >> (8 * b));
	}
	return o;
}

#define ANY 0xffffffffu

static void
test_secret(void)
{
	unsigned char a[SECRET_ACL_MAX];
	size_t n;
	/* systemd's credential where ACLs work: 0400 root, user:svc:r */
	static const uint32_t cred[][3] = { { 1, 4, ANY }, { 2, 4, 999 },
	    { 4, 0, ANY }, { 0x10, 4, ANY }, { 0x20, 0, ANY } };
	static const uint32_t other_user[][3] = { { 1, 4, ANY }, { 2, 4, 1000 },
	    { 4, 0, ANY }, { 0x10, 4, ANY }, { 0x20, 0, ANY } };
	static const uint32_t masked_out[][3] = { { 1, 6, ANY },
	    { 2, 4, 1000 }, { 4, 4, ANY }, { 0x10, 0, ANY }, { 0x20, 0, ANY } };
	static const uint32_t group[][3] = { { 1, 4, ANY }, { 2, 4, 999 },
	    { 4, 4, ANY }, { 0x10, 4, ANY }, { 0x20, 0, ANY } };
	static const uint32_t named_group[][3] = { { 1, 4, ANY },
	    { 4, 0, ANY }, { 8, 4, 50 }, { 0x10, 4, ANY }, { 0x20, 0, ANY } };

	tap_ok(secret_exposed(0100600, 999, 999, NULL, 0) == NULL,
	    "0600, the mailer's: private");
	tap_ok(secret_exposed(0100400, 999, 999, NULL, 0) == NULL,
	    "0400, the mailer's (a systemd credential on ramfs): private");
	tap_ok(secret_exposed(0100600, 0, 999, NULL, 0) == NULL,
	    "0600, root's: private");
	tap_ok(secret_exposed(0100700, 999, 999, NULL, 0) == NULL,
	    "0700: private");
	tap_ok(secret_exposed(0100644, 999, 999, NULL, 0) != NULL,
	    "0644: refused");
	tap_ok(secret_exposed(0100640, 999, 999, NULL, 0) != NULL,
	    "0640: refused");
	tap_ok(secret_exposed(0100620, 999, 999, NULL, 0) != NULL,
	    "0620: refused");
	tap_ok(secret_exposed(0100602, 999, 999, NULL, 0) != NULL,
	    "0602: refused");
	tap_ok(secret_exposed(0100610, 999, 999, NULL, 0) == NULL,
	    "0610 (execute only): private");
	tap_ok(secret_exposed(0100600, 1000, 999, NULL, 0) != NULL,
	    "0600 of another user: refused");
	n = acl(a, cred, 5);
	tap_ok(secret_exposed(0100440, 0, 999, a, n) == NULL,
	    "0440 shown for 0400 root + user:mailer:r (systemd credential "
	    "with ACLs): private");
	tap_ok(secret_exposed(0100440, 0, 1000, a, n) != NULL,
	    "the same ACL for another user's mailer: refused");
	n = acl(a, other_user, 5);
	tap_ok(secret_exposed(0100440, 999, 999, a, n) != NULL,
	    "an ACL entry for another user: refused");
	n = acl(a, masked_out, 5);
	tap_ok(secret_exposed(0100600, 999, 999, a, n) == NULL,
	    "entries the mask takes away: private");
	n = acl(a, group, 5);
	tap_ok(secret_exposed(0100440, 0, 999, a, n) != NULL,
	    "group::r under an ACL: refused");
	n = acl(a, named_group, 5);
	tap_ok(secret_exposed(0100440, 999, 999, a, n) != NULL,
	    "a named group entry: refused");
	n = acl(a, cred, 5);
	a[0] = 1;
	tap_ok(secret_exposed(0100440, 0, 999, a, n) != NULL,
	    "an ACL of an unknown version: refused");
	tap_ok(secret_exposed(0100440, 0, 999, a, 7) != NULL,
	    "a cut ACL: refused");
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		tap_ok(smtp_host_loopback(hosts[i].host) == hosts[i].loopback,
		    "host \"%s\": %s", hosts[i].host, hosts[i].loopback ?
		    "loopback" : "not loopback");
	tap_ok(!smtp_host_loopback(NULL), "no host: not loopback");
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		char host[128], err[512];
		int r = smtp_url_check(urls[i].url, urls[i].tls_off, host,
		    sizeof(host), err, sizeof(err));

		tap_ok(r == urls[i].want && strcmp(host, urls[i].host) == 0 &&
		    (r == 0 || (err[0] != '\0' && strstr(err, "s3cret") ==
		    NULL)), "%s, tls %s: %s, host \"%s\" (got %d, \"%s\": %s)",
		    urls[i].url, urls[i].tls_off ? "off" : "required",
		    urls[i].want == 0 ? "allowed" : "refused", urls[i].host, r,
		    host, r == 0 ? "" : err);
	}
	test_secret();
	return tap_done();
}
