# Sourced by run.sh and test.sh: install_debs PKG... installs the missing Debian packages when
# run as root on a Debian/Ubuntu machine (otherwise it only says which are missing).
install_debs() {
  local missing=() d
  for d in "$@"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: Debian packages not installed (run as root to install): ${missing[*]}" >&2
  fi
}
