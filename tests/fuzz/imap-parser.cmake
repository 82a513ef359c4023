ph_add_fuzz_target(imap-parser tests/fuzz/fuzz-imap-parser.c
  plugins/imap4/imap4-parser.c)
