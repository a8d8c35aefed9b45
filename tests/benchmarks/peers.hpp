#pragma once
// The optional peers' headers, each present only when CMake found it (ACKMQ_BENCH_HAVE_*). Treated as a
// system header so that third-party warnings cannot fail the -Werror build.
#pragma GCC system_header

#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>
#endif

#ifdef ACKMQ_BENCH_HAVE_ZMQ
#include <zmq.hpp>
#endif

namespace bench {
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
inline constexpr bool kHaveMoodycamel = true;
#else
inline constexpr bool kHaveMoodycamel = false;
#endif
#ifdef ACKMQ_BENCH_HAVE_ZMQ
inline constexpr bool kHaveZmq = true;
#else
inline constexpr bool kHaveZmq = false;
#endif

inline constexpr const char* kNoMoodycamel =
    "moodycamel peer skipped: concurrentqueue/blockingconcurrentqueue.h not found at configure time "
    "(Debian: libconcurrentqueue-dev)";
inline constexpr const char* kNoZmq =
    "zmq peer skipped: zmq.hpp or libzmq not found at configure time (Debian: cppzmq-dev, libzmq3-dev)";
}  // namespace bench
