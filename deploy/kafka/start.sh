#!/bin/bash
# The broker's start in docker-compose.yml, in place of the apache/kafka image's own. The
# image formats the storage itself, without SCRAM credentials; in KRaft the first one (the
# admin's, which the broker logs in to itself with, and kafka-init uses) can only be
# written as the storage is formatted (`kafka-storage.sh format --add-scram`). The
# services' users are added afterwards by kafka-init, as the admin, over the network.
set -euo pipefail

if [[ ! "${KAFKA_ADMIN_PASSWORD:-}" =~ ^[A-Za-z0-9_-]{16,}$ ]]; then
  echo "set KAFKA_ADMIN_PASSWORD: 16 or more letters, digits, _ or - (openssl rand -hex 32)" >&2
  exit 1
fi
: "${CLUSTER_ID:?set CLUSTER_ID}"

umask 077  # the files below hold the admin's password; they stay in this container
config=/opt/kafka/config/familyties.properties
login="org.apache.kafka.common.security.scram.ScramLoginModule required \
username=\"admin\" password=\"$KAFKA_ADMIN_PASSWORD\";"
{
  cat /familyties/kafka/server.properties
  echo "listener.name.broker.scram-sha-512.sasl.jaas.config=$login"
} > "$config"
# The admin's client settings: for the health check, and an operator's kafka-*.sh commands.
cat > /opt/kafka/config/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$login
PROPERTIES

# Formats an empty data directory only (the first start); later starts keep what is there,
# and the admin's password then stays the one it was formatted with.
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" \
  --config "$config" --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]"
exec /opt/kafka/bin/kafka-server-start.sh "$config"
