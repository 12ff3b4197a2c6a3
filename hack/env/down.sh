#!/usr/bin/env bash
# Stops every part of the local environment. Data stays in var/data (make env-clean wipes it).
source "$(dirname "$0")/common.sh"
set +e
for pgdata in "$DATA_DIR/postgres-replica" "$DATA_DIR/postgres"; do
  if [[ -f "$pgdata/postmaster.pid" ]]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdata" -m fast -w stop >/dev/null 2>&1
  fi
done
"$ENV_DIR/node/node.sh" down
for name in kwok kube-scheduler kube-controller-manager kube-apiserver \
    kafka $(seq -f 'kafka-%g' 1 "$KAFKA_BROKERS") redis $(redis_cluster_ports | sed 's/^/redis-cluster-/') s3 etcd; do
  stop "$name" &
done
wait
rm -f "$RUN_DIR/postgres.pid" "$RUN_DIR/postgres-replica.pid"
"$ENV_DIR/node/node.sh" bridge-down
log "environment stopped"
