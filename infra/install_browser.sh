#!/usr/bin/env bash
# Installs what the browser tests (tests/browser) need on a fresh Debian/Ubuntu machine:
# Debian's Chromium (driven by Playwright through `executable_path`; Playwright's own browser
# download is never used) and a CJK font so screenshots show Chinese text.
# Needs root or passwordless sudo (CI runs as root). `make test` runs it every time (unless
# WXLESS_SKIP_BROWSER is set); it returns at once when Chromium and the font are there.
set -euo pipefail

if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  echo "install_browser: chromium and a CJK font are already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  elif [ -x /usr/bin/chromium ]; then
    echo "install_browser: no CJK font and no root: screenshots will show boxes for Chinese" >&2
    exit 0
  else
    echo "install_browser: need root (or sudo) to apt-get install chromium;" \
      "or set WXLESS_SKIP_BROWSER=1 to skip the browser tests" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
/usr/bin/chromium --version
