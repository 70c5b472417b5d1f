// K concurrent trainer slots (one per GPU): slot i is always the same device, so a run keeps
// CUDA_VISIBLE_DEVICES=i for its whole life and two runs never share a GPU.
export class Slots {
  private readonly running: (Promise<void> | undefined)[];

  constructor(count: number) {
    this.running = Array.from({ length: Math.max(1, count) }, () => undefined);
  }

  /** A free slot's index, or -1. */
  free(): number {
    return this.running.findIndex((s) => s === undefined);
  }

  get busy(): number {
    return this.running.filter((s) => s !== undefined).length;
  }

  /** The first error a slot's work threw: no new work starts, and run() throws it once the others are done. */
  private failure: { error: unknown } | undefined;

  start(slot: number, work: () => Promise<void>): void {
    // Caught here, not left to whoever awaits next: a rejection that settles while run() awaits
    // `next` would otherwise be unhandled and end the process without a word.
    this.running[slot] = work()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.running[slot] = undefined;
      });
  }

  /** Wait until some slot finishes (at once when none is busy). */
  async any(): Promise<void> {
    const busy = this.running.filter((s): s is Promise<void> => s !== undefined);
    if (busy.length > 0) await Promise.race(busy);
  }

  /**
   * Start what `next` gives for each free slot until it gives nothing and every slot is idle, or
   * the signal aborts; then wait for the running work. `next` is asked again whenever a slot
   * frees, so it may hold work back until earlier work is in (by answering undefined).
   */
  async run(next: (slot: number) => Promise<(() => Promise<void>) | undefined>, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted && this.failure === undefined) {
      const free = this.free();
      const work = free !== -1 ? await next(free) : undefined;
      if (work !== undefined && !signal?.aborted && this.failure === undefined) {
        this.start(free, work);
        continue;
      }
      if (this.busy === 0) break;
      await this.any();
    }
    await this.all();
    if (this.failure !== undefined) throw this.failure.error;
  }

  async all(): Promise<void> {
    await Promise.all(this.running.filter((s) => s !== undefined));
  }
}

/** A run's environment in `slot`: the slot's own GPU, when devices are given. */
export function slotEnv(devices: readonly string[] | null, slot: number): Record<string, string> {
  const device = devices?.[slot];
  return device !== undefined ? { CUDA_VISIBLE_DEVICES: device } : {};
}
