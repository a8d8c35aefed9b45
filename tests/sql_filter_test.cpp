// The SQL92 filter compiler and evaluator (detail/store/sql): RocketMQ's grammar, its refusals, and its
// evaluation over string-valued properties, row by row. The facts are RocketMQ's (ExpressionTest,
// ParserTest, and the ComparisonExpression / LogicExpression / UnaryExpression sources); each row is one.
#include <ackmq/detail/store/sql/parser.hpp>

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Properties = std::map<std::string, std::string, std::less<>>;

struct Row {
  const char* expression;
  Properties properties;
  bool matches;
};

bool evaluate(const std::string& expression, const Properties& properties) {
  const auto compiled = ackmq::detail::sql::compile(expression);
  return compiled->matches([&](std::string_view name) -> std::optional<std::string_view> {
    auto it = properties.find(name);
    if (it == properties.end()) return std::nullopt;
    return std::string_view(it->second);
  });
}

void checkRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    const std::string expression = row.expression;
    std::string props;
    for (const auto& kv : row.properties)
      props += kv.first + "=\"" + kv.second + "\" ";
    INFO(expression, "  over { ", props, "}");
    CHECK(evaluate(expression, row.properties) == row.matches);
  }
}

struct Refusal {
  const char* expression;
  const char* where;  // "column N" or "line L, column N"
  const char* what;   // a fragment of the reason
};

std::string refusalOf(const std::string& expression) {
  try {
    ackmq::detail::sql::compile(expression);
  } catch (const ackmq::MQClientException& e) {
    CHECK(e.getResponseCode() == ackmq::ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    return e.what();
  }
  return "compiled";
}

void checkRefusals(const std::vector<Refusal>& rows) {
  for (const Refusal& row : rows) {
    const std::string message = refusalOf(row.expression);
    const std::string expression = row.expression;
    INFO(expression, "  ->  ", message);
    CHECK(message.find(row.where) != std::string::npos);
    CHECK(message.find(row.what) != std::string::npos);
  }
}

}  // namespace

