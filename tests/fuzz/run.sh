#!/usr/bin/env bash
# Builds the fuzz targets with clang (-fsanitize=fuzzer,address,undefined) and runs each for a bounded time
# from its seed corpus in tests/fuzz/<target>/. Inputs it finds that crash are written to
# build-fuzz/crashes/<target>/; turn each into a regression test (suite "fuzz_regressions" at the end of
# tests/bad_input/bad_input_test.cpp).
#
#   tests/fuzz/run.sh [seconds per target, default 20] [target ...]
#   ACKMQ_FUZZ_JOBS=2 tests/fuzz/run.sh 60     # build parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_tag_filter fuzz_delay_levels fuzz_message fuzz_receipt_handle fuzz_properties fuzz_sql_filter)
fi

# clang and its libFuzzer runtime, installed once like CI installs doctest-dev.
if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  $(command -v sudo) apt-get update -qq
  $(command -v sudo) apt-get install -y -qq clang libclang-rt-dev || $(command -v sudo) apt-get install -y -qq clang libclang-rt-14-dev
fi

dir=build-fuzz
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DACKMQ_BUILD_TESTS=OFF -DACKMQ_BUILD_EXAMPLES=OFF -DACKMQ_INSTALL=OFF -DACKMQ_BUILD_FUZZERS=ON >/dev/null
cmake --build "$dir" -j"${ACKMQ_FUZZ_JOBS:-2}" --target "${targets[@]}"

failed=0
for target in "${targets[@]}"; do
  corpus="$dir/corpus/$target"  # grows as the target runs; the seeds in tests/fuzz/<target>/ stay as they are
  crashes="$dir/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  maxlen=4096
  [ "$target" = fuzz_message ] && maxlen=140000  # room for tags and properties past the 32767-byte limit
  echo "== $target, ${seconds} s"
  start=$(date +%s)
  if ! "$dir/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/$target" 2>"$dir/$target.log"; then
    failed=1
    echo "$target FAILED after $(($(date +%s) - start)) s; the input is in $crashes/:"
    grep -E "ERROR|fuzz check failed|runtime error|SUMMARY" "$dir/$target.log" | head -5 || true
  else
    echo "$target: no crash in $(($(date +%s) - start)) s ($(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$dir/$target.log" | grep -Eo '[0-9]+') runs)"
  fi
done
exit $failed
