/* Unit tests for spool.c: encoding, durable files, claims, replay order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "spool.h"
#include "tap.h"

static struct spool_entry
entry(const char *ref, const char *at, const char *key)
{
	struct spool_entry e = { .spam = false };

	snprintf(e.reference, sizeof(e.reference), "%s", ref);
	snprintf(e.created_at, sizeof(e.created_at), "%s", at);
	e.a.first_name = strdup("José \"Pepe\"");
	e.a.last_name = strdup("Łukasz");
	e.a.email = strdup("j@example.com");
	e.a.location = strdup("midtown");
	e.a.message = strdup("line one\nline two\t\\ end");
	e.a.consent = true;
	e.msgid_domain = strdup("clinic.example");
	if (key != NULL)
		e.key = strdup(key);
	return e;
}

/* A post's fingerprint (fingerprint.h: a digest), and another's. */
static const unsigned char FP[32] = "the digest of Maria's fields...";
static const unsigned char OTHER[32] = "the digest of other fields.....";

static int replayed;
static char order[8][16];
static int wait_ok;  /* FD-WA1T0000 is refused for now until this is set */

static enum spool_outcome
count_cb(const struct spool_entry *e, void *arg, char *why, size_t size)
{
	int want = *(int *)arg;

	if (replayed < 8)
		snprintf(order[replayed], sizeof(order[0]), "%s", e->reference);
	replayed++;
	if (strcmp(e->reference, "FD-BADBAD00") == 0) {
		snprintf(why, size, "never");
		return SPOOL_NEVER;
	}
	if (strcmp(e->reference, "FD-WA1T0000") == 0 && !wait_ok)
		return SPOOL_LATER;
	return (want >= 0 && replayed > want) ? SPOOL_STOP : SPOOL_STORED;
}


/* For the hostile files: how often fn was reached, and what it says. */
static int calls;
static enum spool_outcome verdict;

