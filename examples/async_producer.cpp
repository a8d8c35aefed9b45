// Async sends: send() returns at once; exactly one of onSuccess / onException runs later on the producer's
// callback thread.
#include <ackmq/ackmq.hpp>

#include <atomic>
#include <iostream>
#include <latch>
#include <string>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "async-producer");
  producer.setRetryTimesWhenSendAsyncFailed(2);
  producer.start();

  constexpr int kCount = 100;
  std::atomic<int> succeeded{0}, failed{0};
  std::latch done(kCount);
  for (int i = 0; i < kCount; ++i) {
    ackmq::Message msg("TopicTest", "TagA", "OrderID" + std::to_string(i),
                       "Hello async " + std::to_string(i));
    producer.send(msg, ackmq::SendCallback{.onSuccess =
                                               [&](const ackmq::SendResult& r) {
                                                 if (r.getQueueOffset() < 3)
                                                   std::cout << "ok " << r.getMsgId() << "\n";
                                                 ++succeeded;
                                                 done.count_down();
                                               },
                                           .onException =
                                               [&](std::exception_ptr e) {
                                                 try {
                                                   std::rethrow_exception(e);
                                                 } catch (const ackmq::MQException& ex) {
                                                   std::cout << "failed: " << ex.what() << "\n";
                                                 }
                                                 ++failed;
                                                 done.count_down();
                                               }});
  }
  done.wait();
  producer.shutdown();  // would also deliver any callback still owed
  std::cout << succeeded << " succeeded, " << failed << " failed\n";
  return succeeded == kCount ? 0 : 1;
}
