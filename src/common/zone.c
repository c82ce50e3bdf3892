/* zone: [mail] timezone, checked and made the process's zone once, at
 * start-up. */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zone.h"

#define ZONE_NAME_MAX 128

bool
zone_name_valid(const char *name)
{
	size_t n, part = 0;

	if (name == NULL || (n = strlen(name)) == 0 || n > ZONE_NAME_MAX)
		return false;
	/* No "." at all (so no "." or ".." part: the name stays under the
	 * folder) and no empty part (a leading, doubled or trailing "/"). */
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];

		if (c == '/' || c == '\0') {
			if (part == 0)
				return false;
			part = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-')
			part++;
		else
			return false;
	}
	return true;
}

int
zone_check(const char *dir, const char *name, const char **why)
{
	char path[PATH_MAX], magic[4];
	struct stat st;
	int fd;
	ssize_t got;

	if (!zone_name_valid(name)) {
		*why = "not a zone name (an IANA name such as America/New_York)";
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		*why = "not a zone name (too long)";
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*why = "no such zone under " ZONE_DIR " (is tzdata installed?)";
		return -1;
	}
	got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    read(fd, magic, sizeof(magic)) : -1;
	close(fd);
	if (got != (ssize_t)sizeof(magic) || memcmp(magic, "TZif", 4) != 0) {
		*why = "not a zone (no TZif file of that name under " ZONE_DIR ")";
		return -1;
	}
	return 0;
}

/* The system's zone by name: TZ (":America/New_York", "America/New_York"
 * or a path under ZONE_DIR), else where /etc/localtime points. */
static void
zone_system(char *shown, size_t size)
{
	const char *tz = getenv("TZ"), *s = NULL, *z;
	char link[PATH_MAX];
	ssize_t n;

	if (tz != NULL && *tz != '\0') {
		s = tz + (*tz == ':');
		if (strncmp(s, ZONE_DIR "/", sizeof(ZONE_DIR)) == 0)
			s += sizeof(ZONE_DIR);
	} else if ((n = readlink("/etc/localtime", link, sizeof(link) - 1)) >
	    0) {
		link[n] = '\0';
		if ((z = strstr(link, "zoneinfo/")) != NULL)
			s = z + strlen("zoneinfo/");
	}
	/* A POSIX rule ("EST5EDT,M3.2.0,M11.1.0") or a path elsewhere has no
	 * name to show: the abbreviation and offset still say it all. */
	if (s != NULL && zone_name_valid(s) && strlen(s) < size)
		snprintf(shown, size, "%s", s);
	else if (size > 0)
		shown[0] = '\0';
}

int
zone_setup(const char *name, char *shown, size_t size, const char **why)
{
	char tz[PATH_MAX + 2];

	if (name == NULL || *name == '\0') {
		zone_system(shown, size);
		tzset();
		return 0;
	}
	if (zone_check(ZONE_DIR, name, why) == -1)
		return -1;
	if (strlen(name) >= size) {
		*why = "not a zone name (too long)";
		return -1;
	}
	/* ":" and the whole path: glibc reads exactly the file checked above
	 * (a bare name would be looked up under $TZDIR, or read as a POSIX
	 * rule when it looks like one, "EST5EDT"). */
	snprintf(tz, sizeof(tz), ":%s/%s", ZONE_DIR, name);
	if (setenv("TZ", tz, 1) == -1) {
		*why = "cannot set TZ (out of memory)";
		return -1;
	}
	tzset();
	snprintf(shown, size, "%s", name);
	return 0;
}
