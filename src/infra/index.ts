// Pulumi.yaml's entry point (`pulumi up`, `pulumi preview`): the campaign program, run from the
// project folder with the selected stack's config.
import { pulumiEntry } from "./program.ts";
import * as pulumi from "@pulumi/pulumi";

export default () => pulumiEntry({ baseDir: process.cwd(), configName: `stacks/Pulumi.${pulumi.getStack()}.yaml`, env: process.env });
