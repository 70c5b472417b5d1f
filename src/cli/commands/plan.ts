// `windtunnel plan`: what `pulumi up` would create for a stack, offline (the Pulumi mock runtime:
// no CLI, no credentials). Exit 0 with the plan, 1 when the program refuses, 2 for a bad config.
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { GateRefusal, UsageError } from "../../common/errors.ts";
import { CAPACITY_BLOCK_WARNING, priceWords } from "../../cost/live-price.ts";
import { regionSetting } from "../../infra/instance-types.ts";
import type { Ec2Api, NodePrice } from "../../infra/live-prices.ts";
import { renderTable } from "../../gates/table.ts";
import { maxOf } from "../../gates/stats.ts";
import { usd } from "../../common/format.ts";
import { readStackFile, stackFileOf, type StackFile } from "../../infra/stack-file.ts";
import { planProgram, OFFLINE, type Plan } from "../../infra/preview.ts";
import { describeResource } from "../../infra/describe.ts";
import type { Io } from "../io.ts";

export interface PlanFlags {
  stack?: string;
  stackFile?: string;
  /** A lab folder (trajectory.jsonl, curves/, verdict.json) that replaces the stack's evidence. */
  evidenceDir?: string;
  format: "table" | "json";
  /** Leave out the gate table (the demo has just printed it). */
  quietGates?: boolean;
  /** Judge the node's spot price AWS quotes now instead of node.hourlyUsd (issue 17). */
  live?: boolean;
  /** --live: an EC2 endpoint URL (moto_server in the tests). */
  endpoint?: string;
}

/** The EC2 client `--live` asks through: tests pass a stand-in where moto_server lacks an API. */
export interface PlanDeps {
  ec2?: (region: string) => Ec2Api;
  now?: Date;
}

export function evidenceOverride(dir: string): Record<string, unknown> {
  const abs = resolve(dir);
  const verdict = join(abs, "verdict.json");
  return { "windtunnel:evidence": { trajectory: join(abs, "trajectory.jsonl"), curves: [join(abs, "curves", "*.jsonl")], ...(existsSync(verdict) ? { verdict } : {}) } };
}

/** The plan grouped by component, one line per resource; `notes` after the forecast (the price, warnings). */
export function renderPlan(plan: Plan, header: string, withGates = true, notes: readonly string[] = []): string {
  const lines = [header, "", ...(withGates ? [renderTable(plan.judgement.verdict), ""] : [])];
  const components = plan.resources.filter((r) => r.component);
  const cloud = plan.resources.filter((r) => !r.component);
  if (cloud.length === 0) {
    lines.push("Stage plan: the gates pass; pulumi up would create nothing (set windtunnel:stage to sanity to provision).");
  } else {
    lines.push(`pulumi up would create ${cloud.length} resources in ${components.length} components:`);
    const short = (type: string): string => `${type.split(":")[1]?.split("/")[0] ?? ""}.${type.split(":").pop() ?? type}`;
    const width = maxOf(cloud.map((r) => short(r.type).length));
    for (const c of components) {
      lines.push(`  ${c.type.split(":").pop() ?? c.type} ${c.name}`);
      for (const r of cloud.filter((x) => x.name.startsWith(`${c.name}-`))) {
        lines.push(`    ${short(r.type).padEnd(width)}  ${r.name}`);
        const d = describeResource(r.type, r.inputs);
        if (d) lines.push(`        ${d}`);
      }
    }
  }
  const o = plan.outputs;
  const spend = plan.judgement.verdict.gates.find((g) => g.id === "spend.budget");
  lines.push("");
  lines.push(`Forecast: ${usd(o.forecastUsd)}${spend ? ` — ${spend.message}` : ""}`);
  const price = plan.judgement.verdict.spend?.price;
  if (price) lines.push(`Price judged: ${price.source === "live" ? `${priceWords(price)}, asked ${price.asked_at}` : `the typed node.hourlyUsd, ${priceWords(price)}`}`);
  lines.push(...notes);
  if (o.hardStopHours !== undefined) lines.push(`Hard stop: each node powers itself off (and terminates) ${o.hardStopHours} h after boot, whatever else happens.`);
  lines.push(`Verdict digest: ${o.verdictDigest} (stack output verdictDigest, tag windtunnel:verdict)`);
  lines.push(`Offline stand-ins: account ${OFFLINE.account}, AMI ${OFFLINE.ami} (pulumi up resolves the latest DLAMI), names get their AWS suffix at creation.`);
  return lines.join("\n");
}

