#pragma once
// ackmq internals: subscription expressions ("*", "TagA || TagB"), parsed as RocketMQ FilterAPI does, and
// matched exactly: RocketMQ matches hash codes on the broker and drops collisions silently on the client;
// here a tag matches only an equal tag, so nothing is lost to a collision.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Thread safety: immutable after parse(); thread-safe.
class TagFilter {
 public:
  /// Everything.
  TagFilter() = default;

  /// "*" or "" subscribe to every message; otherwise tags separated by "||", each trimmed (RocketMQ
  /// FilterAPI.buildSubscriptionData). A message without a tag matches only "*". Throws MQClientException
  /// (SUBSCRIPTION_PARSE_FAILED) for an expression that names no tag.
  static TagFilter parse(std::string_view expression) {
    TagFilter f;
    const std::string_view trimmed = trim(expression);
    if (trimmed.empty() || trimmed == "*") return f;
    f.all_ = false;
    std::size_t start = 0;
    while (start <= expression.size()) {
      const std::size_t bar = expression.find("||", start);
      const std::string_view tag =
          trim(expression.substr(start, bar == std::string_view::npos ? bar : bar - start));
      if (!tag.empty()) f.tags_.emplace_back(tag);
      if (bar == std::string_view::npos) break;
      start = bar + 2;
    }
    if (f.tags_.empty()) {
      throw MQClientException(ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                              "subscription expression \"" + std::string(expression) +
                                  "\" names no tag; use \"*\" or \"TagA || TagB\"");
    }
    std::sort(f.tags_.begin(), f.tags_.end());
    f.tags_.erase(std::unique(f.tags_.begin(), f.tags_.end()), f.tags_.end());
    return f;
  }

  bool matchesAll() const noexcept { return all_; }
  bool matches(std::string_view tag) const noexcept {
    if (all_) return true;
    if (tag.empty()) return false;
    for (const auto& t : tags_) {
      if (t == tag) return true;
    }
    return false;
  }

  /// A canonical spelling: "*", or the tags sorted and joined by " || ". Equal filters print the same, and
  /// a spelling parses back to its filter: a list of the literal tag "*" alone prints "*||".
  std::string toString() const {
    if (all_) return "*";
    if (tags_.size() == 1 && tags_.front() == "*") return "*||";
    std::string s;
    for (const auto& t : tags_) {
      if (!s.empty()) s += " || ";
      s += t;
    }
    return s;
  }

  friend bool operator==(const TagFilter& a, const TagFilter& b) {
    return a.all_ == b.all_ && a.tags_ == b.tags_;
  }

 private:
  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
      s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
      s.remove_suffix(1);
    return s;
  }

  bool all_ = true;
  std::vector<std::string> tags_;  // sorted, unique
};

}  // namespace ackmq::detail
