// Which regions offer which GPU types: the table the stack file, the program and the offline plan
// share, and the one check built on it.
import { describe, expect, it } from "vitest";
import { OFFERED_IN, offeredOffline, REGION_FORM, regionProblem } from "../../src/infra/instance-types.ts";

describe("regions that offer each instance type", () => {
  it.each([
    ["p5.48xlarge", "us-east-1"],
    ["p5.48xlarge", "eu-north-1"],
    ["p4de.24xlarge", "il-central-1"],
    ["p5e.48xlarge", "us-east-2"],
    ["p5en.48xlarge", "eu-south-2"],
    // Not in the table: judged by the region's form only.
    ["g6e.48xlarge", "eu-west-1"],
    ["p6-b200.48xlarge", "ap-southeast-7"],
  ])("%s in %s is accepted", (type, region) => {
    expect(regionProblem(type, region)).toBeUndefined();
  });

  it.each([
    ["p5.48xlarge", "eu-west-1"],
    ["p5e.48xlarge", "us-east-1"],
    ["p4de.24xlarge", "us-east-2"],
    ["p5en.48xlarge", "eu-central-1"],
  ])("%s in %s is refused, naming the type and where it is offered", (type, region) => {
    const problem = regionProblem(type, region);
    expect(problem).toMatch(new RegExp(`^expected a region that offers ${type.replace(".", "\\.")} \\(windtunnel:node\\.instanceType\\): `));
    for (const r of OFFERED_IN[type] ?? []) expect(problem).toContain(r);
    expect(problem).toContain(`if AWS offers it in ${region} now, add it to src/infra/instance-types.ts`);
  });

  it.each([
    ["p5.48xlarge", "us-gov-west-1", "aws-us-gov"],
    ["g6e.48xlarge", "cn-north-1", "aws-cn"],
  ])("%s in %s is refused: its partition (%s) is not the one the IAM policies are written for", (type, region, partition) => {
    expect(regionProblem(type, region)).toBe(`${region} is in the ${partition} partition; windtunnel's IAM policies are written for the aws partition (arn:aws:…), where the watchdog's teardown rights hold: use a commercial region`);
  });

  it.each(["us-east", "US-EAST-1", "useast1", "us-east-1a", "us-east-1-atl-1", "", " us-east-1"])("a region named %j is refused by its form, whatever the type", (region) => {
    expect(regionProblem("p5.48xlarge", region)).toBe("expected an AWS region name such as us-east-1");
    expect(regionProblem("g6e.48xlarge", region)).toBe("expected an AWS region name such as us-east-1");
  });

  it("every region in the table has the form the check requires, and no type lists one twice", () => {
    for (const [type, regions] of Object.entries(OFFERED_IN)) {
      for (const r of regions) expect(r, type).toMatch(REGION_FORM);
      expect(new Set(regions).size, type).toBe(regions.length);
    }
  });

  it("the offline answer to DescribeInstanceTypeOfferings agrees with the check", () => {
    for (const [type, regions] of Object.entries(OFFERED_IN)) {
      for (const r of regions) expect(offeredOffline(type, r)).toBe(true);
      expect(offeredOffline(type, "eu-west-3")).toBe(regions.includes("eu-west-3"));
    }
    expect(offeredOffline("g6e.48xlarge", "eu-west-3")).toBe(true);
  });
});
