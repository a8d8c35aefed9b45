#pragma once
// ackmq: what a durable broker found and did when it opened its store.

#include <chrono>
#include <cstdint>

namespace ackmq {

/// How a durable broker (BrokerConfig::storePathRootDir) opened its store: BasicBroker::getRecoveryReport().
/// An in-memory broker reports durable == false and nothing else.
struct StoreRecovery {
  bool durable = false;                   ///< the broker keeps its messages on disk
  bool cleanShutdown = true;              ///< the last broker shut the store down (or the store is new)
  std::uint64_t messagesRecovered = 0;    ///< messages put back into their queues
  std::uint64_t recordsRead = 0;          ///< CommitLog records that survived, whole and with a good CRC
  std::uint64_t bytesTruncated = 0;       ///< bytes cut after the last good record (a torn or damaged tail)
  std::uint64_t offsetsClamped = 0;       ///< committed offsets moved back onto what survived
  std::chrono::microseconds duration{0};  ///< how long opening took
};

}  // namespace ackmq
