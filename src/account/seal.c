/* seal: second-factor secrets encrypted at rest with a key from a file
 * the database never sees: a copy of the database alone (a backup, a
 * replica, a role that may read users) yields no secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"

#define SEAL_HEX (crypto_secretbox_KEYBYTES * 2)

/* Loaded once at start-up, read-only after: threads share it freely. */
static unsigned char seal_key[crypto_secretbox_KEYBYTES];
static bool seal_loaded;

int
seal_load_key(const char *path, char *err, size_t errsize)
{
	char text[SEAL_HEX + 3];
	unsigned char key[crypto_secretbox_KEYBYTES];
	struct stat st;
	size_t keylen = 0, n = 0;
	const char *end = NULL;
	ssize_t r;
	int fd;

	if (sodium_init() < 0) {
		snprintf(err, errsize, "libsodium cannot start");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		snprintf(err, errsize, "%s: readable by group or others "
		    "(chmod 600 it)", path);
		close(fd);
		return -1;
	}
	/* One byte more than a key and its newline may take, to tell a
	 * longer file from a key. */
	while (n < sizeof(text) && (r = read(fd, text + n,
	    sizeof(text) - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			close(fd);
			sodium_memzero(text, sizeof(text));
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n == SEAL_HEX + 1 && text[SEAL_HEX] == '\n')
		n--;
	if (n != SEAL_HEX || sodium_hex2bin(key, sizeof(key), text, n, NULL,
	    &keylen, &end) != 0 || keylen != sizeof(key) ||
	    end != text + SEAL_HEX) {
		snprintf(err, errsize, "%s: must hold %d hex digits (32 random "
		    "bytes) and nothing else", path, SEAL_HEX);
		sodium_memzero(text, sizeof(text));
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	memcpy(seal_key, key, sizeof(key));
	seal_loaded = true;
	sodium_memzero(text, sizeof(text));
	sodium_memzero(key, sizeof(key));
	return 0;
}

int
seal_new_key_file(const char *path, char *err, size_t errsize)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	char text[SEAL_HEX + 2];
	size_t n = SEAL_HEX + 1, off = 0;
	int fd;

	if (sodium_init() < 0) {
		snprintf(err, errsize, "libsodium cannot start");
		return -1;
	}
	/* O_EXCL: never over an existing key, which would make every sealed
	 * secret unreadable. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	crypto_secretbox_keygen(key);
	sodium_bin2hex(text, sizeof(text), key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	text[SEAL_HEX] = '\n';
	while (off < n) {
		ssize_t r = write(fd, text + off, n - off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	sodium_memzero(text, sizeof(text));
	if (off != n || fsync(fd) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

bool
seal_ready(void)
{
	return seal_loaded;
}

int
seal(const char *plain, char *out, size_t size)
{
	unsigned char buf[crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + 256];
	size_t n, blen, need;

	if (plain == NULL || out == NULL)
		return -1;
	n = strlen(plain);
	if (!seal_loaded) {
		if (size < 3 + n + 1)
			return -1;
		memcpy(out, "v0:", 3);
		memcpy(out + 3, plain, n + 1);
		return 0;
	}
	/* Second-factor secrets are 32 characters; 256 is room to spare. */
	if (n > 256 || sodium_init() < 0)
		return -1;
	blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
	need = 3 + sodium_base64_ENCODED_LEN(blen,
	    sodium_base64_VARIANT_ORIGINAL);
	if (size < need)
		return -1;
	/* A random nonce each time: 24 bytes make a repeat negligible, so
	 * no counter has to be kept anywhere. */
	randombytes_buf(buf, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)plain, n, buf, seal_key);
	memcpy(out, "v1:", 3);
	sodium_bin2base64(out + 3, size - 3, buf, blen,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int
unseal(const char *sealed, char *out, size_t size)
{
	unsigned char buf[crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + 256];
	size_t blen = 0, n;
	const char *end = NULL;

	if (sealed == NULL || out == NULL || size == 0)
		return -1;
	out[0] = '\0';
	if (strncmp(sealed, "v0:", 3) == 0) {
		/* Sealed while no key was configured: plain as it is. */
		n = strlen(sealed + 3);
		if (size < n + 1)
			return -1;
		memcpy(out, sealed + 3, n + 1);
		return 0;
	}
	if (strncmp(sealed, "v1:", 3) != 0 || !seal_loaded)
		return -1;
	n = strlen(sealed + 3);
	if (sodium_base642bin(buf, sizeof(buf), sealed + 3, n, NULL, &blen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != sealed + 3 + n ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -1;
	n = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (size < n + 1)
		return -1;
	/* The MAC is checked before a byte is written: tampered, or sealed
	 * under another key, nothing comes out. */
	if (crypto_secretbox_open_easy((unsigned char *)out,
	    buf + crypto_secretbox_NONCEBYTES,
	    blen - crypto_secretbox_NONCEBYTES, buf, seal_key) != 0) {
		sodium_memzero(buf, sizeof(buf));
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

void
seal_forget_key(void)
{
	sodium_memzero(seal_key, sizeof(seal_key));
	seal_loaded = false;
}