static enum spool_outcome
verdict_cb(const struct spool_entry *e, void *arg, char *why, size_t size)
{
	(void)e;
	(void)arg;
	calls++;
	snprintf(why, size, "busy");
	return verdict;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/new/%s", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static bool
in(const char *dir, const char *sub, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return lstat(path, &st) == 0;
}

/* e with one change, judged at now: the reason, or "" when it passes. */
static const char *
judge(struct spool_entry *e, char **slot, const char *v, time_t now)
{
	static char why[200];
	char *was = *slot;

	*slot = v ? strdup(v) : NULL;
	why[0] = '\0';
	if (spool_entry_check(e, now, why, sizeof(why)) == 0)
		why[0] = '\0';
	free(*slot);
	*slot = was;
	return why;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Entries that are not as a post makes them, and files that are not
 * entries at all: none reaches the database, each goes to failed/. */
static void
hostile(const char *dir, time_t now)
{
	struct spool_retry rs = { .give_up_after = 10, .max_body = 65536 };
	struct spool_entry e = entry("FD-0000CHEK", "2026-11-29T01:59:00.000000Z",
	    "key-ok"), d;
	char big[6000], path[512], *text, *at = e.created_at, outside[512];
	char *none = NULL;
	FILE *f;
	int r;

	tap_ok(strcmp(judge(&e, &none, NULL, now), "") == 0,
	    "check: a spooled post passes");
	tap_ok(starts(judge(&e, &e.a.first_name, "Eve\r\nstatus          spam",
	    now), "first_name: must be a single line"),
	    "check: CRLF in a name");
	memset(big, 'a', 5000);
	big[5000] = '\0';
	tap_ok(starts(judge(&e, &e.a.last_name, big, now),
	    "last_name: must be at most 100 characters"),
	    "check: a 5000-character last name");
	tap_ok(starts(judge(&e, &e.a.email, "bad", now),
	    "email: is not a valid email address"), "check: a bad email");
	tap_ok(starts(judge(&e, &e.a.email, " j@example.com", now),
	    "email: is not as validation stores it"),
	    "check: an untrimmed value");
	tap_ok(starts(judge(&e, &e.a.service, "", now),
	    "service: is not as validation stores it"),
	    "check: an empty optional value");
	tap_ok(starts(judge(&e, &e.a.location, "Mid town", now),
	    "location: is not an available location"), "check: a bad slug");
	{
		char *email = e.a.email;

		e.a.email = NULL;
		tap_ok(starts(judge(&e, &e.a.phone, NULL, now),
		    "email: is required unless"), "check: neither email nor "
		    "phone");
		e.a.email = email;
	}
	tap_ok(starts(judge(&e, &e.msgid_domain, "x.example>\r\nBcc: a@b.c",
	    now), "msgid_domain:"), "check: a Message-ID domain with a header");
	tap_ok(starts(judge(&e, &e.key, "../../victim", now),
	    "submission_id:"), "check: a key that is a path");
	{
		static const char *const bad[][2] = {
			{ "1970-01-01T00:00:00.000000Z", "created_at: is older" },
			{ "2026-11-30T02:00:00.000000Z", "created_at: is in the "
			    "future" },
			{ "2026-11-29T02:06:00.000000Z", "created_at: is in the "
			    "future" },
			{ "2026-02-30T01:00:00.000000Z", "created_at: is not a "
			    "real time" },
			{ "2026-11-29T24:00:00.000000Z", "created_at: is not a "
			    "real time" },
			{ "2026-11-29 01:00:00", "created_at: is not a time" },
			{ "2026-11-29T01:00:00.000000+01", "created_at: is not a "
			    "time" },
		};
		char keep[sizeof(e.created_at)];

		snprintf(keep, sizeof(keep), "%s", at);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char why[200] = "";

			snprintf(e.created_at, sizeof(e.created_at), "%s",
			    bad[i][0]);
			spool_entry_check(&e, now, why, sizeof(why));
			tap_ok(starts(why, bad[i][1]), "check: created_at %s: %s",
			    bad[i][0], why);
		}
		snprintf(e.created_at, sizeof(e.created_at),
		    "2026-11-29T02:04:00.000000Z");
		tap_ok(spool_entry_check(&e, now, path, sizeof(path)) == 0,
		    "check: a few minutes ahead is a clock's leeway");
		snprintf(e.created_at, sizeof(e.created_at), "%s", keep);
	}

	tap_ok(spool_decode("{\"version\":1,\"reference\":\"FD-00000001\","
	    "\"created_at\":\"2026-11-29T01:00:00.000000Z\",\"status\":"
	    "\"received\",\"consent\":true,\"key\":\"../../victim\","
	    "\"fingerprint\":\"00\",\"msgid_domain\":\"c.example\","
	    "\"first_name\":\"A\",\"last_name\":\"B\",\"location\":\"midtown\","
	    "\"email\":\"a@b.example\"}", &d) == -1,
	    "decode: a key that is a path is refused");
	tap_ok(spool_decode("{\"version\":1,\"reference\":\"FD-00000001\","
	    "\"created_at\":\"2026-11-29T01:00:00.000000Z\",\"status\":"
	    "\"received\",\"consent\":true,\"key\":null,\"fingerprint\":null,"
	    "\"msgid_domain\":\"c.example\",\"first_name\":[\"A\"],"
	    "\"last_name\":\"B\",\"location\":\"midtown\"}", &d) == -1,
	    "decode: a member of another type is refused");
	tap_ok(spool_decode("{\"version\":2,\"reference\":\"FD-00000001\","
	    "\"created_at\":\"2026-11-29T01:00:00.000000Z\",\"status\":"
	    "\"received\",\"consent\":true,\"msgid_domain\":\"c.example\","
	    "\"first_name\":\"A\",\"last_name\":\"B\",\"location\":\"midtown\"}",
	    &d) == -1, "decode: another version is refused");

	/* The bound on a file's size holds the largest valid post. */
	{
		struct spool_entry m = entry("FD-0000MAX0",
		    "2026-11-29T01:59:00.000000Z", NULL);
		static const char clef[] = "\xf0\x9d\x84\x9e";  /* 4 bytes */
		struct buf b = { 0 };
		size_t len;

		free(m.a.first_name);
		free(m.a.last_name);
		free(m.a.message);
		for (int i = 0; i < 100; i++)
			buf_adds(&b, clef);
		m.a.first_name = strdup(buf_str(&b));
		m.a.last_name = strdup(buf_str(&b));
		for (int i = 100; i < 200; i++)
			buf_adds(&b, clef);
		m.a.service = strdup(buf_str(&b));
		m.a.preferred_time = strdup(buf_str(&b));
		for (int i = 200; i < 5000; i++)
			buf_adds(&b, clef);
		m.a.message = strdup(buf_str(&b));
		buf_free(&b);
		/* The phone and the fingerprint: only the body bounds them. */
		b.len = 0;
		buf_adds(&b, "1");
		for (int i = 0; i < 30000; i++)
			buf_addc(&b, ' ');
		buf_adds(&b, "234567");
		m.a.phone = strdup(buf_str(&b));
		buf_free(&b);
		m.key = strdup("k");
		tap_ok(spool_entry_check(&m, now, path, sizeof(path)) == 0,
		    "max: the largest post is valid: %s", path);
		text = spool_encode(&m);
		len = text ? strlen(text) : 0;
		tap_ok(text != NULL && len <= spool_entry_max(65536),
		    "max: it fits the bound (%zu <= %zu)", len,
		    spool_entry_max(65536));
		free(text);
		spool_entry_free(&m);
	}

	/* Files that are not entries, beside one that is. */
	spool_write(dir, &e, 0);
	snprintf(outside, sizeof(outside), "%s/outside.json", dir);
	{
		char *key = e.key;

		e.key = NULL;
		snprintf(e.reference, sizeof(e.reference), "FD-0000SYM1");
		text = spool_encode(&e);
		e.key = key;
	}
	snprintf(e.reference, sizeof(e.reference), "FD-0000CHEK");
	if ((f = fopen(outside, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/new/2026-11-29T01:59:00.000000-"
	    "FD-0000SYM1.json", dir);
	tap_ok(symlink(outside, path) == 0, "hostile: a link to a file "
	    "outside");
	snprintf(path, sizeof(path), "%s/new/2026-11-29T01:00:00.000000-"
	    "FD-00F1F000.json", dir);
	tap_ok(mkfifo(path, 0600) == 0, "hostile: a FIFO");
	snprintf(path, sizeof(path), "%s/new/2026-11-29T01:00:01.000000-"
	    "FD-00D1R000.json", dir);
	tap_ok(mkdir(path, 0700) == 0, "hostile: a folder");
	snprintf(path, sizeof(path), "%s/new/2026-11-29T01:00:02.000000-"
	    "FD-0000HARD.json", dir);
	tap_ok(link(outside, path) == 0, "hostile: a hard link");
	put(dir, "misnamed.json", text);
	free(text);
	{
		size_t n = spool_entry_max(65536) + 1;
		char *huge = malloc(n + 1);

		memset(huge, ' ', n);
		huge[n] = '\0';
		memcpy(huge, "{}", 2);
		put(dir, "2026-11-29T01:00:03.000000-FD-000H0GE0.json", huge);
		free(huge);
	}
	put(dir, "2026-11-29T01:00:04.000000-FD-0000PATH.json",
	    "{\"version\":1,\"reference\":\"FD-0000PATH\","
	    "\"created_at\":\"2026-11-29T01:00:04.000000Z\",\"status\":"
	    "\"received\",\"consent\":true,\"key\":\"../../outside.json\","
	    "\"fingerprint\":\"00\",\"msgid_domain\":\"c.example\","
	    "\"first_name\":\"A\",\"last_name\":\"B\",\"location\":\"nowhere\","
	    "\"email\":\"a@b.example\"}");
	calls = 0;
	verdict = SPOOL_STORED;
	r = spool_replay(dir, &rs, now, verdict_cb, NULL);
	tap_ok(r == 1 && calls == 1, "hostile: only the real entry reaches the "
	    "database (stored %d, calls %d)", r, calls);
	tap_ok(!spool_pending(dir), "hostile: new/ is empty");
	tap_ok(access(outside, F_OK) == 0, "hostile: the file outside is still "
	    "there");
	snprintf(path, sizeof(path), "%s/failed/2026-11-29T01:59:00.000000-"
	    "FD-0000SYM1.json", dir);
	{
		struct stat st;

		tap_ok(lstat(path, &st) == 0 && S_ISLNK(st.st_mode),
		    "hostile: the link itself went to failed/");
	}
	tap_ok(in(dir, "failed", "2026-11-29T01:00:00.000000-FD-00F1F000.json")
	    && in(dir, "failed", "2026-11-29T01:00:01.000000-FD-00D1R000.json")
	    && in(dir, "failed", "2026-11-29T01:00:02.000000-FD-0000HARD.json")
	    && in(dir, "failed", "misnamed.json")
	    && in(dir, "failed", "2026-11-29T01:00:03.000000-FD-000H0GE0.json")
	    && in(dir, "failed", "2026-11-29T01:00:04.000000-FD-0000PATH.json"),
	    "hostile: the FIFO, the folder, the hard link, the misnamed, the "
	    "huge and the one with a path for a key are in failed/");

	/* Refused for now: tried again at 1, 3, 7 s..., given up at 10. */
	spool_write(dir, &e, 0);
	verdict = SPOOL_LATER;
	calls = 0;
	for (int t = 0; t <= 9; t++)
		spool_replay(dir, &rs, now + t, verdict_cb, NULL);
	tap_ok(calls == 4, "backoff: tried at 0, 1, 3 and 7 s, not every "
	    "second (%d tries)", calls);
	tap_ok(spool_pending(dir), "backoff: it stays meanwhile");
	spool_replay(dir, &rs, now + 10, verdict_cb, NULL);
	tap_ok(calls == 5 && !spool_pending(dir) && in(dir, "failed",
	    "2026-11-29T01:59:00.000000-FD-0000CHEK.json"),
	    "backoff: tried once more on the deadline, then given up on");
	snprintf(path, sizeof(path), "%s/keys/key-ok", dir);
	spool_entry_free(&e);
	spool_retry_free(&rs);
}

/* A claim holds the reference and the fingerprint keyed with the spool's
 * own key: two lines, nothing of the fields (issue 12: it held them
 * hex-encoded). */
static void
claim_holds_no_fields(const char *dir)
{
	char path[512], text[256] = "", plain[65];
	struct stat st;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/key-1", dir);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	for (size_t i = 0; i < 32; i++)
		snprintf(plain + 2 * i, 3, "%02x", FP[i]);
	tap_ok(n == 12 + 65 && strncmp(text, "FD-ABCDEFGH\n", 12) == 0 &&
	    strspn(text + 12, "0123456789abcdef") == 64 && text[76] == '\n',
	    "a claim is its reference and a keyed fingerprint: %zu bytes", n);
	tap_ok(strstr(text, plain) == NULL, "the fingerprint is keyed, not "
	    "the post's digest");
	snprintf(path, sizeof(path), "%s/fingerprint.key", dir);
	tap_ok(stat(path, &st) == 0 && st.st_size == 32 &&
	    (st.st_mode & 0777) == 0600, "the spool's key: 32 bytes, 0600");
}

/* Entries named FD-0<child>Q<i>A, all of one size. */
static int
write_many(const char *dir, int child, int n, long max_size)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		struct spool_entry e = entry("FD-00000000",
		    "2026-11-29T01:00:00.000000Z", NULL);

		snprintf(e.reference, sizeof(e.reference), "FD-0%uQ%04uA",
		    (unsigned)child % 10, (unsigned)i % 10000);
		ok += spool_write(dir, &e, max_size) == 0;
		spool_entry_free(&e);
	}
	return ok;
}

static size_t
count_in(const char *dir, const char *sub)
{
	char cmd[600];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A %s/%s | wc -l", dir, sub);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fscanf(p, "%zu", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

/* [spool] max_size: every file of the spool counted, across processes;
 * a write past it writes nothing. */
static void
usage(time_t now)
{
	char dir[] = "/tmp/fd-spool-usage-XXXXXX", err[256] = "", path[512];
	char ref[REFERENCE_LEN + 1] = "FD-0000K1Y0";
	struct spool_retry rs = { .max_body = 65536 };
	long long base, one, max;
	int ok = 0, status;
	FILE *f;

	tap_ok(mkdtemp(dir) != NULL && spool_init(dir, err, sizeof(err)) == 0,
	    "usage: a fresh spool: %s", err);
	base = spool_usage(dir);
	tap_ok(base == 32, "usage: it holds its key alone (%lld)", base);
	tap_ok(write_many(dir, 9, 1, 0) == 1, "usage: one entry");
	one = spool_usage(dir) - base;
	tap_ok(one > 100 && spool_recount(dir) == 0 &&
	    spool_usage(dir) == base + one, "usage: counted as its file's size "
	    "(%lld), the recount agrees", one);
	max = base + one + 77;   /* room for a claim (77 bytes), no more */
	tap_ok(spool_claim_key(dir, "k-u", FP, sizeof(FP), ref, max) == 0 &&
	    spool_usage(dir) == max, "usage: a claim counts (%lld)",
	    spool_usage(dir));
	tap_ok(spool_claim_key(dir, "k-v", FP, sizeof(FP), ref, max) ==
	    KEY_ERROR && count_in(dir, "keys") == 1, "usage: no room for "
	    "another claim: refused, nothing written");
	spool_release_key(dir, "k-u");
	tap_ok(spool_usage(dir) == base + one, "usage: a released claim is "
	    "uncounted");
	errno = 0;
	tap_ok(write_many(dir, 8, 1, base + 2 * one - 1) == 0 &&
	    errno == ENOSPC && count_in(dir, "new") == 1 && count_in(dir,
	    "tmp") == 0, "usage: a byte short: ENOSPC, nothing written");
	tap_ok(write_many(dir, 8, 1, base + 2 * one) == 1 &&
	    spool_usage(dir) == base + 2 * one, "usage: exactly max_size fits");

	/* Four processes, 10 posts each, room for 5 more. */
	max = base + 7 * one;
	for (int child = 0; child < 4; child++)
		if (fork() == 0)
			_exit(write_many(dir, child, 10, max));
	for (int child = 0; child < 4; child++)
		if (wait(&status) > 0 && WIFEXITED(status))
			ok += WEXITSTATUS(status);
	tap_ok(ok == 5 && count_in(dir, "new") == 7 &&
	    spool_usage(dir) == max, "usage: 4 processes at once took the "
	    "room of 5 and no more (%d written, %zu in new/, %lld bytes)", ok,
	    count_in(dir, "new"), spool_usage(dir));
	(void)spool_recount(dir);
	tap_ok(spool_usage(dir) == max, "usage: their count is the files'");

	/* The replay takes them away, uncounted; what an admin adds by hand
	 * is counted at the next recount. */
	calls = 0;
	verdict = SPOOL_STORED;
	spool_replay(dir, &rs, now, verdict_cb, NULL);
	tap_ok(calls == 7 && spool_usage(dir) == base, "usage: replayed, the "
	    "spool is back to its key (%lld)", spool_usage(dir));
	snprintf(path, sizeof(path), "%s/failed/by-hand.json", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%1000s", "x");
		fclose(f);
	}
	tap_ok(spool_recount(dir) == 0 && spool_usage(dir) == base + 1000,
	    "usage: a file put in failed/ is counted by the recount");
	spool_retry_free(&rs);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	tap_ok(system(path) == 0, "usage: clean up");
}

/* A spool's key that is not 32 bytes stops start-up, named. */
static void
bad_secret(void)
{
	char dir[] = "/tmp/fd-spool-key-XXXXXX", err[256] = "", path[512];
	FILE *f;

	tap_ok(mkdtemp(dir) != NULL, "secret: temp dir");
	snprintf(path, sizeof(path), "%s/fingerprint.key", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("short", f);
		fclose(f);
	}
	tap_ok(spool_init(dir, err, sizeof(err)) == -1 &&
	    strstr(err, "fingerprint.key: not a key of 32 bytes") != NULL,
	    "secret: a short key is refused: %s", err);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	tap_ok(system(path) == 0, "secret: clean up");
}

int
main(void)
{
	char dir[] = "/tmp/fd-spool-test-XXXXXX", err[256], ref[12], path[512];
	struct spool_entry e = entry("FD-ABCDEFGH", "2026-11-29T01:02:03.000004Z",
	    "key-1"), d;
	const char *pairs[] = { "midtown", "", "fidi", "/thanks/fidi/" };
	char url[64];
	char *text;
	int want, r;
	/* The fixtures' time: created_at is judged against it. */
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 29,
	    .tm_hour = 2 };
	time_t now = timegm(&tm);
	struct spool_retry rs = { .give_up_after = 0, .max_body = 65536 };

	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	tap_ok(spool_init(dir, err, sizeof(err)) == 0, "init: %s", err);
	tap_ok(spool_init("/proc/nope", err, sizeof(err)) == -1,
	    "init of an unusable dir fails: %s", err);

	text = spool_encode(&e);
	tap_ok(text != NULL && spool_decode(text, &d) == 0, "round trip");
	tap_ok(strcmp(d.a.first_name, e.a.first_name) == 0 &&
	    strcmp(d.a.message, e.a.message) == 0 && d.a.consent &&
	    d.a.phone == NULL && strcmp(d.key, "key-1") == 0,
	    "fields and key survive");
	tap_ok(strstr(text, "fingerprint") == NULL, "no fingerprint in an "
	    "entry: the replay takes it from its fields");
	spool_entry_free(&d);
	free(text);
	tap_ok(spool_decode("{\"reference\":\"FD-BAD\"}", &d) == -1,
	    "a bad reference is refused");
	tap_ok(spool_decode("not json", &d) == -1, "garbage is refused");

	snprintf(ref, sizeof(ref), "FD-ABCDEFGH");
	snprintf(ref, sizeof(ref), "FD-ABCDEFGH");
	tap_ok(spool_claim_key(dir, "key-1", FP, sizeof(FP), ref, 0) == 0,
	    "first claim wins");
	claim_holds_no_fields(dir);
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_claim_key(dir, "key-1", FP, sizeof(FP), ref, 0) == 3 &&
	    strcmp(ref, "FD-ZZZZZZZZ") == 0, "same fields, first entry not on "
	    "disk yet: nothing promised");
	tap_ok(spool_find_key(dir, "key-1", FP, sizeof(FP), ref) == 0,
	    "database up, entry not on disk: the database decides");
	tap_ok(spool_claim_key(dir, "key-1", OTHER, sizeof(OTHER), ref, 0) ==
	    2, "other fields: a conflict");
	spool_release_key(dir, "key-1");
	snprintf(ref, sizeof(ref), "FD-ABCDEFGH");
	tap_ok(spool_claim_key(dir, "key-1", FP, sizeof(FP), ref, 0) == 0,
	    "a released key can be claimed again");

	tap_ok(!spool_pending(dir), "nothing pending yet");
	tap_ok(spool_write(dir, &e, 0) == 0, "write");
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_claim_key(dir, "key-1", FP, sizeof(FP), ref, 0) == 1 &&
	    strcmp(ref, "FD-ABCDEFGH") == 0, "same fields, entry on disk: the "
	    "first reference");
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_find_key(dir, "key-1", FP, sizeof(FP), ref) == 1 &&
	    strcmp(ref, "FD-ABCDEFGH") == 0, "database up, not replayed yet: "
	    "the spool's answer");
	tap_ok(spool_find_key(dir, "key-1", OTHER, sizeof(OTHER), ref) == 2,
	    "database up, other fields: a conflict");
	tap_ok(spool_find_key(dir, "key-2", FP, sizeof(FP), ref) == 0,
	    "an unknown key: none");
	spool_entry_free(&e);
	e = entry("FD-WA1T0000", "2026-11-29T01:15:00.000000Z", NULL);
	tap_ok(spool_write(dir, &e, 0) == 0, "write one the database refuses");
	spool_entry_free(&e);
	e = entry("FD-00000001", "2026-11-29T01:00:00.000000Z", NULL);
	tap_ok(spool_write(dir, &e, 0) == 0, "write an older one");
	spool_entry_free(&e);
	e = entry("FD-BADBAD00", "2026-11-29T01:30:00.000000Z", "key-bad");
	snprintf(ref, sizeof(ref), "FD-BADBAD00");
	tap_ok(spool_claim_key(dir, "key-bad", FP, sizeof(FP), ref, 0) == 0,
	    "the one that can never be stored holds a key");
	spool_write(dir, &e, 0);
	spool_entry_free(&e);
	tap_ok(spool_pending(dir), "pending");

	want = 1;  /* the database goes away after one */
	replayed = 0;
	r = spool_replay(dir, &rs, now, count_cb, &want);
	tap_ok(r == 1 && replayed == 2,
	    "stops at the first that must wait");
	tap_ok(strcmp(order[0], "FD-00000001") == 0, "oldest first");
	want = -1;
	replayed = 0;
	r = spool_replay(dir, &rs, now, count_cb, &want);
	tap_ok(r == 1 && replayed == 3,
	    "the rest: one stored, one refused for now, one that can never be");
	tap_ok(spool_pending(dir), "the refused one stays");
	wait_ok = 1;
	replayed = 0;
	now += 1;   /* its backoff: a second after its first refusal */
	r = spool_replay(dir, &rs, now, count_cb, &want);
	tap_ok(r == 1 && replayed == 1, "then it is stored");
	tap_ok(!spool_pending(dir), "spool empty");
	snprintf(path, sizeof(path), "%s/failed/2026-11-29T01:30:00.000000-"
	    "FD-BADBAD00.json", dir);
	tap_ok(access(path, F_OK) == 0, "kept in failed/ for an admin");
	snprintf(path, sizeof(path), "%s/keys/key-bad", dir);
	tap_ok(access(path, F_OK) == -1, "its key's claim is gone too");
	snprintf(path, sizeof(path), "%s/keys/key-1", dir);
	tap_ok(access(path, F_OK) == -1, "a replayed key's claim is gone");
	tap_ok(spool_find_key(dir, "key-1", FP, sizeof(FP), ref) == 0,
	    "replayed: the database decides");
	spool_retry_free(&rs);
	hostile(dir, now);
	usage(now);
	bad_secret();
	tap_ok(!spool_locations_noted(dir), "no locations noted yet");

	tap_ok(spool_save_locations(dir, pairs, 2) == 0, "save locations");
	tap_ok(spool_locations_noted(dir), "locations noted");
	tap_ok(spool_location_find(dir, "fidi", NULL, 0) &&
	    !spool_location_find(dir, "woodbury", NULL, 0), "known locations");
	spool_location_find(dir, "fidi", url, sizeof(url));
	tap_ok(strcmp(url, "/thanks/fidi/") == 0, "a location's thank-you "
	    "page is noted too");
	spool_location_find(dir, "midtown", url, sizeof(url));
	tap_ok(url[0] == '\0', "none: the default");
	snprintf(path, sizeof(path), "%s/locations.json", dir);
	{
		FILE *f = fopen(path, "w");

		fputs("[\"midtown\",\"fidi\"]", f);
		fclose(f);
	}
	tap_ok(spool_location_find(dir, "fidi", NULL, 0) &&
	    !spool_location_find(dir, "woodbury", NULL, 0), "an older file of bare "
	    "slugs still reads");
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	tap_ok(system(path) == 0, "clean up");
	return tap_done();
}
