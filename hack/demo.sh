#!/usr/bin/env bash
# `make demo`: the environment is up (make env ran first); show what runs and how to reach it,
# then run the operator demo when the operator is present.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/env/status.sh
cat <<TXT

Reach it from this shell:
  set -a; source var/env; set +a        # KUBECONFIG, PHOTOSTORE_* connection settings
  \$KUBECTL get nodes -L accelerator
  psql "\$PHOTOSTORE_DATABASE_URL"
Logs: var/log/   Stop: make env-down   Wipe: make env-clean
TXT
if [[ -x hack/demo-operator.sh ]]; then
  hack/demo-operator.sh
fi
