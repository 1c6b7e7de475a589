#!/usr/bin/env bash
# Install (once per machine) and start the real services the tests use, on loopback:
#   PostgreSQL from Debian's package, Elasticsearch from Maven Central (integ-test-zip).
# Writes the connection settings to $SERVICES_ENV (sourced by `make test`).
# Any failure stops with the reason: the tests never skip a missing service silently.
set -euo pipefail

ES_VERSION="${XMEM_ES_VERSION:-8.19.3}"
ES_PORT="${XMEM_ES_PORT:-9250}"
PG_PORT="${XMEM_PG_PORT:-5432}"
# a folder the unprivileged Elasticsearch user can read (root's home is private)
CACHE="${XMEM_SERVICES_CACHE:-/var/cache/experiment-memory}"
SERVICES_ENV="${SERVICES_ENV:-.services.env}"
RUN_DIR="${TMPDIR:-/tmp}/xmem-services"
mkdir -p "$CACHE" "$RUN_DIR"

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] FAILED: %s\n' "$*" >&2; exit 1; }

need_apt() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null || die "apt-get update failed"; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "installing PostgreSQL (Debian package)"
    need_apt postgresql
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main -p "$PG_PORT" >/dev/null || die "pg_createcluster failed"
  fi
  if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
    pg_ctlcluster "$version" main start || die "PostgreSQL $version did not start (see /var/log/postgresql)"
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
  for _ in $(seq 1 30); do
    runuser -u postgres -- psql -p "$port" -qtAc "select 1" >/dev/null 2>&1 && break
    sleep 1
  done
  runuser -u postgres -- psql -p "$port" -qtAc "select 1" >/dev/null || die "PostgreSQL is not answering on port $port"
  runuser -u postgres -- psql -p "$port" -qtAc \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='xmem') THEN CREATE ROLE xmem LOGIN SUPERUSER PASSWORD 'xmem'; END IF; END \$\$;" >/dev/null
  echo "XMEM_TEST_POSTGRES_URL=postgresql+psycopg://xmem:xmem@127.0.0.1:$port/postgres" >> "$SERVICES_ENV"
  say "PostgreSQL $version on 127.0.0.1:$port"
}

es_healthy() { curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }

start_elasticsearch() {
  local home="$CACHE/elasticsearch-$ES_VERSION"
  if ! es_healthy; then
    if [ ! -x "$home/bin/elasticsearch" ]; then
      command -v mvn >/dev/null || need_apt maven
      command -v unzip >/dev/null || need_apt unzip
      local zip="$HOME/.m2/repository/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
      if [ ! -f "$zip" ]; then
        say "fetching Elasticsearch $ES_VERSION from Maven Central (cached in ~/.m2 afterwards)"
        mvn -q dependency:get -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
          -Dtransitive=false || die "could not fetch elasticsearch $ES_VERSION with Maven"
      fi
      rm -rf "$home.tmp" && mkdir -p "$home.tmp"
      unzip -q "$zip" -d "$home.tmp" || die "could not unzip $zip"
      mv "$home.tmp/elasticsearch-$ES_VERSION" "$home" && rm -rf "$home.tmp"
    fi
    id xmem-es >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin xmem-es
    local data="$RUN_DIR/es-data" logs="$RUN_DIR/es-logs"
    rm -rf "$data" && mkdir -p "$data" "$logs"
    chown -R xmem-es "$home" "$data" "$logs"
    local java="${XMEM_ES_JAVA_HOME:-}"
    if [ -z "$java" ]; then
      for candidate in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
        [ -x "$candidate/bin/java" ] && { java="$candidate"; break; }
      done
    fi
    [ -n "$java" ] || die "no JDK found in /usr/lib/jvm (Elasticsearch 8 needs Java 17+)"
    say "starting Elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT (JDK $java, 512 MB heap)"
    runuser -u xmem-es -- env ES_JAVA_HOME="$java" ES_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/elasticsearch" -d -p "$logs/es.pid" \
      -Ediscovery.type=single-node -Enetwork.host=127.0.0.1 -Ehttp.port="$ES_PORT" \
      -Expack.security.enabled=false -Expack.ml.enabled=false -Ecluster.routing.allocation.disk.threshold_enabled=false \
      -Epath.data="$data" -Epath.logs="$logs" >"$RUN_DIR/es-start.log" 2>&1 \
      || die "Elasticsearch failed to start: $(tail -5 "$RUN_DIR/es-start.log")"
    for _ in $(seq 1 120); do es_healthy && break; sleep 1; done
    es_healthy || die "Elasticsearch did not become healthy in 120 s; see $logs"
  fi
  echo "XMEM_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT" >> "$SERVICES_ENV"
  say "Elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT"
}

stop_all() {
  [ -f "$RUN_DIR/es-logs/es.pid" ] && kill "$(cat "$RUN_DIR/es-logs/es.pid")" 2>/dev/null || true
  say "stopped Elasticsearch (PostgreSQL is left to the system)"
}

case "${1:-start}" in
  start) : > "$SERVICES_ENV"; start_postgres; start_elasticsearch ;;
  stop) stop_all ;;
  *) die "usage: $0 start|stop" ;;
esac
