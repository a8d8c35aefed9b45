#pragma once
// ackmq internals: where a durable broker writes what the store appends. The in-memory store stays the
// record readers use; a journal keeps its appends on disk (detail/durable/durable_store.hpp), so that a
// restart can put them back. The store calls it under its lock; an in-memory broker has none.

#include <cstdint>

#include <ackmq/detail/store/consume_queue.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/detail/store/written_records.hpp>

namespace ackmq::detail {

class AppendJournal {
 public:
  /// Writes the records of one append to `queue`, with queue offsets from `firstQueueOffset` on: all of
  /// them or none. Returns the journal's end after them, which a sender waits for under SYNC_FLUSH.
  /// Throws when they cannot be written; the append then stores nothing.
  virtual std::int64_t write(ConsumeQueue& queue, std::int64_t firstQueueOffset,
                             const WrittenRecords& records) = 0;
  /// Whether the store must hold appended records back from readers until the journal publishes them
  /// (ConsumeQueue::publishTo), once they are durable: no consumer then acts on a message a power cut can
  /// still take away.
  virtual bool holdsBack() const noexcept = 0;
  /// The store reclaimed every record before memory CommitLog offset `front`: the journal may let go of
  /// what holds only those.
  virtual void reclaimedBelow(std::int64_t front) noexcept = 0;

 protected:
  ~AppendJournal() = default;
};

}  // namespace ackmq::detail
