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
#include <sodium.h>

#include "common/log.h"
#include "common/text.h"
#include "spool.h"

/* The longest msgid_domain: '<' reference '.' uuid '@' domain '>' fits
 * the 250 bytes the mailer allows a Message-ID. */
#define MSGID_DOMAIN_MAX (250 - 1 - REFERENCE_LEN - 1 - 36 - 1 - 1)

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

/*
 * The spool's size ([spool] max_size). dir/usage holds the bytes of every
 * file in the spool but itself, as decimal text. Whoever adds or removes
 * a file holds its lock (flock, one open file per call: threads exclude
 * each other too) from the check to the new total, so that processes
 * sharing the spool count together and never both take its last room.
 * spool_recount sets it from the files themselves, at start-up and once a
 * minute, for what no one counted: a crash between a file and its count,
 * an admin who empties failed/, a file put there by hand.
 */
#define SPOOL_USAGE "usage"

static int
usage_lock(int top)
{
	int fd = openat(top, SPOOL_USAGE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);

	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

/* The bytes of the regular files in the spool's folders, usage aside. */
static long long
usage_scan(int top)
{
	static const char *const subs[] = { ".", "tmp", "new", "failed",
	    "keys" };
	long long total = 0;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		int fd = openat(top, subs[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		struct dirent *de;
		DIR *d;

		if (fd == -1)
			continue;
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			struct stat st;

			if (i == 0 && strcmp(de->d_name, SPOOL_USAGE) == 0)
				continue;
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
				total += st.st_size;
		}
		closedir(d);
	}
	return total;
}

/* The total under the lock fd; counted afresh when there is none yet. */
static long long
usage_get(int fd, int top)
{
	char buf[32], *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long long v;

	if (n > 0) {
		buf[n] = '\0';
		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno == 0 && end != buf && *end == '\n' && v >= 0)
			return v;
	}
	return usage_scan(top);
}

static void
usage_put(int fd, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", v < 0 ? 0 : v);

	/* Not fsynced: after a crash, start-up counts again. */
	if (pwrite(fd, buf, (size_t)n, 0) == n)
		(void)ftruncate(fd, n);
}

/* write_durably, counted: only when the spool has room for len more
 * bytes under max_size (0: no bound; a file replaced gives its room
 * back). -1 with errno ENOSPC when it has not. */
static int
write_counted(const char *dir, long max_size, const char *sub,
    const char *name, const char *data, size_t len, bool exclusive)
{
	int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
	int r = -1, saved;
	long long used, old = 0;
	char path[PATH_MAX];
	struct stat st;

	if (top == -1 || (fd = usage_lock(top)) == -1)
		goto out;
	used = usage_get(fd, top);
	snprintf(path, sizeof(path), "%s/%s", sub, name);
	if (!exclusive && fstatat(top, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		old = st.st_size;
	if (max_size > 0 && used - old + (long long)len > max_size) {
		errno = ENOSPC;
		goto out;
	}
	if ((r = write_durably(dir, sub, name, data, len, exclusive)) == 0)
		usage_put(fd, used - old + (long long)len);
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (top != -1)
		close(top);
	errno = saved;
	return r;
}

/* unlinkat(dfd, name), uncounted: dfd is a folder of the spool top. The
 * file goes even when its count cannot be told (the next recount will). */
static int
unlink_counted(int top, int dfd, const char *name)
{
	int fd = usage_lock(top), r;
	long long used = fd != -1 ? usage_get(fd, top) : 0;
	struct stat st;
	bool counted = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);

	if ((r = unlinkat(dfd, name, 0)) == 0 && counted && fd != -1)
		usage_put(fd, used - st.st_size);
	if (fd != -1)
		close(fd);
	return r;
}

int
spool_recount(const char *dir)
{
	int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (top == -1)
		return -1;
	if ((fd = usage_lock(top)) != -1) {
		usage_put(fd, usage_scan(top));
		close(fd);
	}
	close(top);
	return fd == -1 ? -1 : 0;
}

long long
spool_usage(const char *dir)
{
	int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	long long v = -1;

	if (top == -1)
		return -1;
	if ((fd = usage_lock(top)) != -1) {
		v = usage_get(fd, top);
		close(fd);
	}
	close(top);
	return v;
}

/*
 * The spool's own key for the fingerprints in keys/ (HMAC-SHA-256): made
 * by the first process that starts on the spool, and shared by all that
 * share it. A keys/ file then holds a reference and a keyed fingerprint,
 * never the patient's fields nor a hash of them a guess could be checked
 * against without the key. (The entries in new/ hold the fields
 * themselves while they wait: the key protects what outlives them, a
 * claim left by a crash.)
 */
#define SPOOL_SECRET "fingerprint.key"
#define SPOOL_SECRET_LEN crypto_auth_hmacsha256_KEYBYTES
#define KEYED_HEX (2 * crypto_auth_hmacsha256_BYTES + 1)

static char *read_exactly(int fd, size_t size);

static int
secret_read(const char *dir, unsigned char key[SPOOL_SECRET_LEN])
{
	char path[PATH_MAX], *p;
	int fd;

	snprintf(path, sizeof(path), "%s/" SPOOL_SECRET, dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	p = read_exactly(fd, SPOOL_SECRET_LEN);
	close(fd);
	if (p == NULL) {
		errno = EINVAL;   /* not SPOOL_SECRET_LEN bytes */
		return -1;
	}
	memcpy(key, p, SPOOL_SECRET_LEN);
	sodium_memzero(p, SPOOL_SECRET_LEN);
	free(p);
	return 0;
}

static void
hex_into(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i * 2] = hexdigits[p[i] >> 4];
		out[i * 2 + 1] = hexdigits[p[i] & 15];
	}
	out[n * 2] = '\0';
}