/**
 * `--live`: ask AWS for the node's price where the node will run (the stack's region, its
 * subnets' AZs), before the program judges anything.
 */
async function askLive(s: StackFile, flags: PlanFlags, io: Io, deps: PlanDeps): Promise<NodePrice> {
  const { askNodePrice, ec2Clients } = await import("../../infra/live-prices.ts");
  const where = regionSetting(s.encoded["aws:region"], io.env);
  if (where === undefined) throw new UsageError("plan --live: no region to ask: set aws:region in the stack (or AWS_REGION)");
  const c = s.config;
  // A replacement after an interruption may go to any of the recovery subnets (none when recovery is off).
  const replacementSubnets = c.recovery.maxRestarts > 0 ? c.recovery.subnets : [];
  return askNodePrice(deps.ec2 ?? ec2Clients(flags.endpoint), { node: c.node, replacementSubnets, region: where.region, bookingHours: c.hours + c.sanityHours, now: deps.now ?? new Date() });
}

/** What the plan says beside its resources: what --live found, and the Capacity Block's upfront payment. */
function planNotes(s: StackFile, live: NodePrice | undefined): string[] {
  return [
    ...(live?.notes ?? []).map((n) => `Live: ${n}.`),
    ...(s.config.node.market === "capacity-block" ? [`Warning: ${CAPACITY_BLOCK_WARNING}`] : []),
  ];
}

export async function planCommand(flags: PlanFlags, io: Io, deps: PlanDeps = {}): Promise<number> {
  const file = stackFileOf(flags);
  const s = await readStackFile(file, flags.evidenceDir !== undefined ? evidenceOverride(flags.evidenceDir) : {});
  const live = flags.live ? await askLive(s, flags, io, deps) : undefined;
  const notes = planNotes(s, live);
  let plan: Plan;
  try {
    plan = await planProgram({ stack: s.stack, config: s.encoded, baseDir: s.projectDir, configName: relative(process.cwd(), resolve(file)) || file, env: io.env, ...(live?.price ? { price: live.price } : {}) });
  } catch (err) {
    if (!(err instanceof GateRefusal)) throw err;
    // The same refusal `pulumi up` prints, table included, on stdout like a failing `gate`.
    if (flags.format === "json") io.out(JSON.stringify({ stack: s.stack, stage: s.config.stage, pass: false, refusal: err.message, notes, ...(live ? { live } : {}) }, null, 2));
    else io.out([flags.quietGates ? (err.message.split("\n").pop() ?? err.message) : err.message, ...notes].join("\n"));
    return err.exitCode;
  }
  if (flags.format === "json") {
    io.out(JSON.stringify({
      stack: s.stack,
      stage: s.config.stage,
      pass: true,
      outputs: plan.outputs,
      notes,
      ...(live ? { live } : {}),
      resources: plan.resources.map((r) => ({ type: r.type, name: r.name, component: r.component, summary: describeResource(r.type, r.inputs), inputs: r.inputs })),
      verdict: plan.judgement.verdict,
    }, null, 2));
  } else {
    const region = s.encoded["aws:region"] ?? "(aws:region not set)";
    io.out(renderPlan(plan, `windtunnel plan: stack ${s.stack} (${relative(process.cwd(), resolve(file))}), stage ${s.config.stage}, ${region}, campaign ${s.config.campaign} — offline${live ? ", priced live" : ""}, nothing is created`, !flags.quietGates, notes));
  }
  return 0;
}
