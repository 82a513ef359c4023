ph_add_fuzz_target(sasl tests/fuzz/fuzz-sasl.c core/sasl.c OpenSSL::Crypto)
