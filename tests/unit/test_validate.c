/* test_validate: the field rules of docs/interface.md over tables of forms. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "tap.h"
#include "validate.h"

/* Why texts, so a typo in a table cannot pass for a new message. */
#define S(s)	s, sizeof(s) - 1
#define REQ	"is required"
#define TWICE	"was given more than once"
#define LINE	"must be a single line"
#define UTF8	"is not valid UTF-8"
#define CTRL	"contains control characters"
#define MAX100	"must be at most 100 characters"
#define MAX200	"must be at most 200 characters"
#define MAX5000	"must be at most 5000 characters"
#define EMAIL	"is not a valid email address"
#define PHONE	"is not a valid phone number"
#define LOC	"is not an available location"
#define KEY	"must be 1-64 letters, digits, '-' or '_'"
#define NEITHER	"email: is required unless a phone number is given; " \
		"phone: is required unless an email address is given"

/* Fields the case leaves out get these, so each case tests one thing. */
static const char *const defaults[][2] = {
	{ "first_name", "Ann" },
	{ "last_name", "Lee" },
	{ "email", "ann@example.com" },
	{ "location", "midtown" },
};

enum { RAW = 1, NOCB = 2 };

struct vcase {
	const char	*desc;
	const char	*body;		/* urlencoded */
	const char	*unit;		/* appended `count` times, then tail */
	int		 count;
	const char	*tail;
	int		 flags;		/* RAW: no defaults; NOCB: no callback */
	const char	*errors;	/* "field: why; ..." or "" */
	const char	*field;		/* a stored value to check, or NULL */
	const char	*want;		/* its value; NULL: stored as NULL */
};