TEST_SUITE("sql92 evaluation") {
  TEST_CASE("= against a number literal parses the property to the literal's type, else does not match") {
    checkRows({
        {"a = 5", {{"a", "5"}}, true},
        {"a = 5", {{"a", "05"}}, true},
        {"a = 5", {{"a", "+5"}}, true},
        {"a = 5", {{"a", "5.0"}}, false},  // Integer.valueOf throws
        {"a = 5", {{"a", "x"}}, false},
        {"a = 5", {{"a", " 5"}}, false},  // Integer.valueOf does not trim
        {"a = 5", {{"a", ""}}, false},
        {"a <> 5", {{"a", "x"}}, false},  // the throw makes the whole expression fail, <> included
        {"a <> 5", {{"a", "6"}}, true},
        {"a <> 5", {{"a", "5"}}, false},
        {"a = 5.0", {{"a", "5"}}, true},  // Double.valueOf
        {"a = 5.5", {{"a", "5.50"}}, true},
        {"a = 2147483648", {{"a", "2147483648"}}, true},  // a Long literal
        {"a = 5", {{"a", "2147483648"}}, false},          // out of an Integer's range
        {"a = 5L", {{"a", "5"}}, true},
        {"a = -5", {{"a", "-5"}}, true},
        {"a = - -5", {{"a", "5"}}, true},
        {"a = +5", {{"a", "5"}}, true},
        {"5 = a", {{"a", "05"}}, true},
    });
  }

  TEST_CASE("= against a string literal compares exactly, never numerically") {
    checkRows({
        {"a = '5'", {{"a", "5"}}, true},
        {"a = '05'", {{"a", "5"}}, false},
        {"a = 'x'", {{"a", "5"}}, false},
        {"a <> 'x'", {{"a", "5"}}, true},
        {"a = 'it''s'", {{"a", "it's"}}, true},
        {"'x' = a", {{"a", "x"}}, true},
        {"a = 'EU'", {{"a", "eu"}}, false},
    });
  }

  TEST_CASE(
      "= against TRUE or FALSE reads the property as Boolean.valueOf: only 'true' in any case is true") {
    checkRows({
        {"a = TRUE", {{"a", "true"}}, true},
        {"a = TRUE", {{"a", "TRUE"}}, true},
        {"a = TRUE", {{"a", "1"}}, false},
        {"a = TRUE", {{"a", "yes"}}, false},
        {"a = FALSE", {{"a", "yes"}}, true},
        {"a = FALSE", {{"a", "false"}}, true},
        {"TRUE = a", {{"a", "true"}}, false},  // RocketMQ casts the wrong side and throws
        {"(a = 1) = TRUE", {{"a", "1"}}, true},
        {"(a = 1) = FALSE", {{"a", "2"}}, true},
    });
  }

  TEST_CASE(
      ">, >=, <, <= parse the property to the literal's type, and a property that does not parse "
      "never matches") {
    checkRows({
        {"a > 5", {{"a", "6"}}, true},
        {"a > 5", {{"a", "5"}}, false},
        {"a >= 5", {{"a", "5"}}, true},
        {"a < 5", {{"a", "4"}}, true},
        {"a < 5", {{"a", "6"}}, false},
        {"a <= 5", {{"a", "5"}}, true},
        {"a > 5", {{"a", "6.5"}}, false},  // Integer.valueOf("6.5") throws
        {"a > 5.0", {{"a", "6"}}, true},
        {"a > 5", {{"a", "x"}}, false},
        {"a < 5", {{"a", "x"}}, false},
        {"a > 5", {{"a", " 6"}}, false},
        {"a > 5.0", {{"a", " 6"}}, true},  // Double.valueOf trims
        {"a > 5.0", {{"a", "6e0"}}, true},
        {"a > 5.0", {{"a", "6d"}}, true},
        {"a > 5.0", {{"a", "NaN"}}, true},  // Double.compare puts NaN above everything
        {"a < 5.0", {{"a", "-Infinity"}}, true},
        {"a > 2147483648", {{"a", "5.5"}}, false},
        {"a > 2147483647", {{"a", "2147483648"}}, false},  // an Integer literal: the property overflows it
        {"a > 2147483647.0", {{"a", "2147483648"}}, true},
        {"a > -5", {{"a", "-4"}}, true},
        {"a > 5e0", {{"a", "6"}}, true},
        {"a = .5", {{"a", "0.5"}}, true},
        {"a = 5.", {{"a", "5"}}, true},
    });
  }

  TEST_CASE("two properties compare as strings under = and <>, and as numbers under > and <") {
    checkRows({
        {"a = b", {{"a", "1"}, {"b", "1"}}, true},
        {"a = b", {{"a", "1"}, {"b", "1.0"}}, false},
        {"a > b", {{"a", "10"}, {"b", "9"}}, true},  // numeric, not lexical
        {"a < b", {{"a", "9"}, {"b", "10"}}, true},
        {"a > b", {{"a", "x"}, {"b", "1"}}, false},
        {"a = b", {}, true},              // both NULL: equal, as RocketMQ's doCreateEqual says
        {"a <> b", {{"a", "1"}}, true},   // NULL on the right alone is FALSE under =, so <> is TRUE
        {"a <> b", {{"b", "1"}}, false},  // NULL on the left is NULL
        {"5 <> a", {}, true},             // a literal on the left, the missing property on the right
        {"5 = a", {}, false},
    });
  }

  TEST_CASE(
      "a missing property is NULL: no comparison with it matches, <>, NOT IN and NOT BETWEEN "
      "included") {
    checkRows({
        {"a = 5", {}, false},
        {"a <> 5", {}, false},
        {"NOT (a = 5)", {}, false},
        {"a > 5", {}, false},
        {"a IS NULL", {}, true},
        {"a IS NULL", {{"a", "x"}}, false},
        {"a IS NOT NULL", {{"a", "x"}}, true},
        {"a IS NOT NULL", {}, false},
        {"NULL IS NULL", {}, true},
        {"5 IS NULL", {}, false},
        {"(a = 1) IS NULL", {}, true},
        {"-a = 5", {{"a", "-5"}}, false},  // the negation of a String is NULL
    });
  }

  TEST_CASE(
      "AND, OR and NOT follow three-valued logic, and the right side is not evaluated once the left "
      "decides") {
    checkRows({
        {"a = 1 OR b = 2", {{"b", "2"}}, true},
        {"a = 1 AND b = 2", {{"b", "2"}}, false},
        {"NOT (a = 1 AND b = 2)", {{"a", "3"}}, true},   // FALSE AND NULL is FALSE
        {"NOT (a = 1 AND b = 2)", {{"a", "1"}}, false},  // TRUE AND NULL is NULL
        {"a = 1 OR b = 2", {}, false},
        {"NOT (a = 1 OR b = 2)", {{"a", "3"}}, false},  // FALSE OR NULL is NULL
        {"NOT (a = 1 OR b = 2)", {{"a", "3"}, {"b", "3"}}, true},
        {"a IS NULL OR a = 1", {}, true},
        {"a > 5 OR b = 1", {{"a", "x"}, {"b", "1"}}, false},  // the left side throws first
        {"b = 1 OR a > 5", {{"a", "x"}, {"b", "1"}}, true},   // the left side decides
        {"b = 2 AND a > 5", {{"a", "x"}, {"b", "1"}}, false},
        {"a > 1 AND a < 10 AND b = 'x'", {{"a", "5"}, {"b", "x"}}, true},
    });
  }

  TEST_CASE("BETWEEN is inclusive, NOT BETWEEN is its complement for present properties") {
    checkRows({
        {"a BETWEEN 1 AND 3", {{"a", "2"}}, true},
        {"a BETWEEN 1 AND 3", {{"a", "1"}}, true},
        {"a BETWEEN 1 AND 3", {{"a", "3"}}, true},
        {"a BETWEEN 1 AND 3", {{"a", "4"}}, false},
        {"a BETWEEN 1 AND 2", {{"a", "1.5"}}, false},  // Integer bounds: "1.5" does not parse
        {"a BETWEEN 1.0 AND 2.0", {{"a", "1.5"}}, true},
        {"a BETWEEN 1 AND 3", {}, false},
        {"a NOT BETWEEN 1 AND 3", {{"a", "4"}}, true},
        {"a NOT BETWEEN 1 AND 3", {{"a", "2"}}, false},
        {"a NOT BETWEEN 1 AND 3", {}, false},
        {"a NOT BETWEEN 3 AND 1", {{"a", "2"}}, true},  // NOT BETWEEN does not check its bounds
        {"a BETWEEN -5 AND -1", {{"a", "-3"}}, true},
        {"a BETWEEN -1 AND -5", {{"a", "-3"}}, false},  // negated bounds are not checked either
    });
  }

  TEST_CASE("IN and NOT IN test exact membership of string literals") {
    checkRows({
        {"a IN ('x', 'y')", {{"a", "x"}}, true},
        {"a IN ('x', 'y')", {{"a", "z"}}, false},
        {"a NOT IN ('x', 'y')", {{"a", "z"}}, true},
        {"a NOT IN ('x', 'y')", {{"a", "x"}}, false},
        {"a NOT IN ('x', 'y')", {}, false},
        {"a IN ('x')", {}, false},
        {"a IN ('5')", {{"a", "05"}}, false},
        {"a IN ('it''s')", {{"a", "it's"}}, true},
        {"a in ('a', 'b', 'c', 'd', 'e', 'f')", {{"a", "f"}}, true},
        {"a IN ('x', 'x')", {{"a", "x"}}, true},
    });
  }

  TEST_CASE(
      "CONTAINS, STARTSWITH and ENDSWITH are FALSE for a missing property or an empty needle, NOT "
      "included") {
    checkRows({
        {"a CONTAINS 'ell'", {{"a", "hello"}}, true},
        {"a CONTAINS 'xyz'", {{"a", "hello"}}, false},
        {"a NOT CONTAINS 'xyz'", {{"a", "hello"}}, true},
        {"a CONTAINS ''", {{"a", "hello"}}, false},
        {"a NOT CONTAINS ''", {{"a", "hello"}}, false},
        {"a CONTAINS 'x'", {}, false},
        {"a NOT CONTAINS 'x'", {}, false},
        {"a STARTSWITH 'he'", {{"a", "hello"}}, true},
        {"a STARTSWITH 'lo'", {{"a", "hello"}}, false},
        {"a NOT STARTSWITH 'lo'", {{"a", "hello"}}, true},
        {"a NOT STARTSWITH 'x'", {}, false},
        {"a ENDSWITH 'lo'", {{"a", "hello"}}, true},
        {"a NOT ENDSWITH 'lo'", {{"a", "hello"}}, false},
        {"a ENDSWITH ''", {{"a", "hello"}}, false},
        {"a contains 'ell' and a endswith 'o'", {{"a", "hello"}}, true},
    });
  }

  TEST_CASE("precedence: OR below AND below comparisons, and NOT binds to its operand, not to a comparison") {
    checkRows({
        {"TRUE", {}, true},
        {"FALSE", {}, false},
        {"NULL", {}, false},
        {"a", {{"a", "true"}}, false},  // a bare property is a boolean cast, FALSE for every String
        {"NOT a = 1", {{"a", "2"}}, false},
        {"NOT a = 1", {{"a", "1"}}, false},
        {"NOT (a = 1)", {{"a", "2"}}, true},
        {"a = 1 AND b = 2 OR c = 3", {{"c", "3"}}, true},
        {"a = 1 AND (b = 2 OR c = 3)", {{"c", "3"}}, false},
        {"a = 1 OR b = 2 AND c = 3", {{"a", "1"}}, true},
        {"(((a = 1)))", {{"a", "1"}}, true},
    });
  }

  TEST_CASE("keywords are case-insensitive, property names case-sensitive, comments skipped") {
    checkRows({
        {"a between 1 and 3 and b in ('x') or c is null", {{"a", "2"}, {"b", "x"}, {"c", "v"}}, true},
        {"a BeTwEeN 1 AnD 3", {{"a", "2"}}, true},
        {"A = 1", {{"a", "1"}}, false},
        {"a = 1 /* and b = 2 */ AND -- line comment\n b = 2", {{"a", "1"}, {"b", "2"}}, true},
        {"$x_1 = 'v'", {{"$x_1", "v"}}, true},
        {"_ = 'v'", {{"_", "v"}}, true},
        {"\ta\n=\r\n1\f", {{"a", "1"}}, true},
        {"a = 1 -- a comment at the end", {{"a", "1"}}, true},
    });
  }
}

