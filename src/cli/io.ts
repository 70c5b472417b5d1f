// Where commands write: injected so end-to-end tests can capture output without a subprocess.
//
// The process's own Io writes to file descriptors 1 and 2 directly. process.stdout on a pipe
// is a net.Socket, and creating it loads the stream and socket stack (≈3 ms of a `gate` run
// that CI pipes into a log); on Linux a pipe write is synchronous either way. A closed pipe
// (`windtunnel validate … | head`) stops the process quietly, as `cat` does. A descriptor the
// parent left non-blocking (EAGAIN when its pipe is full) hands the rest to Node's stream, which
// waits for the reader; the writes before it are already out, so the order holds.
import { writeSync } from "node:fs";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

type Stream = Pick<NodeJS.WriteStream, "write" | "on">;

const quietOnEpipe = (err: NodeJS.ErrnoException): void => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
};

/** A line writer on `fd`, falling back to `stream()` once the descriptor would block. */
export function fdWriter(fd: number, stream: () => Stream, write: typeof writeSync = writeSync): (text: string) => void {
  let fallback: Stream | undefined;
  return (text) => {
    if (fallback !== undefined) {
      fallback.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    let done = 0;
    try {
      while (done < bytes.length) done += write(fd, bytes, done, bytes.length - done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN") quietOnEpipe(err as NodeJS.ErrnoException);
      fallback = stream();
      fallback.on("error", quietOnEpipe);
      fallback.write(bytes.subarray(done));
    }
  };
}

const stdout = fdWriter(1, () => process.stdout);
const stderr = fdWriter(2, () => process.stderr);

export const processIo: Io = {
  out: (line) => stdout(`${line}\n`),
  err: (line) => stderr(`${line}\n`),
  env: process.env,
};
