/* zone: [mail] timezone, checked and made the process's zone once, at
 * start-up. */
#ifndef FRONTDESK_ZONE_H
#define FRONTDESK_ZONE_H

#include <stdbool.h>
#include <stddef.h>

/* Where tzdata keeps the zones (Debian's tzdata package). */
#define ZONE_DIR "/usr/share/zoneinfo"

/* Is name an IANA zone name as written in configuration: parts of
 * letters, digits, "_", "+" and "-" joined by "/" ("America/New_York",
 * "Etc/GMT+5", "UTC"), at most 128 bytes; no ".", so no "." or ".."
 * part can lead out of the folder? */
bool zone_name_valid(const char *name);

/* Is name a zone under dir: a valid name naming a regular TZif file
 * (so "zone.tab" or "America" are not)? 0, or -1 with a static reason. */
int zone_check(const char *dir, const char *name, const char **why);

/*
 * Makes name (checked with zone_check under ZONE_DIR) the process's zone
 * for localtime_r, and writes the name to show beside times into shown.
 * An empty name keeps the system's zone, and shown is then its name when
 * one can be told (TZ, else the /etc/localtime link), else "".
 * 0, or -1 with a static reason (nothing changed).
 *
 * It sets TZ with setenv(3), which races any thread reading the
 * environment: call it once, before any thread starts (the mailer calls
 * it before curl_global_init; libcurl's resolver threads exist only
 * during a transfer, libpq starts none) and never again.
 */
int zone_setup(const char *name, char *shown, size_t size, const char **why);

#endif
