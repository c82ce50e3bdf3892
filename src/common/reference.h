/* reference: random "FD-" + 8 Crockford base32 request references. */
#ifndef FRONTDESK_REFERENCE_H
#define FRONTDESK_REFERENCE_H

#include <stdbool.h>

#define REFERENCE_LEN 11  /* "FD-" and 8 characters */

/* Encodes 40 random bits as a reference. */
void reference_encode(const unsigned char rnd[5], char out[REFERENCE_LEN + 1]);
/* A new random reference from the kernel's CSPRNG; 0 or -1. */
int reference_new(char out[REFERENCE_LEN + 1]);
bool reference_valid(const char *s);
/* Random bytes from getrandom(2); 0 or -1. */
int random_bytes(void *p, unsigned long n);

/* A reference as staff may type it: any case, and Crockford's reading of
 * O as 0 and I, L as 1; true with the canonical form in out. */
bool reference_parse(const char *in, char out[REFERENCE_LEN + 1]);

#endif
