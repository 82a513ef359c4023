ph_add_fuzz_target(auth-proto tests/fuzz/fuzz-auth-proto.c core/auth-proto.c
  core/user.c)
