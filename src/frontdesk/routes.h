/* routes: frontdesk's route table, its small handlers, and each
 * thread's state as the web layer hands it over. */
#ifndef FRONTDESK_ROUTES_H
#define FRONTDESK_ROUTES_H

#include "store.h"
#include "web/fcgi.h"

/* The app frontdesk serves: its routes below [http] prefix, a database
 * connection per thread, metrics per answer, and (with a spool) the
 * replayer beside the pool. */
void routes_app(struct fcgi_app *app, const struct config *cfg);

/* This thread's database connection. */
static inline struct store *
routes_store(struct fcgi_ctx *c)
{
	return c->worker;
}

#endif
