#pragma once
// Shared by the stress and lifecycle suites: the run's seed and scale, both chosen from the environment.
//
//   ACKMQ_STRESS_SEED=<n>   replays a run: every random decision of the run derives from this seed
//   ACKMQ_SOAK=1            the long run (ctest -L soak, see tests/stress/CMakeLists.txt): more messages,
//                           more rounds
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace ackmq_stress {

inline bool soak() {
  const char* v = std::getenv("ACKMQ_SOAK");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

/// `normal` in the default run, `soak` in the long one.
inline int scaled(int normal, int soakValue) {
  return soak() ? soakValue : normal;
}

/// The doctest timeout of a stress case: generous for the short run (sanitizers slow it several times), an
/// hour for the soak.
inline double timeoutSeconds() {
  return soak() ? 3600.0 : 120.0;
}

/// The seed of this run: ACKMQ_STRESS_SEED when set, else a fresh random one. Printed either way, so that a
/// failing run can be replayed with the same decisions.
inline std::uint64_t seed(const char* testName) {
  std::uint64_t s;
  if (const char* v = std::getenv("ACKMQ_STRESS_SEED"); v != nullptr && *v != '\0') {
    s = std::strtoull(v, nullptr, 0);
  } else {
    std::random_device rd;
    s = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  std::fprintf(stderr, "%s: ACKMQ_STRESS_SEED=%llu\n", testName, static_cast<unsigned long long>(s));
  return s;
}

/// A well-mixed hash of the seed and up to three values (splitmix64 rounds): the run's decisions are
/// functions of what they decide about, not of thread timing.
inline std::uint64_t mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
  std::uint64_t h = seed;
  for (std::uint64_t v : {a, b, c}) {
    h += 0x9E3779B97F4A7C15ULL + v;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
  }
  return h;
}

}  // namespace ackmq_stress
