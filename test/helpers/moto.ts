// A real local AWS API for the watchdog's tests: moto_server on 127.0.0.1, on a free port,
// stopped afterwards. Where moto_server is missing the tests skip with a notice; under CI=true
// its absence fails them.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, it } from "vitest";

export interface Moto {
  endpoint: string;
  reset(): Promise<void>;
}

export const hasMoto = spawnSync("moto_server", ["--help"], { stdio: "ignore" }).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function describeWithMoto(title: string, body: (moto: () => Moto) => void): void {
  if (!hasMoto) {
    if (process.env["CI"] === "true") {
      describe(title, () => {
        it("has moto_server", () => {
          throw new Error("moto_server is missing; under CI=true the watchdog's AWS tests must run (pip install 'moto[server]')");
        });
      });
    } else {
      console.warn(`[windtunnel tests] skipping "${title}": moto_server not found`);
      describe.skip(title, () => it("needs moto_server", () => {}));
    }
    return;
  }
  describe(title, () => {
    let proc: ChildProcess | undefined;
    let m: Moto | undefined;
    beforeAll(async () => {
      const port = await freePort();
      proc = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
      const endpoint = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        try {
          if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      m = { endpoint, reset: async () => void (await fetch(`${endpoint}/moto-api/reset`, { method: "POST" })) };
    }, 30_000);
    afterAll(() => {
      proc?.kill("SIGTERM");
    });
    body(() => {
      if (!m) throw new Error("moto_server did not start");
      return m;
    });
  });
}
