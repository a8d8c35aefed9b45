#pragma once
// rocketmq-client-cpp compatibility (ackmq): the log levels a client accepts. ackmq writes no log files, so
// a client keeps the level it is given and returns it, nothing more.

namespace rocketmq {

enum elogLevel {
  eLOG_LEVEL_FATAL = 1,
  eLOG_LEVEL_ERROR = 2,
  eLOG_LEVEL_WARN = 3,
  eLOG_LEVEL_INFO = 4,
  eLOG_LEVEL_DEBUG = 5,
  eLOG_LEVEL_TRACE = 6,
  eLOG_LEVEL_LEVEL_NUM = 7
};

}  // namespace rocketmq
