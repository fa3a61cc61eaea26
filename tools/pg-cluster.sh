#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster on loopback for the registry's tests.
#   tools/pg-cluster.sh start DIR PORT   prints the admin URL to use as LODESTONE_TEST_POSTGRES
#   tools/pg-cluster.sh stop DIR
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
set -euo pipefail
cmd=$1 dir=$2
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
case $cmd in
  start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "'$pgbin/initdb' -D '$dir/data' -A trust -U lodestone --no-sync >'$dir/initdb.log' 2>&1"
    as_pg "'$pgbin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=on\" start >/dev/null"
    echo "postgres://lodestone@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "'$pgbin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
