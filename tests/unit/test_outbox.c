/* Unit tests for outbox_policy.c: backoff, lease, verdicts (routing:
 * test_route.c). */
#include <limits.h>

#include "outbox.h"
#include "tap.h"

static const struct {
	long attempt, min, max, want;
} backoffs[] = {
	/* the defaults: 60 s doubling up to an hour */
	{ 1, 60, 3600, 60 },
	{ 2, 60, 3600, 120 },
	{ 3, 60, 3600, 240 },
	{ 4, 60, 3600, 480 },
	{ 5, 60, 3600, 960 },
	{ 6, 60, 3600, 1920 },
	{ 7, 60, 3600, 3600 },
	{ 8, 60, 3600, 3600 },
	{ 1000, 60, 3600, 3600 },
	/* the tests' settings */
	{ 1, 1, 4, 1 },
	{ 2, 1, 4, 2 },
	{ 3, 1, 4, 4 },
	{ 4, 1, 4, 4 },
	{ 1, 5, 5, 5 },
	{ 9, 5, 5, 5 },
	/* no overflow, however large */
	{ 63, 1, LONG_MAX, 1L << 62 },
	{ 64, 1, LONG_MAX, LONG_MAX },
	{ LONG_MAX, 3, LONG_MAX, LONG_MAX },
	{ 2, LONG_MAX / 2 + 1, LONG_MAX, LONG_MAX },
	/* nonsense in, sense out */
	{ 0, 60, 3600, 60 },
	{ -5, 60, 3600, 60 },
};

static const struct {
	bool delivered;
	long code;
	bool in_tx;
	long age, give_up;
	enum outbox_outcome want;
	const char *what;
} verdicts[] = {
	{ true, 250, true, 0, 259200, OUTBOX_SENT, "250: sent" },
	{ true, 250, true, 999999, 259200, OUTBOX_SENT, "sent even when old" },
	{ false, 451, true, 0, 259200, OUTBOX_RETRY, "451: retry" },
	{ false, 421, false, 0, 259200, OUTBOX_RETRY, "421 greeting: retry" },
	{ false, 0, false, 0, 259200, OUTBOX_RETRY, "no connection: retry" },
	{ false, 0, true, 0, 259200, OUTBOX_RETRY, "cut mid-transaction: retry" },
	{ false, 550, true, 0, 259200, OUTBOX_DEAD, "550 RCPT: dead" },
	{ false, 554, true, 10, 259200, OUTBOX_DEAD, "554 after DATA: dead" },
	{ false, 552, true, 10, 259200, OUTBOX_DEAD, "552: dead" },
	{ false, 535, false, 0, 259200, OUTBOX_RETRY, "535 AUTH: retry" },
	{ false, 554, false, 0, 259200, OUTBOX_RETRY, "554 greeting: retry" },
	{ false, 530, true, 0, 259200, OUTBOX_RETRY,
	    "530 to MAIL FROM (auth required): retry" },
	{ false, 530, true, 259200, 259200, OUTBOX_DEAD,
	    "530 too old: dead" },
	{ false, 553, true, 0, 259200, OUTBOX_DEAD, "553 MAIL FROM: dead" },
	{ false, 530, false, 0, 259200, OUTBOX_RETRY, "530 before MAIL: retry" },
	{ false, 250, true, 0, 259200, OUTBOX_RETRY, "timeout after a 250: retry" },
	{ false, 451, true, 259199, 259200, OUTBOX_RETRY, "451 just in time" },
	{ false, 451, true, 259200, 259200, OUTBOX_DEAD, "451 too old: dead" },
	{ false, 0, false, 400000, 259200, OUTBOX_DEAD, "down too long: dead" },
};

static void
test_backoff(void)
{
	long prev = 0;
	int monotonic = 1;

	for (size_t i = 0; i < sizeof(backoffs) / sizeof(backoffs[0]); i++) {
		long got = outbox_backoff(backoffs[i].attempt, backoffs[i].min,
		    backoffs[i].max);

		tap_ok(got == backoffs[i].want, "backoff(%ld, %ld, %ld) = %ld "
		    "(want %ld)", backoffs[i].attempt, backoffs[i].min,
		    backoffs[i].max, got, backoffs[i].want);
	}
	for (long a = 1; a < 200; a++) {
		long d = outbox_backoff(a, 7, 1000);

		if (d < prev || d > 1000 || d < 7)
			monotonic = 0;
		prev = d;
	}
	tap_ok(monotonic, "backoff never shrinks and stays in [min, max]");
}

static void
test_lease(void)
{
	tap_ok(outbox_lease(30, 3600) == 120, "lease 30 s / 3600: %ld",
	    outbox_lease(30, 3600));
	/* 3 statements of 1 s, 2 s of SMTP, 1 s past it: 6 s */
	tap_ok(outbox_lease(2, 1) == 6, "lease 2 s / 1: %ld", outbox_lease(2, 1));
	tap_ok(outbox_lease(3, 2) == 8, "lease 3 s / 2: %ld", outbox_lease(3, 2));
	tap_ok(outbox_statement_ms(1) == 1000 && outbox_statement_ms(30) ==
	    7500, "statements: a quarter of the timeout, at least 1 s");
	for (long t = 1; t <= 600; t += 1)
		for (long m = 1; m <= 100000; m *= 3) {
			long l = outbox_lease(t, m);
			/* the work from the claim to the record, in ms */
			long work = 3 * outbox_statement_ms(t) + t * 1000 +
			    OUTBOX_SMTP_OVERRUN_MS;
			long base = 2 * t * 1000 > work ? 2 * t : (work + 999) /
			    1000;

			if (l * 1000 < work || l < 2 * t || l > base + m / 2 ||
			    l > base + 60) {
				tap_ok(0, "lease(%ld, %ld) = %ld", t, m, l);
				return;
			}
		}
	tap_ok(1, "a message's work (3 statements, timeout + overrun) and "
	    "2 x timeout <= lease <= that + min(retry_max / 2, 60)");
}

static void
test_verdicts(void)
{
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		tap_ok(outbox_verdict(verdicts[i].delivered, verdicts[i].code,
		    verdicts[i].in_tx, verdicts[i].age, verdicts[i].give_up) ==
		    verdicts[i].want, "verdict: %s", verdicts[i].what);
}

int
main(void)
{
	test_backoff();
	test_lease();
	test_verdicts();
	return tap_done();
}
