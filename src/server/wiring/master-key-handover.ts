/**
 * The master key across the coordinators (issue 19): `rotate-key` on a node started with both keys
 * first hands them, sealed to each receiver's node key, to every other live coordinator, which
 * takes them only if the old one is a key it already holds (judgeKeyOffer), keeps them in its
 * sealed handover and reads with both at once. Only when all of them took the keys does it
 * re-seal; once nothing is left it tells them to drop the old key. Edge workers hold no master key
 * and are never asked. Nothing here logs or answers a key: only key versions and node ids.
 */
import { openSealed, sealFor, type NodeCredentials } from '../../certificates/index.js';
import { rewriteJoinSecretKeys } from '../../membership/index.js';
import { judgeKeyDrop, judgeKeyOffer, KeyHandoverRefusedError, type LiveSecretKeys, type MasterKey, parseSecretKey, type RotationReport } from '../../secrets/index.js';
import { KEY_OFFER_PURPOSE, keyOfferSecrets, type MasterKeyKinds, type PeerIdentity, type PeerLinks } from '../../transport/index.js';
import type { Logger } from '../logger.js';

/** How long a coordinator has to open, check and persist an offer. */
const HANDOVER_TIMEOUT_MS = 10_000;

export interface MasterKeyHandoverParts {
  links: PeerLinks;
  kinds: MasterKeyKinds;
  keys: LiveSecretKeys;
  credentials: NodeCredentials;
  /** Where this node keeps its sealed handover (`cluster/`); a node with none holds keys from its configuration only. */
  clusterDir: string;
  /** Is this link's certificate a current member's own? */
  trusts(from: PeerIdentity): boolean;
  /** The other coordinators that are members now (edge workers excluded). */
  coordinators(): string[];
  log: Pick<Logger, 'info' | 'warn'>;
}

const hex = (key: MasterKey) => key.bytes.toString('hex');

export class MasterKeyHandover {
  constructor(private readonly p: MasterKeyHandoverParts) {}

  /** Answer offers and drops from the other coordinators. */
  serve(): void {
    const { links, kinds } = this.p;
    links.handle(kinds.offer, (from, body) => {
      if (from.role !== 'coordinator' || !this.p.trusts(from)) return { accepted: false, reason: 'only a coordinator that is a member hands over master keys' };
      let offer: { current: MasterKey; old: MasterKey };
      try {
        const opened = keyOfferSecrets.parse(JSON.parse(openSealed(this.p.credentials.privateKey, body.box, KEY_OFFER_PURPOSE).toString('utf8')));
        offer = { current: parseSecretKey(opened.secretKey), old: parseSecretKey(opened.oldSecretKey) };
      } catch {
        // Never the parser's words: they could quote what the box held.
        return { accepted: false, reason: "the offer does not open with this node's key" };
      }
      const judged = judgeKeyOffer(this.p.keys, offer);
      if (!judged.take) {
        this.p.log.warn({ from: from.nodeId, reason: judged.reason }, 'master-key offer refused');
        return { accepted: false, reason: judged.reason };
      }
      if (judged.changed) {
        // Kept before it is used: a restart right after reads with the same keys.
        if (!this.keep(judged.current, judged.old)) {
          this.p.log.warn({ keyVersion: judged.current.version }, 'this node keeps its master key in its configuration, not in a join handover: before it restarts, set KICI_SECRET_KEY to the new key (and KICI_SECRET_KEY_OLD to the old one until the rotation ends)');
        }
        this.p.keys.install(judged.current, judged.old);
        this.p.log.info({ from: from.nodeId, keyVersion: judged.current.version, oldKeyVersion: judged.old?.version }, 'master key handed over: reading with the new and the old key, sealing with the new one');
      }
      return { accepted: true };
    });
    links.handle(kinds.drop, (from, body) => {
      if (from.role !== 'coordinator' || !this.p.trusts(from)) return { dropped: false, reason: 'only a coordinator that is a member ends a rotation' };
      const judged = judgeKeyDrop(this.p.keys, body.keyVersion);
      if (judged.reason) return { dropped: false, reason: judged.reason };
      if (judged.drop) this.dropHere(from.nodeId);
      return { dropped: true };
    });
  }

  /**
   * rotate-key in a cluster: hand both keys over first (refusing, with the members named, if a
   * live coordinator did not take them), re-seal, and when nothing is left drop the old key everywhere.
   */
  async rotate(reseal: () => Promise<RotationReport>): Promise<RotationReport> {
    const old = this.p.keys.old;
    if (!old) return reseal();
    await this.handOver(this.p.keys.current, old);
    const report = await reseal();
    if (!report.complete) return report;
    return { ...report, oldKeyDropped: await this.dropEverywhere(report.keyVersion) };
  }

  private async handOver(current: MasterKey, old: MasterKey): Promise<void> {
    const plaintext = Buffer.from(JSON.stringify({ secretKey: hex(current), oldSecretKey: hex(old) }));
    const refused: { node: string; reason: string }[] = [];
    await Promise.all(
      this.live().map(async (node) => {
        const publicKey = this.p.links.publicKeyOf(node);
        if (!publicKey) return void refused.push({ node, reason: 'its link went down' });
        try {
          const answer = await this.p.links.request(node, this.p.kinds.offer, { box: sealFor(publicKey, plaintext, KEY_OFFER_PURPOSE) }, { timeoutMs: HANDOVER_TIMEOUT_MS });
          if (!answer.accepted) refused.push({ node, reason: answer.reason ?? 'refused' });
        } catch (e) {
          refused.push({ node, reason: (e as Error).message });
        }
      }),
    );
    plaintext.fill(0);
    if (refused.length) throw new KeyHandoverRefusedError(refused.sort((a, b) => a.node.localeCompare(b.node)));
    // This node too: a restart without KICI_SECRET_KEY_OLD still reads with both until the rotation ends.
    this.keep(current, old);
  }

  /** How many coordinators (this one included) hold no old key any more. */
  private async dropEverywhere(keyVersion: number): Promise<number> {
    const answers = await Promise.allSettled(this.live().map((node) => this.p.links.request(node, this.p.kinds.drop, { keyVersion }, { timeoutMs: HANDOVER_TIMEOUT_MS })));
    for (const a of answers) {
      if (a.status === 'rejected' || !a.value.dropped) this.p.log.warn({ reason: a.status === 'rejected' ? (a.reason as Error).message : a.value.reason }, 'a coordinator did not drop the old master key; run rotate-key again');
    }
    this.dropHere(undefined);
    return 1 + answers.filter((a) => a.status === 'fulfilled' && a.value.dropped).length;
  }

  private dropHere(from: string | undefined): void {
    this.keep(this.p.keys.current, undefined);
    if (this.p.keys.dropOld()) this.p.log.info({ from, keyVersion: this.p.keys.current.version }, 'master-key rotation finished: the old key is dropped');
  }

  /**
   * The coordinators with a link up: the ones that must take the keys now. One that is down keeps
   * the old key alone; once values need the new key, the start check refuses it until it is given both.
   */
  private live(): string[] {
    return this.p.coordinators().filter((node) => this.p.links.isUp(node));
  }

  /** Into this node's sealed handover, when it has one (false on the node that made the cluster). */
  private keep(current: MasterKey, old: MasterKey | undefined): boolean {
    return rewriteJoinSecretKeys(this.p.clusterDir, this.p.credentials, { secretKey: hex(current), ...(old ? { oldSecretKey: hex(old) } : {}) });
  }
}
