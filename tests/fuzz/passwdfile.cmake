ph_add_fuzz_target(passwdfile tests/fuzz/fuzz-passwdfile.c
  plugins/auth-passwdfile/passwdfile-parse.c)
