/* seal: second-factor secrets encrypted at rest (libsodium secretbox,
 * XSalsa20-Poly1305) with a key kept outside the database: [console]
 * key_file, 32 random bytes as 64 hex digits. */
#ifndef FRONTDESK_SEAL_H
#define FRONTDESK_SEAL_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the key: the file must hold 64 hex digits (a final newline
 * allowed), be a regular file not readable by group or others; 0, or -1
 * with err. */
int seal_load_key(const char *path, char *err, size_t errsize);
/* Makes a new key file (0600, O_EXCL): for `frontdeskctl console-key` and
 * the demo; 0 or -1 with err. */
int seal_new_key_file(const char *path, char *err, size_t errsize);
/* Is a key loaded? */
bool seal_ready(void);
/* Forgets the key (zeroed): seal then makes "v0:" values and v1 values no
 * longer open. For the tests, and a reload that fails. */
void seal_forget_key(void);
/* "v1:" base64(nonce || box) of plain into out; without a key (no
 * key_file configured: the console warns at start-up) "v0:" and plain as
 * it is. 0 or -1 (no room). */
int seal(const char *plain, char *out, size_t size);
/* The plain text of a sealed value into out; 0 or -1 (a v1 value without
 * the key, tampered, sealed with another key, no room). */
int unseal(const char *sealed, char *out, size_t size);

#endif
