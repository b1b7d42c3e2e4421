// What an option is (parser, default, meaning) and how a section of raw ini
// values becomes typed settings. Light on purpose: the program map reads its
// agent settings through this before it decides whether to load the rest.

import { ConfigError } from '../errors.js'
import { type Parser, ValueError } from './values.js'

export interface Option<T> {
  readonly parse: Parser<T>
  /** Raw default text, parsed like a configured value; undefined: no default. */
  readonly default: string | undefined
  readonly required: boolean
  readonly description: string
}

export function option<T>(parse: Parser<T>, def: string, description: string): Option<T> {
  return { parse, default: def, required: false, description }
}
export function optional<T>(parse: Parser<T>, description: string): Option<T | undefined> {
  return { parse, default: undefined, required: false, description }
}
export function required<T>(parse: Parser<T>, description: string): Option<T> {
  return { parse, default: undefined, required: true, description }
}

export type Values<S> = { -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never }

/** Typed settings from one section's raw values; `strict`: a key not in `table` is an error. */
export function readSection<S extends Record<string, Option<unknown>>>(
  file: string,
  section: string,
  table: S,
  raw: Record<string, unknown>,
  strict = true,
): Values<S> {
  for (const key of strict ? Object.keys(raw) : []) {
    if (!Object.hasOwn(table, key)) {
      throw new ConfigError(file, `unknown key (known: ${Object.keys(table).join(', ')})`, { section, key })
    }
  }
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(table)) {
    const value = raw[key]
    if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
      throw new ConfigError(file, 'must be a single value', { section, key })
    }
    // ini turns true/false/null into JSON values and a bare key into `true`.
    const text = value === undefined ? undefined : String(value).trim()
    const given = text === '' ? undefined : text
    const effective = given ?? spec.default
    if (effective === undefined) {
      if (spec.required) throw new ConfigError(file, 'is required', { section, key })
      out[key] = undefined
      continue
    }
    try {
      out[key] = spec.parse(effective)
    } catch (err) {
      if (err instanceof ValueError) throw new ConfigError(file, err.message, { section, key })
      throw err
    }
  }
  return out as Values<S>
}
