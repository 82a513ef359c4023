# Whole sessions through the plugin on the unit tests' fake core/storage.
set(PH_POP3_FUZZ_SOURCES pop3-plugin.c pop3-settings.c pop3-parser.c
  pop3-encoder.c pop3-conn.c pop3-reply.c pop3-maildrop.c pop3-cmd-auth.c
  pop3-cmd-capa.c pop3-cmd-mailbox.c pop3-cmd-retr.c pop3-cmd-quit.c
  pop3-session.c)
list(TRANSFORM PH_POP3_FUZZ_SOURCES PREPEND plugins/pop3/)
ph_add_fuzz_target(pop3-session tests/fuzz/fuzz-pop3-session.c
  tests/unit/pop3/pop3-fake.c ${PH_POP3_FUZZ_SOURCES} OpenSSL::Crypto)
