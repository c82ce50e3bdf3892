/* replayer: stores spooled requests once the database answers again. */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replayer.h"
#include "spool.h"
#include "store.h"
#include "web/fcgi.h"

/* How a spooled request fared: refused for now is a lock or statement
 * timeout, a revoked grant; never is a location that no longer exists,
 * or values the database refuses for good. An accepted request is never
 * dropped for a passing error. */
static enum spool_outcome
replay_entry(const struct spool_entry *e, void *arg, char *why, size_t size)
{
	char state[6];

	switch (store_replay(arg, e, state)) {
	case STORE_OK:
		return SPOOL_STORED;
	case STORE_DOWN:
		return SPOOL_STOP;
	case STORE_LOCATION_GONE:
		snprintf(why, size, "its location no longer exists");
		return SPOOL_NEVER;
	case STORE_REFUSED:
		snprintf(why, size, "the database refuses it for good "
		    "(SQLSTATE %s)", state);
		return SPOOL_NEVER;
	default:
		snprintf(why, size, "the database refuses it for now "
		    "(SQLSTATE %s)", state[0] ? state : "none");
		return SPOOL_LATER;
	}
}

/* Keeps dir/locations.json in step with the database's active locations,
 * writing only when they changed. */
static void
refresh_locations(const struct config *cfg, struct store *st, char **last)
{
	char **pairs, *joined = NULL;
	size_t n, len = 0;

	if (store_active_locations(st, &pairs, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < 2 * n; i++)
		len += strlen(pairs[i]) + 1;
	if ((joined = calloc(1, len + 1)) != NULL) {
		for (size_t i = 0; i < 2 * n; i++) {
			strcat(joined, pairs[i]);
			strcat(joined, "\n");
		}
		if ((*last == NULL || strcmp(*last, joined) != 0) &&
		    spool_save_locations(cfg->spool_dir,
		    (const char *const *)pairs, n) == 0) {
			free(*last);
			*last = joined;
			joined = NULL;
		}
	}
	free(joined);
	for (size_t i = 0; i < 2 * n; i++)
		free(pairs[i]);
	free(pairs);
}

/* The spool's replayer: once a second, while requests wait on disk and
 * the database answers, stores them; every few seconds it notes the
 * active locations, for validating posts while the database is down;
 * once a minute it counts the spool's size again from its files (what a
 * crash or an admin changed: spool_recount). */
#define RECOUNT_SECONDS 60
void *
replayer_main(void *arg)
{
	const struct config *cfg = arg;
	struct store st = { .conninfo = cfg->db_conninfo,
	    .app_name = "frontdesk-spool" };
	struct pollfd pfd = { .fd = fcgi_stop_fd(), .events = POLLIN };
	struct timespec now, last = { 0 }, counted;
	/* Entries refused for now back off one by one; one refused for
	 * longer than give_up_after (as the mailer gives up on a message)
	 * goes to failed/. */
	struct spool_retry held = { .give_up_after = cfg->mail_give_up_after,
	    .max_body = cfg->fcgi_max_body };
	char *known = NULL;

	clock_gettime(CLOCK_MONOTONIC, &counted);
	for (;;) {
		bool pending = spool_pending(cfg->spool_dir);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - counted.tv_sec >= RECOUNT_SECONDS) {
			spool_recount(cfg->spool_dir);
			counted = now;
		}
		if (pending || now.tv_sec - last.tv_sec >= 5) {
			last = now;
			if (store_open(&st) == 0) {
				refresh_locations(cfg, &st, &known);
				if (pending)
					spool_replay(cfg->spool_dir, &held,
					    time(NULL), replay_entry, &st);
			}
		}
		if (poll(&pfd, 1, 1000) > 0 || fcgi_stopping())
			break;
	}
	free(known);
	spool_retry_free(&held);
	store_close(&st);
	return NULL;
}