/* fp keyed with the spool's key, as hex; -1 when the key is unreadable. */
static int
keyed_hex(const char *dir, const void *fp, size_t fplen, char hex[KEYED_HEX])
{
	unsigned char key[SPOOL_SECRET_LEN], mac[crypto_auth_hmacsha256_BYTES];

	if (secret_read(dir, key) == -1)
		return -1;
	crypto_auth_hmacsha256(mac, fp, fplen, key);
	sodium_memzero(key, sizeof(key));
	hex_into(mac, sizeof(mac), hex);
	return 0;
}

/* The spool's key, made if it is not there yet (link(2): of processes
 * starting at once, one makes it and all use that one). */
static int
secret_init(const char *dir)
{
	unsigned char key[SPOOL_SECRET_LEN];
	int r;

	if (secret_read(dir, key) == 0) {
		sodium_memzero(key, sizeof(key));
		return 0;
	}
	if (errno != ENOENT || random_bytes(key, sizeof(key)) == -1)
		return -1;
	r = write_counted(dir, 0, ".", SPOOL_SECRET, (const char *)key,
	    sizeof(key), true);
	sodium_memzero(key, sizeof(key));
	if (r == -1 && errno != EEXIST)
		return -1;
	if (secret_read(dir, key) == -1)
		return -1;
	sodium_memzero(key, sizeof(key));
	return 0;
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
	snprintf(path, sizeof(path), "%s/" SPOOL_SECRET, dir);
	if (secret_init(dir) == -1) {
		if (errno == EINVAL) {
			snprintf(err, errsize, "%s: not a key of %d bytes "
			    "(remove it when no claim in keys/ is left: "
			    "frontdesk makes another)", path, SPOOL_SECRET_LEN);
			return -1;
		}
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/" SPOOL_USAGE, dir);
	if (spool_recount(dir) == -1)
		goto fail;
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

char *
spool_encode(const struct spool_entry *e)
{
	char *out = NULL;
	/* No fingerprint: the replay takes it from the fields themselves
	 * (fingerprint.h), so the entry holds nothing twice. */
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:b,s:o,s:o}",
	    "version", 1, "reference", e->reference, "created_at", e->created_at,
	    "status", e->spam ? "spam" : "received", "consent", e->a.consent,
	    "key", jstr(e->key), "msgid_domain", jstr(e->msgid_domain));

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

/* A member that must be a string or absent (null): 0 with *out a copy
 * or NULL, -1 when it is something else. */
static int
jdup(json_t *o, const char *k, char **out)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || (*out = strdup(json_string_value(v))) == NULL)
		return -1;
	return 0;
}

/* Decodes an entry as spool_encode writes it, every member of its type:
 * 0, or -1 with *why (static text). The key is checked here, before
 * anything may build a path from it. The "fingerprint" of an entry an
 * older frontdesk wrote (the fields hex-encoded) is not read. */
