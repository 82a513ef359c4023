/* pop3-parser.c - the command table and the line splitter. */
#include <string.h>
#include <strings.h>
#include "pop3-parser.h"

#define AUTHZ POP3_STATE_AUTHORIZATION
#define TRANS POP3_STATE_TRANSACTION

/* RFC 1939 sections 4-7, RFC 2449 (CAPA), RFC 2595 (STLS), RFC 5034
 * (AUTH), RFC 6856 (UTF8). Indexed by enum pop3_cmd_id. */
static const struct pop3_cmd_def pop3_cmd_table[POP3_CMD_COUNT_] = {
    [POP3_CMD_USER] = {"USER", POP3_CMD_USER, AUTHZ, 1, 1, POP3_ARGS_WORDS},
    [POP3_CMD_PASS] = {"PASS", POP3_CMD_PASS, AUTHZ, 1, 1, POP3_ARGS_REST},
    [POP3_CMD_APOP] = {"APOP", POP3_CMD_APOP, AUTHZ, 2, 2, POP3_ARGS_WORDS},
    [POP3_CMD_AUTH] = {"AUTH", POP3_CMD_AUTH, AUTHZ, 0, 2, POP3_ARGS_WORDS},
    [POP3_CMD_STLS] = {"STLS", POP3_CMD_STLS, AUTHZ, 0, 0, POP3_ARGS_WORDS},
    [POP3_CMD_CAPA] = {"CAPA", POP3_CMD_CAPA, AUTHZ | TRANS, 0, 0,
		       POP3_ARGS_WORDS},
    [POP3_CMD_QUIT] = {"QUIT", POP3_CMD_QUIT, AUTHZ | TRANS, 0, 0,
		       POP3_ARGS_WORDS},
    [POP3_CMD_STAT] = {"STAT", POP3_CMD_STAT, TRANS, 0, 0, POP3_ARGS_WORDS},
    [POP3_CMD_LIST] = {"LIST", POP3_CMD_LIST, TRANS, 0, 1, POP3_ARGS_WORDS},
    [POP3_CMD_RETR] = {"RETR", POP3_CMD_RETR, TRANS, 1, 1, POP3_ARGS_WORDS},
    [POP3_CMD_DELE] = {"DELE", POP3_CMD_DELE, TRANS, 1, 1, POP3_ARGS_WORDS},
    [POP3_CMD_NOOP] = {"NOOP", POP3_CMD_NOOP, TRANS, 0, 0, POP3_ARGS_WORDS},
    [POP3_CMD_RSET] = {"RSET", POP3_CMD_RSET, TRANS, 0, 0, POP3_ARGS_WORDS},
    [POP3_CMD_TOP] = {"TOP", POP3_CMD_TOP, TRANS, 2, 2, POP3_ARGS_WORDS},
    [POP3_CMD_UIDL] = {"UIDL", POP3_CMD_UIDL, TRANS, 0, 1, POP3_ARGS_WORDS},
    [POP3_CMD_UTF8] = {"UTF8", POP3_CMD_UTF8, AUTHZ, 0, 0, POP3_ARGS_WORDS},
};

const struct pop3_cmd_def *pop3_cmd_def_get(enum pop3_cmd_id id)
{
	if (id <= 0 || id >= POP3_CMD_COUNT_)
		return NULL;
	return &pop3_cmd_table[id];
}

static const struct pop3_cmd_def *pop3_cmd_lookup(const char *word, size_t len)
{
	for (unsigned i = 1; i < POP3_CMD_COUNT_; i++) {
		const struct pop3_cmd_def *def = &pop3_cmd_table[i];

		if (strlen(def->name) == len &&
		    strncasecmp(def->name, word, len) == 0)
			return def;
	}
	return NULL;
}

/* Printable ASCII, space, and bytes >= 0x80 (UTF-8 user names and
 * passwords); everything else, NUL and TAB included, is refused. */
static int pop3_line_chars_ok(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

enum pop3_parse_error pop3_parse_command(const char *line, size_t len,
					 struct pop3_command *cmd)
{
	size_t pos = 0, start;

	memset(cmd, 0, sizeof(*cmd));
	if (!pop3_line_chars_ok(line, len))
		return POP3_PARSE_BAD_CHAR;
	while (pos < len && line[pos] == ' ')
		pos++;
	start = pos;
	while (pos < len && line[pos] != ' ')
		pos++;
	if (pos == start)
		return POP3_PARSE_EMPTY;
	cmd->def = pop3_cmd_lookup(line + start, pos - start);
	if (cmd->def == NULL)
		return POP3_PARSE_UNKNOWN;

	/* Trailing spaces are not arguments (some clients send them). */
	while (len > pos && line[len - 1] == ' ')
		len--;
	for (;;) {
		while (pos < len && line[pos] == ' ')
			pos++;
		if (pos >= len)
			break;
		if (cmd->argc == cmd->def->max_args)
			return POP3_PARSE_TOO_MANY_ARGS;
		start = pos;
		if (cmd->def->mode == POP3_ARGS_REST)
			pos = len;
		else
			while (pos < len && line[pos] != ' ')
				pos++;
		cmd->args[cmd->argc].data = line + start;
		cmd->args[cmd->argc].len = pos - start;
		cmd->argc++;
	}
	if (cmd->argc < cmd->def->min_args)
		return POP3_PARSE_MISSING_ARG;
	return POP3_PARSE_OK;
}

const char *pop3_parse_strerror(enum pop3_parse_error err)
{
	switch (err) {
	case POP3_PARSE_OK:
		return "OK";
	case POP3_PARSE_EMPTY:
		return "Empty command";
	case POP3_PARSE_BAD_CHAR:
		return "Invalid characters in command";
	case POP3_PARSE_UNKNOWN:
		return "Unknown command";
	case POP3_PARSE_MISSING_ARG:
		return "Missing argument";
	case POP3_PARSE_TOO_MANY_ARGS:
		return "Too many arguments";
	}
	return "Invalid command";
}

int pop3_parse_number(struct ph_str arg, uint64_t *value_r)
{
	uint64_t v = 0;

	if (arg.len == 0 || arg.len > 10)
		return -1;
	for (size_t i = 0; i < arg.len; i++) {
		if (arg.data[i] < '0' || arg.data[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(arg.data[i] - '0');
	}
	*value_r = v;
	return 0;
}
