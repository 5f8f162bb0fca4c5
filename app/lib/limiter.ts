// A counting semaphore with a bounded FIFO queue. rng runs its requests through one of size 1: that single
// file line IS the workshop's bottleneck, so it is explicit here rather than an accident of a framework.

/** The line is full: the caller should be told to come back later (rng answers 503 with Retry-After). */
export class QueueFullError extends Error {
  constructor(readonly queued: number) {
    super(`${queued} requests waiting`);
  }
}

interface Waiter {
  go(): void;
  signal?: AbortSignal;
  onAbort?(): void;
}

export class Limiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Slot-seconds used up to `since` (performance.now() ms), divided by the slots: see busySeconds. */
  private busyUntilThen = 0;
  private since = performance.now();

  constructor(
    readonly concurrency: number,
    readonly maxQueue = Infinity,
  ) {
    if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${concurrency}`);
    if (!(maxQueue >= 0)) throw new RangeError(`maxQueue must be >= 0, got ${maxQueue}`);
  }

  /**
   * Seconds the slots have been busy since the limiter was made, divided by their number: its rate over a
   * window is the utilization (1 = every slot busy all the time: a saturated service).
   */
  get busySeconds(): number {
    return this.busyUntilThen + ((performance.now() - this.since) / 1000) * (this.active / this.concurrency);
  }

  private setActive(active: number) {
    this.busyUntilThen = this.busySeconds;
    this.since = performance.now();
    this.active = active;
  }

  /** Requests waiting for a slot (not counting the ones being served). */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `task` when a slot is free. Throws QueueFullError at once when maxQueue are already waiting; when
   * `signal` aborts while waiting (the client hung up), the place in line is given up and signal.reason thrown.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) throw new QueueFullError(this.waiting.length);
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { go: resolve, signal };
        if (signal) {
          waiter.onAbort = () => {
            this.waiting.splice(this.waiting.indexOf(waiter), 1);
            reject(signal.reason);
          };
          signal.addEventListener("abort", waiter.onAbort, { once: true });
        }
        this.waiting.push(waiter);
      });
    } else this.setActive(this.active + 1);
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer jump the line.
      const next = this.waiting.shift();
      if (next) {
        if (next.onAbort) next.signal!.removeEventListener("abort", next.onAbort);
        next.go();
      } else this.setActive(this.active - 1);
    }
  }
}