TEST_SUITE("sql92 refusals") {
  TEST_CASE("an empty expression is refused") {
    checkRefusals({{"", "column 1", "empty"}, {"   ", "column 4", "empty"}});
  }

  TEST_CASE(
      "input after a complete expression is refused where RocketMQ would ignore it, naming the "
      "position") {
    checkRefusals({
        {"a = 1 b = 2", "column 7", "expected AND, OR, a comparison or the end of the expression, found 'b'"},
        {"a = 012", "column 6", "found '12'"},
        {"a = 1)", "column 6", "found ')'"},
        {"a LIKE 'x%'", "column 3", "found 'LIKE'"},
        {"a + 1 > 2", "column 3", "found '+'"},
        {"a-b = 1", "column 2", "found '-'"},
    });
  }

  TEST_CASE("a missing operand or bracket names what was expected") {
    checkRefusals({
        {"a =", "column 4", "expected a literal, a property, '(', NOT, '+' or '-', found the end"},
        {"a and between 2 and 10", "column 7", "found 'between'"},  // RocketMQ ParserTest
        {"(a = 1", "column 7", "expected ')' or an operator"},
        {"a IS 5", "column 6", "expected NULL or NOT NULL after IS"},
        {"a IS NOT 5", "column 10", "expected NULL after IS NOT"},
        {"a between 2", "column 12", "expected AND between the bounds of BETWEEN"},
        {"a not 5", "column 3", "expected BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT"},
        {"a contains 5", "column 12", "expected a string literal ('...') after contains"},
        {"a = 1\nAND b = = 2", "line 2, column 9", "expected a literal"},
    });
  }

  TEST_CASE("IN takes a property and at least one string literal") {
    checkRefusals({
        {"a in (1, 2)", "column 7", "expected a string literal ('...') in the list of IN"},
        {"a in ()", "column 7", "found ')'"},
        {"a in ('x' 'y')", "column 11", "expected ',' or ')' in the list of IN"},
        {"5 in ('x')", "column 1", "IN needs a property on its left"},
        {"a in 'x'", "column 6", "expected '(' after IN"},
    });
  }

  TEST_CASE("the comparisons RocketMQ refuses are refused: NULL under =, strings and booleans under >") {
    checkRefusals({
        {"a = NULL", "column 3", "use IS NULL"},
        {"NULL = a", "column 6", "use IS NULL"},
        {"a <> NULL", "column 3", "use IS NULL"},
        {"a > '5'", "column 5", "cannot compare the string literal '5'"},
        {"a > TRUE", "column 5", "cannot compare a condition or TRUE, FALSE or NULL"},
        {"a > (b = 1)", "column 5", "cannot compare a condition"},
        {"NOT a > 1", "column 1", "write NOT (a > 1)"},
        {"TRUE = 5", "column 6", "cannot be compared with a string or number literal"},
        {"a between 'x' and 'y'", "column 11", "cannot compare the string literal 'x'"},
    });
  }

  TEST_CASE("BETWEEN with two constant bounds needs the lower first") {
    checkRefusals({
        {"a between 10 and 0", "column 11",
         "lower bound of BETWEEN (10) must not exceed the upper bound (0)"},
        {"a between 1 and 'x'", "column 11", "cannot be compared with each other"},
        {"a between NULL and 1", "column 11", "cannot be NULL"},
    });
  }

  TEST_CASE("a whole expression, and each side of AND and OR, must be a condition") {
    checkRefusals({
        {"5", "column 1", "not a condition"},
        {"'abc'", "column 1", "not a condition"},
        {"a = 1 AND 5", "column 11", "not a condition"},
        {"-a OR a = 1", "column 1", "not a condition"},
        {"NOT 5", "column 5", "not a condition"},
    });
  }

  TEST_CASE("number literals: no floating-point zero, nothing beyond a long or a double") {
    checkRefusals({
        {"a = 0.0", "column 5", "no floating-point zero"},
        {"a > 0e5", "column 5", "no floating-point zero"},
        {"a = 1e-400", "column 5", "refused"},
        {"a = 9223372036854775808", "column 5", "does not fit a 64-bit long"},
        {"a = 1e400", "column 5", "larger than a double"},
    });
    CHECK(evaluate("a = 9223372036854775807", {{"a", "9223372036854775807"}}));
    CHECK(evaluate("a > 0", {{"a", "1"}}));
  }

  TEST_CASE("lexical errors name the character or the unclosed literal") {
    checkRefusals({
        {"a = 'x", "column 5", "string literal opened with ' is never closed"},
        {"a = 1 /* x", "column 7", "comment opened with '/*' is never closed"},
        {"a = #", "column 5", "unexpected character '#'"},
        {"a.b = 1", "column 2", "unexpected character '.'"},
        {"a = \"x\"", "column 5", "unexpected character '\"'"},
        {"a = \x01", "column 5", "unexpected character '\\x01'"},
    });
  }

  TEST_CASE("control bytes in a refused expression are shown escaped, so that a NUL cannot cut the message") {
    const std::string message = refusalOf(std::string("re\0gion = 1", 11));
    CHECK(message.find("\"re\\x00gion = 1\" is invalid at column 3: unexpected character '\\x00'") !=
          std::string::npos);
  }

  TEST_CASE("an expression too deep or too long for the evaluation's stack is refused, not crashed on") {
    const std::string deep = std::string(300, '(') + "a = 1" + std::string(300, ')');
    CHECK(refusalOf(deep).find("nests deeper than 128 levels") != std::string::npos);
    std::string chain = "a = 1";
    for (int i = 0; i < 600; ++i)
      chain += " AND a = 1";
    CHECK(refusalOf(chain).find("too long or nests too deeply") != std::string::npos);
    std::string many = "p0 = 'x'";
    for (int i = 1; i <= 64; ++i)
      many += " OR p" + std::to_string(i) + " = 'x'";
    CHECK(refusalOf(many).find("names more than 64 distinct properties") != std::string::npos);
    CHECK(evaluate(many.substr(0, many.rfind(" OR ")), {{"p63", "x"}}));  // 64 names are fine
    std::string fine = "a = 1";
    for (int i = 0; i < 100; ++i)
      fine += " OR a = " + std::to_string(i);
    CHECK(evaluate(fine, {{"a", "99"}}));
  }

  TEST_CASE("RocketMQ's valid expressions compile") {
    for (const char* e : {"a is not null", "a = 1", "a <> 1", "a between 1 and 10", "a not between 1 and 10",
                          "a in ('a', 'b')", "a not in ('a')", "a > 1 and b < 2 or c = 'x'", "a >= 1.5",
                          "(TAGS is not null and TAGS in ('TagA', 'TagB'))", "a = TRUE", "a = FALSE",
                          "a <= -1", "a contains 'x'", "a startswith 'x'", "a endswith 'x'"}) {
      const std::string expression = e;
      INFO(expression);
      CHECK(refusalOf(e) == "compiled");
    }
  }
}
