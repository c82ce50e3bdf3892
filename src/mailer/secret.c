/* secret: whether a file holding a secret is kept to the mailer alone. */
#include <stdint.h>

#include "secret.h"

/* The kernel's ACL attribute (linux/posix_acl_xattr.h): a version, then
 * entries of tag, rights and id, little-endian. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER_OBJ  0x01
#define ACL_TAG_USER      0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP     0x08
#define ACL_TAG_MASK      0x10
#define ACL_TAG_OTHER     0x20
#define ACL_RW            06   /* read or write; execute says nothing */

static uint32_t
le(const unsigned char *p, int n)
{
	uint32_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static const char *
secret_acl_exposed(const unsigned char *acl, size_t len, uid_t uid)
{
	uint32_t mask = 07;   /* no mask entry: nothing bounds them */

	if (len < 4 || (len - 4) % 8 != 0 || le(acl, 4) != ACL_XATTR_VERSION)
		return "has an ACL that cannot be read";
	/* The mask bounds what named users and every group get. */
	for (size_t o = 4; o < len; o += 8)
		if (le(acl + o, 2) == ACL_TAG_MASK)
			mask = le(acl + o + 2, 2);
	for (size_t o = 4; o < len; o += 8) {
		uint32_t tag = le(acl + o, 2), perm = le(acl + o + 2, 2);
		uint32_t id = le(acl + o + 4, 4);

		switch (tag) {
		case ACL_TAG_USER_OBJ:
		case ACL_TAG_MASK:
			break;
		case ACL_TAG_USER:
			/* Rights for the mailer's own user (systemd's way
			 * of handing it a credential) or root are fine. */
			if ((perm & mask & ACL_RW) != 0 && id != (uint32_t)uid &&
			    id != 0)
				return "readable or writable by another user "
				    "(ACL)";
			break;
		case ACL_TAG_GROUP_OBJ:
		case ACL_TAG_GROUP:
			if ((perm & mask & ACL_RW) != 0)
				return "readable or writable by a group (ACL)";
			break;
		case ACL_TAG_OTHER:
			if ((perm & ACL_RW) != 0)
				return "readable or writable by others";
			break;
		default:
			return "has an ACL that cannot be read";
		}
	}
	return NULL;
}

const char *
secret_exposed(mode_t mode, uid_t owner, uid_t uid, const unsigned char *acl,
    size_t acllen)
{
	if (owner != uid && owner != 0)
		return "owned by another user";
	if ((mode & 006) != 0)
		return "readable or writable by others";
	if (acl != NULL)
		return secret_acl_exposed(acl, acllen, uid);
	if ((mode & 060) != 0)
		return "readable or writable by its group";
	return NULL;
}
