/* Helpers shared by the storage-maildir unit tests: a temporary mail
 * root, the plugin initialised against tests/support/mock-core, and
 * shortcuts for the ops the tests repeat. */
#ifndef MAILDIR_TEST_H
#define MAILDIR_TEST_H

#include <posthorn/posthorn.h>
#include <stdbool.h>

extern const struct ph_plugin posthorn_plugin;

struct mt {
	char dir[256];	/* temporary directory */
	char root[512]; /* alice's Maildir */
	ph_config *cfg;
	void *state;
	const struct ph_storage_ops *ops;
	ph_user *user;
	ph_mail_user *mu;
};

/* Sets up a fresh root with settings `kv` (NULL-terminated, may be NULL)
 * added to root = DIR/%u/Maildir and fsync = no; opens user alice. */
void mt_setup(struct mt *t, const char *const *kv);
void mt_teardown(struct mt *t);
/* Appends `text` to `box`; returns the UID (0 on failure). */
uint32_t mt_append(struct mt *t, const char *box, const char *text,
		   uint32_t flags);
/* Opens mailbox `name` of alice with `flags` (PH_OPEN_*); fails the
 * test when it cannot. */
ph_mailbox *mt_open(struct mt *t, const char *name, unsigned flags);
/* Number of regular files in DIR/sub. */
unsigned mt_count_files(const char *dir, const char *sub);
/* Reads message seq of a view into buf (NUL-terminated). */
int mt_read(struct mt *t, ph_mailbox *box, uint32_t seq, char *buf,
	    size_t size);
/* Number of entries (recursively) under the temp dir but outside root. */
unsigned mt_outside_entries(struct mt *t);
/* Writes a file into DIR/new like an MTA (tmp then rename). */
void mt_deliver_new(const char *maildir, const char *name, const char *text);

#endif
