#pragma once
// rocketmq-client-cpp compatibility (ackmq): what one pull of a queue found.

#include <sstream>
#include <string>
#include <vector>

#include "MQMessageExt.h"
#include "RocketMQClient.h"

namespace rocketmq {

enum PullStatus {
  FOUND,
  NO_NEW_MSG,
  NO_MATCHED_MSG,
  OFFSET_ILLEGAL,
  BROKER_TIMEOUT  ///< never returned in process
};

/// The names of the PullStatus values, by value.
inline const char* EnumStrings[] = {"FOUND", "NO_NEW_MSG", "NO_MATCHED_MSG", "OFFSET_ILLEGAL",
                                    "BROKER_TIMEOUT"};

/// Thread safety: a regular value type (thread-compatible).
class ROCKETMQCLIENT_API PullResult {
 public:
  PullResult() : PullResult(NO_MATCHED_MSG) {}
  PullResult(PullStatus status) : pullStatus(status), nextBeginOffset(0), minOffset(0), maxOffset(0) {}
  PullResult(PullStatus pullStatus_, int64 nextBeginOffset_, int64 minOffset_, int64 maxOffset_)
      : pullStatus(pullStatus_),
        nextBeginOffset(nextBeginOffset_),
        minOffset(minOffset_),
        maxOffset(maxOffset_) {}
  PullResult(PullStatus pullStatus_, int64 nextBeginOffset_, int64 minOffset_, int64 maxOffset_,
             const std::vector<MQMessageExt>& src)
      : pullStatus(pullStatus_),
        nextBeginOffset(nextBeginOffset_),
        minOffset(minOffset_),
        maxOffset(maxOffset_),
        msgFoundList(src) {}
  virtual ~PullResult() {}

  std::string toString() {
    std::stringstream ss;
    ss << "PullResult [ pullStatus=" << EnumStrings[pullStatus] << ", nextBeginOffset=" << nextBeginOffset
       << ", minOffset=" << minOffset << ", maxOffset=" << maxOffset
       << ", msgFoundList=" << msgFoundList.size() << " ]";
    return ss.str();
  }

 public:
  PullStatus pullStatus;
  int64 nextBeginOffset;
  int64 minOffset;
  int64 maxOffset;
  std::vector<MQMessageExt> msgFoundList;
};

}  // namespace rocketmq
