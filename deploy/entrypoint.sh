#!/bin/sh
# Container entry: `web SERVICE` or `worker SERVICE`. Metrics files are per container.
set -e
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
role=$1
service=$2
case "$role" in
  web) exec gunicorn --config deploy/gunicorn.conf.py --bind "0.0.0.0:${PORT:-8000}" \
         --name "familyties-$service" "services.$service.app:create_app()" ;;
  worker) exec familyties worker "$service" ;;
  *) exec "$@" ;;
esac
