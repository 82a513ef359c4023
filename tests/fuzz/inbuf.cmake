ph_add_fuzz_target(inbuf tests/fuzz/fuzz-inbuf.c core/inbuf.c)
