// `windtunnel demo`: its flags, coerced; the handler is demo.ts.
import { amount, amountOr, defineCommand, given, text } from "../flags.ts";

export const demo = defineCommand({
  name: "demo",
  description: "the whole flow on this machine, no cloud account needed: sweep the reference trainer, stress the finalists, gate, price",
  flags: [
    ["--dir <dir>", "where the demo's evidence goes", { default: "windtunnel-demo" }],
    ["--menu <menu.yaml>", "the menu to sweep (try examples/menu-diverging.yaml)"],
    ["--candidates <n>", "Phase 1 candidates", { default: 24 }],
    ["--parallel <k>", "concurrent trainers (default: 2, or 1 on a single core)"],
  ],
  async run(_args, o, io) {
    const flags = {
      dir: text("dir", o["dir"]) ?? "windtunnel-demo",
      candidates: amountOr("candidates", o["candidates"], { integer: true, positive: true }),
      ...given("menu", text("menu", o["menu"])),
      ...given("parallel", amount("parallel", o["parallel"], { integer: true, positive: true })),
    };
    const { demoCommand } = await import("./demo.ts");
    return demoCommand(flags, io);
  },
});
