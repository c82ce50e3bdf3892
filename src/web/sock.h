/* sock: the listening socket of a FastCGI program. */
#ifndef FRONTDESK_SOCK_H
#define FRONTDESK_SOCK_H

#include <stddef.h>


/* The listening socket for listen (a unix socket path, given mode, or
 * host:port), or the inherited one when listen is empty (systemd's
 * LISTEN_FDS, else fd 0 as spawn-fcgi leaves it), made non-blocking;
 * returns the fd or -1 with err filled. A unix socket is bound under a
 * private name and renamed onto the path once it listens. */
int sock_listen(const char *listen, long mode, char *err, size_t errsize);
/* Removes the socket file sock_listen made at path, if it is still the
 * one it made. */
void sock_unlink(const char *path);

#endif
