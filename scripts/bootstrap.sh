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
fi
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
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
