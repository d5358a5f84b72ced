#!/bin/sh
# Remove from a built virtual environment what no node reads at run time: test suites (and
# their byte code), C/C++ headers, CMake files and torch's test programs (torch_shm_manager
# stays: torch's shared-memory tensors need it). The Dockerfiles run docker/check_role.py
# afterwards, so a file a role needs cannot go unnoticed. PACKAGEs named after the folder are
# uninstalled: dependencies of library features no node calls (the TTP's MLflow needs
# matplotlib only for evaluation plots and pyarrow only for dataset logging).
#   docker/slim_venv.sh /opt/venv [PACKAGE...]
set -eu

site="$(echo "$1"/lib/python3*/site-packages)"
[ -d "$site" ] || { echo "$0: no site-packages under $1" >&2; exit 66; }
rm -rf "$site/torch/test" "$site/torch/include" "$site/torch/share/cmake"
find "$site/torch/bin" -mindepth 1 ! -name torch_shm_manager -exec rm -rf {} +
find "$site" -type d -name tests -prune -exec rm -rf {} +
venv="$1"
shift
if [ $# -gt 0 ]; then
    "$venv/bin/pip" uninstall --quiet --yes "$@"
fi