static const struct vcase cases[] = {
	/* the whole form */
	{ .desc = "defaults alone are valid", .body = "", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "every field valid",
	    .body = "first_name=Jos%C3%A9&last_name=%C5%81ukasz&"
	    "email=j%40example.com&phone=%2B1+212+555+0100&location=fidi&"
	    "service=Sciatica&preferred_time=mornings&message=Hi&consent=on&"
	    "website=&submission_id=abc-123",
	    .errors = "", .field = "phone", .want = "+1 212 555 0100" },
	{ .desc = "empty form: every required field",
	    .body = "", .flags = RAW,
	    .errors = "first_name: " REQ "; last_name: " REQ "; " NEITHER
	    "; location: " REQ },
	{ .desc = "errors in field-table order",
	    .body = "submission_id=a+b&location=x_y&message=%00&"
	    "email=bad&first_name=&last_name=%C0%AF&phone=1",
	    .errors = "first_name: " REQ "; last_name: " UTF8 "; email: " EMAIL
	    "; phone: " PHONE "; location: " LOC "; message: " CTRL
	    "; submission_id: " KEY },
	{ .desc = "errors in field-table order, an unavailable location among "
	    "them (asked after the others: validate_unavailable)",
	    .body = "message=%00&location=brooklyn&first_name=",
	    .errors = "first_name: " REQ "; location: " LOC "; message: " CTRL },
	{ .desc = "unknown fields ignored", .body = "utm_source=ad&x=%00",
	    .errors = "" },
	{ .desc = "field names are case-sensitive",
	    .body = "First_Name=%00", .errors = "", .field = "first_name",
	    .want = "Ann" },

	/* first_name, last_name */
	{ .desc = "first_name missing",
	    .body = "last_name=Lee&email=a%40b.co&location=midtown",
	    .flags = RAW, .errors = "first_name: " REQ },
	{ .desc = "first_name empty", .body = "first_name=",
	    .errors = "first_name: " REQ },
	{ .desc = "first_name only spaces", .body = "first_name=+++",
	    .errors = "first_name: " REQ },
	{ .desc = "first_name only NBSP", .body = "first_name=%C2%A0",
	    .errors = "first_name: " REQ },
	{ .desc = "first_name NBSP trimmed",
	    .body = "first_name=%C2%A0Ann%C2%A0", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name tab, CR and LF trimmed",
	    .body = "first_name=%09%0D%0AAnn%0D%0A%09", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name VT and FF trimmed",
	    .body = "first_name=%0BAnn%0C", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name U+3000 ideographic space trimmed",
	    .body = "first_name=%E3%80%80Ann%E3%80%80", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name U+FEFF BOM trimmed",
	    .body = "first_name=%EF%BB%BFAnn", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name U+2003, U+202F, U+205F, U+1680 trimmed",
	    .body = "first_name=%E2%80%83%E2%80%AFAnn%E2%81%9F%E1%9A%80",
	    .errors = "", .field = "first_name", .want = "Ann" },
	{ .desc = "first_name U+2028 and NEL trimmed at the ends",
	    .body = "first_name=%E2%80%A8Ann%C2%85", .errors = "",
	    .field = "first_name", .want = "Ann" },
	{ .desc = "first_name inner NBSP kept",
	    .body = "first_name=Ann%C2%A0Marie", .errors = "",
	    .field = "first_name", .want = "Ann\xc2\xa0Marie" },
	/* A zero-width space is not white space, so not trimmed; alone it
	 * shows nothing, which docs/interface.md makes an error. */
	{ .desc = "first_name zero-width space alone shows nothing",
	    .body = "first_name=%E2%80%8B",
	    .errors = "first_name: shows no visible characters" },
	{ .desc = "first_name ZWJ and a word joiner alone show nothing",
	    .body = "first_name=%E2%80%8D%E2%81%A0",
	    .errors = "first_name: shows no visible characters" },
	{ .desc = "first_name a ZWSP beside a letter is kept",
	    .body = "first_name=Ann%E2%80%8B", .errors = "",
	    .field = "first_name", .want = "Ann\xe2\x80\x8b" },
	{ .desc = "last_name with a ZWNJ (Persian) is valid",
	    .body = "last_name=%D9%85%DB%8C%E2%80%8C%D8%B1%D8%B2%D8%A7", .errors = "",
	    .field = "last_name",
	    .want = "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xb1\xd8\xb2\xd8\xa7" },
	{ .desc = "first_name with a ZWJ (Devanagari) is valid",
	    .body = "first_name=%E0%A4%95%E0%A5%8D%E2%80%8D%E0%A4%B7", .errors = "" },
	{ .desc = "first_name right-to-left override refused",
	    .body = "first_name=Ann%E2%80%AEeeL",
	    .errors = "first_name: contains bidirectional control characters" },
	{ .desc = "last_name a first-strong isolate refused",
	    .body = "last_name=Lee%E2%81%A8x",
	    .errors = "last_name: contains bidirectional control characters" },
	{ .desc = "service a right-to-left mark refused",
	    .body = "service=Pilates%E2%80%8F",
	    .errors = "service: contains bidirectional control characters" },
	{ .desc = "message may hold a right-to-left embedding (many lines)",
	    .body = "message=%E2%80%ABshalom", .errors = "" },
	{ .desc = "first_name 1 character", .body = "first_name=A",
	    .errors = "" },
	{ .desc = "first_name 100 ASCII", .body = "first_name=", .unit = "a",
	    .count = 100, .errors = "" },
	{ .desc = "first_name 101 ASCII", .body = "first_name=", .unit = "a",
	    .count = 101, .errors = "first_name: " MAX100 },
	{ .desc = "first_name 100 after trimming spaces",
	    .body = "first_name=++", .unit = "a", .count = 100, .tail = "++",
	    .errors = "" },
	{ .desc = "first_name 25 x Jos\xc3\xa9 = 100 code points",
	    .body = "first_name=", .unit = "Jos\xc3\xa9", .count = 25,
	    .errors = "" },
	{ .desc = "first_name 25 x Jos\xc3\xa9 + 1 = 101 code points",
	    .body = "first_name=", .unit = "Jos\xc3\xa9", .count = 25,
	    .tail = "J", .errors = "first_name: " MAX100 },
	{ .desc = "first_name 100 x \xc3\xa9 (200 bytes)", .body = "first_name=",
	    .unit = "%C3%A9", .count = 100, .errors = "" },
	{ .desc = "first_name 101 x \xc3\xa9", .body = "first_name=",
	    .unit = "%C3%A9", .count = 101, .errors = "first_name: " MAX100 },
	{ .desc = "last_name \xc5\x81ukasz stored as given",
	    .body = "last_name=%C5%81ukasz", .errors = "",
	    .field = "last_name", .want = "\xc5\x81ukasz" },
	{ .desc = "last_name 16 x \xc5\x81ukasz + \xc5\x81uka = 100",
	    .body = "last_name=", .unit = "\xc5\x81ukasz", .count = 16,
	    .tail = "\xc5\x81uka", .errors = "" },
	{ .desc = "last_name 16 x \xc5\x81ukasz + \xc5\x81ukas = 101",
	    .body = "last_name=", .unit = "\xc5\x81ukasz", .count = 16,
	    .tail = "\xc5\x81ukas", .errors = "last_name: " MAX100 },
	{ .desc = "last_name 100 CJK (300 bytes)", .body = "last_name=",
	    .unit = "\xe5\xb1\xb1", .count = 100, .errors = "" },
	{ .desc = "last_name 101 CJK", .body = "last_name=",
	    .unit = "\xe5\xb1\xb1", .count = 101,
	    .errors = "last_name: " MAX100 },
	{ .desc = "last_name 100 emoji count as 100, not 200 UTF-16 units",
	    .body = "last_name=", .unit = "\xf0\x9f\x98\x80", .count = 100,
	    .errors = "" },
	{ .desc = "last_name 101 emoji", .body = "last_name=",
	    .unit = "\xf0\x9f\x98\x80", .count = 101,
	    .errors = "last_name: " MAX100 },
	{ .desc = "last_name missing",
	    .body = "first_name=Ann&email=a%40b.co&location=midtown",
	    .flags = RAW, .errors = "last_name: " REQ },
	{ .desc = "first_name LF", .body = "first_name=Ann%0ALee",
	    .errors = "first_name: " LINE },
	{ .desc = "first_name CR", .body = "first_name=Ann%0DLee",
	    .errors = "first_name: " LINE },
	{ .desc = "first_name CRLF", .body = "first_name=Ann%0D%0ALee",
	    .errors = "first_name: " LINE },
	{ .desc = "first_name U+2028 line separator",
	    .body = "first_name=Ann%E2%80%A8Lee", .errors = "first_name: " LINE },
	{ .desc = "first_name U+2029 paragraph separator",
	    .body = "first_name=Ann%E2%80%A9Lee", .errors = "first_name: " LINE },
	{ .desc = "first_name NEL (C2 85)", .body = "first_name=Ann%C2%85Lee",
	    .errors = "first_name: " LINE },
	{ .desc = "first_name tab inside", .body = "first_name=Ann%09Lee",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name NUL", .body = "first_name=Ann%00",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name DEL", .body = "first_name=Ann%7F",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name ESC", .body = "first_name=%1B%5B31mAnn",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name VT inside", .body = "first_name=A%0BB",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name C1 U+0080", .body = "first_name=A%C2%80",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name C1 U+009B (CSI)", .body = "first_name=A%C2%9B",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name C1 U+009F", .body = "first_name=A%C2%9F",
	    .errors = "first_name: " CTRL },
	{ .desc = "first_name overlong '/' (C0 AF)",
	    .body = "first_name=A%C0%AF", .errors = "first_name: " UTF8 },
	{ .desc = "first_name overlong 3-byte (E0 80 AF)",
	    .body = "first_name=A%E0%80%AF", .errors = "first_name: " UTF8 },
	{ .desc = "first_name overlong 4-byte (F0 82 82 AC)",
	    .body = "first_name=A%F0%82%82%AC", .errors = "first_name: " UTF8 },
	{ .desc = "first_name overlong NUL (C0 80)",
	    .body = "first_name=A%C0%80", .errors = "first_name: " UTF8 },
	{ .desc = "first_name surrogate (ED A0 80)",
	    .body = "first_name=A%ED%A0%80", .errors = "first_name: " UTF8 },
	{ .desc = "first_name low surrogate (ED BF BF)",
	    .body = "first_name=A%ED%BF%BF", .errors = "first_name: " UTF8 },
	{ .desc = "first_name above U+10FFFF (F4 90 80 80)",
	    .body = "first_name=A%F4%90%80%80", .errors = "first_name: " UTF8 },
	{ .desc = "first_name truncated 2-byte (C3)", .body = "first_name=A%C3",
	    .errors = "first_name: " UTF8 },
	{ .desc = "first_name truncated 3-byte (E2 82)",
	    .body = "first_name=A%E2%82", .errors = "first_name: " UTF8 },
	{ .desc = "first_name lone continuation byte (80)",
	    .body = "first_name=A%80", .errors = "first_name: " UTF8 },
	{ .desc = "first_name FF byte", .body = "first_name=A%FF",
	    .errors = "first_name: " UTF8 },
	{ .desc = "first_name Latin-1 \"Jos\\xe9\"", .body = "first_name=Jos%E9",
	    .errors = "first_name: " UTF8 },
	{ .desc = "first_name twice", .body = "first_name=Ann&first_name=Bo",
	    .errors = "first_name: " TWICE },
	{ .desc = "first_name twice with the same value",
	    .body = "first_name=Ann&first_name=Ann",
	    .errors = "first_name: " TWICE },
	{ .desc = "first_name twice, one empty",
	    .body = "first_name=&first_name=Ann", .errors = "first_name: " TWICE },
	{ .desc = "one error per field: NUL and too long",
	    .body = "first_name=%00", .unit = "a", .count = 200,
	    .errors = "first_name: " CTRL },

	/* email and phone */
	{ .desc = "email stored trimmed", .body = "email=+ann%40example.com+",
	    .errors = "", .field = "email", .want = "ann@example.com" },
	{ .desc = "email with plus tag", .body = "email=ann%2Btag%40example.com",
	    .errors = "" },
	{ .desc = "email display name",
	    .body = "email=Maria+%3Cm%40x.com%3E", .errors = "email: " EMAIL },
	{ .desc = "email quoted local part",
	    .body = "email=%22ann%22%40example.com", .errors = "email: " EMAIL },
	{ .desc = "email single-label domain", .body = "email=ann%40localhost",
	    .errors = "email: " EMAIL },
	{ .desc = "email with LF", .body = "email=ann%40example.com%0Abcc%3Ax",
	    .errors = "email: " LINE },
	{ .desc = "email with NUL", .body = "email=ann%40example.com%00x",
	    .errors = "email: " CTRL },
	{ .desc = "email non-ASCII", .body = "email=jos%C3%A9%40example.com",
	    .errors = "email: " EMAIL },
	{ .desc = "email twice",
	    .body = "email=a%40example.com&email=b%40example.com",
	    .errors = "email: " TWICE },
	{ .desc = "phone only", .body = "email=&phone=212-555-0100",
	    .errors = "", .field = "email", .want = NULL },
	{ .desc = "phone stored as given, trimmed",
	    .body = "email=&phone=+%2B1+(212)+555-0100+", .errors = "",
	    .field = "phone", .want = "+1 (212) 555-0100" },
	{ .desc = "phone absent is stored as NULL", .body = "", .errors = "",
	    .field = "phone", .want = NULL },
	{ .desc = "neither email nor phone: both errors",
	    .body = "first_name=Ann&last_name=Lee&location=midtown",
	    .flags = RAW, .errors = NEITHER },
	{ .desc = "email and phone empty: both errors",
	    .body = "email=&phone=", .errors = NEITHER },
	{ .desc = "email and phone blank: both errors",
	    .body = "email=+%C2%A0&phone=++", .errors = NEITHER },
	{ .desc = "invalid email is an error even with a valid phone",
	    .body = "email=nope&phone=2125550100", .errors = "email: " EMAIL },
	{ .desc = "invalid phone is an error even with a valid email",
	    .body = "phone=12", .errors = "phone: " PHONE },
	{ .desc = "invalid email and no phone: only the email error",
	    .body = "email=nope", .errors = "email: " EMAIL },
	{ .desc = "email twice and no phone: only the email error",
	    .body = "email=&email=", .errors = "email: " TWICE },
	{ .desc = "phone 7 digits", .body = "phone=5550100", .errors = "" },
	{ .desc = "phone 6 digits", .body = "phone=555010",
	    .errors = "phone: " PHONE },
	{ .desc = "phone 15 digits", .body = "phone=123456789012345",
	    .errors = "" },
	{ .desc = "phone 16 digits", .body = "phone=1234567890123456",
	    .errors = "phone: " PHONE },
	{ .desc = "phone with a tab", .body = "phone=212%09555+0100",
	    .errors = "phone: " CTRL },
	{ .desc = "phone twice", .body = "phone=2125550100&phone=2125550100",
	    .errors = "phone: " TWICE },

	/* location */
	{ .desc = "location missing",
	    .body = "first_name=Ann&last_name=Lee&email=a%40b.co",
	    .flags = RAW, .errors = "location: " REQ },
	{ .desc = "location empty", .body = "location=",
	    .errors = "location: " REQ },
	{ .desc = "location trimmed", .body = "location=+fidi%0A",
	    .errors = "", .field = "location", .want = "fidi" },
	{ .desc = "location rejected by the callback",
	    .body = "location=brooklyn", .errors = "location: " LOC },
	{ .desc = "location upper case is not a slug",
	    .body = "location=Midtown", .errors = "location: " LOC },
	{ .desc = "location leading hyphen", .body = "location=-midtown",
	    .errors = "location: " LOC },
	{ .desc = "location with a space", .body = "location=mid+town",
	    .errors = "location: " LOC },
	{ .desc = "location without a callback: any slug",
	    .body = "location=anywhere-1", .flags = NOCB, .errors = "" },
	{ .desc = "location without a callback: syntax still checked",
	    .body = "location=..%2Fetc", .flags = NOCB,
	    .errors = "location: " LOC },
	{ .desc = "location twice", .body = "location=midtown&location=fidi",
	    .errors = "location: " TWICE },

	/* service, preferred_time */
	{ .desc = "service absent is NULL", .body = "", .errors = "",
	    .field = "service", .want = NULL },
	{ .desc = "service blank is NULL", .body = "service=+%09+",
	    .errors = "", .field = "service", .want = NULL },
	{ .desc = "service 200", .body = "service=", .unit = "s", .count = 200,
	    .errors = "" },
	{ .desc = "service 201", .body = "service=", .unit = "s", .count = 201,
	    .errors = "service: " MAX200 },
	{ .desc = "service 200 CJK", .body = "service=", .unit = "\xe9\xaa\xa8",
	    .count = 200, .errors = "" },
	{ .desc = "service line break", .body = "service=a%0D%0Ab",
	    .errors = "service: " LINE },
	{ .desc = "service twice", .body = "service=a&service=b",
	    .errors = "service: " TWICE },
	{ .desc = "preferred_time 200", .body = "preferred_time=", .unit = "t",
	    .count = 200, .errors = "" },
	{ .desc = "preferred_time 201", .body = "preferred_time=",
	    .unit = "t", .count = 201, .errors = "preferred_time: " MAX200 },
	{ .desc = "preferred_time LF", .body = "preferred_time=mon%0Atue",
	    .errors = "preferred_time: " LINE },
	{ .desc = "preferred_time DEL", .body = "preferred_time=mon%7F",
	    .errors = "preferred_time: " CTRL },

	/* message */
	{ .desc = "message absent is NULL", .body = "", .errors = "",
	    .field = "message", .want = NULL },
	{ .desc = "message tab kept", .body = "message=a%09b", .errors = "",
	    .field = "message", .want = "a\tb" },
	{ .desc = "message CRLF becomes LF", .body = "message=a%0D%0Ab%0D%0Ac",
	    .errors = "", .field = "message", .want = "a\nb\nc" },
	{ .desc = "message lone CR becomes LF", .body = "message=a%0Db",
	    .errors = "", .field = "message", .want = "a\nb" },
	{ .desc = "message LF kept", .body = "message=a%0Ab", .errors = "",
	    .field = "message", .want = "a\nb" },
	{ .desc = "message CR CR LF is two breaks",
	    .body = "message=a%0D%0D%0Ab", .errors = "", .field = "message",
	    .want = "a\n\nb" },
	{ .desc = "message blank lines kept inside",
	    .body = "message=a%0D%0A%0D%0Ab", .errors = "", .field = "message",
	    .want = "a\n\nb" },
	{ .desc = "message U+2028 becomes LF", .body = "message=a%E2%80%A8b",
	    .errors = "", .field = "message", .want = "a\nb" },
	{ .desc = "message U+2029 becomes LF", .body = "message=a%E2%80%A9b",
	    .errors = "", .field = "message", .want = "a\nb" },
	{ .desc = "message NEL becomes LF", .body = "message=a%C2%85b",
	    .errors = "", .field = "message", .want = "a\nb" },
	{ .desc = "message surrounding blank lines trimmed",
	    .body = "message=%0D%0A+hi+%0D%0A%0D%0A", .errors = "",
	    .field = "message", .want = "hi" },
	{ .desc = "message NUL", .body = "message=a%00b",
	    .errors = "message: " CTRL },
	{ .desc = "message DEL", .body = "message=a%7Fb",
	    .errors = "message: " CTRL },
	{ .desc = "message C1 U+0080", .body = "message=a%C2%80b",
	    .errors = "message: " CTRL },
	{ .desc = "message C1 U+009B", .body = "message=a%C2%9Bb",
	    .errors = "message: " CTRL },
	{ .desc = "message VT inside", .body = "message=a%0Bb",
	    .errors = "message: " CTRL },
	{ .desc = "message FF inside", .body = "message=a%0Cb",
	    .errors = "message: " CTRL },
	{ .desc = "message ESC", .body = "message=%1B%5D0%3Bx%07",
	    .errors = "message: " CTRL },
	{ .desc = "message invalid UTF-8", .body = "message=%ED%A0%80",
	    .errors = "message: " UTF8 },
	{ .desc = "message 5000", .body = "message=", .unit = "m",
	    .count = 5000, .errors = "" },
	{ .desc = "message 5001", .body = "message=", .unit = "m",
	    .count = 5001, .errors = "message: " MAX5000 },
	{ .desc = "message 5000 x \xc3\xa9", .body = "message=",
	    .unit = "%C3%A9", .count = 5000, .errors = "" },
	{ .desc = "message 5001 x \xc3\xa9", .body = "message=",
	    .unit = "%C3%A9", .count = 5001, .errors = "message: " MAX5000 },
	{ .desc = "message CRLF counts as one: 5000", .body = "message=a",
	    .unit = "%0D%0Aa", .count = 2499, .tail = "b", .errors = "" },
	{ .desc = "message CRLF counts as one: 5001", .body = "message=a",
	    .unit = "%0D%0Aa", .count = 2499, .tail = "bc",
	    .errors = "message: " MAX5000 },
	{ .desc = "message twice", .body = "message=a&message=b",
	    .errors = "message: " TWICE },

	/* consent */
	{ .desc = "consent on", .body = "consent=on", .errors = "",
	    .field = "consent", .want = "true" },
	{ .desc = "consent absent", .body = "", .errors = "",
	    .field = "consent", .want = "false" },
	{ .desc = "consent empty", .body = "consent=", .errors = "",
	    .field = "consent", .want = "false" },
	{ .desc = "consent blank", .body = "consent=+%C2%A0", .errors = "",
	    .field = "consent", .want = "false" },
	{ .desc = "consent \"no\" is still non-empty", .body = "consent=no",
	    .errors = "", .field = "consent", .want = "true" },
	{ .desc = "consent twice", .body = "consent=on&consent=on",
	    .errors = "consent: " TWICE },
	{ .desc = "consent with NUL", .body = "consent=%00",
	    .errors = "consent: " CTRL },

	/* website: the honeypot */
	{ .desc = "website empty: no honeypot", .body = "website=",
	    .errors = "", .field = "honeypot", .want = "false" },
	{ .desc = "website absent: no honeypot", .body = "", .errors = "",
	    .field = "honeypot", .want = "false" },
	{ .desc = "website blank: no honeypot", .body = "website=+%C2%A0+",
	    .errors = "", .field = "honeypot", .want = "false" },
	{ .desc = "website filled: honeypot, no error",
	    .body = "website=http%3A%2F%2Fspam.example", .errors = "",
	    .field = "honeypot", .want = "true" },
	{ .desc = "website invalid UTF-8: honeypot, no error",
	    .body = "website=%C0%AF", .errors = "", .field = "honeypot",
	    .want = "true" },
	{ .desc = "website control characters: honeypot, no error",
	    .body = "website=%00%0A", .errors = "", .field = "honeypot",
	    .want = "true" },
	{ .desc = "website twice, second filled: honeypot, no error",
	    .body = "website=&website=x", .errors = "", .field = "honeypot",
	    .want = "true" },
	{ .desc = "website twice, both empty: no error",
	    .body = "website=&website=", .errors = "", .field = "honeypot",
	    .want = "false" },
	{ .desc = "honeypot with other errors: both reported",
	    .body = "website=x&first_name=", .errors = "first_name: " REQ,
	    .field = "honeypot", .want = "true" },

	/* submission_id */
	{ .desc = "submission_id absent", .body = "", .errors = "",
	    .field = "submission_id", .want = NULL },
	{ .desc = "submission_id empty is absent", .body = "submission_id=",
	    .errors = "", .field = "submission_id", .want = NULL },
	{ .desc = "submission_id 1 character", .body = "submission_id=x",
	    .errors = "", .field = "submission_id", .want = "x" },
	{ .desc = "submission_id 64", .body = "submission_id=", .unit = "k",
	    .count = 64, .errors = "" },
	{ .desc = "submission_id 65", .body = "submission_id=", .unit = "k",
	    .count = 65, .errors = "submission_id: " KEY },
	{ .desc = "submission_id UUID",
	    .body = "submission_id=0b6f1c1e-4f0e-4b8e-9d7a-3c2d1e0f9a8b",
	    .errors = "" },
	{ .desc = "submission_id trimmed", .body = "submission_id=+Ab_9-+",
	    .errors = "", .field = "submission_id", .want = "Ab_9-" },
	{ .desc = "submission_id with a space", .body = "submission_id=a+b",
	    .errors = "submission_id: " KEY },
	{ .desc = "submission_id with a dot", .body = "submission_id=a.b",
	    .errors = "submission_id: " KEY },
	{ .desc = "submission_id non-ASCII", .body = "submission_id=%C3%A9",
	    .errors = "submission_id: " KEY },
	{ .desc = "submission_id twice",
	    .body = "submission_id=a&submission_id=a",
	    .errors = "submission_id: " TWICE },
};
/* The test's clinic. */
static bool
location_ok(const char *slug, void *arg)
{
	(void)arg;
	return strcmp(slug, "midtown") == 0 || strcmp(slug, "fidi") == 0 ||
	    strcmp(slug, "woodbury") == 0;
}

