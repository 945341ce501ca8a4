/* The two things envbot does to an environment. One enum for the scheduler,
 * the workflows, the state file and the planner, so that no module converts
 * between look-alikes. */
#ifndef ENVBOT_ACTION_H
#define ENVBOT_ACTION_H

enum action { ACTION_START = 0, ACTION_STOP = 1 };

/* "start" / "stop" (static strings). */
static inline const char *action_name(enum action a)
{
	return a == ACTION_STOP ? "stop" : "start";
}

#endif
