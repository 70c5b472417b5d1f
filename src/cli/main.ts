// The dispatch loop and the one error handler: parse the arguments, run the chosen command, map
// its errors to exit codes (0 ok, 1 a gate failed, 2 bad input or usage, 70 a bug in windtunnel).
// The commands declare their own flags (commands/*.flags.ts) and import their handlers only when
// chosen, so `windtunnel --version` or `cost` never load zod, YAML or the gate engine.
// The argument parser is cac: it loads in ~2 ms, where commander also pulled in child_process,
// net and the stream stack (~14 ms), and `windtunnel gate` must start almost as fast as node.
import { cac } from "cac";
import { InputError, InternalError, WindtunnelError, UsageError } from "../common/errors.ts";
import { COMMANDS } from "./commands.ts";
import { joinNegativeValues, valueFlags, type Raw } from "./flags.ts";
import { processIo, type Io } from "./io.ts";
import pkg from "../../package.json" with { type: "json" };

export const EXIT = { ok: 0, gateFailed: 1, badInput: 2, internal: 70 } as const;

function internal(io: Io, err: unknown): number {
  io.err(`windtunnel: internal error: ${err instanceof Error ? err.message : String(err)}`);
  io.err("This is a bug in windtunnel; please report it with the command you ran. Set WINDTUNNEL_DEBUG=1 for a stack trace.");
  if (io.env["WINDTUNNEL_DEBUG"] && err instanceof Error && err.stack) io.err(err.stack);
  return EXIT.internal;
}

/** An error as the user reads it: one line per problem, and the exit code it stands for. */
function report(io: Io, err: unknown): number {
  // Already located (file:line:col: field: …): printed as is, one line per problem.
  if (err instanceof InputError) {
    for (const line of err.message.split("\n")) io.err(line);
    return err.exitCode;
  }
  if (err instanceof InternalError) return internal(io, err);
  if (err instanceof WindtunnelError) {
    for (const line of err.message.split("\n")) io.err(`windtunnel: ${line}`);
    return err.exitCode;
  }
  if (err instanceof Error && err.name === "CACError") {
    io.err(`windtunnel: ${err.message} (run with --help for usage)`);
    return EXIT.badInput;
  }
  return internal(io, err);
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const cli = cac("windtunnel");
  cli.usage("<command> [options]");
  // A run names its command first: building the other ten commands' options too cost ≈1 ms.
  // Without one (--help, a typo, options first) every command is there to list or match.
  const named = COMMANDS.filter((c) => c.name.split(" ")[0] === argv[0]);
  const commands = named.length > 0 ? named : COMMANDS;
  for (const spec of commands) {
    const c = cli.command(spec.name, spec.description);
    for (const [raw, description, options] of spec.flags) c.option(raw, description, options);
    for (const e of spec.examples ?? []) c.example(e);
    c.action(async (...args: unknown[]) => {
      // cac passes the positional arguments, then the options.
      code = await spec.run(args.slice(0, -1), args.at(-1) as Raw, io);
    });
  }
  cli.help();
  cli.version(pkg.version);

  try {
    cli.parse(["node", "windtunnel", ...joinNegativeValues(argv, valueFlags(commands))], { run: false });
    if (cli.matchedCommand === undefined) {
      if (cli.args.length > 0) throw new UsageError(`unknown command ${JSON.stringify(cli.args[0])}; run windtunnel --help`);
      if (cli.options["help"] === undefined && cli.options["version"] === undefined) cli.outputHelp();
      return EXIT.ok;
    }
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    return report(io, err);
  }
}
