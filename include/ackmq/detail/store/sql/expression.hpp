#pragma once
// ackmq internals: a compiled SQL92 filter, a tree of nodes in one vector, evaluated per message over its
// properties without allocating. Built by sql::compile (parser.hpp); immutable afterwards.
//
// The evaluation is RocketMQ's (filter/expression: ComparisonExpression, LogicExpression, UnaryExpression,
// UnaryInExpression): three-valued logic where a missing property is NULL, any comparison with NULL is
// NULL, NOT NULL is NULL, AND is FALSE if either side is, OR is TRUE if either side is; and a message
// matches only when the whole expression is TRUE. Where RocketMQ throws during an evaluation (a property
// that does not parse to a literal's type), the message does not match.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/store/sql/value.hpp>

namespace ackmq::detail::sql {

enum class Op : std::uint8_t {
  CONSTANT,
  PROPERTY,
  NEGATE,        // unary minus of something that is not a number (a number's is folded): NULL
  NOT,           // of a boolean
  BOOLEAN_CAST,  // a bare property where a boolean is expected: FALSE for every String, NULL when missing
  AND,
  OR,
  EQUAL,  // also IS NULL (against the NULL constant); <> is NOT of it
  GREATER,
  GREATER_EQUAL,
  LESS,
  LESS_EQUAL,
  IN,
  NOT_IN,
  CONTAINS,
  NOT_CONTAINS,
  STARTS_WITH,
  NOT_STARTS_WITH,
  ENDS_WITH,
  NOT_ENDS_WITH,
};

/// The values of the properties an expression names, for one message: slot i holds the value of
/// Expression::names()[i], when the message has it. Filled before an evaluation; nothing is initialised
/// but the presence bits.
class PropertySlots {
 public:
  static constexpr std::size_t kMax = 64;

  void set(std::size_t i, std::string_view value) noexcept {
    data_[i] = value.data();
    size_[i] = value.size();
    present_ |= std::uint64_t{1} << i;
  }
  bool has(std::size_t i) const noexcept { return (present_ >> i) & 1u; }
  std::string_view get(std::size_t i) const noexcept { return {data_[i], size_[i]}; }
  /// True once every one of the first `n` slots is set.
  bool full(std::size_t n) const noexcept {
    return n == kMax ? present_ == ~std::uint64_t{0} : present_ == (std::uint64_t{1} << n) - 1;
  }

 private:
  std::uint64_t present_ = 0;
  const char* data_[kMax];
  std::size_t size_[kMax];
};

/// A compiled filter. Thread safety: immutable; evaluation may run on many threads at once.
class Expression {
 public:
  using Index = std::uint32_t;

  struct Node {
    Op op = Op::CONSTANT;
    Index left = 0;
    Index right = 0;
    std::uint32_t slot = 0;          // PROPERTY: its index in names()
    Value value;                     // CONSTANT (a STRING constant's text is `text`)
    std::string text;                // a PROPERTY's name, a STRING constant, a CONTAINS needle
    std::vector<std::string> items;  // IN: sorted, unique
  };

  /// True when the expression is TRUE for a message whose property `name` is `properties(name)` (a
  /// std::optional<std::string_view>, empty when the message lacks it), asked once per name. Never throws,
  /// never allocates.
  template <class Properties>
  bool matches(const Properties& properties) const noexcept {
    PropertySlots slots;
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (const std::optional<std::string_view> v = properties(std::string_view(names_[i]))) slots.set(i, *v);
    }
    return matches(slots);
  }
  /// True when the expression is TRUE for a message whose properties are in `slots`.
  bool matches(const PropertySlots& slots) const noexcept { return operand(root_, slots).isTrue(); }

  /// The distinct property names the expression reads, in slot order (at most PropertySlots::kMax).
  const std::vector<std::string>& names() const noexcept { return names_; }
  /// The expression as the subscriber wrote it.
  const std::string& text() const noexcept { return text_; }

