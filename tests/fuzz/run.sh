#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) in their own build
# directory and runs each for SECONDS (default 30) on a copy of its committed
# seed corpus, FUZZ_JOBS (default 2) at a time. Prints each harness's exec
# count and findings; exits 1 if any harness found a crash, leak, timeout or
# broken invariant (the reproducer is kept under <build>/findings/), 77 if
# clang's fuzzer runtime is missing (CTest reports a skip).
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_JOBS.
set -u
cd "$(dirname "$0")/../.."
repo=$(pwd)
secs=${1:-30}
shift || true
build=${FUZZ_BUILD_DIR:-$repo/build-fuzz}
jobs=${FUZZ_JOBS:-2}
all="fuzz_gateway fuzz_interaction fuzz_when fuzz_cron fuzz_ical fuzz_aws_xml fuzz_aws_json fuzz_config fuzz_state"
harnesses=${*:-$all}

cc=${FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$cc" ]; then
  echo "SKIP: clang not found"; exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
  >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
  echo "SKIP: clang's libFuzzer runtime is missing (libclang-rt-dev):"; head -3 "$probe/err"; exit 77
fi

echo "== build ($build)"
mkdir -p "$build"
if ! CC="$cc" cmake -S . -B "$build" -DENVBOT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     >"$build/fuzz-configure.log" 2>&1; then
  cat "$build/fuzz-configure.log"; exit 1
fi
# shellcheck disable=SC2086
if ! cmake --build "$build" -j"$jobs" --target $harnesses >"$build/fuzz-build.log" 2>&1; then
  tail -50 "$build/fuzz-build.log"; exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/findings" "$build/logs"

run_one() {
  local h=$1 name=${1#fuzz_}
  local work="$build/work/$name"
  mkdir -p "$work"
  local dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  # New inputs go to the first directory (work), never to the committed seeds.
  "$build/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$name-" "${dict[@]}" "$work" "tests/fuzz/corpus/$name" \
    >"$build/logs/$name.log" 2>&1
  echo $? >"$build/logs/$name.rc"
}

echo "== fuzzing $secs s each, $jobs at a time"
running=0
for h in $harnesses; do
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
for h in $harnesses; do
  name=${h#fuzz_}
  log="$build/logs/$name.log"
  rc=$(cat "$build/logs/$name.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
  corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    printf '%-18s ok      execs=%s %s %s\n' "$h" "${execs:-?}" "$cov" "$corp"
  else
    status=1
    printf '%-18s FINDING rc=%s execs=%s\n' "$h" "$rc" "${execs:-?}"
    grep -E 'ERROR: |SUMMARY: |runtime error|invariant failed|Test unit written' "$log" | head -8 |
      sed 's/^/    /'
  fi
done
exit $status
