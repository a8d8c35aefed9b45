#pragma once
// ackmq internals: compiles a SQL92 filter into an Expression, with RocketMQ's grammar (SelectorParser.jj)
// and the expressions RocketMQ refuses (ComparisonExpression.checkLessThanOperand, checkEqualOperand,
// createBetween, createInFilter; ConstantExpression.createFromDecimal, createFloat).
//
//   expression := or
//   or         := and (OR and)*
//   and        := equality (AND equality)*
//   equality   := comparison ('=' comparison | '<>' comparison | IS NULL | IS NOT NULL)*
//   comparison := unary ('>' unary | '>=' unary | '<' unary | '<=' unary
//                        | [NOT] BETWEEN unary AND unary | [NOT] IN '(' string (',' string)* ')'
//                        | [NOT] CONTAINS string | [NOT] STARTSWITH string | [NOT] ENDSWITH string)*
//   unary      := '+' unary | '-' unary | NOT unary | primary
//   primary    := literal | property | '(' or ')'
//
// So NOT binds tighter than a comparison: "NOT a = 1" is "(NOT a) = 1", never true; write "NOT (a = 1)".
// One difference: RocketMQ's parser stops after the first complete expression and ignores what follows
// ("a = 1 b = 2" is "a = 1"); here anything after the expression is refused, so that a typo cannot
// silently widen a subscription.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/store/sql/expression.hpp>
#include <ackmq/detail/store/sql/lexer.hpp>
#include <ackmq/detail/store/sql/value.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail::sql {

/// Compiles `text`. Throws MQClientException (SUBSCRIPTION_PARSE_FAILED) naming the line and column, what
/// was expected and what was found, or the rule a well-formed expression breaks.
std::shared_ptr<const Expression> compile(std::string_view text);

