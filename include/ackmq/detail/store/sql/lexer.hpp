#pragma once
// ackmq internals: the tokens of a SQL92 filter, as RocketMQ's SelectorParser.jj defines them. Keywords are
// case-insensitive; identifiers are [a-z_$][a-z0-9_$]* in any case (no '.' or '-'); the longest match
// wins, so "notx" is an identifier and "012" is the decimal 0 followed by the decimal 12. Blanks, "--" line
// comments and "/* */" block comments separate tokens.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ackmq::detail::sql {

enum class TokenKind : std::uint8_t {
  END,
  IDENTIFIER,
  STRING,   // 'text', '' for a quote
  DECIMAL,  // 0 | [1-9][0-9]* with an optional l/L
  FLOAT,    // 5.5, 5., .5, 5E10, 5.5e-3
  NOT,
  AND,
  OR,
  BETWEEN,
  IN,
  TRUE,
  FALSE,
  NUL,
  IS,
  CONTAINS,
  STARTSWITH,
  ENDSWITH,
  EQUAL,          // =
  NOT_EQUAL,      // <>
  GREATER,        // >
  GREATER_EQUAL,  // >=
  LESS,           // <
  LESS_EQUAL,     // <=
  LEFT_PAREN,
  RIGHT_PAREN,
  COMMA,
  PLUS,
  MINUS,
  INVALID,  // a character no token starts with, an unterminated string or comment
};

struct Token {
  TokenKind kind = TokenKind::END;
  std::size_t offset = 0;  // of the first byte, in the expression
  std::string_view text;   // as written (a string literal with its quotes)
};

/// `text` for an error message: control bytes as \xNN (a NUL would end what()), at most `max` bytes.
inline std::string printable(std::string_view text, std::size_t max) {
  std::string s;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 0xf];
    } else {
      s += static_cast<char>(c);
    }
  }
  if (text.size() > max) s += "...";
  return s;
}

/// How a token is named in an error message: its text in quotes, or "the end of the expression".
inline std::string describe(const Token& t) {
  if (t.kind == TokenKind::END) return "the end of the expression";
  return "'" + printable(t.text, 40) + "'";
}

/// Splits an expression into tokens, one at a time. Thread safety: distinct objects only.
class Lexer {
 public:
  explicit Lexer(std::string_view text) noexcept : text_(text) {}

  /// The next token; END from the end on, and INVALID at a lexical error (with `error()` saying why).
  Token next() noexcept {
    skipBlanksAndComments();
    Token t;
    t.offset = at_;
    if (!error_.empty()) return invalid(t);
    if (at_ >= text_.size()) return t;
    const char c = text_[at_];
    const std::size_t start = at_;
    auto take = [&](TokenKind kind, std::size_t n) {
      at_ += n;
      t.kind = kind;
      t.text = text_.substr(start, n);
      return t;
    };
    if (isIdentifierStart(c)) {
      std::size_t n = 1;
      while (start + n < text_.size() && isIdentifierPart(text_[start + n]))
        ++n;
      return take(keyword(text_.substr(start, n)), n);
    }
    if (isDigit(c) || (c == '.' && start + 1 < text_.size() && isDigit(text_[start + 1]))) return number(t);
    if (c == '\'') return string(t);
    const char d = start + 1 < text_.size() ? text_[start + 1] : '\0';
    switch (c) {
      case '=':
        return take(TokenKind::EQUAL, 1);
      case '<':
        if (d == '>') return take(TokenKind::NOT_EQUAL, 2);
        if (d == '=') return take(TokenKind::LESS_EQUAL, 2);
        return take(TokenKind::LESS, 1);
      case '>':
        if (d == '=') return take(TokenKind::GREATER_EQUAL, 2);
        return take(TokenKind::GREATER, 1);
      case '(':
        return take(TokenKind::LEFT_PAREN, 1);
      case ')':
        return take(TokenKind::RIGHT_PAREN, 1);
      case ',':
        return take(TokenKind::COMMA, 1);
      case '+':
        return take(TokenKind::PLUS, 1);
      case '-':
        return take(TokenKind::MINUS, 1);
      default:
        break;
    }
    error_ = "unexpected character '" + printable(text_.substr(start, 1), 1) + "'";
    t.text = text_.substr(start, 1);
    return invalid(t);
  }

