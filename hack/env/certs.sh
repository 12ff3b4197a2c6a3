#!/usr/bin/env bash
# Creates the control plane's PKI once: a CA, the apiserver's serving certificate, an admin
# client certificate (group system:masters) and the service-account signing key pair.
source "$(dirname "$0")/common.sh"
PKI="$VAR_DIR/pki"
[[ -f "$PKI/admin.crt" ]] && exit 0
mkdir -p "$PKI"
cd "$PKI"
openssl genrsa -out ca.key 2048 2>/dev/null
openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=photostore-local-ca" -out ca.crt 2>/dev/null
cat >apiserver.ext <<EXT
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1
extendedKeyUsage=serverAuth
EXT
openssl genrsa -out apiserver.key 2048 2>/dev/null
openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile apiserver.ext -out apiserver.crt 2>/dev/null
echo "extendedKeyUsage=clientAuth" >client.ext
openssl genrsa -out admin.key 2048 2>/dev/null
openssl req -new -key admin.key -subj "/O=system:masters/CN=photostore-admin" -out admin.csr 2>/dev/null
openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile client.ext -out admin.crt 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 600 ./*.key
