// Where a command's lines go: stdout and stderr normally, a buffer in tests.

export interface Output {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export const stdOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
}
