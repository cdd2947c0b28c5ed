#!/bin/sh
# Generates the demo's music-on-hold class, dialplans/sounds/moh/default/,
# with sox alone (Debian: contrib/install-deps.sh --prompt-tools). The result
# is committed, so building or running Tandem does not need sox; run this
# only to change the music:
#
#   contrib/make-moh.sh [OUTPUT_DIR]     # default: dialplans/sounds/moh/default
#
# The piece: 16 s, a I-vi-IV-V progression (C, Am, F, G) twice, each chord
# arpeggiated as plucked-string notes over a soft sustained chord, 8 kHz,
# 16-bit mono PCM WAV (the G.711 rate, so most calls hear it without
# resampling), peak-normalised to -6 dBFS (music under speech prompts).
# sox runs with -R (fixed random seed: the pluck's noise burst) and -D (no
# dither), so the same sox produces the same bytes on every run.
set -eu

cd "$(dirname "$0")/.."
OUT=${1:-dialplans/sounds/moh/default}
command -v sox >/dev/null || { echo "make-moh: sox is not installed" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SOX="sox -R -D"

n=0
# chord NAME "ROOT THIRD FIFTH OCTAVE": 2 s of arpeggio over a pad
chord() {
  set -- $2
  notes=""
  for note in "$1" "$2" "$3" "$4" "$3" "$2" "$3" "$4"; do
    n=$((n + 1))
    $SOX -n -r 8000 -b 16 -c 1 "$TMP/note$n.wav" synth 0.25 pluck "$note" fade 0 0.25 0.1 vol 0.6
    notes="$notes $TMP/note$n.wav"
  done
  $SOX $notes "$TMP/arp$n.wav"
  $SOX -n -r 8000 -b 16 -c 1 "$TMP/pad$n.wav" synth 2 sine "$1" sine "$2" sine "$3" remix - \
    fade 0.3 2 0.5 vol 0.25
  $SOX -m "$TMP/arp$n.wav" "$TMP/pad$n.wav" "$TMP/bar$n.wav"
  bars="${bars:-} $TMP/bar$n.wav"
}

for round in 1 2; do
  chord C "%-9 %-5 %-2 %3"    # C4 E4 G4 C5
  chord Am "%-12 %-9 %-5 %0"  # A3 C4 E4 A4
  chord F "%-16 %-12 %-9 %-4" # F3 A3 C4 F4
  chord G "%-14 %-10 %-7 %-2" # G3 B3 D4 G4
done
mkdir -p "$OUT"
$SOX $bars -r 8000 -b 16 -c 1 -e signed-integer "$OUT/tandem-theme.wav" gain -n -6
echo "make-moh: $(ls "$OUT" | wc -l) file(s) in $OUT ($(du -sh "$OUT" | cut -f1))"
