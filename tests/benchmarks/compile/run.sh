#!/bin/sh
# Compile time of examples/quick_start.cpp, header-only and separately compiled, against a program of the
# same shape that uses the standard library alone (std_quick_start.cpp), at -O2. The three compiles run in
# turn, round after round, so that a machine whose speed drifts moves all three alike; the report gives each
# one's median wall time and its ratio to the standard-library program's median.
#
#   tests/benchmarks/compile/run.sh [compiler] [rounds]      (default: c++, 5 rounds)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cxx=${1:-c++}
rounds=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 -O2 -pthread -I$root/include"

time_one() {  # name, then the compile command; appends its wall seconds to $out/name.times
  name=$1
  shift
  start=$(date +%s.%N)
  "$@" -c -o "$out/$name.o"
  end=$(date +%s.%N)
  echo "$start $end" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$out/$name.times"
}

# Once, outside the timing: the separately compiled program's one instantiation file, and a check that
# every variant links and runs.
start=$(date +%s.%N)
$cxx $flags -DACKMQ_SEPARATE_COMPILATION -c "$root/examples/separate_compilation/ackmq.cpp" -o "$out/impl.o"
end=$(date +%s.%N)
impl=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')

i=0
while [ "$i" -lt "$rounds" ]; do
  time_one std $cxx $flags "$here/std_quick_start.cpp"
  time_one header_only $cxx $flags "$root/examples/quick_start.cpp"
  time_one separate $cxx $flags -DACKMQ_SEPARATE_COMPILATION "$root/examples/quick_start.cpp"
  i=$((i + 1))
done
$cxx -pthread "$out/separate.o" "$out/impl.o" -o "$out/separate" && "$out/separate" >/dev/null
$cxx -pthread "$out/header_only.o" -o "$out/header_only" && "$out/header_only" >/dev/null
$cxx -pthread "$out/std.o" -o "$out/std" && "$out/std" >/dev/null

median() { sort -n "$out/$1.times" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
std=$(median std)
echo "$($cxx --version | head -n 1), -O2, $rounds rounds, median wall seconds"
for v in std header_only separate; do
  m=$(median $v)
  echo "$v $m $std" | awk '{ printf "  %-12s %6.2f s  %5.2fx the standard-library program\n", $1, $2, $2 / $3 }'
done
echo "  (the separately compiled program's instantiation file, once: $impl s)"
