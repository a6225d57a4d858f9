#!/usr/bin/env bash
# Prepare this machine for ALCO: system packages, running RabbitMQ and Redis, the virtualenv.
#   scripts/bootstrap.sh        what `alco run` needs (ALCO with the `server` extra)
#   scripts/bootstrap.sh test   plus what the test suite needs (Chromium, Prometheus, `test`)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

answers() {  # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

packages=()
command -v searchd >/dev/null || packages+=(sphinxsearch)
pkg-config --exists libmariadb 2>/dev/null || packages+=(libmariadb-dev pkg-config)
command -v redis-server >/dev/null || answers 127.0.0.1 6379 || packages+=(redis-server)
command -v rabbitmq-server >/dev/null || answers 127.0.0.1 5672 || packages+=(rabbitmq-server)
python3 -c "import venv, ensurepip" 2>/dev/null || packages+=(python3-venv)
if [ "$MODE" = test ]; then
  command -v chromium >/dev/null || packages+=(chromium)
  command -v prometheus >/dev/null || packages+=(prometheus)
  command -v rg >/dev/null && command -v wrk >/dev/null || packages+=(ripgrep wrk)  # bench/
  command -v syslog-ng >/dev/null || packages+=(syslog-ng-core syslog-ng-mod-amqp)
  # HTTP ingest tests: syslog-ng's http() and elasticsearch-http()
  dpkg -s syslog-ng-mod-http >/dev/null 2>&1 || packages+=(syslog-ng-mod-http)
  dpkg -s syslog-ng-scl >/dev/null 2>&1 || packages+=(syslog-ng-scl)
fi
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# rsyslog's omelasticsearch for the HTTP ingest tests.  The Debian rsyslog package conflicts
# with syslog-ng's (both are the system logger), so its packages are unpacked, not installed,
# into var/tools/rsyslog; the tests run that rsyslogd in the foreground.
RSYSLOG_DIR=var/tools/rsyslog
if [ "$MODE" = test ] && [ ! -x "$RSYSLOG_DIR/usr/sbin/rsyslogd" ]; then
  say "unpacking rsyslog and rsyslog-elasticsearch into $RSYSLOG_DIR"
  apt-cache show rsyslog-elasticsearch >/dev/null 2>&1 || $SUDO apt-get update -qq
  debs="$(mktemp -d)"
  (cd "$debs" && chmod 777 . && apt-get download -qq rsyslog rsyslog-elasticsearch libestr0 \
      libfastjson4 liblognorm5 2>/dev/null) || echo "rsyslog: download failed; its tests skip"
  mkdir -p "$RSYSLOG_DIR"
  for deb in "$debs"/*.deb; do [ -e "$deb" ] && dpkg-deb -x "$deb" "$RSYSLOG_DIR"; done
  rm -rf "$debs"
fi

if ! answers 127.0.0.1 6379; then
  say "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/alco.log
fi
if ! answers 127.0.0.1 5672; then
  say "starting RabbitMQ"
  $SUDO rabbitmq-server -detached
fi
for _ in $(seq 1 120); do
  answers 127.0.0.1 5672 && answers 127.0.0.1 6379 && break
  sleep 0.5
done
answers 127.0.0.1 5672 || { echo "RabbitMQ does not answer on 127.0.0.1:5672" >&2; exit 1; }
answers 127.0.0.1 6379 || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.alco-$MODE-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -e "$stamp" ]; then
  say "installing ALCO into .venv ($MODE)"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  if [ "$MODE" = test ]; then
    .venv/bin/pip install -q -e ".[server,test]"
  else
    .venv/bin/pip install -q -e ".[server]"
  fi
  touch "$stamp"
fi
