#pragma once
// rocketmq-client-cpp compatibility (ackmq): the credentials a client signs its requests with. In process
// there is nothing to sign: a client keeps them and returns them.

#include <string>
#include <utility>

#include "RocketMQClient.h"

namespace rocketmq {

class SessionCredentials {
 public:
  inline static const std::string AccessKey = "AccessKey";
  inline static const std::string SecretKey = "SecretKey";
  inline static const std::string Signature = "Signature";
  inline static const std::string SignatureMethod = "SignatureMethod";
  inline static const std::string ONSChannelKey = "OnsChannel";

  SessionCredentials(std::string input_accessKey, std::string input_secretKey,
                     const std::string& input_authChannel)
      : accessKey(std::move(input_accessKey)),
        secretKey(std::move(input_secretKey)),
        authChannel(input_authChannel) {}
  SessionCredentials() : authChannel("ALIYUN") {}
  ~SessionCredentials() {}

  std::string getAccessKey() const { return accessKey; }
  void setAccessKey(std::string input_accessKey) { accessKey = std::move(input_accessKey); }
  std::string getSecretKey() const { return secretKey; }
  void setSecretKey(std::string input_secretKey) { secretKey = std::move(input_secretKey); }
  std::string getSignature() const { return signature; }
  void setSignature(std::string input_signature) { signature = std::move(input_signature); }
  std::string getSignatureMethod() const { return signatureMethod; }
  void setSignatureMethod(std::string input_signatureMethod) {
    signatureMethod = std::move(input_signatureMethod);
  }
  std::string getAuthChannel() const { return authChannel; }
  void setAuthChannel(std::string input_channel) { authChannel = std::move(input_channel); }
  /// True when the access key, the secret key and the channel are all set.
  bool isValid() const { return !accessKey.empty() && !secretKey.empty() && !authChannel.empty(); }

 private:
  std::string accessKey;
  std::string secretKey;
  std::string signature;
  std::string signatureMethod;
  std::string authChannel;
};

}  // namespace rocketmq
