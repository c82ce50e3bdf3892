/* reference: random "FD-" + 8 Crockford base32 request references. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "reference.h"

/* Crockford's alphabet: no I, L, O or U, so a reference read aloud over
 * the phone cannot be mistaken. */
static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
reference_encode(const unsigned char rnd[5], char out[REFERENCE_LEN + 1])
{
	unsigned long long v = 0;

	for (int i = 0; i < 5; i++)
		v = (v << 8) | rnd[i];
	memcpy(out, "FD-", 3);
	for (int i = 7; i >= 0; i--) {
		out[3 + i] = crockford[v & 31];
		v >>= 5;
	}
	out[REFERENCE_LEN] = '\0';
}

int
random_bytes(void *p, unsigned long n)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += r;
		n -= (unsigned long)r;
	}
	return 0;
}

int
reference_new(char out[REFERENCE_LEN + 1])
{
	unsigned char rnd[5];

	if (random_bytes(rnd, sizeof(rnd)) == -1)
		return -1;
	reference_encode(rnd, out);
	return 0;
}

bool
reference_valid(const char *s)
{
	if (strlen(s) != REFERENCE_LEN || memcmp(s, "FD-", 3) != 0)
		return false;
	for (int i = 3; i < REFERENCE_LEN; i++)
		if (s[i] == '\0' || strchr(crockford, s[i]) == NULL)
			return false;
	return true;
}

bool
reference_parse(const char *in, char out[REFERENCE_LEN + 1])
{
	if (strlen(in) != REFERENCE_LEN)
		return false;
	for (size_t i = 0; i < REFERENCE_LEN; i++) {
		char ch = (char)toupper((unsigned char)in[i]);

		if (i >= 3 && ch == 'O')
			ch = '0';
		else if (i >= 3 && (ch == 'I' || ch == 'L'))
			ch = '1';
		out[i] = ch;
	}
	out[REFERENCE_LEN] = '\0';
	return reference_valid(out);
}
