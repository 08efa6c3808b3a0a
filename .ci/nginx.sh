#!/usr/bin/env bash
# The production deployment of deploy/ on this machine, for CI (tests/test_deploy.py) and to try by
# hand: gunicorn on a free loopback port with deploy/nasovcf.env.example's environment, behind
# nginx (Debian's package) configured from deploy/nginx.conf with a self-signed certificate on a
# free port. Only paths, ports and host names are changed from the files in deploy/.
#
#   .ci/nginx.sh [WORKDIR]        (WORKDIR: default a new temporary directory)
#
# WORKDIR receives app.env (the app's environment, NAME=value, for manage.py commands against
# it), tls/fullchain.pem (the certificate to trust), nginx/ (its configuration and logs),
# gunicorn.log, var/, and last of all `url` (https://127.0.0.1:PORT), once nginx and gunicorn
# both answer /healthz. Runs until stopped (Ctrl-C, SIGTERM), then stops nginx and gunicorn.
# DATABASE_URL, if set, is the database served (default: SQLite in WORKDIR/var); NASOVCF_PYTHON
# the interpreter (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
py=${NASOVCF_PYTHON:-$root/.venv/bin/python}
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo ".ci/nginx.sh needs ${missing[*]}: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

gunicorn_pid=""
nginx_pid=""
shared=""
stop() {
  for pid in $nginx_pid $gunicorn_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $nginx_pid $gunicorn_pid; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$shared" ]; then rm -rf "$shared"; fi
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

read -r app_port tls_port http_port < <("$py" - <<'EOF'
import socket

sockets = [socket.socket() for _ in range(3)]
for sock in sockets:
    sock.bind(("127.0.0.1", 0))
print(*(sock.getsockname()[1] for sock in sockets))
for sock in sockets:
    sock.close()
EOF
)

# What nginx's workers (www-data) read and write: the static files, as in production outside var/
# (0700), and nginx's temporary files; outside WORKDIR, which may be a test's (0700) directory.
shared=$(mktemp -d)
chmod 755 "$shared"

# The app's environment: deploy/nasovcf.env.example as it is, but for where things are on this
# machine. The server runs with this environment only, as systemd would run it.
{
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'*) continue ;; esac
    case "${line%%=*}" in NASOVCF_VAR_DIR | DJANGO_STATIC_ROOT | DJANGO_ALLOWED_HOSTS | HOST | PORT | DATABASE_URL) continue ;; esac
    echo "$line"
  done < deploy/nasovcf.env.example
  echo "NASOVCF_VAR_DIR=$work/var"
  echo "DJANGO_STATIC_ROOT=$shared/staticfiles"
  echo "DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost"
  echo "HOST=127.0.0.1"
  echo "PORT=$app_port"
  echo "DATABASE_URL=${DATABASE_URL:-sqlite:///$work/var/nasovcf.sqlite3}"
} > "$work/app.env"
mapfile -t app_env < "$work/app.env"
run_app=(env -i PATH="$PATH" HOME="${HOME:-/}" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" "${app_env[@]}")
"${run_app[@]}" "$py" manage.py migrate --noinput -v0
(umask 022 && "${run_app[@]}" "$py" manage.py collectstatic --noinput -v0)

mkdir -p "$work/tls" "$work/nginx"
chmod 700 "$work/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/tls/privkey.pem" -out "$work/tls/fullchain.pem" 2>/dev/null

site="$work/nginx/nasovcf.conf"
sed -e "s#server 127.0.0.1:8000;#server 127.0.0.1:$app_port;#" \
  -e "s#listen 443 ssl;#listen 127.0.0.1:$tls_port ssl;#" \
  -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
  -e "/listen \[::\]:/d" \
  -e "s#server_name clinic.example.org;#server_name 127.0.0.1 localhost;#" \
  -e "s#/etc/ssl/nasovcf/#$work/tls/#g" \
  -e "s#/srv/nasovcf/staticfiles/#$shared/staticfiles/#" \
  -e "s#/var/log/nginx/#$work/nginx/#g" \
  deploy/nginx.conf > "$site"
for production_value in "127.0.0.1:8000" "listen 443" "listen 80;" "listen [::]" "clinic.example.org" \
  "/etc/ssl/nasovcf" "/srv/nasovcf" "/var/log/nginx"; do
  if grep -v '^[[:space:]]*#' "$site" | grep -qF "$production_value"; then
    echo ".ci/nginx.sh: '$production_value' in deploy/nginx.conf is no longer written as this script expects" >&2
    exit 1
  fi
done

# The rest of what Debian's /etc/nginx/nginx.conf gives a site file, with this run's own paths.
{
  if [ "$(id -u)" -eq 0 ]; then echo "user www-data;"; fi
  cat <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path $shared/nginx-body;
    proxy_temp_path $shared/nginx-proxy;
    fastcgi_temp_path $shared/nginx-fastcgi;
    uwsgi_temp_path $shared/nginx-uwsgi;
    scgi_temp_path $shared/nginx-scgi;
    include $site;
}
EOF
} > "$work/nginx/main.conf"
nginx -t -q -e "$work/nginx/error.log" -c "$work/nginx/main.conf"

# Started directly (env execs gunicorn), so these are the processes' own ids to stop them by.
"${run_app[@]}" "$py" -m gunicorn --config gunicorn.conf.py nasovcf_site.wsgi:application > "$work/gunicorn.log" 2>&1 &
gunicorn_pid=$!
nginx -e "$work/nginx/error.log" -c "$work/nginx/main.conf" &
nginx_pid=$!

url="https://127.0.0.1:$tls_port"
if ! "$py" - "$url" "$work/tls/fullchain.pem" "$gunicorn_pid" "$nginx_pid" <<'EOF'; then
import os, ssl, sys, time, urllib.request

url, cafile, *pids = sys.argv[1:]
context = ssl.create_default_context(cafile=cafile)
deadline = time.monotonic() + 240  # a loaded 2-core CI machine starts gunicorn slowly
while time.monotonic() < deadline:
    for pid in pids:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sys.exit(f"process {pid} stopped while starting")
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=10, context=context) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(f"{url}/healthz did not answer in 240 s")
EOF
  echo "--- gunicorn.log" >&2
  tail -n 40 "$work/gunicorn.log" >&2 || true
  echo "--- nginx error.log" >&2
  tail -n 40 "$work/nginx/error.log" >&2 || true
  exit 1
fi
echo "$url" > "$work/url.tmp"
mv "$work/url.tmp" "$work/url"
echo "NASOVCF Clinic behind nginx at $url (gunicorn on 127.0.0.1:$app_port; files in $work). Ctrl-C stops it."
wait -n "$gunicorn_pid" "$nginx_pid" || true
echo ".ci/nginx.sh: nginx or gunicorn stopped" >&2
exit 1