  /// Why the last INVALID token is invalid.
  const std::string& error() const noexcept { return error_; }

 private:
  static constexpr bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
  static constexpr bool isLetter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static constexpr bool isIdentifierStart(char c) noexcept { return isLetter(c) || c == '_' || c == '$'; }
  static constexpr bool isIdentifierPart(char c) noexcept { return isIdentifierStart(c) || isDigit(c); }

  static bool equalsIgnoreCase(std::string_view a, std::string_view upper) noexcept {
    if (a.size() != upper.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const char c = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 'a' + 'A') : a[i];
      if (c != upper[i]) return false;
    }
    return true;
  }

  static TokenKind keyword(std::string_view word) noexcept {
    struct Keyword {
      std::string_view spelling;
      TokenKind kind;
    };
    static constexpr Keyword kKeywords[] = {
        {"NOT", TokenKind::NOT},
        {"AND", TokenKind::AND},
        {"OR", TokenKind::OR},
        {"BETWEEN", TokenKind::BETWEEN},
        {"IN", TokenKind::IN},
        {"TRUE", TokenKind::TRUE},
        {"FALSE", TokenKind::FALSE},
        {"NULL", TokenKind::NUL},
        {"IS", TokenKind::IS},
        {"CONTAINS", TokenKind::CONTAINS},
        {"STARTSWITH", TokenKind::STARTSWITH},
        {"ENDSWITH", TokenKind::ENDSWITH},
    };
    for (const auto& k : kKeywords) {
      if (equalsIgnoreCase(word, k.spelling)) return k.kind;
    }
    return TokenKind::IDENTIFIER;
  }

  void skipBlanksAndComments() noexcept {
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++at_;
      } else if (c == '-' && at_ + 1 < text_.size() && text_[at_ + 1] == '-') {
        while (at_ < text_.size() && text_[at_] != '\n' && text_[at_] != '\r')
          ++at_;
      } else if (c == '/' && at_ + 1 < text_.size() && text_[at_ + 1] == '*') {
        const std::size_t close = text_.find("*/", at_ + 2);
        if (close == std::string_view::npos) {
          error_ = "a comment opened with '/*' is never closed";
          return;
        }
        at_ = close + 2;
      } else {
        return;
      }
    }
  }

  Token number(Token t) noexcept {
    const std::size_t start = at_;
    std::size_t i = start;
    while (i < text_.size() && isDigit(text_[i]))
      ++i;
    bool isFloat = false;
    if (i < text_.size() && text_[i] == '.') {
      isFloat = true;
      ++i;
      while (i < text_.size() && isDigit(text_[i]))
        ++i;
    }
    // An exponent belongs to the number only with digits after it ("5E" is 5 and then the identifier E).
    if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
      std::size_t j = i + 1;
      if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
      if (j < text_.size() && isDigit(text_[j])) {
        while (j < text_.size() && isDigit(text_[j]))
          ++j;
        i = j;
        isFloat = true;
      }
    }
    if (!isFloat) {
      // A decimal is "0" or has no leading zero: "012" is 0, then 12.
      i = text_[start] == '0' ? start + 1 : i;
      if (i < text_.size() && (text_[i] == 'l' || text_[i] == 'L') && text_[start] != '0') ++i;
    }
    at_ = i;
    t.kind = isFloat ? TokenKind::FLOAT : TokenKind::DECIMAL;
    t.text = text_.substr(start, i - start);
    return t;
  }

  Token string(Token t) noexcept {
    const std::size_t start = at_;
    std::size_t i = start + 1;
    for (;;) {
      if (i >= text_.size()) {
        error_ = "a string literal opened with ' is never closed";
        t.text = text_.substr(start, 1);
        return invalid(t);
      }
      if (text_[i] == '\'') {
        if (i + 1 < text_.size() && text_[i + 1] == '\'') {
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      ++i;
    }
    at_ = i;
    t.kind = TokenKind::STRING;
    t.text = text_.substr(start, i - start);
    return t;
  }

  Token invalid(Token t) noexcept {
    t.kind = TokenKind::INVALID;
    at_ = text_.size();
    return t;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::string error_;
};

}  // namespace ackmq::detail::sql
