/* Unit tests for account.c: names, passwords, argon2id hashes, tokens. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account.h"
#include "tap.h"

static char *
repeat(const char *s, int n)
{
	size_t len = strlen(s);
	char *out = malloc(len * (size_t)n + 1);

	for (int i = 0; i < n; i++)
		memcpy(out + len * (size_t)i, s, len);
	out[len * (size_t)n] = '\0';
	return out;
}

static void
names(void)
{
	char out[ACCOUNT_NAME_MAX + 1];
	char *s64 = repeat("a", 64), *s65 = repeat("a", 65);
	char *u65 = repeat("A", 65);

	tap_ok(account_name_ok("maria"), "name maria");
	tap_ok(account_name_ok("m.gonzalez_2@clinic-x.example"),
	    "name with . _ @ - and digits");
	tap_ok(account_name_ok(s64), "name of 64");
	tap_ok(!account_name_ok(s65), "name of 65 refused");
	tap_ok(!account_name_ok(""), "empty name refused");
	tap_ok(!account_name_ok(NULL), "NULL name refused");
	tap_ok(!account_name_ok("Maria"), "upper case refused");
	tap_ok(!account_name_ok("ma ria"), "space refused");
	tap_ok(!account_name_ok("mar\xc3\xad" "a"), "non-ASCII refused");
	tap_ok(!account_name_ok("maria\n"), "line end refused");
	tap_ok(!account_name_ok("a/b"), "slash refused");

	tap_ok(account_name_fold("Maria.Gonzalez@Clinic.EXAMPLE", out) &&
	    strcmp(out, "maria.gonzalez@clinic.example") == 0,
	    "fold to lower case: %s", out);
	tap_ok(account_name_fold("maria", out) && strcmp(out, "maria") == 0,
	    "fold leaves a name as it is");
	tap_ok(!account_name_fold("Ma Ria", out) && out[0] == '\0',
	    "fold refuses a space, out emptied");
	tap_ok(!account_name_fold("\xc3\x84nne", out), "fold refuses non-ASCII");
	tap_ok(!account_name_fold(u65, out) && out[0] == '\0',
	    "fold refuses 65 characters");
	tap_ok(!account_name_fold("", out), "fold refuses empty");
	tap_ok(!account_name_fold(NULL, out), "fold refuses NULL");
	free(s64);
	free(s65);
	free(u65);
}

static void
passwords(void)
{
	char *p11 = repeat("a", 11), *p12 = repeat("a", 12);
	char *p128 = repeat("a", 128), *p129 = repeat("a", 129);
	char *e11 = repeat("\xc3\xa9", 11), *e12 = repeat("\xc3\xa9", 12);
	char *eu128 = repeat("\xe2\x82\xac", 128);
	char *eu129 = repeat("\xe2\x82\xac", 129);
	char *emoji12 = repeat("\xf0\x9f\x98\x80", 12);

	tap_ok(!account_password_ok(p11), "11 characters refused");
	tap_ok(account_password_ok(p12), "12 characters");
	tap_ok(account_password_ok(p128), "128 characters");
	tap_ok(!account_password_ok(p129), "129 characters refused");
	tap_ok(!account_password_ok(""), "empty refused");
	tap_ok(!account_password_ok(NULL), "NULL refused");
	tap_ok(account_password_ok("correct horse battery"), "spaces allowed");
	/* 22 bytes but 11 characters: counted as characters. */
	tap_ok(!account_password_ok(e11), "11 two-byte characters refused");
	tap_ok(account_password_ok(e12), "12 two-byte characters (24 bytes)");
	tap_ok(account_password_ok(eu128), "128 three-byte characters (384 "
	    "bytes)");
	tap_ok(!account_password_ok(eu129), "129 three-byte characters "
	    "refused");
	tap_ok(account_password_ok(emoji12), "12 four-byte characters");
	tap_ok(!account_password_ok("abcdefghijk\x01l"), "C0 control refused");
	tap_ok(!account_password_ok("abcdefghijk\tl"), "tab refused");
	tap_ok(!account_password_ok("abcdefghijkl\n"), "line end refused");
	tap_ok(!account_password_ok("abcdefghijk\x7fl"), "DEL refused");
	tap_ok(!account_password_ok("abcdefghijk\xc2\x85l"), "C1 (NEL) "
	    "refused");
	tap_ok(!account_password_ok("abcdefghijk\xffl"), "invalid UTF-8 "
	    "refused");
	tap_ok(!account_password_ok("abcdefghijk\xc0\xafl"), "overlong UTF-8 "
	    "refused");
	tap_ok(!account_password_ok("abcdefghijk\xed\xa0\x80l"), "surrogate "
	    "refused");
	free(p11);
	free(p12);
	free(p128);
	free(p129);
	free(e11);
	free(e12);
	free(eu128);
	free(eu129);
	free(emoji12);
}

