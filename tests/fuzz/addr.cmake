ph_add_fuzz_target(addr tests/fuzz/fuzz-addr.c core/addr.c)
