ph_add_fuzz_target(pop3-parser ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz-pop3-parser.c
  ${CMAKE_SOURCE_DIR}/plugins/pop3/pop3-parser.c)
