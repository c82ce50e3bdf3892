/* sock: the listening socket of a FastCGI program: a unix socket that
 * appears ready, a TCP one, or the one systemd or spawn-fcgi hands over. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "sock.h"

#define LISTEN_BACKLOG 1024

/* The socket file we made, to remove at exit only while it is still ours. */
static dev_t sock_dev;
static ino_t sock_ino;
static bool sock_made;

/*
 * Whether a live process serves the socket at path: 1 if a connection is
 * taken (or the backlog is full: EAGAIN, as the connect does not wait),
 * 0 if nobody could answer (no file, or a socket file left by a process
 * that died: ECONNREFUSED), -1 with errno if we cannot tell.
 */
static int
sock_served(const struct sockaddr_un *sun)
{
	int fd, r, e;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN)
		return 1;
	if (e == ECONNREFUSED || e == ENOENT)
		return 0;
	errno = e;
	return -1;
}

/* The socket is bound under a private name, given its mode, made to listen
 * and only then renamed onto the configured path: whoever sees the path
 * (nginx, a supervisor, a test) can connect at once, and a restart swaps
 * the old socket for the new one without a moment with no socket at all.
 * A path a live process serves is left to it unless replace: taking it
 * silently would leave that process unreachable, and its path gone once
 * this one exits. Asked just before the rename, to keep the window
 * between the question and the swap small. */
static int
listen_unix(const char *path, long mode, bool replace, char *err,
    size_t errsize)
{
	struct sockaddr_un live = { .sun_family = AF_UNIX };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char tmp[sizeof(sun.sun_path) + 32];
	struct stat st;
	int fd = -1, n, served;

	/* config_check holds paths to CONFIG_LISTEN_PATH_MAX, leaving room
	 * for the longest pid whichever pid this run got. */
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.new", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		snprintf(err, errsize, "listen: path too long");
		return -1;
	}
	memcpy(sun.sun_path, tmp, (size_t)n + 1);
	/* path is shorter than tmp */
	memcpy(live.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (unlink(tmp) == -1 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (chmod(tmp, (mode_t)mode) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 || stat(tmp, &st) == -1) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (!replace && (served = sock_served(&live)) != 0) {
		if (served == 1)
			snprintf(err, errsize, "a live process serves this "
			    "socket");
		else
			snprintf(err, errsize, "cannot tell whether a process "
			    "serves this socket: %s", strerror(errno));
		unlink(tmp);
		close(fd);
		return SOCK_IN_USE;
	}
	if (rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	sock_dev = st.st_dev;
	sock_ino = st.st_ino;
	sock_made = true;
	return fd;
fail:
	snprintf(err, errsize, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

void
sock_unlink(const char *path)
{
	struct stat st;

	/* A newer process may have put its own socket here since. */
	if (sock_made && stat(path, &st) == 0 &&
	    st.st_dev == sock_dev && st.st_ino == sock_ino)
		unlink(path);
}

static int
listen_tcp(const char *addr, char *err, size_t errsize)
{
	char host[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	const char *port;
	char *colon;
	int fd = -1, one = 1, r;

	snprintf(host, sizeof(host), "%s", addr);
	if ((colon = strrchr(host, ':')) == NULL) {
		snprintf(err, errsize, "listen: \"%s\" is neither a "
		    "path nor host:port", addr);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon[-1] == ']') {  /* [::1]:9000 */
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errsize, "listen: %s", gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errsize, "%s: %s", addr,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* systemd's LISTEN_FDS (fd 3), else fd 0 as spawn-fcgi leaves it. */
static int
listen_inherited(char *err, size_t errsize)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = 0, accepting = 0;
	socklen_t len = sizeof(accepting);

	if (pid != NULL && fds != NULL && atol(pid) == (long)getpid() &&
	    atoi(fds) >= 1)
		fd = 3;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == -1 ||
	    !accepting) {
		snprintf(err, errsize, "no listen address set and fd %d is not "
		    "a listening socket (spawn-fcgi or systemd socket activation "
		    "pass one)", fd);
		return -1;
	}
	return fd;
}

int
sock_listen(const char *addr, long mode, bool replace, char *err,
    size_t errsize)
{
	int fd;

	if (addr[0] == '\0')
		fd = listen_inherited(err, errsize);
	else if (addr[0] == '/')
		fd = listen_unix(addr, mode, replace, err, errsize);
	else
		fd = listen_tcp(addr, err, errsize);
	/* Non-blocking, so that a thread that lost the race for a connection
	 * comes back to poll instead of sleeping in accept. */
	if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errsize, "fcntl: %s", strerror(errno));
		return -1;
	}
	return fd;
}


int
sock_open(const char *addr, long mode, bool replace)
{
	char err[512], q[1100], qp[512];
	int fd;

	if ((fd = sock_listen(addr, mode, replace, err, sizeof(err))) ==
	    SOCK_IN_USE)
		fatal("socket_in_use", "path=%s error=%s hint=\"stop that "
		    "process first, or start this one with --replace to take "
		    "the path over without a gap\"", log_value(qp, sizeof(qp),
		    addr), log_quote(q, sizeof(q), err));
	if (fd == -1)
		fatal("listen_failed", "error=%s", log_quote(q, sizeof(q), err));
	return fd;
}
