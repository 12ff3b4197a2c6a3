#!/usr/bin/env bash
# Creates the control plane's PKI once: a CA, the apiserver's serving certificate, an admin
# client certificate (group system:masters) and the service-account signing key pair; then,
# each once, the real node's: the kubelet's client certificate (system:node:<name> in
# system:nodes, which the Node authorizer accepts), its serving certificate, and the
# apiserver's client certificate for the kubelet (logs, exec, port-forward).
source "$(dirname "$0")/common.sh"
PKI="$VAR_DIR/pki"
mkdir -p "$PKI"
cd "$PKI"

# sign NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt signed by the CA, unless they exist.
sign() {
  local name=$1 subject=$2 ext=$3
  [[ -f "$name.crt" ]] && return
  echo "$ext" >"$name.ext"
  openssl genrsa -out "$name.key" 2048 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile "$name.ext" -out "$name.crt.tmp" 2>/dev/null
  mv "$name.crt.tmp" "$name.crt"
  chmod 600 "$name.key"
}

if [[ ! -f admin.crt ]]; then
  openssl genrsa -out ca.key 2048 2>/dev/null
  openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=photostore-local-ca" -out ca.crt 2>/dev/null
  sign apiserver "/CN=kube-apiserver" \
    "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1
extendedKeyUsage=serverAuth"
  sign admin "/O=system:masters/CN=photostore-admin" "extendedKeyUsage=clientAuth"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  chmod 600 ./*.key
fi
sign kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth"
sign kubelet-serving "/CN=$NODE_NAME" "subjectAltName=DNS:$NODE_NAME,IP:$NODE_GATEWAY
extendedKeyUsage=serverAuth"
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
