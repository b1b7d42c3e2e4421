// Lines the long-running processes (proxy, supervisor, agent) write to their logs.

export function timestamped(line: string): string {
  return `${new Date().toISOString()} ${line}`
}
