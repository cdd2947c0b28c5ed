#!/bin/sh
# Generates the shipped prompt set, dialplans/sounds/{en,ru}/, with the
# espeak-ng speech synthesiser and sox (Debian: contrib/install-deps.sh
# --prompt-tools). The results are committed, so building or running Tandem needs
# neither tool; run this only to change or add a prompt:
#
#   contrib/make-prompts.sh [OUTPUT_DIR]     # default: dialplans/sounds
#
# Every prompt is 8 kHz, 16-bit, mono PCM WAV (the rate of G.711 calls, so
# most calls play them without resampling), leading and trailing silence
# trimmed, peak-normalised to -3 dBFS. Dithering is off so the same tools
# produce the same bytes on every run.
#
# Layout (names are what dialplans pass to call:play; see docs/dialplan.md):
#   LANG/numbers/N     N = 0..20, 30, 40, ... 90; "hundred" and "thousand"
#                      (en); 100, 200, ... 900, the feminine 1f/2f (одна/две),
#                      the neuter 1n (одно) and thousand-1/-2/-5 (тысяча/
#                      тысячи/тысяч) (ru); "star" and "hash" for * and #
#   LANG/units/...     hour(s), minute(s), second(s), call(s) (en);
#                      hour-1/-2/-5 (час/часа/часов) and the same for
#                      minute, second and call (ru): the form for 1, for
#                      2-4 and for 5-20
#   LANG/PHRASE        please-hold, you-are-caller-number,
#                      estimated-wait-time-is, invalid-option, goodbye,
#                      thank-you-for-calling, menu-sales-support
set -eu

cd "$(dirname "$0")/.."
OUT=${1:-dialplans/sounds}
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# say VOICE NAME TEXT
say() {
  mkdir -p "$OUT/$(dirname "$2")"
  espeak-ng -v "$1" -s 150 -w "$TMP/raw.wav" "$3"
  sox -D "$TMP/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$2.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse gain -n -3
}

# counting LANG WORD...: LANG/numbers/0, 1, 2, ... say the words in turn
counting() {
  lang=$1; shift
  n=0
  for word in "$@"; do say "$lang" "$lang/numbers/$n" "$word"; n=$((n + 1)); done
}

# named LANG DIR NAME:TEXT...: DIR/NAME says TEXT (the voice is LANG's)
named() {
  lang=$1 dir=$2; shift 2
  for pair in "$@"; do say "$lang" "$dir/${pair%%:*}" "${pair#*:}"; done
}

# --- English ---------------------------------------------------------------
counting en zero one two three four five six seven eight nine ten eleven twelve \
  thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty
named en en/numbers 30:thirty 40:forty 50:fifty 60:sixty 70:seventy 80:eighty 90:ninety \
  hundred:hundred thousand:thousand star:star hash:pound
named en en/units hour:hour hours:hours minute:minute minutes:minutes second:second seconds:seconds \
  call:call calls:calls
named en en \
  "please-hold:Please hold." \
  "you-are-caller-number:You are caller number" \
  "estimated-wait-time-is:The estimated wait time is" \
  "invalid-option:That is not a valid option." \
  "goodbye:Goodbye." \
  "thank-you-for-calling:Thank you for calling." \
  "menu-sales-support:For sales, press 1. For support, press 2."

# --- Russian ---------------------------------------------------------------
counting ru ноль один два три четыре пять шесть семь восемь девять десять \
  одиннадцать двенадцать тринадцать четырнадцать пятнадцать шестнадцать \
  семнадцать восемнадцать девятнадцать двадцать
named ru ru/numbers 30:тридцать 40:сорок 50:пятьдесят 60:шестьдесят 70:семьдесят 80:восемьдесят \
  90:девяносто 100:сто 200:двести 300:триста 400:четыреста 500:пятьсот \
  600:шестьсот 700:семьсот 800:восемьсот 900:девятьсот \
  1f:одна 2f:две 1n:одно thousand-1:тысяча thousand-2:тысячи thousand-5:тысяч \
  star:звёздочка hash:решётка
named ru ru/units hour-1:час hour-2:часа hour-5:часов minute-1:минута minute-2:минуты minute-5:минут \
  second-1:секунда second-2:секунды second-5:секунд \
  call-1:звонок call-2:звонка call-5:звонков
named ru ru \
  "please-hold:Пожалуйста, оставайтесь на линии." \
  "you-are-caller-number:Ваш номер в очереди" \
  "estimated-wait-time-is:Примерное время ожидания" \
  "invalid-option:Неверный выбор." \
  "goodbye:До свидания." \
  "thank-you-for-calling:Спасибо за звонок." \
  "menu-sales-support:Для связи с отделом продаж нажмите 1. Для технической поддержки нажмите 2."

echo "make-prompts: $(find "$OUT" -name '*.wav' | wc -l) prompts in $OUT ($(du -sh "$OUT" | cut -f1))"
