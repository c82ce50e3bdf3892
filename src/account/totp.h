/* totp: the second factor, RFC 6238 (HMAC-SHA-1, 6 digits, 30 s steps),
 * through liboath; secrets sealed at rest (seal.h); the enrolment QR code
 * through libqrencode. */
#ifndef FRONTDESK_TOTP_H
#define FRONTDESK_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20
#define TOTP_SECRET_B32 32         /* base32 of 20 bytes, no padding */

/* A new random secret, base32 (RFC 4648, upper case, no padding) into out
 * (at least TOTP_SECRET_B32 + 1 bytes); 0 or -1. */
int totp_new_secret(char *out, size_t size);
/* The code for the step (time / 30) of a base32 secret into out (7
 * bytes); 0 or -1 (a bad secret). */
int totp_code(const char *secret_b32, long long step, char out[TOTP_DIGITS + 1]);
/* The step a code is accepted for, or -1: only the step of now or the
 * one before it, and never a step at or before last_step (each code is
 * used once; a code from two steps back is refused). */
long long totp_check(const char *secret_b32, const char *code, time_t now,
    long long last_step);
/* otpauth://totp/ISSUER:USER?secret=..&issuer=..&algorithm=SHA1&digits=6
 * &period=30, the label and issuer percent-encoded. */
void totp_uri(struct buf *out, const char *issuer, const char *user,
    const char *secret_b32);
/* The QR code of text as an SVG image (dark modules on white, a quiet
 * zone of 4); 0 or -1. */
int totp_qr_svg(struct buf *out, const char *text);

#endif
