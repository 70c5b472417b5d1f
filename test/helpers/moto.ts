// A real local AWS API for the watchdog's tests: moto_server on 127.0.0.1, on a free port,
// stopped afterwards. Where moto_server is missing the tests skip with a notice; under CI=true
// its absence fails them.
import { afterAll, beforeAll, describe, it } from "vitest";
import { hasMoto, startMoto, type MotoServer } from "../../src/rehearse/moto-server.ts";

export type Moto = Pick<MotoServer, "endpoint" | "reset">;

export function describeWithMoto(title: string, body: (moto: () => Moto) => void): void {
  if (!hasMoto()) {
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
    let m: MotoServer | undefined;
    beforeAll(async () => {
      m = await startMoto();
    }, 30_000);
    afterAll(() => m?.stop());
    body(() => {
      if (!m) throw new Error("moto_server did not start");
      return m;
    });
  });
}
