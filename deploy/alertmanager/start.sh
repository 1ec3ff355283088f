#!/bin/sh
# Alertmanager's start in docker-compose.yml: `start.sh COMMAND...`. Its configuration
# cannot read the environment, so each ${NAME} of deploy/alertmanager/compose.yml is filled
# from it here, as a single-quoted YAML string, into a copy on the container's tmpfs that
# only its user can read (it holds the mail relay's password); then COMMAND runs.
set -eu
template=${ALERTMANAGER_TEMPLATE:-/familyties/alertmanager/compose.yml}
rendered=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}
umask 077
awk '
  /^[ \t]*#/ { print; next }
  {
    line = $0
    out = ""
    while (match(line, /\$\{[A-Z0-9_]+\}/)) {
      name = substr(line, RSTART + 2, RLENGTH - 3)
      value = ENVIRON[name]
      if (value == "" || value ~ /[\001-\037]/) {
        print "set " name ", on one line" > "/dev/stderr"
        exit 1
      }
      gsub(/\047/, "\047\047", value)  # a quote inside single quotes is written twice
      out = out substr(line, 1, RSTART - 1) "\047" value "\047"
      line = substr(line, RSTART + RLENGTH)
    }
    print out line
  }
' "$template" > "$rendered"
exec "$@"
