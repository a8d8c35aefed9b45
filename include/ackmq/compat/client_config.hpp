#pragma once
// ackmq: what every rocketmq-client-cpp compatible client is configured with. The name server address (or
// domain) names the in-process broker; the rest has no meaning in process (TCP, SSL, credentials, logs,
// trace, instance and unit names) and is kept only to be returned by its getter. And a client's lifecycle.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include <ackmq/compat/rocketmq/MQClient.h>
#include <ackmq/compat/rocketmq/MQClientException.h>
#include <ackmq/compat/rocketmq/SessionCredentials.h>
#include <ackmq/compat/broker_registry.hpp>

namespace ackmq::compat::detail {

/// The ackmq version a compatible client reports, and the client API it speaks.
inline constexpr const char* kCompatVersion = "ackmq 0.1.0, rocketmq-client-cpp 2.2.0 API";

struct ClientConfig {
  explicit ClientConfig(std::string group) : groupName(std::move(group)) {
    // The client reads NAMESRV_ADDR when it is created (rocketmq-client-cpp DefaultMQClient).
    if (const char* addr = std::getenv("NAMESRV_ADDR")) namesrvAddr = addr;
  }

  /// The broker the client attaches to at start(): the one its address names, else its domain's. Throws
  /// MQClientException when neither is set, or when a name space is (topics are not prefixed in process).
  ackmq::compat::BrokerRef broker() const {
    if (!nameSpace.empty()) {
      refuse("start: name spaces are not supported in process (setNameSpace(\"" + nameSpace +
             "\")): leave it empty, or put the prefix in the topic and group names");
    }
    return translated(
        [&] { return ackmq::compat::brokerFor(namesrvAddr.empty() ? namesrvDomain : namesrvAddr); });
  }

  std::string namesrvAddr;
  std::string namesrvDomain;
  std::string nameSpace;
  std::string groupName;
  std::string instanceName = "DEFAULT";
  std::string unitName;
  rocketmq::SessionCredentials credentials;
  rocketmq::elogLevel logLevel = rocketmq::eLOG_LEVEL_INFO;
  std::string logPath;
  int logFileNum = 3;
  long logFileSize = 100;
  int tcpTransportPullThreadNum = 1;
  std::uint64_t tcpTransportConnectTimeout = 3000;
  std::uint64_t tcpTransportTryLockTimeout = 3000;
  bool messageTrace = false;
  bool enableSsl = false;
  std::string sslPropertyFile = "/etc/rocketmq/tls.properties";
};

/// A client's lifecycle: created, running (with a backend), shut down. A call that needs the backend takes
/// a reference to it under the lock, so a send racing shutdown() either completes or throws
/// MQClientException, and never uses a backend that is gone.
template <class Backend>
class Lifecycle {
 public:
  std::shared_ptr<Backend> running(const char* what) const {
    std::lock_guard lock(mutex_);
    if (backend_ == nullptr) {
      refuse(std::string(what) + ": the client is " +
             (shutDown_ ? "shut down" : "not started: call start() first"));
    }
    return backend_;
  }
  /// Runs `make` to create the backend, unless one is running. Throws after shutdown().
  template <class Make>
  void start(const char* who, Make&& make) {
    std::lock_guard lock(mutex_);
    if (backend_ != nullptr) return;
    if (shutDown_) refuse(std::string(who) + " was shut down and cannot start again");
    backend_ = make();
  }
  /// Takes the backend out, if running; the caller shuts it down and lets it go.
  std::shared_ptr<Backend> stop() {
    std::lock_guard lock(mutex_);
    shutDown_ = shutDown_ || backend_ != nullptr;
    return std::move(backend_);
  }
  /// As stop(), for a caller that must not be the one to destroy the backend (a thread the backend joins
  /// when destroyed): the lifecycle keeps it until release(). Returns it for the caller to shut down, or
  /// null when it was not running.
  Backend* stopKeeping() {
    std::lock_guard lock(mutex_);
    if (backend_ == nullptr) return nullptr;
    shutDown_ = true;
    kept_ = std::move(backend_);
    return kept_.get();
  }
  /// What stopKeeping() kept, for the owner to destroy.
  std::shared_ptr<Backend> release() {
    std::lock_guard lock(mutex_);
    return std::move(kept_);
  }
  bool isRunning() const {
    std::lock_guard lock(mutex_);
    return backend_ != nullptr;
  }

 private:
  mutable std::mutex mutex_;  // guards backend_, kept_ and shutDown_
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Backend> kept_;
  bool shutDown_ = false;
};

/// Set while a thread runs a listener call of the client it points at (a consumer's message listener, a
/// transactional producer's check), so that shutdown() from inside that call does not wait for itself.
inline thread_local const void* listenerOwner = nullptr;

struct ListenerScope {
  explicit ListenerScope(const void* owner) : previous(listenerOwner) { listenerOwner = owner; }
  ~ListenerScope() { listenerOwner = previous; }
  ListenerScope(const ListenerScope&) = delete;
  ListenerScope& operator=(const ListenerScope&) = delete;
  const void* previous;
};

}  // namespace ackmq::compat::detail

