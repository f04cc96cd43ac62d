#!/usr/bin/env bash
# Regenerate docs/img/briefing_page1.png: the first page of the Word briefing, as Word lays it
# out. Needs LibreOffice (apt-get install -y libreoffice-writer-nogui) and pdftoppm
# (poppler-utils) — for this picture only; neither tests nor `make run` need them.
#
# LibreOffice needs a Chinese font to lay out the .docx. The machine may have none, so this
# script points fontconfig at banzi's own Noto Sans CJK SC (from the pinned mplfonts; the
# SimHei mplfonts also ships is deliberately left out) and maps the fonts the .docx names
# (宋体, 黑体) onto it. Usage: docs/briefing_picture.sh [DB] (default: a fresh demo in /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=${1:-}
if [ -z "$DB" ]; then
  DB="$WORK/demo.duckdb"
  $PY cli.py --db "$DB" demo >/dev/null
fi
$PY cli.py --db "$DB" brief --period 2023Q4 --format docx --out "$WORK/briefing.docx" \
  --issued-on 2024-01-15
mkdir -p "$WORK/fonts"
ln -s "$($PY -c 'from reports.fonts import cjk_font_path; print(cjk_font_path())')" "$WORK/fonts/"
cat > "$WORK/fonts.conf" <<CONF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>$WORK/fonts</dir>
  <cachedir>$WORK/cache</cachedir>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
  <alias binding="same"><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
CONF
FONTCONFIG_FILE="$WORK/fonts.conf" soffice --headless -env:UserInstallation=file://$WORK/lo \
  --convert-to pdf --outdir "$WORK" "$WORK/briefing.docx" >/dev/null
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$WORK/briefing.pdf" docs/img/briefing_page1
echo "docs/img/briefing_page1.png written"
