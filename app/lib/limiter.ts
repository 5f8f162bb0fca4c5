// A counting semaphore with a FIFO queue. rng runs its requests through one of size 1: that single
// file line IS the workshop's bottleneck, so it is explicit here rather than an accident of a framework.
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${concurrency}`);
  }

  /** Requests waiting for a slot (not counting the ones being served). */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer jump the line.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
