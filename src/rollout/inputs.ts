// What a rollout (the ansible role or the cfengine policy) says about a
// host, as JSON: config settings by section and key, [server] and [tree]
// sections, the exports of auto_static.cfg, and the LDAP bind password. Untrusted like any
// input: checked here, and the rendered config checked again by the loader.

import { EfsHomeError } from '../errors.js'

export interface RolloutInputs {
  readonly settings: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly servers: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** [tree "MOUNT POINT"] sections, each with its master map snippet. */
  readonly trees: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly exports: readonly string[]
  readonly bindPassword: string | undefined
}

function fail(why: string): never {
  throw new EfsHomeError('CONFIG', `rollout inputs: ${why}`)
}

function scalar(where: string, value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value !== 'string') fail(`${where} must be a string, number or boolean`)
  if (/[\0\r\n]/.test(value)) fail(`${where} must be one line`)
  return value
}

function table(where: string, value: unknown): Record<string, Record<string, string>> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where} must be an object of objects`)
  return Object.fromEntries(
    Object.entries(value).map(([name, keys]) => {
      if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) fail(`${where}.${name} must be an object`)
      return [name, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, scalar(`${where}.${name}.${k}`, v)]))]
    }),
  )
}

export function parseRolloutInputs(text: string): RolloutInputs {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    fail('not valid JSON')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('must be a JSON object')
  const { settings, servers, trees, exports, bind_password: bindPassword, ...rest } = doc as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) fail(`unknown key '${unknown}' (known: settings, servers, trees, exports, bind_password)`)
  if (exports !== undefined && !Array.isArray(exports)) fail('exports must be a list of "<server>/<export> [options]"')
  return {
    settings: table('settings', settings),
    servers: table('servers', servers),
    trees: table('trees', trees),
    exports: (exports ?? []).map((e: unknown, i: number) => scalar(`exports[${i}]`, e)),
    bindPassword: bindPassword === undefined || bindPassword === '' ? undefined : scalar('bind_password', bindPassword),
  }
}
