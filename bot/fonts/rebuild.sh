#!/bin/sh
# Rebuilds HaruGothic-Regular.ttf and HaruGothic-Bold.ttf from Debian's fonts-nanum.
# Needs fontTools once (`pip install fonttools`); it is not a dependency of Haru.
#   apt-get download fonts-nanum && dpkg-deb -x fonts-nanum_*_all.deb /tmp/nanum
#   sh bot/fonts/rebuild.sh /tmp/nanum/usr/share/fonts/truetype/nanum
set -eu
src=${1:?usage: rebuild.sh DIR_WITH_NanumGothic.ttf}
out=$(dirname "$0")
python=${PYTHON:-python3}

# Hangul syllables, both jamo blocks, Basic Latin, Latin-1, general punctuation, and the small
# symbol blocks (arrows, shapes such as the ■□ progress blocks, ①, ★, ℃, fullwidth forms).
# Hanja (4,620 glyphs) is left out. Hinting is dropped: charts draw at 18 px and up, where
# FreeType's own rendering is as good, and it saves a third of the size.
unicodes="U+0020-007E,U+00A0-00FF,U+1100-11FF,U+2000-206F,U+2100-214F,U+2150-218F,U+2190-21FF"
unicodes="$unicodes,U+2200-22FF,U+2460-24FF,U+25A0-25FF,U+2600-26FF,U+2700-27BF,U+3000-303F"
unicodes="$unicodes,U+3130-318F,U+AC00-D7A3,U+FF00-FFEF"

for weight in Regular Bold; do
    case $weight in Regular) nanum=NanumGothic ;; Bold) nanum=NanumGothicBold ;; esac
    pyftsubset "$src/$nanum.ttf" --unicodes="$unicodes" --no-hinting --layout-features='' \
        --output-file="$out/HaruGothic-$weight.ttf"
    # The OFL reserves the names Nanum/NanumGothic/나눔고딕 for the original, so the subset (a
    # Modified Version) gets its own name; the copyright notice (nameID 0) stays.
    "$python" - "$out/HaruGothic-$weight.ttf" "$weight" <<'PY'
import sys
from fontTools.ttLib import TTFont

path, weight = sys.argv[1], sys.argv[2]
font = TTFont(path, recalcTimestamp=False)  # keep the original date: reproducible
name = font["name"]
names = {
    1: "Haru Gothic",
    2: weight,
    3: f"3.021;HARU;HaruGothic-{weight}",
    4: "Haru Gothic" if weight == "Regular" else f"Haru Gothic {weight}",
    6: f"HaruGothic-{weight}",
    10: "A subset of NanumGothic 3.021 (NAVER) for the Haru bot's charts.",
    13: "This Font Software is licensed under the SIL Open Font License, Version 1.1.",
    14: "https://openfontlicense.org",
    16: "Haru Gothic",
    17: weight,
}
keep = [r for r in name.names if r.nameID == 0 and r.platformID == 3 and r.langID == 0x409]
name.names = keep
for name_id, text in names.items():
    name.setName(text, name_id, 3, 1, 0x409)
font.save(path, reorderTables=True)
PY
done
ls -l "$out"/HaruGothic-*.ttf
