/* serialize: the whole CGI answer of a, as the web server gets it. */
#ifndef FRONTDESK_TESTS_SERIALIZE_H
#define FRONTDESK_TESTS_SERIALIZE_H

#include "http.h"

static inline void
serialize(struct http_answer *a, struct buf *out)
{
	buf_reset(out);
	http_serialize(a, out);
}

#endif
