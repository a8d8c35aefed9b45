#pragma once
// ackmq: what a rocketmq-client-cpp compatible producer, plain or transactional, hands to the native
// producer it runs on, and how the native one is set up from it.

namespace ackmq::compat::detail {

/// The producer settings a compatible producer keeps until start().
struct ProducerSettings {
  int sendMsgTimeout = 3000;
  int maxMessageSize = 128 * 1024;
  int retryTimes = 5;        // attempts of a sync send
  int retryTimes4Async = 1;  // attempts of an async send
  int compressMsgBodyOverHowmuch = 4 * 1024;
  int compressLevel = 5;
};

/// Sets `producer` (a native BasicProducer, or one derived from it) up from `s`, before its start().
template <class NativeProducer>
void configureNative(NativeProducer& producer, const ProducerSettings& s) {
  producer.setSendMsgTimeout(s.sendMsgTimeout);
  producer.setMaxMessageSize(s.maxMessageSize);
  producer.setRetryTimesWhenSendFailed(s.retryTimes - 1);
  producer.setRetryTimesWhenSendAsyncFailed(s.retryTimes4Async - 1);
  // rocketmq-client-cpp DefaultMQProducerImpl.sendDefaultImpl retries any status but SEND_OK.
  producer.setRetryAnotherBrokerWhenNotStoreOK(true);
}

}  // namespace ackmq::compat::detail
