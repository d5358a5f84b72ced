#!/bin/sh
# Writes the broker account from SYNERGOS_MQ_USER / SYNERGOS_MQ_PASSWORD as a definitions
# file next to the topology, then runs the given command (the official entrypoint).
set -eu

definitions_dir="${SYNERGOS_MQ_DEFINITIONS_DIR:-/etc/rabbitmq/definitions.d}"
user="${SYNERGOS_MQ_USER:-synergos}"
password="${SYNERGOS_MQ_PASSWORD:-}"

fail() {
    echo "synergos-mq: $*" >&2
    exit 64
}

case "$user" in
    '' | *[!A-Za-z0-9._-]*)
        fail "SYNERGOS_MQ_USER must be letters, digits, '.', '_' or '-' (got '$user')" ;;
esac
if [ "$user" = guest ]; then
    fail "SYNERGOS_MQ_USER must not be 'guest'; pick a name of your own"
fi
if [ -z "$password" ]; then
    fail "set SYNERGOS_MQ_PASSWORD (16+ characters: letters, digits, '.', '_', '~', '-')"
fi
case "$password" in
    *[!A-Za-z0-9._~-]*)
        fail "SYNERGOS_MQ_PASSWORD may only contain letters, digits, '.', '_', '~' and '-'" ;;
esac
if [ "${#password}" -lt 16 ]; then
    fail "SYNERGOS_MQ_PASSWORD must be at least 16 characters long"
fi

umask 077
cat > "$definitions_dir/20-users.json" <<JSON
{
  "vhosts": [{"name": "/"}],
  "users": [{"name": "$user", "password": "$password", "tags": "administrator"}],
  "permissions": [
    {"user": "$user", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
JSON

exec "$@"
