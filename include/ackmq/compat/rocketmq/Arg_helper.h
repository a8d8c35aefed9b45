#pragma once
// rocketmq-client-cpp compatibility (ackmq): the command-line helper the client's example programs use.
// Options are "-x value" pairs; get_option(i) is the i-th word.

#include <string>
#include <vector>

#include "RocketMQClient.h"

namespace rocketmq {

class ROCKETMQCLIENT_API Arg_helper {
 public:
  Arg_helper(int argc, char* argv[]) {
    for (int i = 0; i < argc; ++i)
      m_args.emplace_back(argv[i]);
  }
  /// Splits `arg_str_` on spaces.
  Arg_helper(std::string arg_str_) {
    std::size_t from = 0;
    while (from < arg_str_.size()) {
      const std::size_t space = arg_str_.find(' ', from);
      const std::size_t end = space == std::string::npos ? arg_str_.size() : space;
      if (end > from) m_args.push_back(arg_str_.substr(from, end - from));
      from = end + 1;
    }
  }

  /// The word at `idx_`, or "" past the end.
  std::string get_option(int idx_) const {
    return idx_ >= 0 && static_cast<std::size_t>(idx_) < m_args.size()
               ? m_args[static_cast<std::size_t>(idx_)]
               : std::string();
  }
  /// True when the word `opt_` was given.
  bool is_enable_option(std::string opt_) const {
    for (const auto& arg : m_args)
      if (arg == opt_) return true;
    return false;
  }
  /// The word after `opt_`, or "" when `opt_` is absent or last.
  std::string get_option_value(std::string opt_) const {
    for (std::size_t i = 0; i + 1 < m_args.size(); ++i)
      if (m_args[i] == opt_) return m_args[i + 1];
    return "";
  }

 private:
  std::vector<std::string> m_args;
};

}  // namespace rocketmq
