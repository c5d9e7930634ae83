/*
 * version.h: longtail's version, and the version of Redis whose behaviour
 * it follows (HELLO and INFO report it as redis_version: clients pick
 * features by it).
 */
#ifndef LT_DS_VERSION_H
#define LT_DS_VERSION_H

#define LT_VERSION       "0.1.0"
#define LT_REDIS_VERSION "7.0.15"

#endif
