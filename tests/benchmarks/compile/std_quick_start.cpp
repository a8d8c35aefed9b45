// The compile-time yardstick: examples/quick_start.cpp's shape (a producer thread hands a message to a
// consumer thread, which acknowledges it, and both shut down) written with the standard library alone. It
// does none of the library's work; it shows what a program of that shape costs to compile at all.
#include <condition_variable>
#include <functional>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>

namespace {

struct Message {
  std::string topic, tags, keys, body;
  std::map<std::string, std::string> properties;
};

class Bus {
 public:
  void send(Message m) {
    {
      std::lock_guard lock(mutex_);
      queue_.push(std::move(m));
    }
    ready_.notify_one();
  }
  std::optional<Message> take() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    Message m = std::move(queue_.front());
    queue_.pop();
    return m;
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::queue<Message> queue_;
  bool stopped_ = false;
};

}  // namespace

int main() {
  Bus bus;
  std::latch received(1);
  const std::function<bool(const Message&)> listener = [&](const Message& m) {
    std::cout << "received " << m.body << "\n";
    received.count_down();
    return true;
  };
  std::thread consumer([&] {
    while (auto m = bus.take())
      listener(*m);
  });
  bus.send(Message{"Orders", "created", "order-42", "{\"id\":42}", {}});
  std::cout << "SEND_OK\n";
  received.wait();
  bus.stop();
  consumer.join();
}
