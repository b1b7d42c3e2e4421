// An LDAP entry's attribute values as text. ldapts keys entries by the
// attribute names the server sent, in its case, and gives a value as a
// string, a Buffer (binary transfer) or a list of them.

export function attributeValues(entry: Record<string, unknown>, attribute: string): string[] {
  const name = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase())
  const value = name === undefined ? undefined : entry[name]
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)))
}
