#!/usr/bin/env bash
# rlkit's two commands for a fresh machine (run from anywhere):
#
#   bash scripts/dev.sh lab                 set up .venv if needed, then open JupyterLab on notebooks/
#   bash scripts/dev.sh test [PYTEST ARGS]  set up .venv if needed, then run the test suite
#                                           (default -m "not slow"; browser tests included, they
#                                           skip with the reason where chromium is missing)
#
# Setup: python3 -m venv .venv; pip install torch FIRST with an exact pin (the project's
# torch>=2.1 is loose, so nothing CUDA gets pulled in afterwards); pip install -e ".[test]".
# It is skipped while .venv/.rlkit-setup matches the hash of pyproject.toml + the torch pin.
#
# Environment:
#   RLKIT_TORCH_SPEC   torch requirement installed first (default torch==2.13.0, the CPU wheel
#                      this machine's pip finds; e.g. "torch==2.5.1" or "torch" elsewhere)
#   RLKIT_VENV         the virtualenv (default .venv in the repo)
#   PYTHON             the interpreter that creates it (default python3; >= 3.10)
#   BROWSER_ARTIFACTS  where browser tests put screenshots (default browser-artifacts/)
#   CHROMIUM_PATH      chromium executable for the browser tests (default: chromium on PATH)
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${RLKIT_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
TORCH_SPEC="${RLKIT_TORCH_SPEC:-torch==2.13.0}"
STAMP="$VENV/.rlkit-setup"

log() { printf '[dev.sh] %s\n' "$*" >&2; }

# Containers often lack XDG_RUNTIME_DIR; SDL (pygame, behind gymnasium's rgb_array
# rendering) then prints "XDG_RUNTIME_DIR is invalid" into every notebook that renders.
if [[ -z "${XDG_RUNTIME_DIR:-}" || ! -d "${XDG_RUNTIME_DIR:-}" ]]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/rlkit-runtime-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi

setup() {
  if [[ ! -x "$PY" ]]; then
    log "creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  local want pipq=()
  want="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read() + sys.argv[1].encode()).hexdigest())' "$TORCH_SPEC")"
  if [[ -f "$STAMP" && "$(<"$STAMP")" == "$want" ]]; then
    return 0
  fi
  [[ -n "${CI:-}" ]] || pipq=(-q)
  log "installing $TORCH_SPEC first"
  "$PY" -m pip install --disable-pip-version-check ${pipq[@]+"${pipq[@]}"} "$TORCH_SPEC"
  log "installing rlkit (editable) with its test extras"
  "$PY" -m pip install --disable-pip-version-check ${pipq[@]+"${pipq[@]}"} -e ".[test]"
  printf '%s\n' "$want" >"$STAMP"
  log "setup done"
}

# Keep Jupyter, IPython, matplotlib and browsers from writing to the real ~ during tests.
test_env() {
  local home="$ROOT/.test-home"
  export HOME="$home"
  export JUPYTER_CONFIG_DIR="$home/.jupyter"
  export JUPYTER_DATA_DIR="$home/.local/share/jupyter"
  export JUPYTER_RUNTIME_DIR="$home/.local/share/jupyter/runtime"
  export IPYTHONDIR="$home/.ipython"
  export MPLCONFIGDIR="$home/.config/matplotlib"
  export XDG_CACHE_HOME="$home/.cache" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
  export MPLBACKEND=Agg                       # test kernels drop it again (they use inline)
  export PYDEVD_DISABLE_FILE_VALIDATION=1     # quiet debugpy's note at every kernel start
  export PYTHONUNBUFFERED=1
  mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_RUNTIME_DIR" "$IPYTHONDIR" "$MPLCONFIGDIR" "$XDG_CACHE_HOME"
}

cmd_lab() {
  setup
  mkdir -p notebooks
  local extra=()
  [[ "$(id -u)" != 0 ]] || extra=(--allow-root)   # containers run as root
  exec "$VENV/bin/jupyter" lab ${extra[@]+"${extra[@]}"} "$@" notebooks/
}

cmd_test() {
  setup
  test_env
  local args=() a has_marker=0
  for a in "$@"; do
    [[ "$a" == -m || "$a" == -m?* ]] && has_marker=1
  done
  ((has_marker)) || args=(-m "not slow")
  exec "$PY" -m pytest ${args[@]+"${args[@]}"} "$@"
}

case "${1:-}" in
  lab) shift; cmd_lab "$@" ;;
  test) shift; cmd_test "$@" ;;
  *)
    echo "usage: bash scripts/dev.sh lab | test [pytest args]" >&2
    exit 2
    ;;
esac
