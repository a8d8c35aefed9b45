#pragma once
// ackmq internals: the values a SQL92 filter computes with, and RocketMQ's rules for comparing them.
//
// RocketMQ evaluates a filter over the message's property map, so every property is a String; literals are
// Integer (a decimal that fits 32 bits), Long, Double, String, Boolean or NULL. Where two values of
// different types meet, RocketMQ ComparisonExpression.__compare converts the String toward the other
// side's type with Java's parsers (Integer.valueOf, Long.valueOf, Double.valueOf, Boolean.valueOf); a
// String that does not parse throws, and a filter that throws does not match. These functions are those
// rules, with "throws" spelled as an ERROR value.

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>

#include <ackmq/detail/same_bytes.hpp>

namespace ackmq::detail::sql {

/// The Java type of a value. INTEGER and LONG differ only in the range a String must parse into. ERROR is
/// not a value: it stands for RocketMQ throwing during the evaluation.
enum class Type : std::uint8_t { NUL, BOOLEAN, INTEGER, LONG, DOUBLE, STRING, ERROR };

/// One value of an evaluation: 32 bytes, trivially copyable, never owning (a string views a property or a
/// literal).
struct Value {
  Type type = Type::NUL;
  bool boolean = false;
  union {
    std::int64_t integer = 0;  // INTEGER, LONG
    double real;               // DOUBLE
  };
  std::string_view string;  // STRING

  static constexpr Value null() noexcept { return {}; }
  static constexpr Value error() noexcept {
    Value v;
    v.type = Type::ERROR;
    return v;
  }
  static constexpr Value of(bool b) noexcept {
    Value v;
    v.type = Type::BOOLEAN;
    v.boolean = b;
    return v;
  }
  static constexpr Value ofInteger(std::int64_t i) noexcept {
    Value v;
    v.type = Type::INTEGER;
    v.integer = i;
    return v;
  }
  static constexpr Value ofLong(std::int64_t i) noexcept {
    Value v;
    v.type = Type::LONG;
    v.integer = i;
    return v;
  }
  static constexpr Value ofDouble(double d) noexcept {
    Value v;
    v.type = Type::DOUBLE;
    v.real = d;
    return v;
  }
  static constexpr Value ofString(std::string_view s) noexcept {
    Value v;
    v.type = Type::STRING;
    v.string = s;
    return v;
  }