static char *
build_body(const struct vcase *c)
{
	struct form	 f;
	size_t		 size, o, i;
	char		*b;
	int		 n;

	size = strlen(c->body) + 512 + (c->unit ? strlen(c->unit) *
	    (size_t)c->count : 0) + (c->tail ? strlen(c->tail) : 0);
	if ((b = malloc(size)) == NULL)
		abort();
	o = snprintf(b, size, "%s", c->body);
	for (n = 0; n < c->count; n++)
		o += snprintf(b + o, size - o, "%s", c->unit);
	if (c->tail != NULL)
		o += snprintf(b + o, size - o, "%s", c->tail);
	if (form_parse_urlencoded(&f, b, o, NULL) != FORM_OK)
		abort();
	for (i = 0; !(c->flags & RAW) && i < 4; i++)
		if (form_count(&f, defaults[i][0]) == 0)
			o += snprintf(b + o, size - o, "&%s=%s",
			    defaults[i][0], defaults[i][1]);
	form_free(&f);
	return b;
}

static const char *
stored(const struct appointment *a, const char *field)
{
	const struct field *f = fields_find(field);

	if (strcmp(field, "consent") == 0)
		return a->consent ? "true" : "false";
	if (strcmp(field, "honeypot") == 0)
		return a->honeypot ? "true" : "false";
	if (f == NULL || f->slot == SLOT_NONE)
		abort();
	return appointment_value(a, f->slot);
}

