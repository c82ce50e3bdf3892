/* secret: whether a file holding a secret (the SMTP password) is kept to
 * the mailer alone. */
#ifndef FRONTDESK_SECRET_H
#define FRONTDESK_SECRET_H

#include <stddef.h>
#include <sys/types.h>

/* The largest POSIX ACL secret_exposed reads (the header and 64 entries). */
#define SECRET_ACL_MAX (4 + 64 * 8)

/* Why a file with this mode and owner is not private to uid, or NULL when
 * it is: owned by uid or by root, and nobody else may read or write it.
 * acl is the file's system.posix_acl_access attribute as the kernel gives
 * it (NULL when it has none): with an ACL, the group bits of the mode are
 * its mask, not the group's rights, so the entries decide. That is how
 * systemd hands over a credential on a file system with ACLs (0400, root,
 * and user:SERVICE-USER:r, which stat shows as 0440); without ACLs it is
 * 0400 owned by the service's user. */
const char *secret_exposed(mode_t mode, uid_t owner, uid_t uid,
    const unsigned char *acl, size_t acllen);

#endif
