// Live progress for the lab: a bar with done/total, ETA and a status (best so far, failures) on a
// terminal; on a pipe or in CI, one plain line per finished run, so logs stay readable.
import { MultiBar, type SingleBar } from "cli-progress";
import type { Io } from "./io.ts";

export class Progress {
  private readonly io: Io;
  private readonly label: string;
  private multi: MultiBar | undefined;
  private bar: SingleBar | undefined;
  private readonly tty: boolean;

  constructor(io: Io, label: string, quiet: boolean) {
    this.io = io;
    this.label = label;
    this.tty = !quiet && process.stderr.isTTY === true && io.env["CI"] !== "true";
  }

  private ensure(total: number): void {
    if (!this.tty || this.bar) return;
    this.multi = new MultiBar(
      {
        format: `${this.label} [{bar}] {value}/{total} · ETA {eta_formatted} · {status}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
        etaBuffer: 20,
      },
    );
    this.bar = this.multi.create(total, 0, { status: "" });
  }

  /** Runs already done before this session; the ETA follows the rate of this session's runs. */
  resume(done: number): void {
    this.update(done, Math.max(done, 1), "resuming");
  }

  update(done: number, total: number, status: string): void {
    if (!this.tty) return;
    this.ensure(total);
    this.bar?.setTotal(total);
    this.bar?.update(done, { status });
  }

  /** A finished run: a line above the bar (or a plain line), then the bar moves. */
  line(text: string, done: number, total: number, status: string): void {
    if (this.tty) {
      this.ensure(total);
      this.multi?.log(`${text}\n`);
      this.update(done, total, status);
    } else {
      this.io.err(`[${done}/${total}] ${text}${status ? ` · ${status}` : ""}`);
    }
  }

  note(text: string): void {
    if (this.tty && this.multi) this.multi.log(`${text}\n`);
    else this.io.err(text);
  }

  stop(): void {
    this.multi?.stop();
  }
}
