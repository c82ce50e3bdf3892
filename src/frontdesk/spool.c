/* spool: accepted requests kept on disk while the database is down. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "spool.h"

static const char hexdigits[] = "0123456789abcdef";

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Writes data to dir/sub/name through dir/tmp: the file is either all
 * there under its name, or not there at all, and survives a crash. */
static int
write_durably(const char *dir, const char *sub, const char *name,
    const char *data, size_t len, bool exclusive)
{
	char tmp[PATH_MAX], dst[PATH_MAX], subdir[PATH_MAX];
	size_t off = 0;
	int fd;

	/* A name of its own per call: threads and processes claiming one
	 * key at once must not write into each other's file. */
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.XXXXXX", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s/%s", dir, sub, name);
	snprintf(subdir, sizeof(subdir), "%s/%s", dir, sub);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	close(fd);
	fd = -1;
	/* link(2) fails when the name exists: a claim that cannot be lost. */
	if (exclusive) {
		int r = link(tmp, dst), saved = errno;

		unlink(tmp);
		errno = saved;
		if (r == -1)
			return -1;
		/* A claim not known to be durable is no claim: take it back,
		 * so no later post is answered from it. */
		if (fsync_dir(subdir) == -1) {
			saved = errno;
			unlink(dst);
			errno = saved == EEXIST ? EIO : saved;
			return -1;
		}
		return 0;
	} else if (rename(tmp, dst) == -1)
		goto fail;
	return fsync_dir(subdir);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
spool_init(const char *dir, char *err, size_t errsize)
{
	static const char *const subs[] = { "", "/tmp", "/new", "/failed",
	    "/keys" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			goto fail;
		if (access(path, W_OK | X_OK) == -1)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errsize, "%s: %s", path, strerror(errno));
	return -1;
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *
hex_encode(const unsigned char *p, size_t n)
{
	char *h = malloc(n * 2 + 1);

	if (h == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		h[i * 2] = hexdigits[p[i] >> 4];
		h[i * 2 + 1] = hexdigits[p[i] & 15];
	}
	h[n * 2] = '\0';
	return h;
}

char *
spool_encode(const struct spool_entry *e)
{
	char *fp = e->key ? hex_encode(e->fp, e->fplen) : NULL, *out = NULL;
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:b,s:o,s:o,s:o}",
	    "version", 1, "reference", e->reference, "created_at", e->created_at,
	    "status", e->spam ? "spam" : "received", "consent", e->a.consent,
	    "key", jstr(e->key), "fingerprint", jstr(fp),
	    "msgid_domain", jstr(e->msgid_domain));

	free(fp);
	/* The form's text, one member per spooled field (fields.c). */
	for (size_t i = 0; o != NULL && i < fields_count; i++)
		if (fields[i].spooled && json_object_set_new(o, fields[i].name,
		    jstr(appointment_value(&e->a, fields[i].slot))) == -1) {
			json_decref(o);
			o = NULL;
		}
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static char *
jdup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? strdup(s) : NULL;
}

