#pragma once
// ackmq: RocketMQ's acknowledgement semantics inside one process. The umbrella header.

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/body_codec.hpp>
#include <ackmq/broker.hpp>
#include <ackmq/broker_config.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/fwd.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/lite_pull_consumer.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>
#include <ackmq/message_selector.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/simple_consumer.hpp>
#include <ackmq/status.hpp>
#include <ackmq/store_recovery.hpp>
#include <ackmq/transaction_producer.hpp>

#define ACKMQ_VERSION_MAJOR 0
#define ACKMQ_VERSION_MINOR 1
#define ACKMQ_VERSION_PATCH 0
