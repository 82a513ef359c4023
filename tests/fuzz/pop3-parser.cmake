ph_add_fuzz_target(pop3-parser tests/fuzz/fuzz-pop3-parser.c
  plugins/pop3/pop3-parser.c)
