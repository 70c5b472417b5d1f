// A small error taxonomy with stable codes; the CLI's one top-level handler maps them to exit codes.
import { formatProblem, type Problem } from "./problems.ts";

export abstract class WindtunnelError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
}

/** Bad evidence, policy or configuration: exit 2, one line naming file, line and field. */
export class InputError extends WindtunnelError {
  readonly code = "E_INPUT";
  readonly exitCode = 2;
  readonly file: string;
  readonly line: number;
  readonly field: string;
  /** The message without the `file:line: field:` prefix. */
  readonly detail: string;

  constructor(file: string, line: number, field: string, message: string, options?: { cause?: unknown }) {
    super(formatProblem({ file, line, field, message }), options);
    this.name = "InputError";
    this.file = file;
    this.line = line;
    this.field = field;
    this.detail = message;
  }

  toProblem(): Problem {
    return { file: this.file, line: this.line, field: this.field, message: this.detail, kind: "error" };
  }
}

/** Bad command-line arguments or environment variables: exit 2. */
export class UsageError extends WindtunnelError {
  readonly code = "E_USAGE";
  readonly exitCode = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UsageError";
  }
}
