/* fingerprint: what tells an idempotent repost from a key reused for
 * other fields (docs/interface.md, Answers): a digest of the post's fields
 * as they would be stored. */
#ifndef FRONTDESK_FINGERPRINT_H
#define FRONTDESK_FINGERPRINT_H

#include "validate.h"

#define FINGERPRINT_LEN 32   /* SHA-256 */

/*
 * The digest of every fingerprinted field of the table (fields.c) as
 * validate_fields stored it in *a: trimmed, line breaks as "\n", consent
 * as the flag, an absent or blank optional field as empty. Two posts that
 * would store the same request have the same digest, whatever their line
 * breaks, their "yes" or "on", or their white space.
 *
 * An invalid post has a digest too, because a key already accepted must
 * answer 409 for other fields even when they are invalid (the order of the
 * checks): when errs names a fingerprinted field, the digest is that of a
 * message no valid post makes, so it never matches an accepted post's and
 * is never stored (only accepted posts are). Whether the location is
 * available is not one of those rules: it is asked after, against the live
 * list, so a repost of an accepted post whose location was disabled since
 * is still the same post and gets its first answer. errs may be NULL (a
 * spool entry, valid by construction).
 *
 * The digest is never stored as is: the database keys it with a secret
 * of its own (sql/009_keys.sql), the spool with its own (spool.c).
 */
void fingerprint_digest(const struct appointment *a,
    const struct validate_errors *errs, unsigned char out[FINGERPRINT_LEN]);

#endif
