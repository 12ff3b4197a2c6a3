#!/usr/bin/env bash
# Assembles an Apache Kafka broker from Maven Central jars into the cache.
source "$(dirname "$0")/common.sh"
# The jar set is keyed by the pom too, so a change of logging backend re-resolves it.
stamp="$(sha256sum "$ENV_DIR/kafka/pom.xml" | cut -c1-16)"
if [[ "$(cat "$KAFKA_HOME/libs/.stamp" 2>/dev/null)" == "$stamp" ]]; then
  log "kafka $KAFKA_VERSION already assembled"; exit 0
fi
command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
log "resolving kafka $KAFKA_VERSION jars from Maven Central"
mkdir -p "$KAFKA_HOME/libs.tmp"
mvn -q -B -f "$ENV_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  -Dmaven.repo.local="$PHOTOSTORE_CACHE/m2" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.tmp"
echo "$stamp" >"$KAFKA_HOME/libs.tmp/.stamp"
rm -rf "$KAFKA_HOME/libs"
mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
log "kafka jars in $KAFKA_HOME/libs ($(ls "$KAFKA_HOME/libs" | wc -l) files)"
