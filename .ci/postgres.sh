#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1 for the receipt tests and print the
# URL they read (CONSENT_TEST_POSTGRES_URL). Installs the server when missing.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
    if su postgres -c "pg_isready -q -h 127.0.0.1 -p 5432"; then break; fi
    sleep 1
done
su postgres -c "psql -q -h /var/run/postgresql -c \"ALTER USER postgres PASSWORD 'consent-tests'\"" >&2
echo "postgresql://postgres:consent-tests@127.0.0.1:5432/postgres"
