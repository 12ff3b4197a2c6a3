#!/usr/bin/env bash
# Stops every part of the local environment. Data stays in var/data (make env-clean wipes it).
source "$(dirname "$0")/common.sh"
set +e
if [[ -f "$DATA_DIR/postgres/postmaster.pid" ]]; then
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA_DIR/postgres" -m fast -w stop >/dev/null 2>&1
fi
for name in kwok kube-scheduler kube-controller-manager kube-apiserver kafka redis s3 etcd; do
  pidfile="$RUN_DIR/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
rm -f "$RUN_DIR/postgres.pid"
log "environment stopped"
