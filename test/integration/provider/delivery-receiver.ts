import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyHmacSha256 } from '../../../src/webhooks/index.js';

export interface Attempt {
  url: string;
  deliveryId: string;
  /** Whether X-Signature-256 is the body's HMAC under the secret, checked as the git route checks it. */
  signed: boolean;
  body: { ref: string; before: string; after: string };
  status: number;
}

/**
 * Stands in for the orchestrator's git webhook route on loopback: checks the signature exactly as
 * the route does (401 when wrong), answers a delivery id it already took with 200 duplicate, and
 * otherwise gives `answer` (202 when up; set 503 to play an orchestrator that is down).
 */
export class DeliveryReceiver {
  answer = 202;
  readonly attempts: Attempt[] = [];
  private readonly taken = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(secret: string): Promise<DeliveryReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new DeliveryReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const signature = req.headers['x-signature-256'];
        const signed = verifyHmacSha256(secret, raw, typeof signature === 'string' ? signature : undefined, { requirePrefix: true });
        const deliveryId = String(req.headers['x-delivery-id'] ?? '');
        let status = signed ? receiver.answer : 401;
        if (signed && status === 202 && receiver.taken.has(deliveryId)) status = 200;
        if (status === 202) receiver.taken.add(deliveryId);
        receiver.attempts.push({ url: req.url ?? '', deliveryId, signed, body: JSON.parse(raw.toString('utf8')), status });
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(status === 200 ? `{"deliveryId":"${deliveryId}","status":"duplicate"}` : `{"status":${status}}`);
      });
    });
    return receiver;
  }

  /** The deliveries taken (202), in the order they arrived. */
  get accepted(): Attempt[] {
    return this.attempts.filter((a) => a.status === 202);
  }

  reset(answer = 202): void {
    this.answer = answer;
    this.attempts.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
