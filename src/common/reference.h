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

#endif
