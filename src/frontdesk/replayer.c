/* replayer: stores spooled requests once the database answers again. */
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replayer.h"
#include "spool.h"
#include "store.h"
#include "web/fcgi.h"

/* How a spooled request fared: 0 stored; 1 the database is gone, keep
 * it and stop; 2 refused for now (a lock or statement timeout, say): keep
 * it, go on with the next; -1 never (its location no longer exists). An
 * accepted request is never dropped for a passing error. */
static int
replay_entry(const struct spool_entry *e, void *arg)
{
	switch (store_replay(arg, e)) {
	case STORE_OK:
		return 0;
	case STORE_DOWN:
		return 1;
	case STORE_LOCATION_GONE:
		return -1;
	default:
		return 2;
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
 * active locations, for validating posts while the database is down. */
void *
replayer_main(void *arg)
{
	const struct config *cfg = arg;
	struct store st = { .conninfo = cfg->db_conninfo,
	    .app_name = "frontdesk-spool" };
	struct pollfd pfd = { .fd = fcgi_stop_fd(), .events = POLLIN };
	struct timespec now, last = { 0 };
	char *known = NULL;

	for (;;) {
		bool pending = spool_pending(cfg->spool_dir);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (pending || now.tv_sec - last.tv_sec >= 5) {
			last = now;
			if (store_open(&st) == 0) {
				refresh_locations(cfg, &st, &known);
				if (pending)
					spool_replay(cfg->spool_dir, replay_entry,
					    &st);
			}
		}
		if (poll(&pfd, 1, 1000) > 0 || fcgi_stopping())
			break;
	}
	free(known);
	store_close(&st);
	return NULL;
}

