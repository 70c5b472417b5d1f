// A real local AWS API for the watchdog's tests: moto_server on 127.0.0.1, on a free port,
// stopped afterwards. Where moto_server is missing the tests skip with a notice; under CI=true
// its absence fails them.
import { afterAll, beforeAll, describe, it } from "vitest";
import { hasMoto, startMoto, type MotoServer } from "../../src/rehearse/moto-server.ts";
import { S3Client } from "@aws-sdk/client-s3";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";

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

/** SDK clients pointed at moto_server, with test credentials (SQS receives what SNS publishes). */
export function awsClients(endpoint: string): { s3: S3Client; ec2: EC2Client; sns: SNSClient; sqs: SQSClient } {
  const cfg = { endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 3 };
  return { s3: new S3Client({ ...cfg, forcePathStyle: true }), ec2: new EC2Client(cfg), sns: new SNSClient(cfg), sqs: new SQSClient(cfg) };
}

/** A campaign topic whose messages land in an SQS queue the test reads (raw delivery). */
export async function topicWithInbox(aws: ReturnType<typeof awsClients>, name: string): Promise<{ topicArn: string; queueUrl: string }> {
  const topic = await aws.sns.send(new CreateTopicCommand({ Name: name }));
  const queue = await aws.sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
  const queueArn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.["QueueArn"];
  await aws.sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "sqs", Endpoint: queueArn, Attributes: { RawMessageDelivery: "true" } }));
  return { topicArn: topic.TopicArn as string, queueUrl: queue.QueueUrl as string };
}