/// The recursive-descent parser behind compile(). Thread safety: distinct objects only.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), lexer_(text) { advance(); }

  std::shared_ptr<const Expression> parse() {
    auto e = std::make_shared<Expression>();
    expr_ = e.get();
    const Token first = token_;
    if (first.kind == TokenKind::END)
      fail(first.offset, "the expression is empty; write a condition such as a > 5");
    const Parsed root = asBoolean(orExpression(), first.offset);
    if (token_.kind != TokenKind::END) {
      fail(token_.offset,
           "expected AND, OR, a comparison or the end of the expression, found " + describe(token_));
    }
    e->finish(root.index, std::string(text_));
    return e;
  }

 private:
  // What RocketMQ's checks need to know of a sub-expression: ConstantExpression or not, BooleanExpression or
  // not, PropertyExpression or not.
  enum class Shape : std::uint8_t {
    LITERAL,          // a string or number literal
    BOOLEAN_LITERAL,  // TRUE, FALSE, NULL
    PROPERTY,
    BOOLEAN,  // a comparison, AND, OR, NOT, IN, ...
    VALUE,    // anything else: a negation
  };
  struct Parsed {
    Expression::Index index = 0;
    Shape shape = Shape::VALUE;
  };
  static constexpr int kMaxDepth = 128;           // parentheses and unary operators, for the parser's stack
  static constexpr std::size_t kMaxHeight = 512;  // operators on the way to a leaf, for the evaluation's

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string where = line == 1 ? "at column " + std::to_string(column)
                                  : "at line " + std::to_string(line) + ", column " + std::to_string(column);
    const std::string shown = printable(text_, 200);
    throw MQClientException(ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                            "SQL92 expression \"" + shown + "\" is invalid " + where + ": " + what);
  }

  void advance() {
    token_ = lexer_.next();
    if (token_.kind == TokenKind::INVALID) fail(token_.offset, lexer_.error());
  }
  bool accept(TokenKind k) {
    if (token_.kind != k) return false;
    advance();
    return true;
  }
  void expect(TokenKind k, std::string_view what) {
    if (token_.kind != k)
      fail(token_.offset, "expected " + std::string(what) + ", found " + describe(token_));
    advance();
  }
  /// The token after the current one, without consuming anything (RocketMQ's LOOKAHEAD(2)).
  TokenKind peek() const {
    Lexer copy = lexer_;
    return copy.next().kind;
  }

  Parsed make(Expression::Node n, Shape shape) {
    // The evaluation recurses once per level: a bound keeps it well inside any thread's stack.
    std::size_t height = 1;
    if (n.op != Op::CONSTANT && n.op != Op::PROPERTY) height += heights_[n.left];
    if (n.op == Op::AND || n.op == Op::OR || n.op == Op::EQUAL || n.op == Op::GREATER ||
        n.op == Op::GREATER_EQUAL || n.op == Op::LESS || n.op == Op::LESS_EQUAL) {
      height = std::max(height, 1 + heights_[n.right]);
    }
    if (height > kMaxHeight) {
      fail(token_.offset, "the expression is too long or nests too deeply (more than " +
                              std::to_string(kMaxHeight) + " levels of operators)");
    }
    heights_.push_back(height);
    return {expr_->add(std::move(n)), shape};
  }
  Parsed binary(Op op, Parsed l, Parsed r) {
    Expression::Node n;
    n.op = op;
    n.left = l.index;
    n.right = r.index;
    return make(std::move(n), Shape::BOOLEAN);
  }
  Parsed unary(Op op, Parsed operand) {
    Expression::Node n;
    n.op = op;
    n.left = operand.index;
    return make(std::move(n), Shape::BOOLEAN);
  }
  const Value& constant(Parsed p) const { return expr_->node(p.index).value; }
  bool isConstant(Parsed p) const { return p.shape == Shape::LITERAL || p.shape == Shape::BOOLEAN_LITERAL; }
  std::string spelling(Parsed p) const {
    const Value& v = constant(p);
    if (v.type == Type::STRING) return "'" + expr_->node(p.index).text + "'";
    if (v.type == Type::NUL) return "NULL";
    if (v.type == Type::BOOLEAN) return v.boolean ? "TRUE" : "FALSE";
    return "the literal";
  }

  /// RocketMQ SelectorParser.asBooleanExpression: booleans as they are, a property cast to boolean.
  Parsed asBoolean(Parsed p, std::size_t offset) {
    if (p.shape == Shape::BOOLEAN || p.shape == Shape::BOOLEAN_LITERAL) return p;
    if (p.shape == Shape::PROPERTY) return unary(Op::BOOLEAN_CAST, p);
    fail(offset,
         "this operand is not a condition: a literal or a negation cannot stand where TRUE or FALSE "
         "is needed (compare it: a = 5)");
  }
  /// RocketMQ checkLessThanOperand: >, >=, <, <= and BETWEEN take numbers and properties only.
  void checkOrderable(Parsed p, std::size_t offset, std::string_view op) const {
    const bool number = p.shape == Shape::LITERAL && constant(p).isNumber();
    if (p.shape == Shape::LITERAL && !number) {
      fail(offset, std::string(op) + " cannot compare the string literal " + spelling(p) +
                       "; >, >=, <, <= and BETWEEN take numbers (use = or IN for strings)");
    }
    if (p.shape == Shape::BOOLEAN_LITERAL || p.shape == Shape::BOOLEAN) {
      fail(offset, std::string(op) +
                       " cannot compare a condition or TRUE, FALSE or NULL; it takes numbers "
                       "and properties (NOT binds tighter than a comparison: write NOT (a > 1))");
    }
  }
  /// RocketMQ checkEqualOperand and checkEqualOperandCompatability.
  void checkEquatable(Parsed l, Parsed r, std::size_t offset, std::string_view op) const {
    for (Parsed p : {l, r}) {
      if (isConstant(p) && constant(p).isNull()) {
        fail(offset, std::string(op) + " cannot compare with NULL; use IS NULL or IS NOT NULL");
      }
    }
    if (l.shape == Shape::BOOLEAN_LITERAL && r.shape == Shape::LITERAL) {
      fail(offset, spelling(l) + " cannot be compared with a string or number literal");
    }
  }

  Parsed orExpression() {
    const std::size_t at = token_.offset;
    Parsed left = andExpression();
    while (accept(TokenKind::OR)) {
      const std::size_t rightAt = token_.offset;
      Parsed right = andExpression();
      left = binary(Op::OR, asBoolean(left, at), asBoolean(right, rightAt));
    }
    return left;
  }

  Parsed andExpression() {
    const std::size_t at = token_.offset;
    Parsed left = equalityExpression();
    while (token_.kind == TokenKind::AND) {
      advance();
      const std::size_t rightAt = token_.offset;
      Parsed right = equalityExpression();
      left = binary(Op::AND, asBoolean(left, at), asBoolean(right, rightAt));
    }
    return left;
  }

  Parsed nullConstant() {
    Expression::Node n;
    n.op = Op::CONSTANT;
    return make(std::move(n), Shape::BOOLEAN_LITERAL);
  }

  Parsed equalityExpression() {
    Parsed left = comparisonExpression();
    for (;;) {
      const std::size_t op = token_.offset;
      if (accept(TokenKind::EQUAL)) {
        Parsed right = comparisonExpression();
        checkEquatable(left, right, op, "=");
        left = binary(Op::EQUAL, left, right);
      } else if (accept(TokenKind::NOT_EQUAL)) {
        Parsed right = comparisonExpression();
        checkEquatable(left, right, op, "<>");
        left = unary(Op::NOT, binary(Op::EQUAL, left, right));
      } else if (accept(TokenKind::IS)) {
        const bool negated = accept(TokenKind::NOT);
        expect(TokenKind::NUL, negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
        const Parsed isNull = binary(Op::EQUAL, left, nullConstant());
        left = negated ? unary(Op::NOT, isNull) : isNull;
      } else {
        return left;
      }
    }
  }

  /// A string literal, or a failure saying "expected a string literal ('...') <where>, found ...".
  std::string stringLiteral(std::string_view where) {
    if (token_.kind != TokenKind::STRING) {
      fail(token_.offset,
           "expected a string literal ('...') " + std::string(where) + ", found " + describe(token_));
    }
    std::string s = decodeString(token_.text);
    advance();
    return s;
  }
  static std::string decodeString(std::string_view quoted) {
    std::string s;
    s.reserve(quoted.size());
    for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
      s += quoted[i];
      if (quoted[i] == '\'') ++i;  // '' is one quote
    }
    return s;
  }

  Parsed relational(Op op, Parsed left, Parsed right, std::size_t at, std::size_t rightAt,
                    std::string_view name) {
    checkOrderable(left, at, name);
    checkOrderable(right, rightAt, name);
    return binary(op, left, right);
  }

  Parsed comparisonExpression() {
    const std::size_t at = token_.offset;
    Parsed left = unaryExpression();
    for (;;) {
      const std::size_t op = token_.offset;
      const TokenKind k = token_.kind;
      if (k == TokenKind::GREATER || k == TokenKind::GREATER_EQUAL || k == TokenKind::LESS ||
          k == TokenKind::LESS_EQUAL) {
        const std::string name(token_.text);
        advance();
        const std::size_t rightAt = token_.offset;
        Parsed right = unaryExpression();
        const Op o = k == TokenKind::GREATER         ? Op::GREATER
                     : k == TokenKind::GREATER_EQUAL ? Op::GREATER_EQUAL
                     : k == TokenKind::LESS          ? Op::LESS
                                                     : Op::LESS_EQUAL;
        left = relational(o, left, right, at, rightAt, name);
        continue;
      }
      bool negated = false;
      if (k == TokenKind::NOT) {
        const TokenKind next = peek();
        if (next != TokenKind::BETWEEN && next != TokenKind::IN && next != TokenKind::CONTAINS &&
            next != TokenKind::STARTSWITH && next != TokenKind::ENDSWITH) {
          fail(op,
               "expected BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT here (NOT before a "
               "condition needs parentheses: NOT (a = 1))");
        }
        negated = true;
        advance();
      }
      const std::string_view word = negated ? "NOT " : "";
      if (accept(TokenKind::BETWEEN)) {
        left = between(left, at, negated);
      } else if (accept(TokenKind::IN)) {
        left = in(left, at, negated);
      } else if (token_.kind == TokenKind::CONTAINS || token_.kind == TokenKind::STARTSWITH ||
                 token_.kind == TokenKind::ENDSWITH) {
        const TokenKind which = token_.kind;
        const std::string name = std::string(word) + std::string(token_.text);
        advance();
        Expression::Node n;
        n.op = which == TokenKind::CONTAINS     ? (negated ? Op::NOT_CONTAINS : Op::CONTAINS)
               : which == TokenKind::STARTSWITH ? (negated ? Op::NOT_STARTS_WITH : Op::STARTS_WITH)
                                                : (negated ? Op::NOT_ENDS_WITH : Op::ENDS_WITH);
        n.left = left.index;
        n.text = stringLiteral("after " + name);
        left = make(std::move(n), Shape::BOOLEAN);
      } else {
        return left;
      }
    }
  }

  Parsed between(Parsed value, std::size_t at, bool negated) {
    const std::size_t lowAt = token_.offset;
    const Parsed low = unaryExpression();
    const std::size_t andAt = token_.offset;
    expect(TokenKind::AND, "AND between the bounds of BETWEEN");
    const std::size_t highAt = token_.offset;
    const Parsed high = unaryExpression();
    if (!negated && isConstant(low) && isConstant(high)) {
      // RocketMQ ComparisonExpression.createBetween, for two constant bounds only (NOT BETWEEN has no check).
      if (constant(low).isNull() || constant(high).isNull())
        fail(lowAt, "the bounds of BETWEEN cannot be NULL");
      const std::optional<int> order = compareValues(constant(high), constant(low));
      if (!order) fail(lowAt, "the bounds of BETWEEN cannot be compared with each other");
      if (*order < 0) {
        fail(lowAt, "the lower bound of BETWEEN (" + trimmed(lowAt, andAt) +
                        ") must not exceed the upper bound (" + trimmed(highAt, token_.offset) + ")");
      }
    }
    const std::string_view name = negated ? "NOT BETWEEN" : "BETWEEN";
    // The lower bound is checked first, as RocketMQ builds it first.
    const Parsed lower = relational(negated ? Op::LESS : Op::GREATER_EQUAL, value, low, at, lowAt, name);
    const Parsed upper = relational(negated ? Op::GREATER : Op::LESS_EQUAL, value, high, at, highAt, name);
    return binary(negated ? Op::OR : Op::AND, lower, upper);
  }

  std::string trimmed(std::size_t from, std::size_t to) const {
    std::string_view s = text_.substr(from, to - from);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
      s.remove_suffix(1);
    return std::string(s);
  }

  Parsed in(Parsed value, std::size_t at, bool negated) {
    const std::string_view name = negated ? "NOT IN" : "IN";
    expect(TokenKind::LEFT_PAREN, "'(' after " + std::string(name));
    Expression::Node n;
    n.op = negated ? Op::NOT_IN : Op::IN;
    n.left = value.index;
    const std::string where = "in the list of " + std::string(name) + " (it takes string literals only)";
    n.items.push_back(stringLiteral(where));
    while (accept(TokenKind::COMMA))
      n.items.push_back(stringLiteral(where));
    expect(TokenKind::RIGHT_PAREN, "',' or ')' in the list of " + std::string(name));
    // RocketMQ ComparisonExpression.createInFilter: the left side is a property.
    if (value.shape != Shape::PROPERTY) fail(at, std::string(name) + " needs a property on its left");
    std::sort(n.items.begin(), n.items.end());
    n.items.erase(std::unique(n.items.begin(), n.items.end()), n.items.end());
    return make(std::move(n), Shape::BOOLEAN);
  }

  Parsed unaryExpression() {
    if (++depth_ > kMaxDepth) fail(token_.offset, "the expression nests deeper than 128 levels");
    Parsed p;
    if (accept(TokenKind::PLUS)) {
      p = unaryExpression();
    } else if (accept(TokenKind::MINUS)) {
      p = negate(unaryExpression());
    } else if (accept(TokenKind::NOT)) {
      const std::size_t operandAt = token_.offset;
      p = unary(Op::NOT, asBoolean(unaryExpression(), operandAt));
    } else {
      p = primaryExpression();
    }
    --depth_;
    return p;
  }

  /// RocketMQ UnaryExpression.createNegate. A number's negation is computed now; it is still not a
  /// ConstantExpression for RocketMQ's checks, so "a BETWEEN -1 AND -5" is accepted as it is there.
  Parsed negate(Parsed operand) {
    Expression::Node& o = expr_->node(operand.index);
    if (o.op == Op::CONSTANT && o.value.isNumber() &&
        (operand.shape == Shape::LITERAL || operand.shape == Shape::VALUE)) {
      Expression::Node n;
      n.op = Op::CONSTANT;
      n.value = o.value;
      if (n.value.type == Type::DOUBLE) {
        n.value.real = -n.value.real;
      } else {
        n.value.integer = static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(n.value.integer));
      }
      return make(std::move(n), Shape::VALUE);
    }
    Expression::Node n;
    n.op = Op::NEGATE;
    n.left = operand.index;
    return make(std::move(n), Shape::VALUE);
  }

  Parsed primaryExpression() {
    const Token t = token_;
    Expression::Node n;
    n.op = Op::CONSTANT;
    switch (t.kind) {
      case TokenKind::STRING:
        n.value = Value::ofString({});
        n.text = decodeString(t.text);
        advance();
        return make(std::move(n), Shape::LITERAL);
      case TokenKind::DECIMAL: {
        std::string_view digits = t.text;
        if (digits.back() == 'l' || digits.back() == 'L') digits.remove_suffix(1);
        const std::optional<std::int64_t> v = parseJavaInteger(digits, 64);
        if (!v) fail(t.offset, "the number " + std::string(t.text) + " does not fit a 64-bit long");
        const bool fitsInt = *v >= -2147483648LL && *v <= 2147483647LL;
        n.value = fitsInt ? Value::ofInteger(*v) : Value::ofLong(*v);
        advance();
        return make(std::move(n), Shape::LITERAL);
      }
      case TokenKind::FLOAT: {
        const std::optional<double> v = parseJavaDouble(t.text);
        if (!v || *v > std::numeric_limits<double>::max()) {
          fail(t.offset, "the number " + std::string(t.text) + " is larger than a double can hold");
        }
        if (*v < std::numeric_limits<double>::denorm_min()) {
          fail(t.offset, "the floating-point literal " + std::string(t.text) +
                             " is refused: RocketMQ takes no floating-point zero (write 0, an integer)");
        }
        n.value = Value::ofDouble(*v);
        advance();
        return make(std::move(n), Shape::LITERAL);
      }
      case TokenKind::TRUE:
      case TokenKind::FALSE:
        n.value = Value::of(t.kind == TokenKind::TRUE);
        advance();
        return make(std::move(n), Shape::BOOLEAN_LITERAL);
      case TokenKind::NUL:
        advance();
        return make(std::move(n), Shape::BOOLEAN_LITERAL);
      case TokenKind::IDENTIFIER:
        n.op = Op::PROPERTY;
        n.text = std::string(t.text);
        if (!expr_->slotFor(n)) {
          fail(t.offset, "the expression names more than " + std::to_string(PropertySlots::kMax) +
                             " distinct properties");
        }
        advance();
        return make(std::move(n), Shape::PROPERTY);
      case TokenKind::LEFT_PAREN: {
        advance();
        Parsed inner = orExpression();
        expect(TokenKind::RIGHT_PAREN, "')' or an operator");
        return inner;
      }
      default:
        break;
    }
    fail(t.offset, "expected a literal, a property, '(', NOT, '+' or '-', found " + describe(t));
  }

  std::string_view text_;
  Lexer lexer_;
  Token token_;
  Expression* expr_ = nullptr;
  int depth_ = 0;
  std::vector<std::size_t> heights_;  // per node: the longest path to a leaf, itself included
};

inline std::shared_ptr<const Expression> compile(std::string_view text) {
  return Parser(text).parse();
}

}  // namespace ackmq::detail::sql
