// A small error taxonomy with stable codes; the CLI's one top-level handler maps them to exit codes.
import { formatProblem, type Problem } from "./problems.ts";

// Each class names itself in a field (not from its constructor's name): the bundle is minified.
export abstract class WindtunnelError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
}

/**
 * Bad evidence, policy or configuration: exit 2, one line per problem naming file, line and field.
 * Carries every problem found, so the user fixes them in one pass.
 */
export class InputError extends WindtunnelError {
  readonly code = "E_INPUT";
  readonly exitCode = 2;
  override readonly name: string = "InputError";
  readonly problems: readonly Problem[];

  constructor(problems: Problem | readonly Problem[], options?: { cause?: unknown }) {
    const list = Array.isArray(problems) ? (problems as readonly Problem[]) : [problems as Problem];
    super(list.map(formatProblem).join("\n"), options);
    this.problems = list;
  }

  static at(file: string, line: number, field: string, message: string, options?: { cause?: unknown }): InputError {
    return new InputError({ file, line, field, message, kind: "error" }, options);
  }

  get first(): Problem {
    return this.problems[0] as Problem;
  }
}

/**
 * Saved monitor state this version cannot resume: another version's, or a field missing or of the
 * wrong type. Bad input like any other (exit 2, one line per field), a class of its own so the
 * watchdog can tell it from a bug and replay that run's curve instead.
 */
export class SnapshotError extends InputError {
  override readonly name: string = "SnapshotError";

  constructor(what: string, fields: readonly { field: string; message: string }[], options?: { cause?: unknown }) {
    super(fields.map((f) => ({ file: what, line: 0, field: f.field, message: f.message, kind: "error" as const })), options);
  }
}

/** Bad command-line arguments or environment variables: exit 2. */
export class UsageError extends WindtunnelError {
  readonly code = "E_USAGE";
  readonly exitCode = 2;
  override readonly name = "UsageError";
}

/**
 * The gates refuse: a failing verdict, or evidence changed since the verdict that was reviewed.
 * Exit 1, like a failing `windtunnel gate`; the message carries the gate table.
 */
export class GateRefusal extends WindtunnelError {
  readonly code = "E_GATE";
  readonly exitCode = 1;
  override readonly name = "GateRefusal";
}

/**
 * A broken invariant: windtunnel's own bug, never the user's input. Exit 70 (EX_SOFTWARE), with
 * "please report" from the CLI's handler; a bare Error reaches the same handler, but this one says
 * at the throw site that it is a bug and not bad input that escaped its check.
 */
export class InternalError extends WindtunnelError {
  readonly code = "E_INTERNAL";
  readonly exitCode = 70;
  override readonly name = "InternalError";
}

/** An exhaustive switch's unreachable default: the compiler proves it is never called. */
export function assertNever(x: never): never {
  throw new InternalError(`unexpected value ${String(x)}`);
}
