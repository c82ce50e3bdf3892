/* cmetrics: the console's counters for Prometheus: sign-ins by outcome,
 * lockouts, answers by status. Counted as they happen; a scrape reads
 * them, never the database. */
#include <stdatomic.h>
#include <stdio.h>

#include "console.h"

static atomic_ulong sign_ins[CM_SIGN_IN_COUNT];
static atomic_ulong lockouts;
/* 1xx-5xx by hundred, and the statuses the pages act on. */
static const int statuses[] = { 200, 201, 202, 204, 400, 401, 403, 404,
    405, 409, 413, 500, 503 };
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static atomic_ulong answers[NSTATUS + 1];   /* the last: any other */

void
cmetrics_sign_in(enum cmetrics_sign_in outcome)
{
	atomic_fetch_add(&sign_ins[outcome], 1);
}

void
cmetrics_lockout(void)
{
	atomic_fetch_add(&lockouts, 1);
}

void
cmetrics_answer(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS && statuses[i] != status; i++)
		;
	atomic_fetch_add(&answers[i], 1);
}

void
cmetrics_handle(struct fcgi_ctx *c)
{
	static const char *const outcomes[] = { "ok", "failed", "locked" };
	struct buf *b = &c->ans.body;

	c->ans.status = 200;
	c->ans.content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_adds(b, "# HELP frontdesk_console_sign_ins_total Sign-ins, by "
	    "outcome (locked: refused during a lockout).\n"
	    "# TYPE frontdesk_console_sign_ins_total counter\n");
	for (size_t i = 0; i < CM_SIGN_IN_COUNT; i++)
		buf_printf(b, "frontdesk_console_sign_ins_total{outcome=\"%s\"} "
		    "%lu\n", outcomes[i], atomic_load(&sign_ins[i]));
	buf_printf(b, "# HELP frontdesk_console_lockouts_total Accounts locked "
	    "after repeated failed sign-ins.\n# TYPE "
	    "frontdesk_console_lockouts_total counter\n"
	    "frontdesk_console_lockouts_total %lu\n", atomic_load(&lockouts));
	buf_adds(b, "# HELP frontdesk_console_http_answers_total API answers, "
	    "by status.\n# TYPE frontdesk_console_http_answers_total counter\n");
	for (size_t i = 0; i < NSTATUS; i++)
		buf_printf(b, "frontdesk_console_http_answers_total{status=\"%d\"} "
		    "%lu\n", statuses[i], atomic_load(&answers[i]));
	buf_printf(b, "frontdesk_console_http_answers_total{status=\"other\"} "
	    "%lu\n", atomic_load(&answers[NSTATUS]));
}
