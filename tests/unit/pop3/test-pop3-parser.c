/* Unit tests of the POP3 command parser. */
#include <string.h>
#include "cunit-main.h"
#include "plugins/pop3/pop3-parser.h"

static enum pop3_parse_error parse(const char *s, struct pop3_command *cmd)
{
	return pop3_parse_command(s, strlen(s), cmd);
}

static int arg_is(const struct pop3_command *cmd, unsigned i, const char *s)
{
	return i < cmd->argc && cmd->args[i].len == strlen(s) &&
	       memcmp(cmd->args[i].data, s, cmd->args[i].len) == 0;
}

static void test_every_command(void)
{
	static const struct {
		const char *line;
		enum pop3_cmd_id id;
		unsigned argc;
	} cases[] = {
	    {"USER alice", POP3_CMD_USER, 1},
	    {"PASS x", POP3_CMD_PASS, 1},
	    {"APOP a b", POP3_CMD_APOP, 2},
	    {"AUTH", POP3_CMD_AUTH, 0},
	    {"AUTH PLAIN", POP3_CMD_AUTH, 1},
	    {"AUTH PLAIN =", POP3_CMD_AUTH, 2},
	    {"STLS", POP3_CMD_STLS, 0},
	    {"CAPA", POP3_CMD_CAPA, 0},
	    {"QUIT", POP3_CMD_QUIT, 0},
	    {"STAT", POP3_CMD_STAT, 0},
	    {"LIST", POP3_CMD_LIST, 0},
	    {"LIST 1", POP3_CMD_LIST, 1},
	    {"RETR 1", POP3_CMD_RETR, 1},
	    {"DELE 2", POP3_CMD_DELE, 1},
	    {"NOOP", POP3_CMD_NOOP, 0},
	    {"RSET", POP3_CMD_RSET, 0},
	    {"TOP 1 0", POP3_CMD_TOP, 2},
	    {"UIDL", POP3_CMD_UIDL, 0},
	    {"UIDL 3", POP3_CMD_UIDL, 1},
	    {"UTF8", POP3_CMD_UTF8, 0},
	};
	struct pop3_command cmd;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(parse(cases[i].line, &cmd), POP3_PARSE_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cmd.def);
		CU_ASSERT_EQUAL(cmd.def->id, cases[i].id);
		CU_ASSERT_EQUAL(cmd.argc, cases[i].argc);
	}
}

static void test_case_insensitive(void)
{
	struct pop3_command cmd;

	CU_ASSERT_EQUAL(parse("retr 7", &cmd), POP3_PARSE_OK);
	CU_ASSERT_EQUAL(cmd.def->id, POP3_CMD_RETR);
	CU_ASSERT(arg_is(&cmd, 0, "7"));
	CU_ASSERT_EQUAL(parse("uIdL", &cmd), POP3_PARSE_OK);
	CU_ASSERT_EQUAL(cmd.def->id, POP3_CMD_UIDL);
}

static void test_args(void)
{
	struct pop3_command cmd;

	CU_ASSERT_EQUAL(parse("TOP 3 10", &cmd), POP3_PARSE_OK);
	CU_ASSERT(arg_is(&cmd, 0, "3"));
	CU_ASSERT(arg_is(&cmd, 1, "10"));
	/* extra spaces between and after arguments are tolerated */
	CU_ASSERT_EQUAL(parse("TOP  3   10  ", &cmd), POP3_PARSE_OK);
	CU_ASSERT(arg_is(&cmd, 1, "10"));
	/* PASS takes the rest of the line, spaces included */
	CU_ASSERT_EQUAL(parse("PASS my secret pw", &cmd), POP3_PARSE_OK);
	CU_ASSERT_EQUAL(cmd.argc, 1);
	CU_ASSERT(arg_is(&cmd, 0, "my secret pw"));
}

static void test_errors(void)
{
	struct pop3_command cmd;

	CU_ASSERT_EQUAL(parse("", &cmd), POP3_PARSE_EMPTY);
	CU_ASSERT_EQUAL(parse("   ", &cmd), POP3_PARSE_EMPTY);
	CU_ASSERT_EQUAL(parse("FOO", &cmd), POP3_PARSE_UNKNOWN);
	CU_ASSERT_EQUAL(parse("RETRX 1", &cmd), POP3_PARSE_UNKNOWN);
	CU_ASSERT_EQUAL(parse("RET", &cmd), POP3_PARSE_UNKNOWN);
	CU_ASSERT_EQUAL(parse("RETR", &cmd), POP3_PARSE_MISSING_ARG);
	CU_ASSERT_PTR_NOT_NULL(cmd.def);
	CU_ASSERT_EQUAL(parse("TOP 1", &cmd), POP3_PARSE_MISSING_ARG);
	CU_ASSERT_EQUAL(parse("STAT 1", &cmd), POP3_PARSE_TOO_MANY_ARGS);
	CU_ASSERT_EQUAL(parse("LIST 1 2", &cmd), POP3_PARSE_TOO_MANY_ARGS);
	CU_ASSERT_EQUAL(parse("USER a b", &cmd), POP3_PARSE_TOO_MANY_ARGS);
	CU_ASSERT_EQUAL(parse("PASS", &cmd), POP3_PARSE_MISSING_ARG);
	CU_ASSERT_EQUAL(pop3_parse_command("NO\0OP", 6, &cmd),
			POP3_PARSE_BAD_CHAR);
	CU_ASSERT_EQUAL(parse("LIST\t1", &cmd), POP3_PARSE_BAD_CHAR);
	CU_ASSERT_STRING_EQUAL(pop3_parse_strerror(POP3_PARSE_UNKNOWN),
			       "Unknown command");
}

static void test_states(void)
{
	CU_ASSERT(pop3_cmd_def_get(POP3_CMD_USER)->states &
		  POP3_STATE_AUTHORIZATION);
	CU_ASSERT_FALSE(pop3_cmd_def_get(POP3_CMD_USER)->states &
			POP3_STATE_TRANSACTION);
	CU_ASSERT_FALSE(pop3_cmd_def_get(POP3_CMD_RETR)->states &
			POP3_STATE_AUTHORIZATION);
	CU_ASSERT(pop3_cmd_def_get(POP3_CMD_CAPA)->states &
		  POP3_STATE_TRANSACTION);
	CU_ASSERT_PTR_NULL(pop3_cmd_def_get(0));
	CU_ASSERT_PTR_NULL(pop3_cmd_def_get(POP3_CMD_COUNT_));
}

static void test_number(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("0"), &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("4294967295"), &v), 0);
	CU_ASSERT_EQUAL(v, 4294967295u);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("9999999999"), &v), 0);
	CU_ASSERT_EQUAL(v, 9999999999u);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("12345678901"), &v), -1);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("-1"), &v), -1);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("+1"), &v), -1);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("1a"), &v), -1);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT("abc"), &v), -1);
	CU_ASSERT_EQUAL(pop3_parse_number(PH_STR_LIT(""), &v), -1);
}

static CU_TestInfo tests[] = {
    {"every command", test_every_command},
    {"case insensitive", test_case_insensitive},
    {"arguments", test_args},
    {"errors", test_errors},
    {"states", test_states},
    {"numbers", test_number},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"pop3-parser", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
