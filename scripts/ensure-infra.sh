#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer on their default local ports, starting them if needed,
# and that the browser tests' headless Chromium and its driver are installed (Debian's packages).
# Order of attempts: already running → installed local service → docker compose (when a Docker
# engine answers) → apt install (Debian/Ubuntu as root) → tell the user what to install.
set -euo pipefail

pg_up()     { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

wait_for() {  # name check seconds
  for _ in $(seq 1 "$3"); do "$2" && return 0; sleep 1; done
  echo "ensure-infra: $1 did not come up within $3 s" >&2; return 1
}

start_postgres() {
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
}

start_rabbitmq() {
  # Debian's rabbitmq-server re-enters through `su`, which resets the open-files limit to 1024;
  # RabbitMQ then stops starting vhosts once ~900 queues exist (a full test run declares more).
  if [ "$(id -u)" = 0 ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && id rabbitmq >/dev/null 2>&1; then
    su rabbitmq -s /bin/sh -c 'ulimit -n "$(ulimit -Hn)"; cd /var/lib/rabbitmq; HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/rabbitmq-server -detached' || true
  elif command -v rabbitmq-server >/dev/null; then
    rabbitmq-server -detached || true
  fi
}

rabbit_file_limit() {  # the broker's file-handle limit, or nothing when it cannot be asked
  command -v rabbitmqctl >/dev/null || return 0
  timeout 15 rabbitmqctl -q eval 'proplists:get_value(total_limit, file_handle_cache:info([total_limit])).' 2>/dev/null \
    | tr -dc '0-9' || true
}

restart_rabbitmq_if_starved() {
  # A broker started through Debian's `su` wrapper elsewhere (an image's boot script) keeps the
  # 1024 open-files limit; a full test run then wedges it. Restart it the way start_rabbitmq does.
  [ "$(id -u)" = 0 ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || return 0
  local limit; limit=$(rabbit_file_limit)
  [ -n "$limit" ] && [ "$limit" -lt 4000 ] || return 0
  echo "ensure-infra: RabbitMQ runs with $limit file handles; restarting it with the hard open-files limit" >&2
  timeout 60 rabbitmqctl stop >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do rabbit_up || break; sleep 1; done
  start_rabbitmq
  wait_for RabbitMQ rabbit_up 60
}

docker_engine() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  echo "ensure-infra: installing $* with apt" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

trust_local_postgres() {
  # A fresh Debian PostgreSQL asks for a password on 127.0.0.1; the development setup (like CI)
  # lets the local user `postgres` in without one. Only loopback lines are changed.
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    sed -i -E 's#^(host\s+all\s+all\s+(127\.0\.0\.1/32|::1/128)\s+)\S+#\1trust#' "$hba"
  done
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main reload || true
}

ensure() {  # name check start package compose-service
  local name=$1 check=$2 start=$3 package=$4 compose=$5
  "$check" && return 0
  "$start"; "$check" || sleep 2
  if ! "$check"; then
    if docker_engine; then
      docker compose up -d "$compose"
    elif apt_install "$package"; then
      "$start"
      if [ "$package" = postgresql ]; then trust_local_postgres; fi
    else
      echo "ensure-infra: $name is not running on 127.0.0.1 and cannot be started here: install it ($package on Debian/Ubuntu) or run 'docker compose up -d $compose'" >&2
      exit 1
    fi
  fi
  wait_for "$name" "$check" 60
}

local_default() {  # URL port: is it unset, or the local server on its default port?
  [ -z "$1" ] || [[ "$1" =~ @(127\.0\.0\.1|localhost):$2(/|$) ]]
}

# A server named elsewhere by DATABASE_URL / AMQP_URL is not ours to start: the pre-flight
# (scripts/preflight.py) reports it in one line when it does not answer.
if local_default "${DATABASE_URL:-}" 5432; then ensure PostgreSQL pg_up start_postgres postgresql postgres; fi
if local_default "${AMQP_URL:-}" 5672; then
  ensure RabbitMQ rabbit_up start_rabbitmq rabbitmq-server rabbitmq
  restart_rabbitmq_if_starved
fi
# The browser tests (tests/browser) drive Debian's chromium through its chromedriver; nothing is
# downloaded at test time. Without them the rest of the system still runs: a warning, not a stop.
chromium_installed() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }
if ! chromium_installed && ! apt_install chromium chromium-driver; then
  echo "ensure-infra: chromium and chromedriver are not installed: the browser tests need them (apt-get install chromium chromium-driver)" >&2
fi
echo "ensure-infra: done"
