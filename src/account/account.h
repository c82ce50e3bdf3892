/* account: staff and admin accounts as frontdesk-console and frontdeskctl
 * both handle them: names, passwords (argon2id), random tokens. Needs
 * libsodium; no database. */
#ifndef FRONTDESK_ACCOUNT_H
#define FRONTDESK_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#define ACCOUNT_NAME_MAX 64
#define ACCOUNT_PASSWORD_MIN 12    /* Unicode characters */
#define ACCOUNT_PASSWORD_MAX 128
#define ACCOUNT_HASH_MAX 128       /* >= crypto_pwhash_STRBYTES */
#define ACCOUNT_TOKEN_LEN 43       /* 32 random bytes, base64url, no padding */
#define ACCOUNT_TOKEN_HASH_LEN 32

/* sodium_init, and the number of argon2id hashes that may run at once
 * (each takes 64 MiB): max_parallel, or the number of cores when 0.
 * Call once before any other function here; 0 or -1. */
int account_init(int max_parallel);

/* 1-64 of [a-z0-9._@-]. */
bool account_name_ok(const char *name);
/* A REMOTE_USER as an account name: folded to lower case into out; false
 * when it is not a valid name once folded. */
bool account_name_fold(const char *in, char out[ACCOUNT_NAME_MAX + 1]);
/* 12-128 Unicode characters of valid UTF-8, no control characters. */
bool account_password_ok(const char *pw);

/* The argon2id hash (crypto_pwhash_str, OPSLIMIT_INTERACTIVE and 64 MiB)
 * of pw into out; 0 or -1. Waits for a free slot (account_init). */
int account_hash(const char *pw, char out[ACCOUNT_HASH_MAX]);
/* Does pw match hash? A NULL or malformed hash is checked against a dummy
 * hash all the same, so an unknown name or an account without a password
 * takes as long to refuse as a wrong password. Constant-time compare;
 * waits for a free slot. */
bool account_verify(const char *hash, const char *pw);
/* Does hash need rehashing (parameters raised since)? */
bool account_needs_rehash(const char *hash);

/* A random password of 20 characters from an alphabet without look-alikes
 * (out: at least 21 bytes); 0 or -1. */
int account_random_password(char *out, size_t size);
/* A random token (a session's, a CSRF token): ACCOUNT_TOKEN_LEN characters
 * of base64url from 32 random bytes, NUL-terminated. */
void account_token(char out[ACCOUNT_TOKEN_LEN + 1]);
/* The hash a session token is stored under (BLAKE2b-256). */
void account_token_hash(const char *token,
    unsigned char out[ACCOUNT_TOKEN_HASH_LEN]);
/* Constant-time equality of two NUL-terminated strings (a CSRF token). */
bool account_equal(const char *a, const char *b);

#endif
