#pragma once
// Shared plumbing of ackmq_bench: options, self-checks, interleaved repetitions, statistics and the RESULT
// line. The method itself is described at the top of main.cpp.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sched.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

/// Every message body in every scenario is this many bytes, built per message by the sender.
inline constexpr std::size_t kBodyBytes = 100;
inline std::string makeBody(char fill = 'x') {
  return std::string(kBodyBytes, fill);
}
inline std::string makeBody(std::size_t bytes, char fill = 'x') {
  return std::string(bytes, fill);
}

/// How long a run may wait for its consumers before it is declared hung.
inline constexpr std::chrono::seconds kRunTimeout{180};

struct Options {
  int reps = 5;        // repetitions per system, interleaved
  double scale = 1.0;  // multiplies every message count
};

/// `base` scaled by --scale, at least 1.
inline std::size_t scaled(std::size_t base, const Options& opt) {
  const double v = std::round(static_cast<double>(base) * opt.scale);
  return v < 1 ? std::size_t{1} : static_cast<std::size_t>(v);
}

// ------------------------------------------------------------------------------------------ self-checks

/// The scenario being run, for failure messages.
inline std::string& currentScenario() {
  static std::string name = "(none)";
  return name;
}

/// A self-check failed: the run did not measure what it claims. Report and exit at once, non-zero. Exiting
/// without unwinding is deliberate: a consumer in a bad state could hang its destructor and swallow the
/// report.
[[noreturn]] inline void fail(const std::string& what) {
  std::fflush(stdout);
  std::printf("FAILED scenario=%s: %s\n", currentScenario().c_str(), what.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "ackmq_bench: FAILED scenario=%s: %s\n", currentScenario().c_str(), what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

inline void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

/// Counts must match exactly.
inline void checkCount(std::uint64_t actual, std::uint64_t expected, const std::string& what) {
  if (actual != expected) {
    fail(what + ": got " + std::to_string(actual) + ", expected " + std::to_string(expected));
  }
}

// ------------------------------------------------------------------------------------------ timing

using Steady = std::chrono::steady_clock;

inline double secondsBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline double nanosBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

/// Written once per run with a value that depends on every item processed, so the work cannot be elided.
inline volatile std::uint64_t g_sink = 0;

/// Counts arrivals (messages received, acknowledged, ...) from any thread and wakes one waiter when `target`
/// is reached. The waiter blocks on a condition variable, so it takes no CPU from the threads it waits for.
/// The count has a cache line of its own: a Completion lives on the sending thread's stack, and a count that
/// shared a line with the sender's locals would be taken from the receiving thread at every send.
class Completion {
 public:
  explicit Completion(std::uint64_t target) : target_(target) {}

  void arrive(std::uint64_t k = 1) {
    const std::uint64_t before = count_.fetch_add(k, std::memory_order_acq_rel);
    if (before < target_ && before + k >= target_) {
      std::lock_guard lock(mutex_);
      done_ = true;
      cv_.notify_all();
    }
  }
  /// True once `target` arrivals happened; false when `timeout` passed first.
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  std::uint64_t count() const { return count_.load(std::memory_order_acquire); }
  std::uint64_t target() const { return target_; }

 private:
  const std::uint64_t target_;
  alignas(64) std::atomic<std::uint64_t> count_{0};
  alignas(64) std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
};

// ------------------------------------------------------------------------------------------ statistics

inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
inline double minOf(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}
inline double maxOf(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

/// Nearest-rank percentile (p in (0, 1]) of sorted samples.
inline double percentileSorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

/// Numbers for people and for the RESULT line: integers when large, a few significant digits when small.
inline std::string fmt(double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (a >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (a >= 100) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}
inline std::string fmtRatio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// ------------------------------------------------------------------------------------------ interleaving

/// What one run of one system measured: metric name -> value.
using Sample = std::vector<std::pair<std::string, double>>;

/// A system taking part in a scenario; run(rep) performs one complete, self-checked repetition.
struct Contender {
  std::string name;
  std::function<Sample(int rep)> run;
  // Whether each measured repetition is preceded by an unmeasured one in the same process (see runIsolated).
  bool warmUp = true;
  // A single-threaded contender runs pinned to one CPU, the same one as every other contender of its
  // repetition (see cpuForRepetition).
  bool singleThreaded = false;
};

/// The CPU the single-threaded contenders of repetition `rep` run on: the CPUs this process may use, taken in
/// turn. The virtual CPUs of a shared machine need not be alike (on the one the README's table comes from,
/// memory-bound code ran 1.35-1.6x slower on one of its two), so two single-threaded systems compared on
/// whichever CPUs the scheduler picked would measure the CPUs as much as the systems. -1 when the set of
/// CPUs cannot be read.
inline int cpuForRepetition(int rep) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
  const int count = CPU_COUNT(&allowed);
  if (count == 0) return -1;
  int nth = rep % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed) && nth-- == 0) return cpu;
  }
  return -1;
}

