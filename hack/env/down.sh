#!/usr/bin/env bash
# Stops every part of the local environment. Data stays in var/data (make env-clean wipes it).
source "$(dirname "$0")/common.sh"
set +e
if [[ -f "$DATA_DIR/postgres/postmaster.pid" ]]; then
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA_DIR/postgres" -m fast -w stop >/dev/null 2>&1
fi
"$ENV_DIR/node/node.sh" down
for name in kwok kube-scheduler kube-controller-manager kube-apiserver kafka redis s3 etcd; do
  stop "$name"
done
rm -f "$RUN_DIR/postgres.pid"
"$ENV_DIR/node/node.sh" bridge-down
log "environment stopped"