static int
hex_decode(const char *h, unsigned char **out, size_t *n)
{
	size_t len = strlen(h);

	if (len % 2 || (*out = malloc(len / 2 + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		const char *a = strchr(hexdigits, h[i * 2]);
		const char *b = strchr(hexdigits, h[i * 2 + 1]);

		if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
			return -1;
		(*out)[i] = (unsigned char)((a - hexdigits) << 4 | (b - hexdigits));
	}
	*n = len / 2;
	return 0;
}

int
spool_decode(const char *text, struct spool_entry *e)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *ref, *at, *status, *fp;
	int r = -1;

	memset(e, 0, sizeof(*e));
	if (o == NULL)
		return -1;
	ref = json_string_value(json_object_get(o, "reference"));
	at = json_string_value(json_object_get(o, "created_at"));
	status = json_string_value(json_object_get(o, "status"));
	if (ref == NULL || !reference_valid(ref) || at == NULL ||
	    strlen(at) >= sizeof(e->created_at) || status == NULL)
		goto done;
	strcpy(e->reference, ref);
	strcpy(e->created_at, at);
	e->spam = strcmp(status, "spam") == 0;
	for (size_t i = 0; i < fields_count; i++)
		if (fields[i].spooled)
			*appointment_text(&e->a, fields[i].slot) =
			    jdup(o, fields[i].name);
	e->a.consent = json_is_true(json_object_get(o, "consent"));
	e->key = jdup(o, "key");
	e->msgid_domain = jdup(o, "msgid_domain");
	fp = json_string_value(json_object_get(o, "fingerprint"));
	if (e->a.location == NULL || e->a.first_name == NULL ||
	    e->a.last_name == NULL || e->msgid_domain == NULL ||
	    (e->key != NULL && (fp == NULL || hex_decode(fp, &e->fp,
	    &e->fplen) == -1)))
		goto done;
	r = 0;
done:
	json_decref(o);
	if (r == -1)
		spool_entry_free(e);
	return r;
}

void
spool_entry_free(struct spool_entry *e)
{
	appointment_free(&e->a);
	free(e->key);
	free(e->fp);
	free(e->msgid_domain);
	memset(e, 0, sizeof(*e));
}

int
spool_write(const char *dir, const struct spool_entry *e)
{
	char name[64], *text = spool_encode(e);
	int r;

	if (text == NULL)
		return -1;
	/* Names sort by time: the replay keeps the order of arrival. */
	snprintf(name, sizeof(name), "%.26s-%s.json", e->created_at,
	    e->reference);
	r = write_durably(dir, "new", name, text, strlen(text), false);
	free(text);
	return r;
}

/* How long a twin post waits for the first one's entry: 2 s at most. */
#define CLAIM_WAIT_TRIES 200
static const struct timespec claim_wait = { 0, 10 * 1000 * 1000 };

/* Is the entry for ref in dir/new (written, not yet replayed)? */
static bool
entry_waiting(const char *dir, const char *ref)
{
	char pattern[PATH_MAX];
	glob_t g;
	bool found;

	snprintf(pattern, sizeof(pattern), "%s/new/*-%s.json", dir, ref);
	found = glob(pattern, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return found;
}

/* dir/keys/key as claimed: KEY_SAME with fingerprint hex (ref gets its
 * reference), KEY_OTHER with another, KEY_NEW when there is no such claim,
 * KEY_ERROR when it cannot be read. */
static enum key_state
key_read(const char *dir, const char *key, const char *hex,
    char ref[REFERENCE_LEN + 1])
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	enum key_state r = KEY_ERROR;

	snprintf(path, sizeof(path), "%s/keys/%s", dir, key);
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? KEY_NEW : KEY_ERROR;
	if (getline(&line, &cap, f) > REFERENCE_LEN) {
		memcpy(ref, line, REFERENCE_LEN);
		ref[REFERENCE_LEN] = '\0';
		len = getline(&line, &cap, f);
		r = (len > 0 && (size_t)len == strlen(hex) + 1 &&
		    memcmp(line, hex, (size_t)len - 1) == 0) ? KEY_SAME :
		    KEY_OTHER;
	}
	free(line);
	fclose(f);
	return r;
}

enum key_state
spool_claim_key(const char *dir, const char *key, const void *fp,
    size_t fplen, char ref[REFERENCE_LEN + 1])
{
	char *hex = hex_encode(fp, fplen), *text = NULL, first[REFERENCE_LEN + 1];
	enum key_state r = KEY_ERROR;

	if (hex == NULL)
		return KEY_ERROR;
	if (asprintf(&text, "%s\n%s\n", ref, hex) < 0) {
		free(hex);
		return KEY_ERROR;
	}
	if (write_durably(dir, "keys", key, text, strlen(text), true) == 0)
		r = KEY_NEW;
	else if (errno == EEXIST) {
		/* The same post: answer with the first one's reference, but
		 * only once its entry is on disk. It is being written (a double
		 * click): wait for it a little. Its write failed (the claim is
		 * released) or takes too long: nothing may be promised. */
		for (int tries = 0; ; tries++) {
			r = key_read(dir, key, hex, first);
			if (r != KEY_SAME || entry_waiting(dir, first))
				break;
			if (tries == CLAIM_WAIT_TRIES) {
				r = KEY_PENDING;
				break;
			}
			nanosleep(&claim_wait, NULL);
		}
		if (r == KEY_SAME)
			memcpy(ref, first, sizeof(first));
		else if (r == KEY_NEW)
			r = KEY_ERROR;   /* released meanwhile: the client may retry */
	}
	free(hex);
	free(text);
	return r;
}

enum key_state
spool_find_key(const char *dir, const char *key, const void *fp,
    size_t fplen, char ref[REFERENCE_LEN + 1])
{
	char *hex = hex_encode(fp, fplen), first[REFERENCE_LEN + 1];
	enum key_state r;

	if (hex == NULL)
		return KEY_NEW;
	r = key_read(dir, key, hex, first);
	free(hex);
	/* Only a claim whose entry still waits to be replayed: once replayed,
	 * the database knows the key itself. */
	if ((r != KEY_SAME && r != KEY_OTHER) || !entry_waiting(dir, first))
		return KEY_NEW;
	if (r == KEY_SAME)
		memcpy(ref, first, sizeof(first));
	return r;
}

bool
spool_locations_noted(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/locations.json", dir);
	return access(path, F_OK) == 0;
}

void
spool_release_key(const char *dir, const char *key)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/keys/%s", dir, key);
	unlink(path);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir/new, sorted; NULL on error. */
static char **
list_new(const char *dir, size_t *n)
{
	char path[PATH_MAX], **names = NULL;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof(path), "%s/new", dir);
	if ((d = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".json") == NULL)
			continue;
		if (*n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 64) *
			    sizeof(*names));

			if (p == NULL)
				break;
			names = p;
		}
		if ((names[*n] = strdup(de->d_name)) != NULL)
			(*n)++;
	}
	closedir(d);
	if (names != NULL)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