/// Every value of every metric of every system, in repetition order.
class Results {
 public:
  void add(const std::string& system, const std::string& metric, double v) {
    data_[system][metric].push_back(v);
  }
  const std::vector<double>& values(const std::string& system, const std::string& metric) const {
    auto s = data_.find(system);
    if (s == data_.end()) fail("no results for system " + system);
    auto m = s->second.find(metric);
    if (m == s->second.end()) fail("no results for " + system + " metric " + metric);
    return m->second;
  }
  double med(const std::string& system, const std::string& metric) const {
    return median(values(system, metric));
  }
  bool has(const std::string& system) const { return data_.contains(system); }

 private:
  std::map<std::string, std::map<std::string, std::vector<double>>> data_;
};

/// Runs one repetition of one system in a child process of its own and returns what it measured. A fresh
/// process inherits no heap another system grew and faulted in: run in one process, whichever system came
/// second would find pages already mapped and be measured on different terms. Inside the child the system
/// first runs the same repetition once unmeasured (unless the contender opts out), so that each is measured
/// in the steady state of a long-running process (its own heap warmed, its own code and data cached), not
/// at a cold start. A single-threaded contender's child is pinned to cpuForRepetition(rep). The child
/// reports through a pipe; a self-check that fails in the child has already
/// printed its FAILED line, and the parent exits with it.
inline Sample runIsolated(const Contender& c, int rep) {
  const int cpu = c.singleThreaded ? cpuForRepetition(rep) : -1;
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (::pipe(fds) != 0) fail("pipe() failed for " + c.name);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork() failed for " + c.name);
  if (pid == 0) {
    ::close(fds[0]);
    if (cpu >= 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      (void)::sched_setaffinity(0, sizeof one, &one);  // unpinned if refused: still measured, less alike
    }
    if (c.warmUp) (void)c.run(rep);
    const Sample sample = c.run(rep);
    std::string out;
    for (const auto& [metric, v] : sample) {
      char value[64];
      std::snprintf(value, sizeof value, "%.17g", v);
      out += metric + ' ' + value + '\n';
    }
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) std::_Exit(2);
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(0);  // no destructors of the parent's objects run twice
  }
  ::close(fds[1]);
  std::string in;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) std::_Exit(1);  // the child printed why
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("repetition " + std::to_string(rep + 1) + " of " + c.name + " ended abnormally (" +
         (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                              : "status " + std::to_string(WEXITSTATUS(status))) +
         ")");
  }
  Sample sample;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t nl = in.find('\n', pos);
    const std::string line = in.substr(pos, nl - pos);
    pos = nl == std::string::npos ? in.size() : nl + 1;
    const std::size_t sp = line.find(' ');
    if (sp == std::string::npos) fail("unreadable report from " + c.name + ": " + line);
    sample.emplace_back(line.substr(0, sp), std::strtod(line.c_str() + sp + 1, nullptr));
  }
  return sample;
}

