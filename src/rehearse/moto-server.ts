// moto_server, a real local AWS API, on 127.0.0.1 at a free port: started and stopped by
// `windtunnel rehearse`, the watchdog's tests (test/helpers/moto.ts) and its benchmark (bench/watchdog.ts).
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

export const hasMoto = (): boolean => spawnSync("moto_server", ["--help"], { stdio: "ignore" }).status === 0;

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

export interface MotoServer {
  endpoint: string;
  /** Forget every resource (between tests). */
  reset(): Promise<void>;
  stop(): void;
}

/** Start moto_server and wait until it answers (up to 10 s). */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const proc = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, reset: async () => void (await fetch(`${endpoint}/moto-api/reset`, { method: "POST" })), stop: () => void proc.kill("SIGTERM") };
}