static int
entry_decode(const char *text, struct spool_entry *e, const char **why)
{
	json_t *o = json_loads(text, 0, NULL), *version, *consent;
	const char *ref, *at, *status;
	int r = -1;

	memset(e, 0, sizeof(*e));
	*why = "not JSON";
	if (o == NULL)
		return -1;
	*why = "not a spool entry (version, reference, created_at, status, "
	    "consent)";
	version = json_object_get(o, "version");
	consent = json_object_get(o, "consent");
	ref = json_string_value(json_object_get(o, "reference"));
	at = json_string_value(json_object_get(o, "created_at"));
	status = json_string_value(json_object_get(o, "status"));
	if (!json_is_integer(version) || json_integer_value(version) != 1 ||
	    ref == NULL || !reference_valid(ref) || at == NULL ||
	    strlen(at) >= sizeof(e->created_at) || status == NULL ||
	    (strcmp(status, "spam") != 0 && strcmp(status, "received") != 0) ||
	    !json_is_boolean(consent))
		goto done;
	strcpy(e->reference, ref);
	strcpy(e->created_at, at);
	e->spam = strcmp(status, "spam") == 0;
	e->a.consent = json_is_true(consent);
	*why = "a member that is not a string";
	for (size_t i = 0; i < fields_count; i++)
		if (fields[i].spooled && jdup(o, fields[i].name,
		    appointment_text(&e->a, fields[i].slot)) == -1)
			goto done;
	if (jdup(o, "key", &e->key) == -1 ||
	    jdup(o, "msgid_domain", &e->msgid_domain) == -1)
		goto done;
	*why = "key: must be 1-64 letters, digits, '-' or '_'";
	if (e->key != NULL && !text_key(e->key, strlen(e->key)))
		goto done;
	*why = "not a spool entry (location, first_name, last_name, "
	    "msgid_domain)";
	if (e->a.location == NULL || e->a.first_name == NULL ||
	    e->a.last_name == NULL || e->msgid_domain == NULL)
		goto done;
	r = 0;
done:
	json_decref(o);
	if (r == -1)
		spool_entry_free(e);
	return r;
}

int
spool_decode(const char *text, struct spool_entry *e)
{
	const char *why;

	return entry_decode(text, e, &why);
}

void
spool_entry_free(struct spool_entry *e)
{
	appointment_free(&e->a);
	free(e->key);
	free(e->msgid_domain);
	memset(e, 0, sizeof(*e));
}

