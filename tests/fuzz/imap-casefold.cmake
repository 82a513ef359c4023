ph_add_fuzz_target(imap-casefold tests/fuzz/fuzz-imap-casefold.c
  plugins/imap4/imap4-casefold.c plugins/imap4/imap4-casefold-data.c
  plugins/imap4/imap4-mime-decode.c plugins/imap4/imap4-str.c
  OpenSSL::Crypto)
