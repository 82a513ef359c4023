ph_add_fuzz_target(config tests/fuzz/fuzz-config.c core/config.c core/addr.c
  core/log.c PkgConfig::INIH)
