#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages when missing, starts its cluster with test
# settings, creates the `wasmhook` role (allowed to create the tests' databases), and prints
# the variables the tests read:
#
#   eval "$(bash tests/postgres/start.sh)"   # then: cargo test --workspace
#
# Needs root (apt-get, pg_ctlcluster). Idempotent: a running cluster is restarted only when
# its test settings were just written.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >&2
fi

# Durability is not under test: no fsync, so creating a database per test stays cheap. No
# autovacuum: its workers are superuser sessions, which the test role's
# DROP DATABASE … WITH (FORCE) may not terminate (a dropped test database would race them).
settings=/etc/postgresql/$version/main/conf.d/wasmhook-tests.conf
wanted=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\nautovacuum = off\n'
if [ "$(cat "$settings" 2>/dev/null)"$'\n' != "$wanted" ]; then
    printf '%s' "$wanted" > "$settings"
    pg_ctlcluster "$version" main restart >&2 || pg_ctlcluster "$version" main start >&2
else
    pg_ctlcluster "$version" main start >&2 2>/dev/null || true
fi
for _ in $(seq 1 100); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432 >&2

runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wasmhook') THEN
        CREATE ROLE wasmhook LOGIN CREATEDB PASSWORD 'wasmhook';
    END IF;
END $$;
SQL

# Databases earlier test runs left behind (a test that panicked, a drop that lost a race).
runuser -u postgres -- psql -qtA -c "SELECT 'DROP DATABASE ' || quote_ident(datname) || ' WITH (FORCE);'
    FROM pg_database WHERE datname LIKE 'wasmhook\_test\_%'" | runuser -u postgres -- psql -q >&2

# Not WASMHOOK_*: the server reads every WASMHOOK_* variable as a setting and refuses unknown ones.
echo "export PG_TEST_URL=postgres://wasmhook:wasmhook@127.0.0.1:5432/postgres"
echo "export PG_TEST_REQUIRED=1"
