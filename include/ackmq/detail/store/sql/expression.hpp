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

/// A compiled filter. Thread safety: immutable; evaluate() may run on many threads at once.
class Expression {
 public:
  using Index = std::uint32_t;

  struct Node {
    Op op = Op::CONSTANT;
    Index left = 0;
    Index right = 0;
    Value value;                     // CONSTANT (a STRING constant's text is `text`)
    std::string text;                // a PROPERTY's name, a STRING constant, a CONTAINS needle
    std::vector<std::string> items;  // IN: sorted, unique
  };

  /// True when the expression is TRUE for a message whose property `name` is `properties(name)`
  /// (a std::optional<std::string_view>, empty when the message lacks it). Never throws, never allocates.
  template <class Properties>
  bool matches(const Properties& properties) const noexcept {
    const Outcome o = evaluate(root_, properties);
    return o && o->isTrue();
  }

  /// The expression as the subscriber wrote it.
  const std::string& text() const noexcept { return text_; }

  // Building (the parser's side).
  Index add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<Index>(nodes_.size() - 1);
  }
  Node& node(Index i) noexcept { return nodes_[i]; }
  const Node& node(Index i) const noexcept { return nodes_[i]; }
  void finish(Index root, std::string text) {
    root_ = root;
    text_ = std::move(text);
  }

 private:
  template <class Properties>
  Outcome evaluate(Index i, const Properties& properties) const noexcept {
    const Node& n = nodes_[i];
    switch (n.op) {
      case Op::CONSTANT:
        return n.value.type == Type::STRING ? Value::ofString(n.text) : n.value;
      case Op::PROPERTY: {
        const std::optional<std::string_view> v = properties(std::string_view(n.text));
        return v ? Value::ofString(*v) : Value::null();
      }
      case Op::NEGATE: {
        const Outcome v = evaluate(n.left, properties);
        if (!v) return v;
        return Value::null();
      }
      case Op::NOT: {
        const Outcome v = evaluate(n.left, properties);
        if (!v || v->type != Type::BOOLEAN) return v;
        return Value::of(!v->boolean);
      }
      case Op::BOOLEAN_CAST: {
        const Outcome v = evaluate(n.left, properties);
        if (!v || v->isNull() || v->type == Type::BOOLEAN) return v;
        return Value::of(false);
      }
      case Op::AND:
      case Op::OR: {
        // LogicExpression: the right side is not evaluated once the left decides.
        const bool decisive = n.op == Op::OR;
        const Outcome l = evaluate(n.left, properties);
        if (!l) return l;
        if (l->type == Type::BOOLEAN && l->boolean == decisive) return Value::of(decisive);
        const Outcome r = evaluate(n.right, properties);
        if (!r) return r;
        if (r->type == Type::BOOLEAN && r->boolean == decisive) return Value::of(decisive);
        if (l->isNull() || r->isNull()) return Value::null();
        return Value::of(!decisive);
      }
      case Op::EQUAL: {
        const Outcome l = evaluate(n.left, properties);
        if (!l) return l;
        const Outcome r = evaluate(n.right, properties);
        if (!r) return r;
        // RocketMQ doCreateEqual: NULL on the left gives NULL, NULL on the right alone FALSE, both TRUE.
        if (l->isNull() != r->isNull()) return l->isNull() ? Value::null() : Value::of(false);
        if (l->isNull()) return Value::of(true);
        const std::optional<int> c = compareValues(*l, *r);
        if (!c) return std::nullopt;
        return Value::of(*c == 0);
      }
      case Op::GREATER:
      case Op::GREATER_EQUAL:
      case Op::LESS:
      case Op::LESS_EQUAL: {
        const Outcome l = evaluate(n.left, properties);
        if (!l || l->isNull()) return l;
        const Outcome r = evaluate(n.right, properties);
        if (!r || r->isNull()) return r;
        std::optional<int> c;
        if (l->type == Type::STRING && r->type == Type::STRING) {
          // Two Strings (two properties) compare as doubles, or throw.
          const std::optional<double> a = parseJavaDouble(l->string);
          const std::optional<double> b = parseJavaDouble(r->string);
          if (!a || !b) return std::nullopt;
          c = compareDoubles(*a, *b);
        } else {
          c = compareValues(*l, *r);
        }
        if (!c) return std::nullopt;
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
        const Outcome v = evaluate(n.left, properties);
        if (!v || v->isNull()) return v;
        if (v->type != Type::STRING) return Value::null();
        const bool found = std::binary_search(n.items.begin(), n.items.end(), v->string,
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
        const Outcome v = evaluate(n.left, properties);
        if (!v) return v;
        if (v->type != Type::STRING || n.text.empty()) return Value::of(false);
        const std::string_view s = v->string;
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
  Index root_ = 0;
  std::string text_;
};

}  // namespace ackmq::detail::sql
