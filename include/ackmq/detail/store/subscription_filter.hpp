#pragma once
// ackmq internals: what a subscription lets through, applied by the broker to each stored record before it
// is handed out (RocketMQ's broker-side MessageFilter): a tag expression ("*", "TagA || TagB"), or a SQL92
// expression over the message's properties (RocketMQ ExpressionMessageFilter). A record a filter rejects
// is passed over, as consumed, and never delivered.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/store/record.hpp>
#include <ackmq/detail/store/sql/expression.hpp>
#include <ackmq/detail/store/sql/parser.hpp>
#include <ackmq/detail/store/tag_filter.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

/// Thread safety: immutable after construction; matches() is thread-safe. Copies share the compiled SQL.
class SubscriptionFilter {
 public:
  /// Everything.
  SubscriptionFilter() = default;

  /// A tag expression, as TagFilter::parse.
  static SubscriptionFilter byTag(std::string_view expression) {
    SubscriptionFilter f;
    f.tags_ = TagFilter::parse(expression);
    return f;
  }
  /// A SQL92 expression, compiled now. Throws MQClientException (SUBSCRIPTION_PARSE_FAILED) naming the
  /// position and what was expected.
  static SubscriptionFilter bySql(std::string_view expression) {
    SubscriptionFilter f;
    f.kind_ = Kind::SQL;
    f.sql_ = sql::compile(expression);
    return f;
  }
  /// The filter of a group's %RETRY% topic: a retry copy is matched by the SQL of the topic it was first
  /// sent to (RocketMQ ExpressionForRetryMessageFilter reads PROPERTY_RETRY_TOPIC); copies of a topic
  /// subscribed by tag pass, as the retry topic's "*" subscription lets them.
  static SubscriptionFilter forRetryTopic(const std::map<std::string, SubscriptionFilter>& subscriptions) {
    SubscriptionFilter f;
    for (const auto& [topic, filter] : subscriptions) {
      if (filter.isSql()) f.byOriginalTopic_.emplace_back(topic, filter.sql_);
    }
    if (!f.byOriginalTopic_.empty()) f.kind_ = Kind::RETRY;
    return f;
  }

  bool isSql() const noexcept { return kind_ == Kind::SQL; }
  bool matchesAll() const noexcept { return kind_ == Kind::TAG && tags_.matchesAll(); }

  /// True when the record passes. Never throws; allocates nothing.
  bool matches(const RecordHeader& h) const noexcept {
    switch (kind_) {
      case Kind::TAG:
        return tags_.matches(h.tags());
      case Kind::SQL:
        return matchesSql(*sql_, h);
      case Kind::RETRY: {
        const std::optional<std::string_view> original =
            findProperty(h.encodedProperties(), MessageConst::PROPERTY_RETRY_TOPIC);
        if (!original) return true;
        for (const auto& [topic, expression] : byOriginalTopic_) {
          if (topic == *original) return matchesSql(*expression, h);
        }
        return true;
      }
    }
    return true;
  }

  /// A spelling for messages: the canonical tag expression, or SQL92 "<expression as written>".
  std::string toString() const {
    switch (kind_) {
      case Kind::TAG:
        return tags_.toString();
      case Kind::SQL:
        return "SQL92 \"" + sql_->text() + "\"";
      case Kind::RETRY:
        break;
    }
    std::string s = "retry of {";
    for (const auto& [topic, expression] : byOriginalTopic_) {
      if (s.size() > 10) s += ", ";
      s += topic + ": SQL92 \"" + expression->text() + "\"";
    }
    return s + "}";
  }

  /// Equal kinds with equal expressions (SQL as written: RocketMQ compares the subscription strings).
  friend bool operator==(const SubscriptionFilter& a, const SubscriptionFilter& b) {
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
      case Kind::TAG:
        return a.tags_ == b.tags_;
      case Kind::SQL:
        return a.sql_->text() == b.sql_->text();
      case Kind::RETRY:
        break;
    }
    if (a.byOriginalTopic_.size() != b.byOriginalTopic_.size()) return false;
    for (std::size_t i = 0; i < a.byOriginalTopic_.size(); ++i) {
      if (a.byOriginalTopic_[i].first != b.byOriginalTopic_[i].first ||
          a.byOriginalTopic_[i].second->text() != b.byOriginalTopic_[i].second->text())
        return false;
    }
    return true;
  }

 private:
  enum class Kind : std::uint8_t { TAG, SQL, RETRY };

  /// The record's properties as RocketMQ's broker sees them: every stored property, and TAGS for the tag
  /// (absent when the message has none).
  static bool matchesSql(const sql::Expression& e, const RecordHeader& h) noexcept {
    return e.matches([&h](std::string_view name) -> std::optional<std::string_view> {
      if (isName(name, MessageConst::PROPERTY_TAGS)) {
        if (h.tagsSize == 0) return std::nullopt;
        return h.tags();
      }
      return findProperty(h.encodedProperties(), name);
    });
  }

  Kind kind_ = Kind::TAG;
  TagFilter tags_;                                                                               // TAG
  std::shared_ptr<const sql::Expression> sql_;                                                   // SQL
  std::vector<std::pair<std::string, std::shared_ptr<const sql::Expression>>> byOriginalTopic_;  // RETRY
};

}  // namespace ackmq::detail
