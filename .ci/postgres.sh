#!/usr/bin/env bash
# Start a PostgreSQL server from Debian's packages on loopback and make the app's role and database.
# Prints the DATABASE_URL to use. Idempotent: safe to run again.
set -euo pipefail
# Only the URL goes to stdout (the caller captures it): everything the tools print goes to stderr.
# pg_ctlcluster, for one, prints "Removed stale pid file." on stdout after an unclean stop.
exec 3>&1 1>&2
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$version" main 3>&-
fi
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$cluster" start 3>&-  # the server must not hold the caller's pipe open
fi
ready=no
for _ in $(seq 1 30); do
  if pg_isready -q -h 127.0.0.1 -p "$port"; then ready=yes; break; fi
  sleep 1
done
if [ "$ready" != yes ]; then
  echo "PostgreSQL did not come up on port $port within 30 s" >&2
  exit 1
fi
psql_as_postgres() { su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1 $*"; }
psql_as_postgres "-tAc \"SELECT 1 FROM pg_roles WHERE rolname='nasovcf'\"" | grep -q 1 \
  || psql_as_postgres "-c \"CREATE ROLE nasovcf LOGIN PASSWORD 'nasovcf' CREATEDB\""
psql_as_postgres "-tAc \"SELECT 1 FROM pg_database WHERE datname='nasovcf'\"" | grep -q 1 \
  || psql_as_postgres "-c \"CREATE DATABASE nasovcf OWNER nasovcf\""
echo "postgres://nasovcf:nasovcf@127.0.0.1:${port}/nasovcf" >&3
