/* sock: the listening socket of a FastCGI program. */
#ifndef FRONTDESK_SOCK_H
#define FRONTDESK_SOCK_H

#include <stddef.h>

#include "common/config.h"

/* The listening socket per [fastcgi] listen, or the inherited one
 * (systemd's LISTEN_FDS, else fd 0 as spawn-fcgi leaves it), made
 * non-blocking; returns the fd or -1 with err filled. A unix socket is
 * bound under a private name and renamed onto the path once it listens. */
int sock_listen(const struct config *cfg, char *err, size_t errsize);
/* Removes the socket file sock_listen made, if it is still that one. */
void sock_unlink(const struct config *cfg);

#endif
