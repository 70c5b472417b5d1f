// Follows a metrics file while the trainer appends to it, so the stress gates can judge a run as
// it happens. Each poll reads only the bytes added since the last one; complete lines go through
// the same validating reader as `windtunnel validate` (one StepOrder for the whole run), and a
// last line without its newline waits for the next poll, or is reported as torn at the end.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { DEFAULT_MAX_LINE_CHARS, type LineBatch } from "../evidence/lines.ts";
import { Diagnostics } from "../common/problems.ts";
import { metricsMapper } from "../evidence/formats/metrics.ts";
import type { MetricPoint } from "../evidence/schemas.ts";

export class MetricsTail {
  readonly diag: Diagnostics;
  private readonly file: string;
  private fd: number | undefined;
  private position = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private carry = "";
  private nextLine = 1;
  private readonly map: (batch: LineBatch) => MetricPoint[];
  private failed = false;

  /** `label` names the file in problems (e.g. relative to the lab folder). */
  constructor(file: string, label = file) {
    this.file = file;
    this.diag = new Diagnostics(label, 20);
    this.map = metricsMapper(this.diag);
  }

  /** Points completed since the last call; `final` also takes a last line without a newline. */
  poll(final = false): MetricPoint[] {
    const batch = this.readNew(final);
    return batch === undefined ? [] : this.map(batch);
  }

  private readNew(final: boolean): LineBatch | undefined {
    if (this.failed) return undefined;
    try {
      this.fd ??= openSync(this.file, "r");
    } catch {
      return undefined; // not created yet
    }
    const size = fstatSync(this.fd).size;
    let text = "";
    const buffer = Buffer.allocUnsafe(1 << 16);
    while (this.position < size) {
      const n = readSync(this.fd, buffer, 0, Math.min(buffer.length, size - this.position), this.position);
      if (n === 0) break;
      this.position += n;
      const chunk = buffer.subarray(0, n);
      if (chunk.indexOf(0) !== -1) return this.fail("binary data (NUL byte); expected UTF-8 text");
      try {
        text += this.decoder.decode(chunk, { stream: true });
      } catch {
        return this.fail("invalid UTF-8");
      }
      if (!final && text.length > 4 * DEFAULT_MAX_LINE_CHARS) break; // the rest waits for the next poll
    }
    if (final && this.position >= size) {
      try {
        text += this.decoder.decode();
      } catch {
        return this.fail("invalid UTF-8 (a character cut short at the end)");
      }
    }
    const all = this.carry + text;
    const parts = all.split("\n");
    this.carry = final ? "" : (parts.pop() ?? "");
    if (this.carry.length > DEFAULT_MAX_LINE_CHARS) return this.fail(`line is longer than ${DEFAULT_MAX_LINE_CHARS} characters`);
    let lines = parts.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
    let unterminatedLast = false;
    if (final) {
      if (lines.length > 0 && lines[lines.length - 1] === "") lines = lines.slice(0, -1);
      else if (lines.length > 0 && !all.endsWith("\n")) unterminatedLast = true;
    }
    if (lines.length === 0) return undefined;
    const batch: LineBatch = { first: this.nextLine, lines, ...(unterminatedLast ? { unterminatedLast } : {}) };
    this.nextLine += lines.length;
    return batch;
  }

  private fail(message: string): undefined {
    this.failed = true;
    this.diag.error(this.nextLine, "encoding", message);
    return undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
