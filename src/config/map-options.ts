// The [home] options the program map reads before anything else: whether a
// resident agent answers lookups, where, and the lookup's deadline. Kept in a
// module of their own so reading them loads neither ldapts nor the rest of
// the option table. maps/efs-home-map (the thin map) reads these same keys
// itself, in their simple forms (whole numbers, true/false), and leaves any
// other form to the Node map.

import { option, optional } from './option.js'
import * as v from './values.js'

export const MAP_OPTIONS = {
  deadline: option(v.seconds, '10', 'Budget for a whole lookup, in seconds; automount never times a program map out.'),
  agent: option(
    v.bool,
    'true',
    'Answer lookups from a resident agent (efs-home agent), started by the first lookup, instead of loading everything in each efs-home-map process; a lookup falls back to doing the work itself whenever the agent cannot answer.',
  ),
  agent_port: option(
    v.rootOnlyPort,
    '249',
    "The agent's port on 127.0.0.1: below 665, so only root can bind it (while net.ipv4.ip_unprivileged_port_start stays above it) and clear of the NFS client's own source ports; it answers root's connections only, and must lie outside [efs] port_range.",
  ),
  agent_dir: option(
    v.absolutePath,
    '/run/efs-home',
    "Root's own directory for the agent's files: agent.pid, agent.keys (mode 0600: the keys that prove a question is root's and an answer the agent's), agent.log.",
  ),
  agent_wait: optional(
    v.seconds,
    'How long a lookup waits for the agent before doing the work itself; default, and at most: the deadline less what that takes (2 s, or half a deadline shorter than 4 s).',
  ),
  agent_idle: option(v.seconds, '10m', 'The agent exits after this long without a lookup; the next lookup starts it again.'),
} as const
