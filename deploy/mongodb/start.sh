#!/bin/bash
# mongod with access control, in docker-compose.yml. The services use transactions, so it
# runs as a replica set; a replica set with authorization needs a key file, with which its
# members prove themselves to each other (even a set of one). It is written from
# MONGO_REPLICA_SET_KEY as mongod wants it: readable by its user only. The image's own
# entrypoint then makes the root user on the first start (MONGO_INITDB_ROOT_*).
set -euo pipefail

if [[ ! "${MONGO_REPLICA_SET_KEY:-}" =~ ^[A-Za-z0-9+/=]{32,1024}$ ]]; then
  echo "set MONGO_REPLICA_SET_KEY: 32 to 1024 base64 characters (openssl rand -hex 32)" >&2
  exit 1
fi
# The container runs as mongodb with a read-only root: the key goes on its /tmp tmpfs.
key=/tmp/mongodb-replica-set.key
(umask 077 && printf '%s' "$MONGO_REPLICA_SET_KEY" > "$key")
if [[ $(id -u) == 0 ]]; then chown mongodb:mongodb "$key"; fi
unset MONGO_REPLICA_SET_KEY
exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile "$key"
