import {
  isTerminalJobState,
  isTerminalStepState,
  type AgentMessage,
  type AgentMessageOf,
  type InFlightJob,
} from '../transport/index.js';

type StatusMessage = AgentMessageOf<'job.status'> | AgentMessageOf<'step.status'>;

interface Entry {
  message: StatusMessage;
  /** Terminal statuses stay until the orchestrator acks them; others leave once sent. */
  awaitingAck: boolean;
  /** When it last went out; undefined while it has not been sent at all. */
  sentAt: number | undefined;
}

export function isStatusMessage(message: AgentMessage): message is StatusMessage {
  return message.type === 'job.status' || message.type === 'step.status';
}

export function isTerminalStatus(message: StatusMessage): boolean {
  return message.type === 'job.status' ? isTerminalJobState(message.state) : isTerminalStepState(message.state);
}

/**
 * Job and step statuses in the order they happened. KiCI sent them without a net and lost a job's
 * result when the socket was down at the wrong moment; here a terminal status is kept until
 * `ack{messageId}` comes back, and is sent again after every reconnect until then.
 */
export class Outbox {
  private entries: Entry[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** `sentAt` is given when the message is going out right now. */
  add(message: StatusMessage, sentAt?: number): void {
    this.entries.push({ message, awaitingAck: isTerminalStatus(message), sentAt });
  }

  /** Returns true when the id was one we were waiting for. */
  ack(messageId: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !(e.awaitingAck && e.message.messageId === messageId));
    return this.entries.length !== before;
  }

  /** Messages to (re)send now, oldest first; those that need no ack are forgotten. */
  takeForSend(now: number): StatusMessage[] {
    const out = this.entries.map((e) => e.message);
    this.entries = this.entries.filter((e) => e.awaitingAck);
    for (const entry of this.entries) entry.sentAt = now;
    return out;
  }

  /**
   * Terminal statuses sent at least `ageMs` ago and still not acked, marked as sent again. An
   * orchestrator that shed a frame under load gets it again without waiting for a reconnect.
   */
  dueForResend(now: number, ageMs: number): StatusMessage[] {
    const due = this.entries.filter((e) => e.awaitingAck && e.sentAt !== undefined && now - e.sentAt >= ageMs);
    for (const entry of due) entry.sentAt = now;
    return due.map((e) => e.message);
  }

  /** Only the ones sent while connected that still wait for their ack. */
  pendingAcks(): number {
    return this.entries.filter((e) => e.awaitingAck).length;
  }

  /** Jobs whose final job.status the orchestrator has not acknowledged yet. */
  unackedJobs(): InFlightJob[] {
    return this.entries
      .filter((e) => e.awaitingAck && e.message.type === 'job.status')
      .map((e) => ({ jobId: e.message.jobId, runId: e.message.runId }));
  }
}
