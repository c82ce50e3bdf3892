/* sock: the listening socket of a FastCGI program. */
#ifndef FRONTDESK_SOCK_H
#define FRONTDESK_SOCK_H

#include <stdbool.h>
#include <stddef.h>

/* sock_listen's answer when a live process serves the unix socket path. */
#define SOCK_IN_USE (-2)


/* The listening socket for listen (a unix socket path, given mode, or
 * host:port), or the inherited one when listen is empty (systemd's
 * LISTEN_FDS, else fd 0 as spawn-fcgi leaves it), made non-blocking;
 * returns the fd or -1 with err filled. A unix socket is bound under a
 * private name and renamed onto the path once it listens; if a live
 * process serves the path (a connection to it is taken), or whether one
 * does cannot be told, the path is left alone and SOCK_IN_USE returned,
 * unless replace. A socket file nobody answers on is taken over. */
int sock_listen(const char *listen, long mode, bool replace, char *err,
    size_t errsize);
/* sock_listen, or exit 1 with one log line: event=socket_in_use naming
 * the path and --replace, or event=listen_failed. Start-up only. */
int sock_open(const char *listen, long mode, bool replace);
/* Removes the socket file sock_listen made at path, if it is still the
 * one it made. */
void sock_unlink(const char *path);

#endif
