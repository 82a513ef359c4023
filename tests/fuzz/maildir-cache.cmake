ph_add_fuzz_target(maildir-cache tests/fuzz/fuzz-maildir-cache.c
  plugins/storage-maildir/maildir-cache.c
  plugins/storage-maildir/maildir-cache-compact.c
  plugins/storage-maildir/maildir-cache-file.c
  plugins/storage-maildir/maildir-crc.c
  plugins/storage-maildir/maildir-lock.c
  plugins/storage-maildir/maildir-filename.c
  tests/support/mock-core.c
  pthread)
