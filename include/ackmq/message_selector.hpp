#pragma once
// ackmq: MessageSelector, what a consumer subscribes with: a tag expression or a SQL92 expression over the
// message's properties (RocketMQ MessageSelector).

#include <string>
#include <string_view>
#include <utility>

namespace ackmq {

/// The language of a selector's expression (RocketMQ ExpressionType).
enum class ExpressionType {
  /// "*", or tags separated by "||": "TagA || TagB".
  TAG,
  /// A SQL92 condition over the message's properties: "region = 'eu' AND amount > 100".
  SQL92,
};

constexpr std::string_view nameOf(ExpressionType t) noexcept {
  return t == ExpressionType::TAG ? "TAG" : "SQL92";
}

/// A subscription's expression and its language. Only records them: the consumer's subscribe() checks and
/// compiles the expression.
///
///   consumer.subscribe("Orders", ackmq::MessageSelector::bySql("region = 'eu' AND amount > 100"));
///
/// Thread safety: a regular value type (thread-compatible).
class MessageSelector {
 public:
  /// A SQL92 expression (the broker's enablePropertyFilter must be on, as it is by default).
  static MessageSelector bySql(std::string sql) {
    return MessageSelector(ExpressionType::SQL92, std::move(sql));
  }
  /// A tag expression: "*" or "" for everything, "TagA || TagB" for those tags.
  static MessageSelector byTag(std::string tag) {
    return MessageSelector(ExpressionType::TAG, std::move(tag));
  }

  ExpressionType getExpressionType() const noexcept { return type_; }
  const std::string& getExpression() const noexcept { return expression_; }

  friend bool operator==(const MessageSelector&, const MessageSelector&) = default;

 private:
  MessageSelector(ExpressionType type, std::string expression)
      : type_(type), expression_(std::move(expression)) {}

  ExpressionType type_;
  std::string expression_;
};

}  // namespace ackmq
