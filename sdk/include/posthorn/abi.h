/*
 * posthorn/abi.h - ABI version, visibility, result codes and byte strings.
 *
 * Rules every SDK header follows (see docs/abi.md):
 *  - structs a plugin or the core fills start with `uint32_t struct_size`
 *    and only ever grow at the end; a reader checks PH_HAS_FIELD() before
 *    touching a field newer than the struct_size it was given;
 *  - handles (ph_conn, ph_user, ...) are opaque;
 *  - functions return int: >= 0 on success (a count where useful), a
 *    negative PH_E* code on failure; a human message comes through an
 *    optional `const char **error_r`, valid until the next call on the same
 *    handle;
 *  - ownership is stated above every declaration: "borrowed" pointers stay
 *    valid only for the documented time, "copied" inputs may be freed by the
 *    caller as soon as the call returns.
 */
#ifndef POSTHORN_ABI_H
#define POSTHORN_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ABI 1.2 (1.1 appended session_handoff and conn_resume: per-user session
 * processes; 1.2 appended ph_message_info.omit, append_commit_all and
 * conn_handoff_failed). A plugin loads when its major equals the core's and
 * its minor is less than or equal to the core's. Adding to the end of a
 * table bumps the minor; anything else bumps the major. */
#define PH_ABI_MAJOR 1
#define PH_ABI_MINOR 2

/* Marks the one symbol a plugin exports; plugins build with
 * -fvisibility=hidden. */
#if defined(__GNUC__)
#define PH_EXPORT __attribute__((visibility("default")))
#define PH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PH_EXPORT
#define PH_PRINTF(fmt, args)
#endif

/* True when a struct whose struct_size is `sz` contains `field` in full.
 * Use before reading any field added after ABI 1.0. */
#define PH_HAS_FIELD(ptr, field)                                               \
	((ptr)->struct_size >= offsetof(__typeof__(*(ptr)), field) +           \
				       sizeof((ptr)->field))
/* The core services table version check: PH_API_HAS(api, conn_write). */
#define PH_API_HAS(api, fn) PH_HAS_FIELD(api, fn)

/* Result codes. PH_OK and positive counts mean success. */
enum ph_result {
	PH_OK = 0,
	PH_AGAIN = -1,      /* need more input / would block; call again later */
	PH_EINVAL = -2,     /* bad argument or malformed input */
	PH_ENOMEM = -3,     /* allocation failed */
	PH_ETOOBIG = -4,    /* a size limit was exceeded */
	PH_ENOTFOUND = -5,  /* no such mailbox / message / user */
	PH_EEXISTS = -6,    /* already exists */
	PH_EPERM = -7,      /* not allowed (permissions, policy) */
	PH_ETEMP = -8,      /* temporary failure: retry later */
	PH_ENOQUOTA = -9,   /* over quota */
	PH_EINUSE = -10,    /* locked by someone else (POP3 maildrop) */
	PH_EIO = -11,       /* I/O error */
	PH_ENOTSUP = -12,   /* not supported by this implementation */
	PH_ECLOSED = -13,   /* the connection is closed or closing */
	PH_EAUTH = -14,     /* authentication failed (wrong credentials) */
	PH_EUNKNOWN = -15,  /* user unknown (auth chain falls through) */
	PH_ECONFLICT = -16, /* UNCHANGEDSINCE / modseq conflict */
	PH_EABI = -17,      /* plugin ABI mismatch */
	PH_EINTERNAL = -18, /* broken internal invariant; see the log */
};

/* Bytes that may hold anything, NUL included. Never NUL-terminated unless
 * a comment says so. Ownership is stated where it crosses the ABI. */
struct ph_str {
	const char *data;
	size_t len;
};

#define PH_STR_LIT(s) ((struct ph_str){(s), sizeof(s) - 1})

#endif /* POSTHORN_ABI_H */
