#!/usr/bin/env bash
# Assembles an Apache Kafka broker from Maven Central jars into the cache.
source "$(dirname "$0")/common.sh"
if compgen -G "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
  log "kafka $KAFKA_VERSION already assembled"; exit 0
fi
command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
log "resolving kafka $KAFKA_VERSION jars from Maven Central"
mkdir -p "$KAFKA_HOME/libs.tmp"
mvn -q -B -f "$ENV_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  -Dmaven.repo.local="$PHOTOSTORE_CACHE/m2" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.tmp"
rm -rf "$KAFKA_HOME/libs"
mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
log "kafka jars in $KAFKA_HOME/libs ($(ls "$KAFKA_HOME/libs" | wc -l) files)"
