/*
 * settings.c: the keyspace's settings (settings.h), written by server/'s config
 * table.
 */
#include "keyspace/settings.h"

struct keyspace_settings keyspace_settings;
