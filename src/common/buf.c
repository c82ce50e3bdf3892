/* buf: a growable byte buffer with a sticky failure flag. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (more > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return -1;
	}
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = true;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (buf_reserve(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *
buf_str(struct buf *b)
{
	if (b->failed)
		return NULL;
	if (b->p == NULL)
		return "";
	return b->p;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
