#pragma once
// ackmq: the library's default instantiations, for the separate-compilation mode. Include this header in
// exactly one source file of a program whose files are all compiled with ACKMQ_SEPARATE_COMPILATION
// defined; that file then holds the brokers, producers and consumers of std::string bodies on SystemClock
// and on ManualClock, and the program's other files only declare them, which makes each of them compile in
// a fraction of the header-only time. Header-only (the default) needs neither the macro nor this file.
//
//   // ackmq.cpp, one file of the program (-DACKMQ_SEPARATE_COMPILATION for every file)
//   #include <ackmq/impl/src.hpp>
//
// Other instantiations (a body type of the program's own) are not affected: they stay header-only.

#if !defined(ACKMQ_SEPARATE_COMPILATION)
#error \
    "<ackmq/impl/src.hpp> is for the separate-compilation mode: define ACKMQ_SEPARATE_COMPILATION for every source file of the program"
#endif

#include <string>

#include <ackmq/ackmq.hpp>
#include <ackmq/clock.hpp>

namespace ackmq {

template class BasicBroker<std::string, SystemClock>;
template class BasicBroker<std::string, ManualClock>;
template class BasicProducer<BasicBroker<std::string, SystemClock>>;
template class BasicProducer<BasicBroker<std::string, ManualClock>>;
template class BasicTransactionMQProducer<BasicBroker<std::string, SystemClock>>;
template class BasicTransactionMQProducer<BasicBroker<std::string, ManualClock>>;
template class BasicPushConsumer<BasicBroker<std::string, SystemClock>>;
template class BasicPushConsumer<BasicBroker<std::string, ManualClock>>;
template class BasicSimpleConsumer<BasicBroker<std::string, SystemClock>>;
template class BasicSimpleConsumer<BasicBroker<std::string, ManualClock>>;
template class BasicLitePullConsumer<BasicBroker<std::string, SystemClock>>;
template class BasicLitePullConsumer<BasicBroker<std::string, ManualClock>>;

}  // namespace ackmq