  // Building (the parser's side).
  Index add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<Index>(nodes_.size() - 1);
  }
  Node& node(Index i) noexcept { return nodes_[i]; }
  const Node& node(Index i) const noexcept { return nodes_[i]; }
  /// The slot of property `name`, a new one if the name is new; false when there are kMax already.
  bool slotFor(Node& property) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == property.text) {
        property.slot = static_cast<std::uint32_t>(i);
        return true;
      }
    }
    if (names_.size() == PropertySlots::kMax) return false;
    property.slot = static_cast<std::uint32_t>(names_.size());
    names_.push_back(property.text);
    return true;
  }
  void finish(Index root, std::string text) {
    root_ = root;
    text_ = std::move(text);
  }

 private:
  /// A leaf's value in place, anything else by a recursive evaluate: most operands are a property or a
  /// literal, and this saves a call for each.
  Value operand(Index i, const PropertySlots& slots) const noexcept {
    const Node& n = nodes_[i];
    if (n.op == Op::PROPERTY) return slots.has(n.slot) ? Value::ofString(slots.get(n.slot)) : Value::null();
    if (n.op == Op::CONSTANT) return n.value.type == Type::STRING ? Value::ofString(n.text) : n.value;
    return evaluate(n, slots);
  }

  Value evaluate(const Node& n, const PropertySlots& slots) const noexcept {
    switch (n.op) {
      case Op::CONSTANT:
      case Op::PROPERTY:
        break;  // operand() answers these
      case Op::NEGATE: {
        const Value v = operand(n.left, slots);
        return v.isError() ? v : Value::null();
      }
      case Op::NOT: {
        const Value v = operand(n.left, slots);
        return v.type == Type::BOOLEAN ? Value::of(!v.boolean) : v;
      }
      case Op::BOOLEAN_CAST: {
        const Value v = operand(n.left, slots);
        if (v.isError() || v.isNull() || v.type == Type::BOOLEAN) return v;
        return Value::of(false);
      }
      case Op::AND:
      case Op::OR: {
        // LogicExpression: the right side is not evaluated once the left decides.
        const bool decisive = n.op == Op::OR;
        const Value l = operand(n.left, slots);
        if (l.isError()) return l;
        if (l.type == Type::BOOLEAN && l.boolean == decisive) return l;
        const Value r = operand(n.right, slots);
        if (r.isError()) return r;
        if (r.type == Type::BOOLEAN && r.boolean == decisive) return r;
        if (l.isNull() || r.isNull()) return Value::null();
        return Value::of(!decisive);
      }
      case Op::EQUAL: {
        const Value l = operand(n.left, slots);
        if (l.isError()) return l;
        const Value r = operand(n.right, slots);
        if (r.isError()) return r;
        // RocketMQ doCreateEqual: NULL on the left gives NULL, NULL on the right alone FALSE, both TRUE.
        if (l.isNull() != r.isNull()) return l.isNull() ? Value::null() : Value::of(false);
        if (l.isNull()) return Value::of(true);
        if (l.type == Type::STRING && r.type == Type::STRING) return Value::of(sameBytes(l.string, r.string));
        const std::optional<int> c = compareValues(l, r);
        return c ? Value::of(*c == 0) : Value::error();
      }
      case Op::GREATER:
      case Op::GREATER_EQUAL:
      case Op::LESS:
      case Op::LESS_EQUAL: {
        const Value l = operand(n.left, slots);
        if (l.isError() || l.isNull()) return l;
        const Value r = operand(n.right, slots);
        if (r.isError() || r.isNull()) return r;
        std::optional<int> c;
        if (l.type == Type::STRING && r.type == Type::STRING) {
          // Two Strings (two properties) compare as doubles, or throw.
          const std::optional<double> a = parseJavaDouble(l.string);
          const std::optional<double> b = parseJavaDouble(r.string);
          if (!a || !b) return Value::error();
          c = compareDoubles(*a, *b);
        } else {
          c = compareValues(l, r);
        }
        if (!c) return Value::error();
        switch (n.op) {
          case Op::GREATER:
            return Value::of(*c > 0);
          case Op::GREATER_EQUAL:
            return Value::of(*c >= 0);
          case Op::LESS:
            return Value::of(*c < 0);
          default:
            return Value::of(*c <= 0);
        }
      }
      case Op::IN:
      case Op::NOT_IN: {
        const Value v = operand(n.left, slots);
        if (v.isError() || v.isNull()) return v;
        if (v.type != Type::STRING) return Value::null();
        const bool found = std::binary_search(n.items.begin(), n.items.end(), v.string,
                                              [](std::string_view a, std::string_view b) { return a < b; });
        return Value::of(found != (n.op == Op::NOT_IN));
      }
      case Op::CONTAINS:
      case Op::NOT_CONTAINS:
      case Op::STARTS_WITH:
      case Op::NOT_STARTS_WITH:
      case Op::ENDS_WITH:
      case Op::NOT_ENDS_WITH: {
        // RocketMQ 5: a missing property or an empty needle is FALSE, with NOT too.
        const Value v = operand(n.left, slots);
        if (v.isError()) return v;
        if (v.type != Type::STRING || n.text.empty()) return Value::of(false);
        const std::string_view s = v.string;
        bool hit = false;
        bool negated = false;
        switch (n.op) {
          case Op::CONTAINS:
          case Op::NOT_CONTAINS:
            hit = s.find(n.text) != std::string_view::npos;
            negated = n.op == Op::NOT_CONTAINS;
            break;
          case Op::STARTS_WITH:
          case Op::NOT_STARTS_WITH:
            hit = s.starts_with(n.text);
            negated = n.op == Op::NOT_STARTS_WITH;
            break;
          default:
            hit = s.ends_with(n.text);
            negated = n.op == Op::NOT_ENDS_WITH;
            break;
        }
        return Value::of(hit != negated);
      }
    }
    return Value::null();
  }

  std::vector<Node> nodes_;
  std::vector<std::string> names_;  // the properties read, by slot
  Index root_ = 0;
  std::string text_;
};

}  // namespace ackmq::detail::sql