static void
render_errors(const struct validate_errors *errs, char *out, size_t size)
{
	size_t	 i, o = 0;

	out[0] = '\0';
	for (i = 0; i < errs->n && o < size; i++)
		o += snprintf(out + o, size - o, "%s%s: %s", i ? "; " : "",
		    errs->e[i].field, errs->e[i].why);
}

static void
run_case(const struct vcase *c)
{
	struct form		 f;
	struct appointment	 a;
	struct validate_errors	 errs;
	const char		*got = NULL;
	char			*body = build_body(c), buf[1024];
	int			 rc, ok;

	if (form_parse_urlencoded(&f, body, strlen(body), NULL) != FORM_OK)
		abort();
	rc = validate_form(&f, c->flags & NOCB ? NULL : location_ok, NULL,
	    &a, &errs);
	render_errors(&errs, buf, sizeof(buf));
	ok = strcmp(buf, c->errors) == 0 && rc == (c->errors[0] ? -1 : 0);
	if (ok && c->field != NULL) {
		got = stored(&a, c->field);
		ok = c->want == NULL ? got == NULL :
		    got != NULL && strcmp(got, c->want) == 0;
	}
	if (!tap_ok(ok, "%s", c->desc))
		printf("# rc %d, errors \"%s\", %s \"%s\"\n", rc, buf,
		    c->field ? c->field : "-", got ? got : "(null)");
	appointment_free(&a);
	form_free(&f);
	free(body);
}

/* The callback must only ever see plausible slugs. */
static bool
location_never(const char *slug, void *arg)
{
	(void)slug;
	(*(int *)arg)++;
	return false;
}

static void
run_misc(void)
{
	struct form		 f;
	struct appointment	 a;
	struct validate_errors	 errs;
	int			 calls = 0;

	form_parse_urlencoded(&f, S("location=Bad+Slug"), NULL);
	validate_form(&f, location_never, &calls, &a, &errs);
	tap_ok(calls == 0, "callback not called for a bad slug");
	appointment_free(&a);
	form_free(&f);
	form_parse_urlencoded(&f, S("location=woodbury"), NULL);
	validate_form(&f, location_never, &calls, &a, &errs);
	tap_ok(calls == 1, "callback gets its argument");
	appointment_free(&a);
	tap_ok(a.first_name == NULL, "appointment_free leaves it empty");
	appointment_free(&a);
	form_free(&f);
}

#define NELEM(t)	(sizeof(t) / sizeof((t)[0]))

int
main(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(cases); i++)
		run_case(&cases[i]);
	run_misc();
	return tap_done();
}
