#pragma once
// rocketmq-client-cpp compatibility (ackmq): the export macro and the fixed-width integer names the
// client's headers use. Nothing is exported: the whole C++ API is inline.

#ifndef ROCKETMQCLIENT_API
#define ROCKETMQCLIENT_API
#endif

typedef signed char int8;
typedef unsigned char uint8;
typedef signed short int16;
typedef unsigned short uint16;
typedef signed int int32;
typedef unsigned int uint32;
typedef long long int64;
typedef unsigned long long uint64;
