/** Every webhook reply carries a JSON body: an outcome or `{ error: { code, message } }`. */
export type DeliveryStatus = 'accepted' | 'duplicate' | 'filtered';

export interface OutcomeBody {
  deliveryId: string;
  status: DeliveryStatus;
  /** On a duplicate: what became of the first delivery with this id. */
  firstStatus?: string;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface IntakeReply {
  status: number;
  body: OutcomeBody | ErrorBody;
  headers?: Record<string, string>;
}

/** Messages are fixed strings: nothing from the request (and so no secret or signature) is echoed. */
export function errorReply(status: number, code: string, message: string, headers?: Record<string, string>): IntakeReply {
  return headers ? { status, body: { error: { code, message } }, headers } : { status, body: { error: { code, message } } };
}

export function outcomeReply(status: number, body: OutcomeBody): IntakeReply {
  return { status, body };
}