int
spool_write(const char *dir, const struct spool_entry *e, long max_size)
{
	char name[64], *text = spool_encode(e);
	int r;

	if (text == NULL)
		return -1;
	/* Names sort by time: the replay keeps the order of arrival. */
	snprintf(name, sizeof(name), "%.26s-%s.json", e->created_at,
	    e->reference);
	r = write_counted(dir, max_size, "new", name, text, strlen(text), false);
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

/* dir/keys/key as claimed (two lines: the reference and the keyed
 * fingerprint): KEY_SAME with fp's (ref gets its reference), KEY_OTHER
 * with another, KEY_NEW when there is no such claim, KEY_ERROR when it
 * cannot be read. hex: fp keyed already, or NULL to key it here, only once
 * a claim is found. */
static enum key_state
key_read(const char *dir, const char *key, const void *fp, size_t fplen,
    const char *hex, char ref[REFERENCE_LEN + 1])
{
	char path[PATH_MAX], *line = NULL, mine[KEYED_HEX];
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	enum key_state r = KEY_ERROR;

	/* A key is a name in keys/, never a path: the key rule says so. */
	if (!text_key(key, strlen(key)))
		return KEY_ERROR;
	snprintf(path, sizeof(path), "%s/keys/%s", dir, key);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? KEY_NEW : KEY_ERROR;
	if (hex == NULL && keyed_hex(dir, fp, fplen, mine) == 0)
		hex = mine;
	if (hex != NULL && getline(&line, &cap, f) > REFERENCE_LEN) {
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
    size_t fplen, char ref[REFERENCE_LEN + 1], long max_size)
{
	char hex[KEYED_HEX], text[REFERENCE_LEN + KEYED_HEX + 2];
	char first[REFERENCE_LEN + 1];
	enum key_state r = KEY_ERROR;

	if (!text_key(key, strlen(key)) || keyed_hex(dir, fp, fplen, hex) == -1)
		return KEY_ERROR;
	snprintf(text, sizeof(text), "%s\n%s\n", ref, hex);
	if (write_counted(dir, max_size, "keys", key, text, strlen(text),
	    true) == 0)
		r = KEY_NEW;
	else if (errno == EEXIST) {
		/* The same post: answer with the first one's reference, but
		 * only once its entry is on disk. It is being written (a double
		 * click): wait for it a little. Its write failed (the claim is
		 * released) or takes too long: nothing may be promised. */
		for (int tries = 0; ; tries++) {
			r = key_read(dir, key, fp, fplen, hex, first);
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
	return r;
}

enum key_state
spool_find_key(const char *dir, const char *key, const void *fp,
    size_t fplen, char ref[REFERENCE_LEN + 1])
{
	char first[REFERENCE_LEN + 1];
	enum key_state r = key_read(dir, key, fp, fplen, NULL, first);

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
	int top, keys;

	if (!text_key(key, strlen(key)))
		return;
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((keys = openat(top, "keys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		unlink_counted(top, keys, key);
		close(keys);
	}
	close(top);
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
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
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

/* The longest value a field's own rule lets through, in bytes of JSON
 * text; 0 when only the body's size bounds it. A limit counts code points,
 * at most 4 bytes each; JSON escapes only '"', '\\', LF and tab, each one
 * byte that becomes two. */
static size_t
field_max(const struct field *r)
{
	switch (r->kind) {
	case FIELD_TEXT:
		return r->max * 4;
	case FIELD_EMAIL:
		return TEXT_ADDR_MAX;   /* dot-atom text: nothing to escape */
	case FIELD_LOCATION:
	case FIELD_KEY:
		return 64;
	default:
		/* A phone number may hold any number of separators, and the
		 * fingerprint keeps consent and website as posted. */
		return 0;
	}
}

size_t
spool_entry_max(long max_body)
{
	/* The members' names and punctuation, version, reference,
	 * created_at, status, consent, key, msgid_domain. */
	size_t n = 1024 + 64 + 2 * MSGID_DOMAIN_MAX;
	size_t body = max_body > 0 ? (size_t)max_body : 0;

	for (size_t i = 0; i < fields_count; i++) {
		if (!fields[i].spooled)
			continue;
		n += strlen(fields[i].name) + 8;
		n += field_max(&fields[i]) ? field_max(&fields[i]) : body;
	}
	/* The fingerprint: hex of the fingerprinted fields as posted, each
	 * a part of the body, with a count and a length per field. */
	return n + 2 * (body + FORM_MAX_FIELDS * 64);
}

/* A created_at as spool_accept writes it (UTC, microseconds), a real
 * time, neither in the future (a little leeway: hosts sharing a spool
 * may disagree on the time) nor older than any request a spool can
 * hold. NULL, or why not. */
static const char *
created_at_bad(const char *s, time_t now)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	static const int at[] = { 0, 5, 8, 11, 14, 17 }, len[] = { 4, 2, 2, 2,
	    2, 2 };
	int v[6];
	struct tm tm = { 0 }, back;
	time_t t;

	if (strlen(s) != sizeof(shape) - 1)
		return "is not a time as YYYY-MM-DDTHH:MM:SS.ffffffZ";
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return "is not a time as YYYY-MM-DDTHH:MM:SS.ffffffZ";
	for (int i = 0; i < 6; i++) {
		v[i] = 0;
		for (int j = 0; j < len[i]; j++)
			v[i] = v[i] * 10 + (s[at[i] + j] - '0');
	}
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	/* timegm() carries a 31st of April into May: compare back. */
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != v[0] - 1900 || back.tm_mon != v[1] - 1 ||
	    back.tm_mday != v[2] || back.tm_hour != v[3] ||
	    back.tm_min != v[4] || back.tm_sec != v[5])
		return "is not a real time";
	if (t > now + SPOOL_MAX_AHEAD)
		return "is in the future";
	if (t < now - SPOOL_MAX_AGE)
		return "is older than any request a spool holds";
	return NULL;
}

/* The right side of a Message-ID ('<' reference '.' uuid '@' it '>'):
 * dot-atom text, short enough that the whole fits the mailer's 250. */
static bool
msgid_domain_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > MSGID_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '.' ? i == 0 || i == len - 1 || s[i - 1] == '.' :
		    !text_is_atext(s[i]))
			return false;
	return true;
}

int
spool_entry_check(const struct spool_entry *e, time_t now, char *why,
    size_t whysize)
{
	struct validate_errors errs;
	struct appointment a = e->a;
	const char *bad;
	int r;

	/* The key came from the post's submission_id (or the header, which
	 * has the same rule): judged as that field. */
	a.submission_id = e->key;
	if ((r = validate_appointment(&a, NULL, NULL, &errs)) ==
	    VALIDATE_NOMEM)
		return VALIDATE_NOMEM;
	if (r != 0) {
		snprintf(why, whysize, "%s: %s", errs.e[0].field,
		    errs.e[0].why);
		return -1;
	}
	if ((bad = created_at_bad(e->created_at, now)) != NULL) {
		snprintf(why, whysize, "created_at: %s", bad);
		return -1;
	}
	if (!msgid_domain_ok(e->msgid_domain)) {
		snprintf(why, whysize, "msgid_domain: is not a domain for a "
		    "Message-ID");
		return -1;
	}
	return 0;
}

/* What the replayer remembers of an entry refused for now. */
struct spool_held {
	char *name;
	time_t first;       /* refused for now since */
	time_t next;        /* not tried again before */
	long delay;         /* the wait after the next refusal */
	char why[160];      /* as last logged: only a change is logged again */
};

static int
held_cmp(const void *key, const void *h)
{
	return strcmp(key, ((const struct spool_held *)h)->name);
}

static struct spool_held *
held_find(struct spool_retry *rs, const char *name)
{
	return rs->n == 0 ? NULL : bsearch(name, rs->held, rs->n,
	    sizeof(*rs->held), held_cmp);
}

/* A new record for name, first refused now; NULL when out of memory
 * (it is then tried again every pass, as before there was a memory). */
static struct spool_held *
held_add(struct spool_retry *rs, const char *name, time_t now)
{
	struct spool_held *h;
	size_t i = 0;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;

		if ((h = realloc(rs->held, cap * sizeof(*h))) == NULL)
			return NULL;
		rs->held = h;
		rs->cap = cap;
	}
	while (i < rs->n && strcmp(rs->held[i].name, name) < 0)
		i++;
	memmove(&rs->held[i + 1], &rs->held[i], (rs->n - i) * sizeof(*h));
	h = &rs->held[i];
	memset(h, 0, sizeof(*h));
	if ((h->name = strdup(name)) == NULL) {
		memmove(&rs->held[i], &rs->held[i + 1], (rs->n - i) *
		    sizeof(*h));
		return NULL;
	}
	rs->n++;
	h->first = now;
	h->delay = 1;
	return h;
}

static void
held_drop(struct spool_retry *rs, struct spool_held *h)
{
	size_t i = (size_t)(h - rs->held);

	free(h->name);
	memmove(h, h + 1, (rs->n - i - 1) * sizeof(*h));
	rs->n--;
}

/* Forgets the entries no longer in new/ (names sorted, as held is). */
static void
held_sweep(struct spool_retry *rs, char **names, size_t n)
{
	for (size_t i = 0; i < rs->n; )
		if (n == 0 || bsearch(&rs->held[i].name, names, n,
		    sizeof(*names), name_cmp) == NULL)
			held_drop(rs, &rs->held[i]);
		else
			i++;
}

void
spool_retry_free(struct spool_retry *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->held[i].name);
	free(rs->held);
	rs->held = NULL;
	rs->n = rs->cap = 0;
}

/* The spool's folders, opened once a pass: every name from new/ or from
 * an entry is taken relative to them (openat, renameat, unlinkat), never
 * pasted into a path, and none of them is followed if it is a link. */
struct spool_dirs {
	int top, new, failed, keys;
};

static void
dirs_close(struct spool_dirs *d)
{
	if (d->top != -1)
		close(d->top);
	if (d->new != -1)
		close(d->new);
	if (d->failed != -1)
		close(d->failed);
	if (d->keys != -1)
		close(d->keys);
}

static int
dirs_open(const char *dir, struct spool_dirs *d)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	d->new = d->failed = d->keys = -1;
	if ((d->top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	d->new = openat(d->top, "new", flags);
	d->failed = openat(d->top, "failed", flags);
	d->keys = openat(d->top, "keys", flags);
	if (d->new == -1 || d->failed == -1 || d->keys == -1) {
		dirs_close(d);
		return -1;
	}
	return 0;
}

/* The whole of a file that fstat said is size bytes long: NULL when it
 * cannot be read or is not that long (it changed meanwhile). */
static char *
read_exactly(int fd, size_t size)
{
	char *p = malloc(size + 2);
	size_t len = 0;

	if (p == NULL)
		return NULL;
	while (len < size + 1) {
		ssize_t n = read(fd, p + len, size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len != size) {
		free(p);
		return NULL;
	}
	p[len] = '\0';
	return p;
}

/* One line in the log for what became of a file: its name and the reason
 * quoted, so that neither can add a field or a line of its own. */
static void
log_file(bool failed, const char *name, const char *why)
{
	char qn[NAME_MAX * 2 + 8], qw[400];

	log_quote(qn, sizeof(qn), name);
	log_quote(qw, sizeof(qw), why);
	if (failed)
		log_error("spool_replay_failed", "file=%s reason=%s hint=\"moved "
		    "to failed/ for an admin\"", qn, qw);
	else
		log_warn("spool_replay_deferred", "file=%s reason=%s hint=\"it "
		    "stays in new/ and is tried again, less and less often\"", qn,
		    qw);
}

/* Replays one file under its lock: 0 stored, 1 keep (stop), 2 keep (go
 * on), 3 gone meanwhile (another replayer had it), -1 failed for good
 * (moved to failed/). */
static enum spool_outcome
replay_one(const struct spool_dirs *d, struct spool_retry *rs, time_t now,
    const char *name,
    enum spool_outcome (*fn)(const struct spool_entry *, void *, char *,
    size_t), void *arg)
{
	char why[160] = "", said[128] = "", want[64];
	size_t max = spool_entry_max(rs->max_body);
	struct spool_held *h = held_find(rs, name);
	struct spool_entry e;
	struct stat st, here;
	bool decoded = false;
	const char *bad;
	char *text = NULL;
	enum spool_outcome r = SPOOL_NEVER;
	int fd = -1, checked;

	/* Only a regular file is opened at all: a device could act on its
	 * open, a FIFO would wait for a writer. The open itself follows no
	 * link (O_NOFOLLOW) and never waits (O_NONBLOCK), should the name
	 * be swapped meanwhile, and fstat says what was opened. */
	if (fstatat(d->new, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return SPOOL_GONE;   /* another process replayed it */
		snprintf(why, sizeof(why), "cannot be examined: %s",
		    strerror(errno));
		r = SPOOL_LATER;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, sizeof(why), "a symbolic link, never followed");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "not a regular file");
		goto out;
	}
	fd = openat(d->new, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return SPOOL_GONE;
	if (fd == -1 && errno == ELOOP) {
		snprintf(why, sizeof(why), "a symbolic link, never followed");
		goto out;
	}
	if (fd == -1 || fstat(fd, &st) == -1) {
		snprintf(why, sizeof(why), "cannot be opened: %s",
		    strerror(errno));
		r = SPOOL_LATER;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "not a regular file");
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return SPOOL_STOP;   /* another replayer is at it */
	}
	/* Still there once locked, and still this file? Another replayer
	 * may have just done it. */
	if (fstatat(d->new, name, &here, AT_SYMLINK_NOFOLLOW) == -1 ||
	    here.st_dev != st.st_dev || here.st_ino != st.st_ino) {
		close(fd);
		return SPOOL_GONE;
	}
	if (st.st_uid != geteuid())
		snprintf(why, sizeof(why), "not owned by this program's user");
	else if (st.st_nlink != 1)
		snprintf(why, sizeof(why), "has other names (hard links)");
	else if ((size_t)st.st_size > max)
		snprintf(why, sizeof(why), "larger than any entry a valid post "
		    "makes (%zu bytes)", max);
	else if ((text = read_exactly(fd, (size_t)st.st_size)) == NULL) {
		snprintf(why, sizeof(why), "cannot be read");
		r = SPOOL_LATER;
	} else if (entry_decode(text, &e, &bad) == -1)
		snprintf(why, sizeof(why), "%s", bad);
	else {
		decoded = true;
		snprintf(want, sizeof(want), "%.26s-%s.json", e.created_at,
		    e.reference);
		if (strcmp(name, want) != 0)
			snprintf(why, sizeof(why), "not named after its entry "
			    "(created_at-reference.json)");
		else if ((checked = spool_entry_check(&e, now, why,
		    sizeof(why))) == VALIDATE_NOMEM) {
			snprintf(why, sizeof(why), "out of memory");
			r = SPOOL_LATER;
		} else if (checked == 0) {
			r = fn(&e, arg, said, sizeof(said));
			snprintf(why, sizeof(why), "%s", said[0] ? said :
			    r == SPOOL_LATER ? "refused for now" : "refused for good");
		}
	}
out:
	if (r == SPOOL_LATER && h == NULL)
		h = held_add(rs, name, now);
	if (r == SPOOL_LATER && h != NULL && h->first > now)
		h->first = now;   /* the clock went back */
	if (r == SPOOL_LATER && h != NULL && rs->give_up_after > 0 &&
	    now - h->first >= rs->give_up_after) {
		char given[sizeof(why)];

		snprintf(given, sizeof(given), "%s", why);
		snprintf(why, sizeof(why), "refused for now for %lld s: %.100s",
		    (long long)(now - h->first), given);
		r = SPOOL_NEVER;
	}
	/* Stored, or never to be: its key's claim goes either way (the
	 * database knows a stored one's key; a failed one answers no one).
	 * The key was checked by entry_decode: a name in keys/, no path. */
	if ((r == SPOOL_STORED || r == SPOOL_NEVER) && decoded && e.key != NULL)
		unlink_counted(d->top, d->keys, e.key);
	if (r == SPOOL_STORED)
		unlink_counted(d->top, d->new, name);
	else if (r == SPOOL_NEVER && renameat(d->new, name, d->failed, name) == -1 &&
	    errno != ENOENT) {
		/* Cannot even be moved away: kept out of the way in memory,
		 * tried again at the longest backoff, logged once. */
		snprintf(why, sizeof(why), "cannot be moved to failed/: %s",
		    strerror(errno));
		if (h == NULL)
			h = held_add(rs, name, now);
		if (h != NULL)
			h->delay = SPOOL_BACKOFF_MAX;
		r = SPOOL_LATER;
	} else if (r == SPOOL_NEVER)
		log_file(true, name, why);
	if (r == SPOOL_LATER && h != NULL) {
		if (strcmp(h->why, why) != 0) {
			log_file(false, name, why);
			snprintf(h->why, sizeof(h->why), "%s", why);
		}
		h->next = now + h->delay;
		/* The last try falls on the deadline, not a backoff after
		 * (one past it, that could not be moved, waits its backoff). */
		if (rs->give_up_after > 0 && h->next > h->first +
		    rs->give_up_after && h->first + rs->give_up_after > now)
			h->next = h->first + rs->give_up_after;
		h->delay = h->delay * 2 > SPOOL_BACKOFF_MAX ? SPOOL_BACKOFF_MAX :
		    h->delay * 2;
	} else if (r == SPOOL_LATER)
		log_file(false, name, why);   /* no memory: said every try */
	else if (h != NULL && r != SPOOL_STOP)
		held_drop(rs, h);
	if (decoded)
		spool_entry_free(&e);
	free(text);
	if (fd != -1)
		close(fd);
	return r;
}

int
spool_replay(const char *dir, struct spool_retry *rs, time_t now,
    enum spool_outcome (*fn)(const struct spool_entry *, void *, char *,
    size_t), void *arg)
{
	struct spool_dirs d;
	size_t n, done = 0, i;
	char **names;
	enum spool_outcome r = SPOOL_STORED;

	if (dirs_open(dir, &d) == -1)
		return -1;
	names = list_new(dir, &n);
	held_sweep(rs, names, n);
	/* SPOOL_STOP: the database is gone again, the rest wait too;
	 * SPOOL_LATER: this one waits, the others go on. */
	for (i = 0; i < n && r != SPOOL_STOP; i++) {
		struct spool_held *h = held_find(rs, names[i]);

		/* Backing off, unless the clock went back past the wait. */
		if (h != NULL && now < h->next &&
		    h->next - now <= SPOOL_BACKOFF_MAX)
			continue;
		if ((r = replay_one(&d, rs, now, names[i], fn, arg)) == SPOOL_STORED)
			done++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	fsync(d.new);
	fsync(d.failed);
	dirs_close(&d);
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
	r = write_counted(dir, 0, ".", "locations.json", text, strlen(text),
	    false);
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
