/* outbox_policy: the outbox's pure rules: backoff, lease, verdict. Who
 * gets a message is common/route.c's rule (the console shows it too). */
#include "outbox.h"

long
outbox_backoff(long attempt, long retry_min, long retry_max)
{
	long d = retry_min;

	if (retry_min < 1)
		d = 1;
	if (retry_max < d)
		return d;
	for (long i = 1; i < attempt; i++) {
		if (d > retry_max / 2)
			return retry_max;
		d *= 2;
	}
	return d < retry_max ? d : retry_max;
}

long
outbox_statement_ms(long timeout)
{
	return timeout * 250 < 1000 ? 1000 : timeout * 250;
}

long
outbox_lease(long timeout, long retry_max)
{
	long margin = retry_max / 2;
	/* A message's work: the claim (the lease runs from its start), its
	 * routes and its record, a statement each, and one SMTP transaction
	 * (the fresh-connection retry shares it), QUIT included. Never less
	 * than 2 x timeout, as before. The margin keeps a dead mailer's
	 * message within that + retry_max. */
	long work = (3 * outbox_statement_ms(timeout) + timeout * 1000 +
	    OUTBOX_SMTP_OVERRUN_MS + 999) / 1000;

	if (work < 2 * timeout)
		work = 2 * timeout;
	if (margin > 60)
		margin = 60;
	return work + margin;
}

enum outbox_outcome
outbox_verdict(bool delivered, long smtp_code, bool in_transaction,
    long age, long give_up_after)
{
	if (delivered)
		return OUTBOX_SENT;
	/* A 5xx before MAIL FROM (a greeting, EHLO or AUTH refused) says
	 * nothing about this message; it is our set-up's problem. So is a
	 * 530 to MAIL FROM (authentication required, RFC 4954): the server
	 * wants credentials we did not give, whatever the message. */
	if (in_transaction && smtp_code >= 500 && smtp_code <= 599 &&
	    smtp_code != 530)
		return OUTBOX_DEAD;
	if (age >= give_up_after)
		return OUTBOX_DEAD;
	return OUTBOX_RETRY;
}
