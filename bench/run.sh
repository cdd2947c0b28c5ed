#!/bin/sh
# Runs every benchmark against the release build; paste the output into
# bench/BENCHMARKS.md with the date and machine.
set -eu
cd "$(dirname "$0")/.."
B=build/bin/tandem_bench
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores"
echo "\$ $B calls 100000"
$B calls 100000
echo "\$ $B bridge 1000000"
$B bridge 1000000
echo "\$ $B mix 100"
$B mix 100
echo "\$ python3 bench/sip_setup.py --calls 4000 --rate 200"
python3 bench/sip_setup.py --calls 4000 --rate 200
echo "\$ python3 bench/sip_setup.py --find-max --seconds 10"
python3 bench/sip_setup.py --find-max --seconds 10
echo "\$ bench/records_bench.py 20000"
python3 bench/records_bench.py 20000
echo "\$ python3 bench/records_latency.py"
python3 bench/records_latency.py
echo "\$ python3 bench/media_bench.py 50 10"
python3 bench/media_bench.py 50 10
echo "\$ python3 bench/media_bench.py 50 10 --no-jitter-buffer"
python3 bench/media_bench.py 50 10 --no-jitter-buffer
echo "\$ build/bin/tandem_moh_bench 10"
build/bin/tandem_moh_bench 10
echo "\$ python3 bench/record_bench.py 1000 20 wav"
python3 bench/record_bench.py 1000 20 wav
echo "\$ python3 bench/record_bench.py 100 20 opus"
python3 bench/record_bench.py 100 20 opus
echo "\$ bench/codec_bench.sh"
bench/codec_bench.sh
echo "\$ build/bin/tandem_acd_bench 2000 10000 100000"
build/bin/tandem_acd_bench 2000 10000 100000
echo "\$ build/bin/tandem_acd_bench 200 1000 100000"
build/bin/tandem_acd_bench 200 1000 100000
echo "\$ python3 bench/queue_load.py 2000 10000"
python3 bench/queue_load.py 2000 10000
echo "\$ python3 bench/queue_load.py 200 1000"
python3 bench/queue_load.py 200 1000
