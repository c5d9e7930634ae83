/*
 * slowlog.h: the slow log (slowlog.c).
 */
#ifndef LT_CMD_SLOWLOG_H
#define LT_CMD_SLOWLOG_H

#include "net/client.h"

/* Records c's command (its argv as it ran) when it took at least
 * slowlog-log-slower-than microseconds. */
void slowlog_push(client *c, long long duration_us);
void slowlog_reset(void);

#endif
