#!/bin/sh
# Make a local base image from Debian bookworm when no container registry is reachable
# (docs/deployment.md, "Machines without a registry"). Needs root, mmdebstrap and a Debian
# mirror (the host's apt sources are used).
#
#   docker/make_base_image.sh python [--ca-bundle FILE] [--tag NAME]
#       Python 3.11 with venv (whose environments bring their own pip); default tag
#       synergos/python:3.11-bookworm. Build the Python images with
#       --build-arg BASE_IMAGE=<tag>.
#   docker/make_base_image.sh mq [--tag NAME]
#       Debian's rabbitmq-server with the management plugin, account `rabbitmq` at uid/gid 999
#       and the official image's `docker-entrypoint.sh` command; default tag
#       synergos/rabbitmq:management-bookworm. Build docker/mq with
#       --build-arg BASE_IMAGE=<tag>.
#
# --ca-bundle FILE replaces the image's CA bundle with FILE (e.g. the host's
# /etc/ssl/certs/ca-certificates.crt when PyPI is reached through a TLS-intercepting proxy).
set -eu

usage() {
    echo "usage: $0 python|mq [--ca-bundle FILE] [--tag NAME]" >&2
    exit 64
}

[ $# -ge 1 ] || usage
kind="$1"
shift
ca_bundle=""
tag=""
while [ $# -gt 0 ]; do
    case "$1" in
        --ca-bundle) [ $# -ge 2 ] || usage; ca_bundle="$2"; shift 2 ;;
        --tag) [ $# -ge 2 ] || usage; tag="$2"; shift 2 ;;
        *) usage ;;
    esac
done
if [ -n "$ca_bundle" ] && [ ! -r "$ca_bundle" ]; then
    echo "$0: cannot read the CA bundle $ca_bundle" >&2
    exit 66
fi
command -v mmdebstrap >/dev/null || { echo "$0: install mmdebstrap first" >&2; exit 69; }

work="$(mktemp -d)"
# Documentation, manual pages and translations are never read in a container: left out as
# the slim Debian images do (the copyright files stay).
slim="--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-include=/usr/share/doc/*/copyright
--dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/info/*
--dpkgopt=path-exclude=/usr/share/locale/* --dpkgopt=path-include=/usr/share/locale/locale.alias
--dpkgopt=path-exclude=/usr/share/lintian/*"
trap 'rm -rf "$work"' EXIT INT TERM
hooks=""
if [ -n "$ca_bundle" ]; then
    cp "$ca_bundle" "$work/ca-certificates.crt"
    hooks="cp $work/ca-certificates.crt \"\$1/etc/ssl/certs/ca-certificates.crt\""
fi

case "$kind" in
    python)
        tag="${tag:-synergos/python:3.11-bookworm}"
        # shellcheck disable=SC2086  # $slim is a list of options
        mmdebstrap --variant=minbase $slim --include=python3,python3-venv,python-is-python3,ca-certificates \
            --customize-hook="${hooks:-true}" \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
            bookworm "$work/rootfs.tar"
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
            --change 'CMD ["python3"]' \
            "$work/rootfs.tar" "$tag"
        ;;
    mq)
        tag="${tag:-synergos/rabbitmq:management-bookworm}"
        cat > "$work/docker-entrypoint.sh" <<'SH'
#!/bin/sh
# Stand-in for the official image's entrypoint: run the given command.
exec "$@"
SH
        cat > "$work/10-defaults.conf" <<'CONF'
# As the official image: AMQP on 5672, the management UI on 15672, on every interface.
listeners.tcp.default = 5672
management.tcp.port = 15672
CONF
        # The account exists before the package is installed, so it keeps uid/gid 999 (the
        # official image's), which the docs ask mounted folders to belong to.
        # shellcheck disable=SC2086  # $slim is a list of options
        mmdebstrap --variant=minbase $slim --include=rabbitmq-server,ca-certificates \
            --essential-hook='echo "rabbitmq:x:999:999:RabbitMQ:/var/lib/rabbitmq:/usr/sbin/nologin" >> "$1/etc/passwd"; echo "rabbitmq:x:999:" >> "$1/etc/group"; echo "rabbitmq:!:19000::::::" >> "$1/etc/shadow"' \
            --customize-hook="${hooks:-true}" \
            --customize-hook="cp $work/docker-entrypoint.sh \"\$1/usr/local/bin/docker-entrypoint.sh\"; chmod 0755 \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
            --customize-hook="mkdir -p \"\$1/etc/rabbitmq/conf.d\"; cp $work/10-defaults.conf \"\$1/etc/rabbitmq/conf.d/10-defaults.conf\"" \
            --customize-hook='echo "[rabbitmq_management]." > "$1/etc/rabbitmq/enabled_plugins"' \
            --customize-hook='chown -R 999:999 "$1/etc/rabbitmq" "$1/var/lib/rabbitmq" "$1/var/log/rabbitmq"' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
            bookworm "$work/rootfs.tar"
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/rabbitmq/bin' \
            --change 'ENV LANG=C.UTF-8 HOME=/var/lib/rabbitmq' \
            --change 'USER 999:999' \
            --change 'CMD ["rabbitmq-server"]' \
            "$work/rootfs.tar" "$tag"
        ;;
    *) usage ;;
esac
echo "$tag"