static void
hashes(void)
{
	char h1[ACCOUNT_HASH_MAX], h2[ACCOUNT_HASH_MAX];
	const char *pw = "correct horse battery staple";

	tap_ok(account_hash(pw, h1) == 0, "hash");
	tap_ok(strncmp(h1, "$argon2id$", 10) == 0, "argon2id: %s", h1);
	tap_ok(strstr(h1, "m=65536,t=2,") != NULL, "64 MiB, interactive ops");
	tap_ok(account_hash(pw, h2) == 0 && strcmp(h1, h2) != 0,
	    "a new salt each time");
	tap_ok(account_verify(h1, pw), "verify: right password");
	tap_ok(account_verify(h2, pw), "verify: right password, other salt");
	tap_ok(!account_verify(h1, "correct horse battery stapl"),
	    "verify: wrong password");
	tap_ok(!account_verify(h1, ""), "verify: empty password");
	tap_ok(!account_verify(h1, NULL), "verify: NULL password");
	tap_ok(!account_verify(NULL, pw), "verify: NULL hash");
	tap_ok(!account_verify("", pw), "verify: empty hash");
	tap_ok(!account_verify("$argon2id$garbage", pw), "verify: malformed "
	    "hash");
	tap_ok(!account_verify("plain text", "plain text"),
	    "verify: a hash that is the password is no hash");
	tap_ok(!account_needs_rehash(h1), "a new hash needs no rehash");
	tap_ok(account_needs_rehash(NULL), "NULL needs a hash");
	tap_ok(account_needs_rehash("garbage"), "garbage needs a hash");
	{
		char weak[crypto_pwhash_STRBYTES];

		tap_ok(crypto_pwhash_str(weak, pw, strlen(pw),
		    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) == 0 &&
		    account_needs_rehash(weak), "weaker parameters need a "
		    "rehash");
		tap_ok(account_verify(weak, pw), "and still verify");
	}
}

static double
seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* An unknown name (NULL hash) or a malformed hash costs an argon2id
 * verification too: without the dummy it would take microseconds, not
 * a good fraction of the ~100 ms of a real one. The bound is loose, for
 * busy machines. */
static void
timing(void)
{
	char h[ACCOUNT_HASH_MAX];
	double t0, real, none, bad;

	account_hash("a password of the right size", h);
	t0 = seconds();
	account_verify(h, "not the password at all");
	real = seconds() - t0;
	t0 = seconds();
	account_verify(NULL, "not the password at all");
	none = seconds() - t0;
	t0 = seconds();
	account_verify("$argon2id$v=19$m=65536,t=2,p=1$junk", "not it");
	bad = seconds() - t0;
	tap_ok(none > real / 4, "a NULL hash takes as long: %.3f s vs %.3f s",
	    none, real);
	tap_ok(bad > real / 4, "a malformed hash takes as long: %.3f s vs "
	    "%.3f s", bad, real);
}

static const char *thread_hash;
static int thread_ok[4];

static void *
verify_thread(void *arg)
{
	int i = (int)(long)arg;

	thread_ok[i] = account_verify(thread_hash, "in parallel, twelve+") &&
	    !account_verify(thread_hash, "in parallel, twelve-");
	return NULL;
}

