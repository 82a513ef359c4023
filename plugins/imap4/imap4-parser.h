/*
 * imap4-parser.h - streaming IMAP command parser (pure, resumable, no I/O).
 *
 * Bytes go in through imap_parser_feed() in pieces of any size (one byte
 * at a time works); LF ends a line (a CR right before it is dropped). The
 * parser consumes input and reports one event at a time:
 *
 *   IMAP_EV_NONE      all input consumed, need more (PH_AGAIN in spirit);
 *   IMAP_EV_COMMAND   a whole command: tag, name and the argument tree;
 *   IMAP_EV_LITERAL   a line ended with {n} or {n+}: the caller decides
 *                     with imap_parser_literal_begin() whether to buffer
 *                     the literal as an argument or to stream it out
 *                     (large APPEND messages), and sends "+ OK" for a
 *                     synchronising literal it accepted;
 *   IMAP_EV_LITERAL_DATA  a piece of a streamed literal (borrowed from the
 *                     input), until ev.literal_left reaches 0;
 *   IMAP_EV_ERROR     a syntax error or a limit: answer `tag BAD text`
 *                     (or NO [TOOBIG] when ev.toobig); the parser skips
 *                     the rest of the line by itself. ev.close asks the
 *                     caller to close the connection: the bad line opened
 *                     a non-synchronising literal whose bytes cannot be
 *                     told from commands.
 *
 * Tokens: atoms (any CHAR but SP ( ) { " and CTLs; '[' opens a bracket
 * that runs to its ']' with SP and parentheses inside, so
 * BODY[HEADER.FIELDS (A B)]<0.10> is one atom), quoted strings (\" and \\
 * escapes; no CR, LF or NUL), literals {n} / {n+} at the end of a line,
 * and parenthesised lists. Every dimension has a hard limit.
 */
#ifndef IMAP4_PARSER_H
#define IMAP4_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <posthorn/abi.h>

enum imap_arg_type {
	IMAP_ARG_LIST = 1, /* the root is a list too */
	IMAP_ARG_ATOM = 2, /* NIL is an atom; compare it yourself */
	IMAP_ARG_QUOTED = 3,
	IMAP_ARG_LITERAL = 4,
	IMAP_ARG_LITERAL_STREAMED = 5, /* size only; bytes went to the caller */
};

/* One argument. Children of a list follow it; walk them with
 * imap_arg_child() / imap_arg_next(). */
struct imap_arg {
	uint8_t type;
	uint32_t off;	/* into the parser's buffer (strings) */
	uint32_t len;	/* string length (NUL-terminated in the buffer) */
	uint32_t next;	/* index of the next sibling, 0 = none */
	uint32_t count; /* lists: number of children */
	uint64_t size;	/* IMAP_ARG_LITERAL_STREAMED: its size */
};

struct imap_parser_limits {
	size_t max_line;    /* bytes of one line outside literals */
	size_t max_literal; /* one buffered literal */
	size_t max_command; /* all buffered bytes of one command */
	size_t max_stream;  /* one streamed literal (APPEND) */
	unsigned max_depth; /* list nesting */
	unsigned max_args;  /* arguments in one command, lists included */
	size_t max_nonsync; /* non-synchronising literal (LITERAL+: no cap
			       but max_literal/max_stream; LITERAL-: 4096) */
};

/* Defaults: 64000 line, 64 KiB literal, 256 KiB command, 1 GiB stream,
 * depth 32, 10000 args, non-sync = the other caps. */
extern const struct imap_parser_limits imap_parser_default_limits;

enum imap_event_type {
	IMAP_EV_NONE = 0,
	IMAP_EV_COMMAND,
	IMAP_EV_LITERAL,
	IMAP_EV_LITERAL_DATA,
	IMAP_EV_ERROR,
};

struct imap_event {
	enum imap_event_type type;
	/* COMMAND, LITERAL, ERROR: the tag when known (NUL-terminated,
	 * borrowed until the next feed), else NULL (answer with "*"). */
	const char *tag;
	/* LITERAL */
	uint64_t literal_size;
	int literal_sync; /* 1: {n}, caller sends "+ OK" once accepted */
	/* LITERAL_DATA: borrowed from the fed input */
	const char *data;
	size_t data_len;
	uint64_t literal_left; /* bytes of the streamed literal still due */
	/* ERROR */
	const char *error; /* static text */
	int toobig;	   /* a size limit: [TOOBIG] */
	int close;	   /* the connection must be closed */
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim);
void imap_parser_destroy(struct imap_parser **p);

/* Consumes input from `data`; *consumed_r tells how much. Returns the
 * event found (also in *ev_r), IMAP_EV_NONE when everything was consumed
 * without one. Call again with the rest of the input after an event. */
enum imap_event_type imap_parser_feed(struct imap_parser *p, const char *data,
				      size_t len, size_t *consumed_r,
				      struct imap_event *ev_r);

enum imap_literal_mode {
	IMAP_LITERAL_BUFFER = 0, /* becomes an IMAP_ARG_LITERAL */
	IMAP_LITERAL_STREAM = 1, /* comes out as IMAP_EV_LITERAL_DATA */
	IMAP_LITERAL_REJECT = 2, /* caller answers NO itself */
};
/* Must follow every IMAP_EV_LITERAL. Returns PH_OK, or PH_ETOOBIG when
 * the literal is over the limit for `mode`, and with REJECT always
 * PH_EPERM; then the command is dropped: for {n} the parser is back at a
 * line start (answer `tag NO [TOOBIG]`), for {n+} the caller must close
 * (imap_parser_must_close()). */
int imap_parser_literal_begin(struct imap_parser *p, enum imap_literal_mode m);
/* The parser saw an unrecoverable error (non-sync literal). */
int imap_parser_must_close(const struct imap_parser *p);
/* True when the parser waits for literal bytes (read raw input), false
 * when it waits for a line. */
int imap_parser_in_literal(const struct imap_parser *p);
/* Bytes of literal still expected (0 when not in a literal). */
uint64_t imap_parser_literal_left(const struct imap_parser *p);
/* Forget any partial command (after a connection-level reset). */
void imap_parser_reset(struct imap_parser *p);

/* ---- The parsed command (valid after IMAP_EV_COMMAND or, for the
 * arguments parsed so far, after IMAP_EV_LITERAL; until the next feed) */

/* Tag and command name (NUL-terminated), NULL before they were read. */
const char *imap_parser_tag(const struct imap_parser *p);
const char *imap_parser_command(const struct imap_parser *p);
/* The root list (arguments after the command name). */
const struct imap_arg *imap_parser_root(const struct imap_parser *p);
const struct imap_arg *imap_arg_child(const struct imap_parser *p,
				      const struct imap_arg *list);
const struct imap_arg *imap_arg_next(const struct imap_parser *p,
				     const struct imap_arg *arg);
/* The n-th child (0-based) of a list, or NULL. */
const struct imap_arg *imap_arg_nth(const struct imap_parser *p,
				    const struct imap_arg *list, unsigned n);
/* String arguments: data (NUL-terminated) and length. */
const char *imap_arg_str(const struct imap_parser *p,
			 const struct imap_arg *arg);
/* An atom, quoted or literal (astring). */
int imap_arg_is_string(const struct imap_arg *arg);
/* An atom equal (case-insensitively) to `word`. */
int imap_arg_atom_is(const struct imap_parser *p, const struct imap_arg *arg,
		     const char *word);

#endif /* IMAP4_PARSER_H */
