// Fuzzes the property encoding of detail/store/record.hpp: any properties encode into bytes that decode to
// the same names and values in order, findProperty finds the first of each name, and keptProperties keeps
// exactly the properties its predicate accepts, in order.
#include <ackmq/detail/store/record.hpp>

#include "fuzz_support.hpp"

#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ackmq_fuzz::Reader in(data, size);
  std::vector<std::pair<std::string, std::string>> props;
  std::vector<bool> keep;
  while (!in.empty() && props.size() < 64) {
    std::string name = in.string(300);
    std::string value = in.string(300);
    keep.push_back((in.byte() & 1) != 0);
    props.emplace_back(std::move(name), std::move(value));
  }
  std::string encoded;
  for (const auto& [k, v] : props)
    ackmq::detail::encodeProperty(encoded, k, v);

  std::size_t i = 0;
  ackmq::detail::forEachProperty(encoded, [&](std::string_view k, std::string_view v) {
    FUZZ_CHECK(i < props.size());
    FUZZ_CHECK(k == props[i].first && v == props[i].second);
    ++i;
  });
  FUZZ_CHECK(i == props.size());
  for (std::size_t j = 0; j < props.size(); ++j) {
    std::size_t first = j;
    while (props[first].first != props[j].first)
      ++first;
    for (std::size_t f = 0; f < j; ++f) {
      if (props[f].first == props[j].first) {
        first = f;
        break;
      }
    }
    const auto found = ackmq::detail::findProperty(encoded, props[j].first);
    FUZZ_CHECK(found.has_value() && *found == props[first].second);
  }

  std::string expected;
  for (std::size_t j = 0; j < props.size(); ++j) {
    if (keep[j]) ackmq::detail::encodeProperty(expected, props[j].first, props[j].second);
  }
  std::size_t asked = 0;
  std::string scratch;
  const std::string_view kept =
      ackmq::detail::keptProperties(encoded, scratch, [&](std::string_view) { return keep[asked++]; });
  FUZZ_CHECK(asked == props.size());
  FUZZ_CHECK(kept == expected);
  std::string appended = "prefix";
  asked = 0;
  ackmq::detail::appendPropertiesIf(appended, encoded, [&](std::string_view) { return keep[asked++]; });
  FUZZ_CHECK(appended == "prefix" + expected);
  return 0;
}