static void
parallel(void)
{
	char h[ACCOUNT_HASH_MAX];
	pthread_t t[4];
	int ok = 0;

	account_hash("in parallel, twelve+", h);
	thread_hash = h;
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, verify_thread, (void *)i);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok += thread_ok[i];
	}
	tap_ok(ok == 4, "4 threads verify at once past the semaphore: %d", ok);
}

static bool
all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

static void
tokens(void)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char tok[64][ACCOUNT_TOKEN_LEN + 1];
	unsigned char h1[ACCOUNT_TOKEN_HASH_LEN], h2[ACCOUNT_TOKEN_HASH_LEN];
	char hex[2 * ACCOUNT_TOKEN_HASH_LEN + 1];
	int badlen = 0, badchar = 0, dup = 0;

	for (int i = 0; i < 64; i++) {
		account_token(tok[i]);
		badlen += strlen(tok[i]) != ACCOUNT_TOKEN_LEN;
		badchar += !all_of(tok[i], b64url);
		for (int j = 0; j < i; j++)
			dup += strcmp(tok[i], tok[j]) == 0;
	}
	tap_ok(badlen == 0, "tokens are %d characters: %s", ACCOUNT_TOKEN_LEN,
	    tok[0]);
	tap_ok(badchar == 0, "tokens are base64url, no padding");
	tap_ok(dup == 0, "64 tokens are distinct");

	/* BLAKE2b-256 of the empty string (RFC 7693's reference code). */
	account_token_hash("", h1);
	sodium_bin2hex(hex, sizeof(hex), h1, sizeof(h1));
	tap_ok(strcmp(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787"
	    "faab45cdf12fe3a8") == 0, "token hash is BLAKE2b-256: %s", hex);
	account_token_hash(tok[0], h1);
	account_token_hash(tok[0], h2);
	tap_ok(memcmp(h1, h2, sizeof(h1)) == 0, "token hash is stable");
	account_token_hash(tok[1], h2);
	tap_ok(memcmp(h1, h2, sizeof(h1)) != 0, "other token, other hash");

	tap_ok(account_equal(tok[0], tok[0]), "equal: same");
	tap_ok(!account_equal(tok[0], tok[1]), "equal: different");
	tap_ok(!account_equal("abc", "abcd"), "equal: a prefix is not equal");
	tap_ok(!account_equal("abcd", "abc"), "equal: nor the longer");
	tap_ok(account_equal("", ""), "equal: empty");
	tap_ok(!account_equal(NULL, ""), "equal: NULL never");
	tap_ok(!account_equal("", NULL), "equal: NULL never (b)");
}

static void
random_passwords(void)
{
	char pw[16][21], small[20];
	int bad = 0, dup = 0, lookalike = 0;

	for (int i = 0; i < 16; i++) {
		if (account_random_password(pw[i], sizeof(pw[i])) != 0 ||
		    strlen(pw[i]) != 20 || !account_password_ok(pw[i]))
			bad++;
		lookalike += strpbrk(pw[i], "0O1lI") != NULL;
		for (int j = 0; j < i; j++)
			dup += strcmp(pw[i], pw[j]) == 0;
	}
	tap_ok(bad == 0, "random passwords: 20 characters, valid: %s", pw[0]);
	tap_ok(lookalike == 0, "no look-alike characters");
	tap_ok(dup == 0, "16 random passwords are distinct");
	tap_ok(account_random_password(small, sizeof(small)) == -1,
	    "no room for 20 and a NUL: -1");
}

int
main(void)
{
	char h[ACCOUNT_HASH_MAX];

	tap_ok(account_hash("twelve chars!", h) == -1,
	    "hash before account_init: -1");
	tap_ok(!account_verify(NULL, "x"), "verify before account_init: false");
	tap_ok(account_init(0) == 0, "account_init");
	tap_ok(account_init(0) == 0, "account_init twice");
	names();
	passwords();
	hashes();
	timing();
	parallel();
	tokens();
	random_passwords();
	return tap_done();
}
