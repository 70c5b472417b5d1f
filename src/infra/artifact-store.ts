// ArtifactStore: the campaign's S3 bucket for metrics, checkpoints and records. Versioned,
// encrypted, never public, TLS only, with old checkpoints expiring. The bucket outlives
// `pulumi destroy` (retainOnDelete): it holds the evidence of what the money bought.
import * as pulumi from "@pulumi/pulumi";
import { checkpointsPrefix } from "../campaign/layout.ts";
import * as aws from "@pulumi/aws";
import { tlsOnlyBucketPolicy } from "./policies.ts";

export interface ArtifactStoreArgs {
  campaign: string;
  /** The campaign's prefix in the bucket (the node writes below it). */
  prefix: string;
  tags: Record<string, string>;
  /**
   * Days before `checkpoints/` objects and noncurrent versions of any object expire.
   * @default 30
   */
  checkpointRetentionDays?: number;
}

export const ARTIFACT_STORE = "windtunnel:infra:ArtifactStore";

export class ArtifactStore extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ARTIFACT_STORE, name, {}, opts);
    const child = { parent: this, retainOnDelete: true };
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: `wt-${args.campaign}-`, tags: args.tags }, child);
    const bucket = this.bucket.id;
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, child);
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] }, child);
    // The policy only denies; it goes on after the public access block so S3 never sees them race.
    new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket, policy: this.bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) }, { ...child, dependsOn: [publicAccess] });
    const days = args.checkpointRetentionDays ?? 30;
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
      bucket,
      rules: [
        { id: "expire-old-checkpoints", status: "Enabled", filter: { prefix: checkpointsPrefix(args.prefix) }, expiration: { days } },
        { id: "expire-noncurrent-versions", status: "Enabled", filter: { prefix: "" }, noncurrentVersionExpiration: { noncurrentDays: days } },
        { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
      ],
    }, child);
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
