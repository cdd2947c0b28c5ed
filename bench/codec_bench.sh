#!/bin/sh
# Opus <-> PCMU transcoding in the engine beside libopus alone, same frames,
# same run (issue 4): the shipped English and Russian prompts (8 kHz speech,
# ~21 s) as raw PCM, then for each complexity (default: 0 to 10)
#   tandem_bench transcode  the engine: an Opus leg bridged to a PCMU leg,
#                           worker CPU per call-second, both directions
#   opus_floor              libopus alone: one encode + one decode per frame
# and their ratio (target: engine / libopus <= 1.15), with libopus's bitrate
# and the decoded speech's quality: one Markdown table row per complexity.
# Usage: bench/codec_bench.sh [COMPLEXITY...]   (after a release build)
set -eu
cd "$(dirname "$0")/.."
PCM=$(mktemp /tmp/tandem-codec-bench-XXXXXX.pcm)
trap 'rm -f "$PCM"' EXIT
python3 - "$PCM" <<'PY'
import glob, sys, wave
with open(sys.argv[1], "wb") as out:
    for path in sorted(glob.glob("dialplans/sounds/en/*.wav") + glob.glob("dialplans/sounds/ru/*.wav")):
        with wave.open(path) as w:
            assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
            out.write(w.readframes(w.getnframes()))
PY
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores, libopus $(pkg-config --modversion opus)"
echo "| complexity | engine µs per call-second | libopus alone µs per call-second | engine / libopus | encode µs per frame | decode µs per frame | kbit/s | log-spectral distance dB | segmental SNR dB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in ${*:-0 1 2 3 4 5 6 7 8 9 10}; do
  engine=$(build/bin/tandem_bench transcode "$PCM" "$c" | awk '/per call-second/ {print $(NF-1)}')
  build/bin/opus_floor "$PCM" "$c" | awk -v c="$c" -v e="$engine" -F': *' '
    /encode per/ {enc = $2 + 0} /decode per/ {dec = $2 + 0} /per call-second/ {floor = $2 + 0}
    /bitrate/ {kbit = $2 + 0} /segmental SNR/ {snr = $2 + 0} /log-spectral/ {lsd = $2 + 0}
    END {printf "| %s | %.0f | %.0f | %.3f | %.1f | %.1f | %.1f | %.2f | %.2f |\n", c, e, floor, e / floor, enc, dec, kbit, lsd, snr}'
done
