# The session handoff message (worker -> master, decoded as root).
ph_add_fuzz_target(handoff tests/fuzz/fuzz-handoff.c core/handoff.c
  core/user.c)
