// The [home] options the program map reads before anything else: whether a
// resident agent answers lookups, where, and the lookup's deadline. Kept in a
// module of their own so reading them loads neither ldapts nor the rest of
// the option table.

import { option } from './option.js'
import * as v from './values.js'

export const MAP_OPTIONS = {
  deadline: option(v.seconds, '10', 'Budget for a whole lookup, in seconds; automount never times a program map out.'),
  agent: option(
    v.bool,
    'true',
    'Answer lookups from a resident agent (efs-home agent), started by the first lookup, instead of loading everything in each efs-home-map process; a lookup falls back to doing the work itself whenever the agent cannot answer.',
  ),
  agent_socket: option(
    v.absolutePath,
    '/run/efs-home/lookup.sock',
    "The agent's socket (mode 0600); its PID and log sit beside it (.pid, .log).",
  ),
  agent_idle: option(v.seconds, '10m', 'The agent exits after this long without a lookup; the next lookup starts it again.'),
} as const
