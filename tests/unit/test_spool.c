/* Unit tests for spool.c: encoding, durable files, claims, replay order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	if (key != NULL) {
		e.key = strdup(key);
		e.fp = (unsigned char *)strdup("first_name:1:5:Maria\n\x01\xff");
		e.fplen = strlen((char *)e.fp);
	}
	return e;
}

static int replayed;
static char order[8][16];
static int wait_ok;  /* FD-WA1T0000 is refused for now until this is set */

static int
count_cb(const struct spool_entry *e, void *arg)
{
	int want = *(int *)arg;

	if (replayed < 8)
		snprintf(order[replayed], sizeof(order[0]), "%s", e->reference);
	replayed++;
	if (strcmp(e->reference, "FD-BADBAD00") == 0)
		return -1;
	if (strcmp(e->reference, "FD-WA1T0000") == 0 && !wait_ok)
		return 2;
	return (want >= 0 && replayed > want) ? 1 : 0;
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

	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	tap_ok(spool_init(dir, err, sizeof(err)) == 0, "init: %s", err);
	tap_ok(spool_init("/proc/nope", err, sizeof(err)) == -1,
	    "init of an unusable dir fails: %s", err);

	text = spool_encode(&e);
	tap_ok(text != NULL && spool_decode(text, &d) == 0, "round trip");
	tap_ok(strcmp(d.a.first_name, e.a.first_name) == 0 &&
	    strcmp(d.a.message, e.a.message) == 0 && d.a.consent &&
	    d.a.phone == NULL && strcmp(d.key, "key-1") == 0 &&
	    d.fplen == e.fplen && memcmp(d.fp, e.fp, e.fplen) == 0,
	    "fields, key and binary fingerprint survive");
	spool_entry_free(&d);
	free(text);
	tap_ok(spool_decode("{\"reference\":\"FD-BAD\"}", &d) == -1,
	    "a bad reference is refused");
	tap_ok(spool_decode("not json", &d) == -1, "garbage is refused");

	snprintf(ref, sizeof(ref), "FD-ABCDEFGH");
	tap_ok(spool_claim_key(dir, "key-1", e.fp, e.fplen, ref) == 0,
	    "first claim wins");
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_claim_key(dir, "key-1", e.fp, e.fplen, ref) == 3 &&
	    strcmp(ref, "FD-ZZZZZZZZ") == 0, "same fields, first entry not on "
	    "disk yet: nothing promised");
	tap_ok(spool_find_key(dir, "key-1", e.fp, e.fplen, ref) == 0,
	    "database up, entry not on disk: the database decides");
	tap_ok(spool_claim_key(dir, "key-1", "other", 5, ref) == 2,
	    "other fields: a conflict");
	spool_release_key(dir, "key-1");
	snprintf(ref, sizeof(ref), "FD-ABCDEFGH");
	tap_ok(spool_claim_key(dir, "key-1", e.fp, e.fplen, ref) == 0,
	    "a released key can be claimed again");

	tap_ok(!spool_pending(dir), "nothing pending yet");
	tap_ok(spool_write(dir, &e) == 0, "write");
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_claim_key(dir, "key-1", e.fp, e.fplen, ref) == 1 &&
	    strcmp(ref, "FD-ABCDEFGH") == 0, "same fields, entry on disk: the "
	    "first reference");
	snprintf(ref, sizeof(ref), "FD-ZZZZZZZZ");
	tap_ok(spool_find_key(dir, "key-1", e.fp, e.fplen, ref) == 1 &&
	    strcmp(ref, "FD-ABCDEFGH") == 0, "database up, not replayed yet: "
	    "the spool's answer");
	tap_ok(spool_find_key(dir, "key-1", "other", 5, ref) == 2,
	    "database up, other fields: a conflict");
	tap_ok(spool_find_key(dir, "key-2", e.fp, e.fplen, ref) == 0,
	    "an unknown key: none");
	spool_entry_free(&e);
	e = entry("FD-WA1T0000", "2026-11-29T01:15:00.000000Z", NULL);
	tap_ok(spool_write(dir, &e) == 0, "write one the database refuses");
	spool_entry_free(&e);
	e = entry("FD-00000001", "2026-11-29T01:00:00.000000Z", NULL);
	tap_ok(spool_write(dir, &e) == 0, "write an older one");
	spool_entry_free(&e);
	e = entry("FD-BADBAD00", "2026-11-29T01:30:00.000000Z", "key-bad");
	snprintf(ref, sizeof(ref), "FD-BADBAD00");
	tap_ok(spool_claim_key(dir, "key-bad", e.fp, e.fplen, ref) == 0,
	    "the one that can never be stored holds a key");
	spool_write(dir, &e);
	spool_entry_free(&e);
	tap_ok(spool_pending(dir), "pending");

	want = 1;  /* the database goes away after one */
	replayed = 0;
	r = spool_replay(dir, count_cb, &want);
	tap_ok(r == 1 && replayed == 2,
	    "stops at the first that must wait");
	tap_ok(strcmp(order[0], "FD-00000001") == 0, "oldest first");
	want = -1;
	replayed = 0;
	r = spool_replay(dir, count_cb, &want);
	tap_ok(r == 1 && replayed == 3,
	    "the rest: one stored, one refused for now, one that can never be");
	tap_ok(spool_pending(dir), "the refused one stays");
	wait_ok = 1;
	replayed = 0;
	r = spool_replay(dir, count_cb, &want);
	tap_ok(r == 1 && replayed == 1, "then it is stored");
	tap_ok(!spool_pending(dir), "spool empty");
	snprintf(path, sizeof(path), "%s/failed/2026-11-29T01:30:00.000000-"
	    "FD-BADBAD00.json", dir);
	tap_ok(access(path, F_OK) == 0, "kept in failed/ for an admin");
	snprintf(path, sizeof(path), "%s/keys/key-bad", dir);
	tap_ok(access(path, F_OK) == -1, "its key's claim is gone too");
	snprintf(path, sizeof(path), "%s/keys/key-1", dir);
	tap_ok(access(path, F_OK) == -1, "a replayed key's claim is gone");
	tap_ok(spool_find_key(dir, "key-1", "first_name:1:5:Maria\n\x01\xff",
	    23, ref) == 0, "replayed: the database decides");
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
