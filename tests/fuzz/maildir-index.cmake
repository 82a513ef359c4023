ph_add_fuzz_target(maildir-index tests/fuzz/fuzz-maildir-index.c
  plugins/storage-maildir/maildir-index.c
  plugins/storage-maildir/maildir-crc.c
  plugins/storage-maildir/maildir-name.c
  plugins/storage-maildir/maildir-filename.c
  plugins/storage-maildir/maildir-uidlist.c
  tests/support/mock-core.c
  pthread)
