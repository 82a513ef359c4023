ph_add_fuzz_target(imap-mime tests/fuzz/fuzz-imap-mime.c
  plugins/imap4/imap4-mime-parse.c plugins/imap4/imap4-mime-rfc822.c
  plugins/imap4/imap4-mime-write.c plugins/imap4/imap4-mime-decode.c
  plugins/imap4/imap4-casefold.c plugins/imap4/imap4-casefold-data.c
  plugins/imap4/imap4-str.c OpenSSL::Crypto)
