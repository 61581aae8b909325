# Shell helpers the scripts that install test tools share. Source it; `tool` names the caller
# in messages. Progress goes to stderr, so a script's stdout stays the environment it prints.

# Run as root (CI) or through sudo, like scripts/test does for Chromium.
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "$tool: apt-get install $*" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for PORT NAME: until something listens on 127.0.0.1:PORT, or fail
  for _ in $(seq 1 60); do
    listening "$1" && return 0
    sleep 0.5
  done
  echo "$tool: $2 did not come up on 127.0.0.1:$1" >&2
  exit 1
}

quietly() { # run a command, show its output only when it fails
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "$tool: failed: $*" >&2
    return 1
  fi
}

stamp_ok() { # stamp_ok STAMP_FILE INPUT_FILE: the input's hash is the one recorded at the last install
  [ -f "$1" ] && [ "$(cat "$1")" = "$(sha256sum <"$2" | cut -d' ' -f1)" ]
}
stamp() { sha256sum <"$2" | cut -d' ' -f1 >"$1"; }

# python_venv VENV REQUIREMENTS MODULE: a venv with the pinned requirements, rebuilt when they
# change or MODULE does not import. (Debian's system Python refuses pip installs, PEP 668.)
python_venv() {
  local venv="$1" requirements="$2" module="$3"
  local py_stamp="$venv/.kolokol-requirements.sha256"
  if stamp_ok "$py_stamp" "$requirements" && "$venv/bin/python" -c "import $module" 2>/dev/null; then
    return 0
  fi
  echo "$tool: venv ${venv#"$root/"}, pip install -r ${requirements#"$root/"}" >&2
  # Debian ships `venv` without ensurepip unless python3-venv is installed; creation then fails.
  if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1 \
    || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv
  fi
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! quietly python3 -m venv "$venv"; then
    rm -rf "$venv"
    apt_install python3-venv
    quietly python3 -m venv "$venv"
  fi
  quietly "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
    -r "$requirements"
  stamp "$py_stamp" "$requirements"
}
