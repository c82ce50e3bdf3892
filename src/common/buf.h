/* buf: a growable byte buffer with a sticky failure flag. */
#ifndef FRONTDESK_BUF_H
#define FRONTDESK_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Appends never fail loudly: an allocation failure sets `failed`, later
 * appends do nothing, and the owner checks once before using the bytes. */
struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents ("" when empty), or NULL after a failure. */
const char *buf_str(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
