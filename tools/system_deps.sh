#!/bin/sh
# System libraries the PDF documents need (WeasyPrint: Pango, HarfBuzz's subsetter; the DejaVu fonts) and the tool the
# tests read PDFs with (pdftotext). Installed from Debian packages when missing, as root without
# sudo or through sudo; elsewhere (no apt-get) it only says what is missing.
need=""
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need="$need libpango-1.0-0 libpangoft2-1.0-0"
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so.0' || need="$need libharfbuzz-subset0"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need="$need fonts-dejavu-core"
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "PDF documents need Pango and the DejaVu fonts (and tests pdftotext):$need; install them with your system's package manager" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