/// Runs the contenders interleaved, A B C A B C ..., `opt.reps` times each, so that drift of a shared,
/// noisy machine (other tenants, frequency changes) affects every system alike. Each run is a fresh child
/// process (runIsolated). Prints each run as it completes.
inline Results runInterleaved(const Options& opt, const std::vector<Contender>& contenders) {
  Results results;
  for (int rep = 0; rep < opt.reps; ++rep) {
    for (const Contender& c : contenders) {
      const Sample sample = runIsolated(c, rep);
      std::string line = "  rep " + std::to_string(rep + 1) + "/" + std::to_string(opt.reps) + "  " + c.name;
      line.resize(std::max<std::size_t>(line.size(), 28), ' ');
      for (const auto& [metric, v] : sample) {
        results.add(c.name, metric, v);
        line += "  " + metric + "=" + fmt(v);
      }
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  }
  return results;
}

/// ratio[i] = num[i] / den[i]: repetition i of one system paired with repetition i of the other, which ran
/// next to it in time.
inline std::vector<double> perRepRatios(const Results& r, const std::string& num,
                                        const std::string& numMetric, const std::string& den,
                                        const std::string& denMetric) {
  const auto& a = r.values(num, numMetric);
  const auto& b = r.values(den, denMetric);
  std::vector<double> out;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    out.push_back(a[i] / b[i]);
  return out;
}
inline std::vector<double> perRepRatios(const Results& r, const std::string& num, const std::string& den,
                                        const std::string& metric) {
  return perRepRatios(r, num, metric, den, metric);
}

/// "  ackmq          median 1234567  min 1200000  max 1300000  msgs/s"
inline void printSummary(const Results& r, const std::vector<std::string>& systems, const std::string& metric,
                         const std::string& unit) {
  for (const auto& s : systems) {
    const auto& v = r.values(s, metric);
    std::string name = s;
    name.resize(std::max<std::size_t>(name.size(), 14), ' ');
    std::printf("  %s %-8s median %-12s min %-12s max %-12s %s\n", name.c_str(), metric.c_str(),
                fmt(median(v)).c_str(), fmt(minOf(v)).c_str(), fmt(maxOf(v)).c_str(), unit.c_str());
  }
}

/// "  ackmq/zmq per repetition: 0.51 0.53 ...  median 0.52  (throughput: higher is better)"; returns the
/// median.
inline double printRatios(const std::string& label, const std::vector<double>& ratios,
                          const std::string& how) {
  std::string line = "  " + label + " per repetition:";
  for (double x : ratios)
    line += " " + fmtRatio(x);
  const double m = median(ratios);
  line += "  median " + fmtRatio(m) + "  (" + how + ")";
  std::printf("%s\n", line.c_str());
  return m;
}

inline constexpr const char* kHigherIsBetter = "throughput ratio: higher is better for ackmq";
inline constexpr const char* kLowerIsBetter = "cost ratio: lower is better for ackmq";

/// The one machine-readable line a scenario ends with.
class ResultLine {
 public:
  ResultLine(std::string scenario, std::string metric)
      : text_("RESULT scenario=" + std::move(scenario) + " metric=" + std::move(metric)) {}
  ResultLine& value(const std::string& key, double v) {
    text_ += " " + key + "=" + fmt(v);
    return *this;
  }
  ResultLine& ratio(const std::string& key, double v) {
    text_ += " " + key + "=" + fmtRatio(v);
    return *this;
  }
  void print() const {
    std::printf("%s\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string text_;
};

/// A peer that was not found at configure time.
inline void notice(const std::string& what) {
  std::printf("NOTICE: %s\n", what.c_str());
  std::fflush(stdout);
}

inline void heading(const std::string& scenario, const std::string& description) {
  currentScenario() = scenario;
  std::printf("\n=== %s: %s\n", scenario.c_str(), description.c_str());
  std::fflush(stdout);
}

}  // namespace bench