  constexpr bool isNull() const noexcept { return type == Type::NUL; }
  constexpr bool isError() const noexcept { return type == Type::ERROR; }
  constexpr bool isTrue() const noexcept { return type == Type::BOOLEAN && boolean; }
  constexpr bool isNumber() const noexcept {
    return type == Type::INTEGER || type == Type::LONG || type == Type::DOUBLE;
  }
};

/// Java Integer.valueOf / Long.valueOf (`bits` 32 or 64): an optional sign, then at least one ASCII digit,
/// within range; nothing else, not even blanks.
inline std::optional<std::int64_t> parseJavaInteger(std::string_view s, int bits) noexcept {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const std::uint64_t limit = bits == 32 ? (negative ? std::uint64_t{1} << 31 : (std::uint64_t{1} << 31) - 1)
                                         : (negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1);
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (limit - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  // Two's complement by hand: -v for v = 2^63 has no signed spelling.
  return negative ? static_cast<std::int64_t>(~v + 1) : static_cast<std::int64_t>(v);
}

/// Java Double.valueOf for the decimal spellings: leading and trailing characters up to ' ' are ignored; an
/// optional sign; "NaN", "Infinity", or digits with an optional '.', fraction and exponent; an optional
/// d/D/f/F suffix. (Java's hexadecimal floating-point spelling is not accepted.)
inline std::optional<double> parseJavaDouble(std::string_view s) noexcept {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ')
    s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ')
    s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (!s.empty() && (s.back() == 'd' || s.back() == 'D' || s.back() == 'f' || s.back() == 'F'))
    s.remove_suffix(1);
  // from_chars would also take "inf", "nan" and hexadecimal digits: only digits, '.', and an exponent here.
  bool digits = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == 'e' || c == 'E') {
      if (!digits) return std::nullopt;
      break;  // the exponent is from_chars' to check
    } else if (c != '.') {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Java rounds to infinity or zero where from_chars refuses.
    const auto e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

/// Java Boolean.valueOf(String): "true" in any case is true, anything else false.
constexpr bool parseJavaBoolean(std::string_view s) noexcept {
  if (s.size() != 4) return false;
  constexpr std::string_view kTrue = "true";
  for (std::size_t i = 0; i < 4; ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != kTrue[i]) return false;
  }
  return true;
}

/// Java Double.compare: numeric order, then -0.0 before 0.0, and NaN after everything, equal to itself.
inline int compareDoubles(double a, double b) noexcept {
  if (a < b) return -1;
  if (a > b) return 1;
  auto bits = [](double d) {
    return d != d ? std::int64_t{0x7ff8000000000000} : std::bit_cast<std::int64_t>(d);
  };
  const std::int64_t x = bits(a);
  const std::int64_t y = bits(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

template <class T>
constexpr int sign(T a, T b) noexcept {
  return a < b ? -1 : (a > b ? 1 : 0);
}

/// compareTo of two non-null values of one type.
inline int compareSameType(const Value& l, const Value& r) noexcept {
  switch (l.type) {
    case Type::BOOLEAN:
      return sign(l.boolean, r.boolean);
    case Type::INTEGER:
    case Type::LONG:
      return sign(l.integer, r.integer);
    case Type::DOUBLE:
      return compareDoubles(l.real, r.real);
    case Type::STRING:
      return l.string.compare(r.string) < 0 ? -1 : (l.string == r.string ? 0 : 1);
    case Type::NUL:
    case Type::ERROR:
      break;
  }
  return 0;
}

/// `s` parsed to `like`'s type, as RocketMQ converts a String toward the other side of a comparison; ERROR
/// where the Java parser throws.
inline Value convertString(std::string_view s, Type like) noexcept {
  switch (like) {
    case Type::BOOLEAN:
      return Value::of(parseJavaBoolean(s));
    case Type::INTEGER:
      if (auto v = parseJavaInteger(s, 32)) return Value::ofInteger(*v);
      return Value::error();
    case Type::LONG:
      if (auto v = parseJavaInteger(s, 64)) return Value::ofLong(*v);
      return Value::error();
    case Type::DOUBLE:
      if (auto v = parseJavaDouble(s)) return Value::ofDouble(*v);
      return Value::error();
    case Type::STRING:
    case Type::NUL:
    case Type::ERROR:
      break;
  }
  return Value::ofString(s);
}

constexpr double asDouble(const Value& v) noexcept {
  return v.type == Type::DOUBLE ? v.real : static_cast<double>(v.integer);
}

/// RocketMQ ComparisonExpression.__compare of two non-null values: -1, 0 or 1; empty where it throws (a
/// String that does not parse to the other side's type, or a Boolean literal against a String, which
/// RocketMQ casts the wrong way round). Types it cannot bring together compare as -1.
inline std::optional<int> compareValues(const Value& l, const Value& r) noexcept {
  if (l.type == r.type) return compareSameType(l, r);
  if (l.type == Type::STRING) {
    if (r.type == Type::NUL) return -1;
    const Value converted = convertString(l.string, r.type);
    if (converted.isError()) return std::nullopt;
    return compareSameType(converted, r);
  }
  if (l.type == Type::BOOLEAN) {
    if (r.type == Type::STRING) return std::nullopt;
    return -1;
  }
  if (!l.isNumber()) return -1;
  if (r.type == Type::STRING) {
    const Value converted = convertString(r.string, l.type);
    if (converted.isError()) return std::nullopt;
    return compareSameType(l, converted);
  }
  if (!r.isNumber()) return -1;
  // Integer and Long widen to Long; either widens to Double.
  if (l.type == Type::DOUBLE || r.type == Type::DOUBLE) return compareDoubles(asDouble(l), asDouble(r));
  return sign(l.integer, r.integer);
}

}  // namespace ackmq::detail::sql
