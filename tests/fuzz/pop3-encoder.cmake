ph_add_fuzz_target(pop3-encoder tests/fuzz/fuzz-pop3-encoder.c
  plugins/pop3/pop3-encoder.c)
