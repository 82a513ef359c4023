#!/bin/sh
# deliver-bench.sh BUILD_DIR [N] - posthorn-deliver throughput (fsync on)
# against `cp` into new/ (no fsync, no index: the floor), N messages each,
# one process per message as an MTA would run them.
set -eu
BUILD=${1:?usage: deliver-bench.sh BUILD_DIR [N]}
N=${2:-1000}
DIR=$(mktemp -d /tmp/deliver-bench-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
MSG=$DIR/msg.eml
printf 'From: a@example.org\nTo: b@example.org\nSubject: bench\n\n%s\n' \
	"$(head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 72)" > "$MSG"
printf 'bench:{PLAIN}x::::::\n' > "$DIR/users"
for fsync in yes no; do
cat > "$DIR/posthorn.ini" <<INI
[core]
plugin_dir = $BUILD/plugins
state_dir = $DIR
log_level = warning
[storage]
plugin = storage-maildir
[storage-maildir]
root = $DIR/mail-$fsync/%u/Maildir
special_use_folders =
fsync = $fsync
[auth]
plugins = auth-passwdfile
[auth-passwdfile]
path = $DIR/users
INI
	start=$(date +%s.%N)
	i=0
	while [ $i -lt "$N" ]; do
		"$BUILD/bin/posthorn-deliver" -c "$DIR/posthorn.ini" bench < "$MSG"
		i=$((i + 1))
	done
	end=$(date +%s.%N)
	echo "posthorn-deliver fsync=$fsync: $N messages in $(echo "$end - $start" | bc) s, $(echo "$N / ($end - $start)" | bc) msgs/s"
done
mkdir -p "$DIR/cp/tmp" "$DIR/cp/new" "$DIR/cp/cur"
start=$(date +%s.%N)
i=0
while [ $i -lt "$N" ]; do
	cp "$MSG" "$DIR/cp/new/$i.bench"
	i=$((i + 1))
done
end=$(date +%s.%N)
echo "cp into new/ (floor): $N messages in $(echo "$end - $start" | bc) s, $(echo "$N / ($end - $start)" | bc) msgs/s"
