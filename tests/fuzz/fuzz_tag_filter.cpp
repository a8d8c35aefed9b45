// Fuzzes subscription expressions (detail::TagFilter::parse): an expression either parses or is refused with
// SUBSCRIPTION_PARSE_FAILED; a parsed filter prints a canonical spelling that parses to the same filter, and
// matches exactly the tags it names.
#include <ackmq/detail/store/tag_filter.hpp>

#include "fuzz_support.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view expression(reinterpret_cast<const char*>(data), size);
  ackmq::detail::TagFilter filter;
  try {
    filter = ackmq::detail::TagFilter::parse(expression);
  } catch (const ackmq::MQClientException& e) {
    FUZZ_CHECK(e.getResponseCode() == ackmq::ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    return 0;
  }
  const std::string canonical = filter.toString();
  FUZZ_CHECK(ackmq::detail::TagFilter::parse(canonical) == filter);
  FUZZ_CHECK(filter.matches("") == filter.matchesAll());
  if (filter.matchesAll()) return 0;
  if (canonical == "*||") return 0;  // the literal tag "*" alone has a spelling of its own
  // Every tag of the canonical spelling matches, in sorted order without repeats; none contains the
  // separator or edge blanks; a tag that is not among them does not match.
  std::vector<std::string> tags;
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = canonical.find(" || ", start);
    tags.push_back(canonical.substr(start, bar == std::string::npos ? bar : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 4;
  }
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const std::string& tag = tags[i];
    FUZZ_CHECK(!tag.empty());
    FUZZ_CHECK(tag.find("||") == std::string::npos);
    FUZZ_CHECK(tag.front() != ' ' && tag.front() != '\t' && tag.back() != ' ' && tag.back() != '\t');
    FUZZ_CHECK(filter.matches(tag));
    FUZZ_CHECK(i == 0 || tags[i - 1] < tag);
    const std::string other = tag + "x";
    FUZZ_CHECK(filter.matches(other) == std::binary_search(tags.begin(), tags.end(), other));
  }
  return 0;
}
