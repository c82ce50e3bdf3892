/* replayer: the thread that stores what the spool kept while the
 * database was down, and notes the active locations for the next outage. */
#ifndef FRONTDESK_REPLAYER_H
#define FRONTDESK_REPLAYER_H

/* The thread's body; arg is the const struct config. Returns once the web
 * layer's stop fd turns readable. */
void *replayer_main(void *arg);

#endif
