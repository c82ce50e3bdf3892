/* account: names, passwords (argon2id through libsodium) and random
 * tokens, as frontdesk-console and frontdeskctl both handle them. */
#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "account.h"
#include "common/text.h"

/* 64 MiB each: the parameters of every hash made here, and what
 * account_needs_rehash compares a stored hash with. */
#define ACCOUNT_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ACCOUNT_MEMLIMIT ((size_t)64 * 1024 * 1024)

/* Look-alikes left out (0 O o, 1 I l): a password is read off a screen
 * and typed in by hand. 54 symbols, so 20 of them carry 115 bits. */
static const char account_alphabet[] =
    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

_Static_assert(ACCOUNT_HASH_MAX >= crypto_pwhash_STRBYTES,
    "ACCOUNT_HASH_MAX must hold a crypto_pwhash_str hash");
_Static_assert(ACCOUNT_TOKEN_HASH_LEN == crypto_generichash_BYTES,
    "a token hash is one BLAKE2b-256 digest");

/* A counting semaphore, not one lock: as many argon2id hashes at once as
 * there are cores, each holding 64 MiB, so a burst of sign-ins queues
 * here instead of exhausting memory or serialising on one mutex. */
static sem_t account_slots;
static bool account_ready;
/* The hash an unknown name, or an account without a password, is
 * checked against: the same work as a real one, so timing tells nothing.
 * Its password is random and forgotten. */
static char account_dummy[crypto_pwhash_STRBYTES];

static void
account_slot_take(void)
{
	while (sem_wait(&account_slots) == -1 && errno == EINTR)
		;
}

static void
account_slot_give(void)
{
	sem_post(&account_slots);
}

int
account_init(int max_parallel)
{
	char pw[33];
	long n;

	if (account_ready)
		return 0;
	if (sodium_init() < 0)
		return -1;
	n = max_parallel;
	if (n <= 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	if (n > 1024)
		n = 1024;
	if (sem_init(&account_slots, 0, (unsigned)n) == -1)
		return -1;
	account_random_password(pw, sizeof(pw));
	if (crypto_pwhash_str(account_dummy, pw, strlen(pw), ACCOUNT_OPSLIMIT,
	    ACCOUNT_MEMLIMIT) != 0) {
		sodium_memzero(pw, sizeof(pw));
		sem_destroy(&account_slots);
		return -1;
	}
	sodium_memzero(pw, sizeof(pw));
	account_ready = true;
	return 0;
}

bool
account_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char ch = name[n];

		if (n >= ACCOUNT_NAME_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '_' || ch == '@' || ch == '-'))
			return false;
	}
	return n > 0;
}

bool
account_name_fold(const char *in, char out[ACCOUNT_NAME_MAX + 1])
{
	size_t n;

	out[0] = '\0';
	if (in == NULL)
		return false;
	/* ASCII only: a name with anything else is refused once folded
	 * anyway, and a locale's tolower must not decide who signs in. */
	for (n = 0; in[n] != '\0'; n++) {
		char ch = in[n];

		if (n >= ACCOUNT_NAME_MAX) {
			out[0] = '\0';
			return false;
		}
		out[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	if (!account_name_ok(out)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool
account_password_ok(const char *pw)
{
	const unsigned char *s = (const unsigned char *)pw;
	size_t n, chars = 0;

	if (pw == NULL)
		return false;
	n = strlen(pw);
	while (n > 0) {
		uint32_t cp;
		size_t len = text_utf8_decode(s, n, &cp);

		if (len == 0 || text_is_control(cp))
			return false;
		if (++chars > ACCOUNT_PASSWORD_MAX)
			return false;
		s += len;
		n -= len;
	}
	return chars >= ACCOUNT_PASSWORD_MIN;
}

int
account_hash(const char *pw, char out[ACCOUNT_HASH_MAX])
{
	int rc;

	if (!account_ready || pw == NULL)
		return -1;
	account_slot_take();
	rc = crypto_pwhash_str(out, pw, strlen(pw), ACCOUNT_OPSLIMIT,
	    ACCOUNT_MEMLIMIT);
	account_slot_give();
	return rc == 0 ? 0 : -1;
}

/* A hash crypto_pwhash_str_verify can check: an argon2id string that
 * fits. libsodium's own answer (needs_rehash is -1 for anything it cannot
 * parse) decides, not a prefix test of ours. */
static bool
account_hash_wellformed(const char *hash)
{
	if (hash == NULL || strnlen(hash, ACCOUNT_HASH_MAX) >= ACCOUNT_HASH_MAX)
		return false;
	return crypto_pwhash_str_needs_rehash(hash, ACCOUNT_OPSLIMIT,
	    ACCOUNT_MEMLIMIT) != -1;
}

bool
account_verify(const char *hash, const char *pw)
{
	bool real, ok;
	int rc;

	if (!account_ready)
		return false;
	real = account_hash_wellformed(hash) && pw != NULL;
	if (pw == NULL)
		pw = "";
	account_slot_take();
	/* Constant time: libsodium compares the derived key with
	 * sodium_memcmp, and the dummy costs what a real hash costs. */
	rc = crypto_pwhash_str_verify(real ? hash : account_dummy, pw,
	    strlen(pw));
	account_slot_give();
	ok = rc == 0;
	return real && ok;
}

bool
account_needs_rehash(const char *hash)
{
	if (hash == NULL)
		return true;
	/* 1: other parameters; -1: not ours at all. Both want a new hash. */
	return crypto_pwhash_str_needs_rehash(hash, ACCOUNT_OPSLIMIT,
	    ACCOUNT_MEMLIMIT) != 0;
}

int
account_random_password(char *out, size_t size)
{
	const uint32_t n = (uint32_t)(sizeof(account_alphabet) - 1);

	if (out == NULL || size < 21)
		return -1;
	for (size_t i = 0; i < 20; i++)
		out[i] = account_alphabet[randombytes_uniform(n)];
	out[20] = '\0';
	return 0;
}

void
account_token(char out[ACCOUNT_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	_Static_assert(sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == ACCOUNT_TOKEN_LEN + 1,
	    "ACCOUNT_TOKEN_LEN is 32 bytes in base64url");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, ACCOUNT_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
account_token_hash(const char *token, unsigned char out[ACCOUNT_TOKEN_HASH_LEN])
{
	crypto_generichash(out, ACCOUNT_TOKEN_HASH_LEN,
	    (const unsigned char *)token, token != NULL ? strlen(token) : 0,
	    NULL, 0);
}

bool
account_equal(const char *a, const char *b)
{
	unsigned char ha[crypto_generichash_BYTES];
	unsigned char hb[crypto_generichash_BYTES];

	if (a == NULL || b == NULL)
		return false;
	/* Digests of equal length compared in constant time: neither where
	 * the first difference is nor how long the strings are shows. */
	crypto_generichash(ha, sizeof(ha), (const unsigned char *)a,
	    strlen(a), NULL, 0);
	crypto_generichash(hb, sizeof(hb), (const unsigned char *)b,
	    strlen(b), NULL, 0);
	return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}
