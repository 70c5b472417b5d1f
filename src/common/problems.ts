// Every reader reports bad input the same way (file, line, field) so the CLI prints one line
// per problem and the gates can count unreadable rows instead of guessing.

export type ProblemKind = "error" | "unreadable";

export interface Problem {
  file: string;
  line: number;
  /** 1-based column, where the format has one (YAML policies). */
  column?: number;
  field: string;
  message: string;
  /** `error` makes the file invalid; `unreadable` drops one row and lets the caller decide. */
  kind: ProblemKind;
}

/** `file:line[:col]: field: message`; line 0 means the problem is with the file as a whole. */
export function formatProblem(p: Pick<Problem, "file" | "line" | "column" | "field" | "message">): string {
  const where = p.line > 0 ? `${p.file}:${p.line}${p.column ? `:${p.column}` : ""}` : p.file;
  return `${where}: ${p.field}: ${p.message}`;
}

/** Collects problems while a file streams; keeps the first `limit` in full and counts the rest. */
export class Diagnostics {
  readonly file: string;
  readonly limit: number;
  readonly problems: Problem[] = [];
  /** Line numbers of every unreadable row (cheap: one number each), for gates and reports. */
  readonly unreadableLines: number[] = [];
  errorCount = 0;
  unreadableCount = 0;

  constructor(file: string, limit = 200) {
    this.file = file;
    this.limit = limit;
  }

  error(line: number, field: string, message: string): void {
    this.errorCount++;
    this.keep({ file: this.file, line, field, message, kind: "error" });
  }

  unreadable(line: number, field: string, message: string): void {
    this.unreadableCount++;
    this.unreadableLines.push(line);
    this.keep({ file: this.file, line, field, message, kind: "unreadable" });
  }

  get ok(): boolean {
    return this.errorCount === 0;
  }

  /** Problems beyond `limit` that were counted but not kept. */
  get dropped(): number {
    return this.errorCount + this.unreadableCount - this.problems.length;
  }

  private keep(p: Problem): void {
    if (this.problems.length < this.limit) this.problems.push(p);
  }
}