// The setters and getters every client class declares, each reading or writing config_. Shared so that the
// classes stay declaration-for-declaration what the client's headers declare.
#define ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS                                               \
  const std::string& getNamesrvAddr() const {                                            \
    return config_.namesrvAddr;                                                          \
  }                                                                                      \
  void setNamesrvAddr(const std::string& namesrvAddr) {                                  \
    config_.namesrvAddr = namesrvAddr;                                                   \
  }                                                                                      \
  void setSessionCredentials(const std::string& accessKey, const std::string& secretKey, \
                             const std::string& accessChannel) {                         \
    config_.credentials = SessionCredentials(accessKey, secretKey, accessChannel);       \
  }                                                                                      \
  const SessionCredentials& getSessionCredentials() const {                              \
    return config_.credentials;                                                          \
  }                                                                                      \
  const std::string& getNamesrvDomain() const {                                          \
    return config_.namesrvDomain;                                                        \
  }                                                                                      \
  void setNamesrvDomain(const std::string& namesrvDomain) {                              \
    config_.namesrvDomain = namesrvDomain;                                               \
  }                                                                                      \
  const std::string& getNameSpace() const {                                              \
    return config_.nameSpace;                                                            \
  }                                                                                      \
  void setNameSpace(const std::string& nameSpace) {                                      \
    config_.nameSpace = nameSpace;                                                       \
  }                                                                                      \
  const std::string& getGroupName() const {                                              \
    return config_.groupName;                                                            \
  }                                                                                      \
  void setGroupName(const std::string& groupname) {                                      \
    config_.groupName = groupname;                                                       \
  }                                                                                      \
  const std::string& getInstanceName() const {                                           \
    return config_.instanceName;                                                         \
  }                                                                                      \
  void setInstanceName(const std::string& instanceName) {                                \
    config_.instanceName = instanceName;                                                 \
  }                                                                                      \
  void setLogLevel(elogLevel inputLevel) {                                               \
    config_.logLevel = inputLevel;                                                       \
  }                                                                                      \
  elogLevel getLogLevel() {                                                              \
    return config_.logLevel;                                                             \
  }                                                                                      \
  void setLogPath(const std::string& logPath) {                                          \
    config_.logPath = logPath;                                                           \
  }                                                                                      \
  void setLogFileSizeAndNum(int fileNum, long perFileSize) {                             \
    config_.logFileNum = fileNum;                                                        \
    config_.logFileSize = perFileSize;                                                   \
  }                                                                                      \
  void setTcpTransportPullThreadNum(int num) {                                           \
    config_.tcpTransportPullThreadNum = num;                                             \
  }                                                                                      \
  int getTcpTransportPullThreadNum() const {                                             \
    return config_.tcpTransportPullThreadNum;                                            \
  }                                                                                      \
  void setTcpTransportConnectTimeout(uint64_t timeout) {                                 \
    config_.tcpTransportConnectTimeout = timeout;                                        \
  }                                                                                      \
  uint64_t getTcpTransportConnectTimeout() const {                                       \
    return config_.tcpTransportConnectTimeout;                                           \
  }                                                                                      \
  void setTcpTransportTryLockTimeout(uint64_t timeout) {                                 \
    config_.tcpTransportTryLockTimeout = timeout;                                        \
  }                                                                                      \
  uint64_t getTcpTransportTryLockTimeout() const {                                       \
    return config_.tcpTransportTryLockTimeout;                                           \
  }                                                                                      \
  void setUnitName(std::string unitName) {                                               \
    config_.unitName = std::move(unitName);                                              \
  }                                                                                      \
  const std::string& getUnitName() const {                                               \
    return config_.unitName;                                                             \
  }                                                                                      \
  void setMessageTrace(bool messageTrace) {                                              \
    config_.messageTrace = messageTrace;                                                 \
  }                                                                                      \
  bool getMessageTrace() const {                                                         \
    return config_.messageTrace;                                                         \
  }                                                                                      \
  void setEnableSsl(bool enableSsl) {                                                    \
    config_.enableSsl = enableSsl;                                                       \
  }                                                                                      \
  bool getEnableSsl() const {                                                            \
    return config_.enableSsl;                                                            \
  }                                                                                      \
  void setSslPropertyFile(const std::string& sslPropertyFile) {                          \
    config_.sslPropertyFile = sslPropertyFile;                                           \
  }                                                                                      \
  const std::string& getSslPropertyFile() const {                                        \
    return config_.sslPropertyFile;                                                      \
  }
