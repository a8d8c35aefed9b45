#pragma once
// ackmq internals: what a subscription lets through, applied by the broker to each stored record before it
// is handed out (RocketMQ's broker-side MessageFilter): a tag expression ("*", "TagA || TagB"), or a SQL92
// expression over the message's properties (RocketMQ ExpressionMessageFilter). A record a filter rejects
// is passed over, as consumed, and never delivered.

#include <cstddef>
#include <cstring>
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
    f.sql_ = Compiled(sql::compile(expression));
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
        return sql_.matches(h);
      case Kind::RETRY: {
        const std::optional<std::string_view> original =
            findProperty(h.encodedProperties(), MessageConst::PROPERTY_RETRY_TOPIC);
        if (!original) return true;
        for (const auto& [topic, expression] : byOriginalTopic_) {
          if (topic == *original) return expression.matches(h);
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
        return "SQL92 \"" + sql_.text() + "\"";
      case Kind::RETRY:
        break;
    }
    std::string s = "retry of {";
    for (const auto& [topic, expression] : byOriginalTopic_) {
      if (s.size() > 10) s += ", ";
      s += topic + ": SQL92 \"" + expression.text() + "\"";
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
        return a.sql_.text() == b.sql_.text();
      case Kind::RETRY:
        break;
    }
    if (a.byOriginalTopic_.size() != b.byOriginalTopic_.size()) return false;
    for (std::size_t i = 0; i < a.byOriginalTopic_.size(); ++i) {
      if (a.byOriginalTopic_[i].first != b.byOriginalTopic_[i].first ||
          a.byOriginalTopic_[i].second.text() != b.byOriginalTopic_[i].second.text())
        return false;
    }
    return true;
  }

 private:
  enum class Kind : std::uint8_t { TAG, SQL, RETRY };

  /// A compiled SQL92 expression and where its TAGS slot is, shared by copies of the filter.
  class Compiled {
   public:
    Compiled() = default;
    explicit Compiled(std::shared_ptr<const sql::Expression> e) : e_(std::move(e)) {
      for (const std::string& name : e_->names()) {
        if (name == MessageConst::PROPERTY_TAGS) {
          tagsSlot_ = static_cast<int>(names_.size());
          names_.push_back({});  // never equal to a stored name: the tag is not a stored property
        } else {
          names_.push_back(name);
        }
      }
    }
    const std::string& text() const noexcept { return e_->text(); }

    /// The record's properties as RocketMQ's broker sees them: every stored property, and TAGS for the tag
    /// (absent when the message has none). One pass over the encoded properties fills every slot the
    /// expression reads, stopping once all are found.
    bool matches(const RecordHeader& h) const noexcept {
      const std::size_t wanted = names_.size();
      sql::PropertySlots slots;
      if (tagsSlot_ >= 0 && h.tagsSize != 0) slots.set(static_cast<std::size_t>(tagsSlot_), h.tags());
      const std::string_view encoded = h.encodedProperties();
      const char* p = encoded.data();
      const char* end = p + encoded.size();
      const std::string_view* names = names_.data();
      while (p + 2 <= end && !slots.full(wanted)) {
        const std::string_view name(p + 2, readU16(p));
        p += 2 + name.size();
        const std::string_view value(p + 2, readU16(p));
        p += 2 + value.size();
        for (std::size_t i = 0; i < wanted; ++i) {
          if (names[i].size() == name.size() && !names[i].empty() && !slots.has(i) &&
              sameBytes(names[i], name)) {
            slots.set(i, value);
            break;
          }
        }
      }
      return e_->matches(slots);
    }

   private:
    std::shared_ptr<const sql::Expression> e_;
    std::vector<std::string_view> names_;  // e_->names() by slot, views of e_'s strings; TAGS's is empty
    int tagsSlot_ = -1;  // the slot of TAGS, which is the record's tag rather than a stored property
  };

  Kind kind_ = Kind::TAG;
  TagFilter tags_;                                                 // TAG
  Compiled sql_;                                                   // SQL
  std::vector<std::pair<std::string, Compiled>> byOriginalTopic_;  // RETRY
};

}  // namespace ackmq::detail
