#!/usr/bin/env bash
# The DLL alone: CPU per request of kallithea_isapi (native/isapi/tests/request_bench.cpp)
# with the unit tests' fake host, the FastCGI responder in a child process, at 1 and 32
# requests in flight, medians of the runs. The target of issue 12: <= 10 us at both.
# Beside it, the reference row: kallithea_isapi_floor (request_floor.cpp), the same model
# (threads, handoffs, the same bytes to the same responder) without the DLL's logic, so
# the figures say how much is the model's floor on this machine and how much the DLL's own.
# The programs run interleaved, one run of each per round (order rotated each round), so a
# machine that gets busier or quieter meanwhile weighs on all of them alike.
#
# Usage: bench/dll/run.sh [--requests N] [--runs R] [--threads T] [--in-flight 1,32]
#                         [--compare DIR] [--floor2 1]
#   --compare DIR: also the bench of the checkout at DIR (built in build-dll/bench-compare,
#   nothing is written into DIR), with the ratio of this one to it.
#   --floor2 1: also the floor with one handoff fewer (floor2: the io thread ends the request
#   itself, no completion thread), the floor of a design where the DLL does so, and floor1
#   (the driver reads the answers itself: the round trip to the responder alone).
# (Release builds in build-dll/; not part of npm test: it measures, it does not assert.)
set -euo pipefail
cd "$(dirname "$0")/../.."

requests=10000 runs=3 threads=0 in_flight=1,32 compare= floor2=
while [ $# -gt 0 ]; do
  case "$1" in
  --requests) requests=$2 ;;
  --runs) runs=$2 ;;
  --threads) threads=$2 ;;
  --in-flight) in_flight=$2 ;;
  --compare) compare=$2 ;;
  --floor2) floor2=$2 ;;
  *) echo "unknown option $1" >&2 && exit 2 ;;
  esac
  shift 2
done

build() { # source dir, build dir, targets...
  local src=$1 dir=$2
  shift 2
  cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
  cmake --build "$dir" --target "$@" >/dev/null
}
build . build-dll/bench kallithea_isapi_bench kallithea_isapi_floor
names=(floor dll)
programs=(build-dll/bench/kallithea_isapi_floor build-dll/bench/kallithea_isapi_bench)
flags=("" "")
if [ "$floor2" = 1 ]; then
  names+=(floor2)
  programs+=(build-dll/bench/kallithea_isapi_floor)
  flags+=("--handoffs 2")
  names+=(floor1)
  programs+=(build-dll/bench/kallithea_isapi_floor)
  flags+=("--handoffs 1")
fi
if [ -n "$compare" ]; then
  build "$compare" build-dll/bench-compare kallithea_isapi_bench
  names+=(before)
  programs+=(build-dll/bench-compare/kallithea_isapi_bench)
  flags+=("")
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count=${#programs[@]}
for ((round = 0; round < runs; round++)); do
  for ((i = 0; i < count; i++)); do
    p=$(((i + round) % count))
    echo "round $((round + 1)): ${names[p]}" >&2
    # "in flight K median: cpu C us/req (fake host H, driver D), S switches/req (V voluntary),
    # A allocations/req, wall W us/req": with one run, the run's own figures.
    # shellcheck disable=SC2086 # flags: words
    "${programs[p]}" ${flags[p]} --requests "$requests" --runs 1 --threads "$threads" \
      --in-flight "$in_flight" | tee -a "$out/${names[p]}.log" |
      sed -n 's/^in flight *\([0-9]*\) median: cpu \([0-9.]*\) us\/req (fake host \([0-9.]*\), driver \([0-9.]*\)), \([0-9.]*\) switches\/req (\([0-9.]*\) voluntary), \([0-9.]*\) allocations\/req, wall \([0-9.]*\) us\/req\(.*\)$/\1 \2 \3 \4 \5 \6 \7 \8 \9/p' \
        >>"$out/${names[p]}.rows"
  done
done

# Medians per program and in-flight count; then the ratios.
median() { # column of rows matching in-flight $1 in file $2
  awk -v k="$1" -v c="$3" '$1 == k { print $c }' "$2" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'
}
echo
echo "bench/dll: GET /hello, $requests requests per run, medians of $runs interleaved runs," \
  "threads = $([ "$threads" = 0 ] && echo default || echo "$threads")"
printf '%-9s %-7s %9s %10s %9s %10s %10s %8s %9s\n' "in flight" program "cpu us/req" \
  "fake host" driver switches voluntary allocs "wall us"
for k in ${in_flight//,/ }; do
  for name in "${names[@]}"; do
    f="$out/$name.rows"
    printf '%-9s %-7s %9s %10s %9s %10s %10s %8s %9s\n' "$k" "$name" "$(median "$k" "$f" 2)" \
      "$(median "$k" "$f" 3)" "$(median "$k" "$f" 4)" "$(median "$k" "$f" 5)" \
      "$(median "$k" "$f" 6)" "$(median "$k" "$f" 7)" "$(median "$k" "$f" 8)"
    if grep -q FAILURES "$f"; then
      echo "  $name: FAILURES (answers that were not the expected one)"
    fi
  done
done
# Each ratio twice: of the medians, and the median of the rounds' own ratios (the programs of
# a round ran back to back, so a machine that got busier between rounds cancels out).
ratio() { # in-flight, program a, program b
  local a b paired
  a=$(median "$1" "$out/$2.rows" 2)
  b=$(median "$1" "$out/$3.rows" 2)
  paired=$(paste <(awk -v k="$1" '$1 == k { print $2 }' "$out/$2.rows") \
    <(awk -v k="$1" '$1 == k { print $2 }' "$out/$3.rows") | awk '{ print $1 / $2 }' | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')
  awk -v a="$a" -v b="$b" -v p="$paired" -v n="$2/$3" \
    'BEGIN { printf "%s cpu %.2f (per round %s)", n, a / b, p }'
}
echo
for k in ${in_flight//,/ }; do
  line="in flight $k: $(ratio "$k" dll floor)"
  if [ "$floor2" = 1 ]; then
    line+=", $(ratio "$k" dll floor2), $(ratio "$k" dll floor1)"
  fi
  if [ -n "$compare" ]; then
    line+=", $(ratio "$k" dll before)"
  fi
  echo "$line"
done
