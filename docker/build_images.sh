#!/bin/sh
# `make images`: build every role's image from the repository root, on a machine with Docker
# Hub or without any registry (docs/deployment.md, "Building the images").
#
# Base images: python:3.11-slim and rabbitmq:3.13-management when present or pullable;
# otherwise local bookworm bases made by docker/make_base_image.sh (root and mmdebstrap
# needed), taking the CA bundle in SYNERGOS_CA_BUNDLE when set. Override with
# SYNERGOS_PYTHON_BASE / SYNERGOS_MQ_BASE.
# torch: the pinned CPU wheel comes from the PyTorch CPU index, or, where this machine's pip
# reaches it another way (find-links, a mirror), from docker/wheels/ filled here.
# Builds use the host network (a proxy on the host's loopback stays reachable); the legacy
# builder and BuildKit (DOCKER_BUILDKIT=1) both work.
set -eu

cd "$(dirname "$0")/.."
DOCKER="${DOCKER:-docker}"
PYTHON="${PYTHON:-python3}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"

base_image() {  # default-image local-kind local-tag -> the base image to use
    if "$DOCKER" image inspect "$1" >/dev/null 2>&1 || "$DOCKER" pull -q "$1" >/dev/null 2>&1; then
        echo "$1"
        return
    fi
    if "$DOCKER" image inspect "$3" >/dev/null 2>&1; then
        echo "$3"  # made by an earlier run
        return
    fi
    echo "images: $1 cannot be pulled; making a local base ($2)" >&2
    if [ -n "${SYNERGOS_CA_BUNDLE:-}" ]; then
        sh docker/make_base_image.sh "$2" --ca-bundle "$SYNERGOS_CA_BUNDLE" --tag "$3" | tail -n 1
    else
        sh docker/make_base_image.sh "$2" --tag "$3" | tail -n 1
    fi
}

torch_wheel() {  # use the CPU index if reachable, else this machine's pip via docker/wheels
    if "$PYTHON" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10)' "$TORCH_INDEX_URL" \
            2>/dev/null; then
        return
    fi
    echo "images: the PyTorch CPU index is unreachable; taking torch from this machine's pip" >&2
    if ! ls docker/wheels/torch-*.whl >/dev/null 2>&1; then
        "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -c constraints.txt \
            torch -d docker/wheels
    fi
    TORCH_INDEX_URL=https://pypi.org/simple  # an unreachable extra index would stall pip
}

mq_image() {  # the MQ's base, then its image
    mq_base="${SYNERGOS_MQ_BASE:-$(base_image rabbitmq:3.13-management mq synergos/rabbitmq:management-bookworm)}"
    "$DOCKER" build --build-arg "BASE_IMAGE=$mq_base" -t synergos_mq:latest docker/mq
}

# The MQ's chain (mostly downloading and unpacking Debian packages) runs beside the Python
# images'; the script waits for it before it exits, even when a Python build fails.
mq_log="$(mktemp)"
mq_image >"$mq_log" 2>&1 &
mq_pid=$!
trap 'wait; rm -f "$mq_log"' EXIT
python_base="${SYNERGOS_PYTHON_BASE:-$(base_image python:3.11-slim python synergos/python:3.11-bookworm)}"
torch_wheel
build() {
    "$DOCKER" build --network host --build-arg "BASE_IMAGE=$python_base" \
        --build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL" "$@"
}
build -f docker/worker/Dockerfile -t synergos_worker:latest .
build -f docker/ttp/Dockerfile --target basic -t synergos_ttp:synbasic .
build -f docker/ttp/Dockerfile --target cluster -t synergos_ttp:syncluster .
"$DOCKER" build -f docker/director/Dockerfile -t synergos_director:syncluster .
if ! wait "$mq_pid"; then
    cat "$mq_log" >&2
    echo "images: building synergos_mq failed" >&2
    exit 1
fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' 'synergos_*'
