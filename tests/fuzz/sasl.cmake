ph_add_fuzz_target(sasl tests/fuzz/fuzz-sasl.c core/sasl.c core/sasl-scram.c
  OpenSSL::Crypto)
