// automount waits for a program map forever, so every lookup carries a
// deadline and each network step takes the smaller of its own timeout and
// what is left.

export class Deadline {
  readonly at: number

  /** `seconds`: the whole budget, said in the error when it runs out; `now`: when it began. */
  constructor(
    readonly seconds: number,
    now: number = Date.now(),
  ) {
    this.at = now + seconds * 1000
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now())
  }

  /** `ms`, cut to what is left of the deadline. */
  budget(ms: number): number {
    return Math.min(ms, this.remainingMs())
  }
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/** `work`, or a TimeoutError after `ms`; `onTimeout` releases what `work` holds. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.()
      reject(new TimeoutError(`${what} timed out after ${(ms / 1000).toFixed(1)} s`))
    }, ms)
  })
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
