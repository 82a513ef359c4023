/* pop3-parser.h - POP3 command lines to commands (pure, no I/O).
 *
 * The core frames lines (conn_read_line); this turns one line, without its
 * CR LF, into a command id and its arguments, using one table that also
 * says in which states a command is valid (RFC 1939 section 3). Arguments
 * point into the caller's line. */
#ifndef POP3_PARSER_H
#define POP3_PARSER_H

#include <stdint.h>
#include <posthorn/abi.h>

/* RFC 2449 section 4: a command line is at most 255 octets with its
 * CR LF. We accept 255 octets without it, a little lenient. */
#define POP3_MAX_LINE 255
#define POP3_MAX_ARGS 2

enum pop3_state {
	POP3_STATE_AUTHORIZATION = 1u << 0,
	POP3_STATE_TRANSACTION = 1u << 1,
	POP3_STATE_UPDATE = 1u << 2,
};

enum pop3_cmd_id {
	POP3_CMD_USER = 1,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
	POP3_CMD_UTF8,
	POP3_CMD_COUNT_ /* not a command */
};

/* How a command's arguments are split. */
enum pop3_args_mode {
	POP3_ARGS_WORDS = 0, /* space-separated words */
	POP3_ARGS_REST = 1,  /* one argument: the rest of the line (PASS) */
};

struct pop3_cmd_def {
	const char *name;
	enum pop3_cmd_id id;
	unsigned states; /* enum pop3_state bits where it is valid */
	uint8_t min_args;
	uint8_t max_args;
	enum pop3_args_mode mode;
};

struct pop3_command {
	const struct pop3_cmd_def *def;
	unsigned argc;
	struct ph_str args[POP3_MAX_ARGS]; /* borrowed from the line */
};

enum pop3_parse_error {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,	  /* empty or blank line */
	POP3_PARSE_BAD_CHAR,	  /* NUL or another control character */
	POP3_PARSE_UNKNOWN,	  /* no such command */
	POP3_PARSE_MISSING_ARG,	  /* fewer arguments than required */
	POP3_PARSE_TOO_MANY_ARGS, /* more arguments than allowed */
};

/* Parses `line` (len bytes, no CR LF, may hold anything). On success fills
 * `cmd` and returns POP3_PARSE_OK; otherwise returns the error and, when
 * the keyword was known, leaves cmd->def set so the caller can name it.
 * Keywords are case-insensitive. */
enum pop3_parse_error pop3_parse_command(const char *line, size_t len,
					 struct pop3_command *cmd);

/* Human text for a parse error, for a "-ERR" line. */
const char *pop3_parse_strerror(enum pop3_parse_error err);

/* The table entry for `id`. */
const struct pop3_cmd_def *pop3_cmd_def_get(enum pop3_cmd_id id);

/* A message number or line count: 1 to 10 ASCII digits, nothing else.
 * Returns 0 and sets *value_r, or -1 (empty, sign, non-digit, too
 * long). */
int pop3_parse_number(struct ph_str arg, uint64_t *value_r);

#endif
