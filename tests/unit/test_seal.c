/* Unit tests for seal.c: v0 without a key, v1 round trips, tampering and
 * another key refused, and the key file's checks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal.h"
#include "tap.h"

static char dir[] = "/tmp/test_seal.XXXXXX";

static const char *
path(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		tap_ok(0, "write %s", name);
	fchmod(fd, mode);
	close(fd);
}

static void
key_files(void)
{
	static const char hex[] = "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff";
	char err[512], text[200];
	struct stat st;

	tap_ok(seal_new_key_file(path("k1"), err, sizeof(err)) == 0,
	    "new key file: %s", err);
	tap_ok(stat(path("k1"), &st) == 0 && (st.st_mode & 0777) == 0600,
	    "new key file is 0600: %o", (unsigned)(st.st_mode & 0777));
	tap_ok(seal_new_key_file(path("k1"), err, sizeof(err)) == -1,
	    "never over an existing file: %s", err);
	tap_ok(seal_load_key(path("k1"), err, sizeof(err)) == 0,
	    "a new key file loads: %s", err);

	write_file("ok-nl", hex, 0600);
	snprintf(text, sizeof(text), "%s\n", hex);
	write_file("ok-nl", text, 0600);
	tap_ok(seal_load_key(path("ok-nl"), err, sizeof(err)) == 0,
	    "64 hex digits and a newline");
	write_file("ok", hex, 0400);
	tap_ok(seal_load_key(path("ok"), err, sizeof(err)) == 0,
	    "64 hex digits, 0400");
	write_file("group", hex, 0640);
	tap_ok(seal_load_key(path("group"), err, sizeof(err)) == -1 &&
	    strstr(err, "group") != NULL, "group-readable refused: %s", err);
	write_file("other", hex, 0604);
	tap_ok(seal_load_key(path("other"), err, sizeof(err)) == -1,
	    "readable by others refused");
	snprintf(text, sizeof(text), "%.63s", hex);
	write_file("short", text, 0600);
	tap_ok(seal_load_key(path("short"), err, sizeof(err)) == -1,
	    "63 hex digits refused: %s", err);
	snprintf(text, sizeof(text), "%s0", hex);
	write_file("long", text, 0600);
	tap_ok(seal_load_key(path("long"), err, sizeof(err)) == -1,
	    "65 hex digits refused");
	snprintf(text, sizeof(text), "%s\n\n", hex);
	write_file("2nl", text, 0600);
	tap_ok(seal_load_key(path("2nl"), err, sizeof(err)) == -1,
	    "two newlines refused");
	snprintf(text, sizeof(text), "%.63sg", hex);
	write_file("nothex", text, 0600);
	tap_ok(seal_load_key(path("nothex"), err, sizeof(err)) == -1,
	    "a non-hex digit refused");
	tap_ok(seal_load_key(dir, err, sizeof(err)) == -1,
	    "a directory refused: %s", err);
	tap_ok(seal_load_key(path("missing"), err, sizeof(err)) == -1 &&
	    strstr(err, "missing") != NULL, "a missing file refused: %s", err);
	symlink(path("ok"), path("link"));
	tap_ok(seal_load_key(path("link"), err, sizeof(err)) == -1,
	    "a symbolic link refused");
}

int
main(void)
{
	char a[256], b[256], plain[256], err[512];
	const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

	if (mkdtemp(dir) == NULL)
		return 1;
	/* No key: v0, plain as it is. */
	tap_ok(!seal_ready(), "no key at first");
	tap_ok(seal(secret, a, sizeof(a)) == 0 && strncmp(a, "v0:", 3) == 0 &&
	    strcmp(a + 3, secret) == 0, "v0 without a key: %s", a);
	tap_ok(unseal(a, plain, sizeof(plain)) == 0 &&
	    strcmp(plain, secret) == 0, "v0 round trip");
	tap_ok(seal(secret, a, 3 + 32) == -1, "v0: no room for the NUL");
	tap_ok(unseal("v1:AAAA", plain, sizeof(plain)) == -1,
	    "v1 without a key refused");

	key_files();
	tap_ok(seal_load_key(path("k1"), err, sizeof(err)) == 0, "key 1");
	tap_ok(seal_ready(), "a key is loaded");
	tap_ok(seal(secret, a, sizeof(a)) == 0 && strncmp(a, "v1:", 3) == 0,
	    "v1 with a key: %s", a);
	tap_ok(strstr(a, secret) == NULL, "the secret does not show");
	tap_ok(seal(secret, b, sizeof(b)) == 0 && strcmp(a, b) != 0,
	    "a new nonce each time");
	tap_ok(unseal(a, plain, sizeof(plain)) == 0 &&
	    strcmp(plain, secret) == 0, "v1 round trip");
	tap_ok(unseal(b, plain, sizeof(plain)) == 0 &&
	    strcmp(plain, secret) == 0, "v1 round trip (other nonce)");
	tap_ok(seal("", b, sizeof(b)) == 0 && unseal(b, plain,
	    sizeof(plain)) == 0 && plain[0] == '\0', "empty round trip");
	tap_ok(unseal("v0:PLAIN", plain, sizeof(plain)) == 0 &&
	    strcmp(plain, "PLAIN") == 0, "v0 still opens with a key loaded");
	tap_ok(seal(secret, b, 40) == -1, "v1: no room");
	tap_ok(unseal(a, plain, 32) == -1, "unseal: no room for the NUL");

	/* Tampering: every character of the box flipped in turn. */
	{
		int opened = 0;

		for (size_t i = 3; a[i] != '\0'; i++) {
			char t[256];

			strcpy(t, a);
			t[i] = t[i] == 'A' ? 'B' : 'A';
			opened += unseal(t, plain, sizeof(plain)) == 0;
		}
		tap_ok(opened == 0, "any character changed: refused (%d "
		    "opened)", opened);
	}
	strcpy(b, a);
	b[strlen(b) - 4] = '\0';
	tap_ok(unseal(b, plain, sizeof(plain)) == -1, "truncated refused");
	tap_ok(unseal("v1:", plain, sizeof(plain)) == -1, "empty v1 refused");
	tap_ok(unseal("v1:!!!!", plain, sizeof(plain)) == -1,
	    "not base64 refused");
	strcpy(b, a);
	b[1] = '2';
	tap_ok(unseal(b, plain, sizeof(plain)) == -1, "v2 refused");
	tap_ok(unseal(secret, plain, sizeof(plain)) == -1, "no version "
	    "refused");

	/* Another key opens nothing sealed with the first. */
	tap_ok(seal_new_key_file(path("k2"), err, sizeof(err)) == 0 &&
	    seal_load_key(path("k2"), err, sizeof(err)) == 0, "key 2");
	tap_ok(unseal(a, plain, sizeof(plain)) == -1 && plain[0] == '\0',
	    "sealed with key 1, key 2 refuses");
	tap_ok(seal_load_key(path("k1"), err, sizeof(err)) == 0 &&
	    unseal(a, plain, sizeof(plain)) == 0, "key 1 again opens it");

	seal_forget_key();
	tap_ok(!seal_ready(), "forgotten");
	tap_ok(unseal(a, plain, sizeof(plain)) == -1, "v1 without the key "
	    "refused");
	tap_ok(seal(secret, b, sizeof(b)) == 0 && strncmp(b, "v0:", 3) == 0,
	    "v0 again without a key");
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	return tap_done();
}
