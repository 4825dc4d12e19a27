/*
 * The names of heapscope's environment variables: the preload reads them
 * (its options table, preload/options.c) and `heapscope run` sets them for
 * the program it traces (analyzer/cmd_run.c), so both spell them from here.
 * Every one is HS_ENV_PREFIX and a name of its own. Names only: defaults,
 * bounds and docs are the preload's table's; docs/SPEC.md lists the user's
 * (unit_options holds the two together).
 */
#ifndef HEAPSCOPE_OPTIONS_NAMES_H
#define HEAPSCOPE_OPTIONS_NAMES_H

#define HS_ENV_PREFIX "HEAPSCOPE_"

/* the user's: read by the preload */
#define HS_ENV_OUTPUT HS_ENV_PREFIX "OUTPUT"
#define HS_ENV_SNAPSHOT_SIGNAL HS_ENV_PREFIX "SNAPSHOT_SIGNAL"
#define HS_ENV_SNAPSHOT_INTERVAL_MS HS_ENV_PREFIX "SNAPSHOT_INTERVAL_MS"
#define HS_ENV_MAX_FRAMES HS_ENV_PREFIX "MAX_FRAMES"
#define HS_ENV_FOLLOW HS_ENV_PREFIX "FOLLOW"
#define HS_ENV_SCAN HS_ENV_PREFIX "SCAN"
#define HS_ENV_CHECK_STACKS HS_ENV_PREFIX "CHECK_STACKS"

/* set for traced processes, by `heapscope run` or the first traced process */
#define HS_ENV_RUN_LOG HS_ENV_PREFIX "RUN_LOG"
#define HS_ENV_ROOT_PID HS_ENV_PREFIX "ROOT_PID"

/* read by `heapscope run` only: where libheapscope.so is */
#define HS_ENV_PRELOAD HS_ENV_PREFIX "PRELOAD"

#endif
