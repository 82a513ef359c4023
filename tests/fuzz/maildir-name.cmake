ph_add_fuzz_target(maildir-name tests/fuzz/fuzz-maildir-name.c
  plugins/storage-maildir/maildir-name.c
  plugins/storage-maildir/maildir-filename.c)