bool
spool_pending(const char *dir)
{
	size_t n;
	char **names = list_new(dir, &n);

	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return n > 0;
}

static char *
read_all(int fd)
{
	struct stat st;
	char *p;

	if (fstat(fd, &st) == -1 || st.st_size > 64 * 1024 * 1024 ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	if (pread(fd, p, (size_t)st.st_size, 0) != st.st_size) {
		free(p);
		return NULL;
	}
	p[st.st_size] = '\0';
	return p;
}

/* Replays one file under its lock: 0 stored, 1 keep (stop), 2 keep (go
 * on), -1 failed for good (moved to failed/). */
static int
replay_one(const char *dir, const char *name,
    int (*fn)(const struct spool_entry *, void *), void *arg)
{
	char path[PATH_MAX], keypath[PATH_MAX], failed[PATH_MAX];
	struct spool_entry e;
	bool decoded;
	char *text;
	int fd, r;

	snprintf(path, sizeof(path), "%s/new/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;  /* another process replayed it */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return 1;
	}
	/* Still there once locked? Another replayer may have just done it. */
	if (access(path, F_OK) == -1) {
		close(fd);
		return 0;
	}
	text = read_all(fd);
	decoded = text != NULL && spool_decode(text, &e) == 0;
	r = decoded ? fn(&e, arg) : -1;
	/* Stored, or never to be: its key's claim goes either way (the
	 * database knows a stored one's key; a failed one answers no one). */
	if ((r == 0 || r == -1) && decoded && e.key != NULL) {
		snprintf(keypath, sizeof(keypath), "%s/keys/%s", dir, e.key);
		unlink(keypath);
	}
	if (r == 0)
		unlink(path);
	else if (r == -1) {
		snprintf(failed, sizeof(failed), "%s/failed/%s", dir, name);
		rename(path, failed);
		log_error("spool_replay_failed", "file=%s", name);
	} else if (r == 2)
		log_warn("spool_replay_deferred", "file=%s hint=\"the database "
		    "refused it for now; it stays and is tried again\"", name);
	if (decoded)
		spool_entry_free(&e);
	free(text);
	close(fd);
	return r;
}

int
spool_replay(const char *dir, int (*fn)(const struct spool_entry *, void *),
    void *arg)
{
	char path[PATH_MAX];
	size_t n, done = 0, i;
	char **names = list_new(dir, &n);
	int r = 0;

	if (names == NULL && n == 0)
		return 0;
	/* 1: the database is gone again, the rest wait too; 2: this one
	 * waits, the others go on. */
	for (i = 0; i < n && r != 1; i++) {
		if ((r = replay_one(dir, names[i], fn, arg)) == 0)
			done++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	snprintf(path, sizeof(path), "%s/new", dir);
	fsync_dir(path);
	return (int)done;
}

int
spool_save_locations(const char *dir, const char *const *pairs, size_t n)
{
	json_t *a = json_array();
	char *text;
	int r;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "slug",
		    pairs[2 * i], "thank_you", pairs[2 * i + 1]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return -1;
	r = write_durably(dir, ".", "locations.json", text, strlen(text), false);
	free(text);
	return r;
}

/* The noted entry for slug: an object {"slug", "thank_you"}, or a bare
 * string as older versions noted them. */
bool
spool_location_find(const char *dir, const char *slug, char *thank_you,
    size_t size)
{
	char path[PATH_MAX];
	json_t *a, *v;
	size_t i;
	bool found = false;

	if (thank_you != NULL && size > 0)
		thank_you[0] = '\0';
	snprintf(path, sizeof(path), "%s/locations.json", dir);
	if ((a = json_load_file(path, 0, NULL)) == NULL)
		return false;
	json_array_foreach(a, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) :
		    json_string_value(json_object_get(v, "slug"));
		const char *t = json_string_value(json_object_get(v,
		    "thank_you"));

		if (found || s == NULL || strcmp(s, slug) != 0)
			continue;
		found = true;
		if (thank_you != NULL && t != NULL)
			snprintf(thank_you, size, "%s", t);
	}
	json_decref(a);
	return found;
}
