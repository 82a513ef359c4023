ph_add_fuzz_target(pop3-encoder ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz-pop3-encoder.c
  ${CMAKE_SOURCE_DIR}/plugins/pop3/pop3-encoder.c)
