// The rehearsal's simulated clock: launch + real elapsed × rate, plus the jumps a scenario makes.
// The nodes read the same clock from its file (bin/date), so their event times and the
// watchdog's `now` count the same minutes.
import { writeFileSync } from "node:fs";

/** Simulated ms at real time `realMs`: minutesPerSecond simulated minutes pass per real second. */
export function simulatedMs(launched: number, realMs: number, minutesPerSecond: number, offsetMin: number): number {
  return launched + (realMs - launched) * minutesPerSecond * 60 + offsetMin * 60_000;
}

/** Simulated minutes since launch, to a tenth (what the timeline shows). */
export function minutesSince(launched: number, ms: number): number {
  return Number(((ms - launched) / 60_000).toFixed(1));
}

/** The clock file's one line, as bin/date reads it: "<t0 ms> <minutes per second> <offset minutes>". */
export function clockLine(launched: number, minutesPerSecond: number, offsetMin: number): string {
  return `${launched} ${minutesPerSecond} ${offsetMin}\n`;
}

export class SimClock {
  readonly launched = Date.now();
  readonly file: string;
  private readonly minutesPerSecond: number;
  private offsetMin = 0;

  constructor(file: string, minutesPerSecond: number) {
    this.file = file;
    this.minutesPerSecond = minutesPerSecond;
    this.write();
  }

  /** Simulated ms now. */
  now(): number {
    return simulatedMs(this.launched, Date.now(), this.minutesPerSecond, this.offsetMin);
  }

  /** Simulated minutes since launch at `ms` (default: now). */
  minute(ms = this.now()): number {
    return minutesSince(this.launched, ms);
  }

  /** Jump to simulated minute `m`, for the nodes too. */
  jumpTo(m: number): void {
    this.offsetMin += m - this.minute();
    this.write();
  }

  private write(): void {
    writeFileSync(this.file, clockLine(this.launched, this.minutesPerSecond, this.offsetMin));
  }
}
