/**
 * Randomised scripts over the in-test network: partitions, drops, restarts, compaction and
 * membership changes (which the simulator does not exercise), with Raft's safety properties
 * checked after every step and liveness checked once the faults stop.
 */
import { describe, it, expect } from 'vitest';
import { Network, encodeState } from './network.js';
import { SeededRandom } from '../../../src/clock/index.js';
import { ProposalDroppedError, type NodeId } from '../../../src/raft/index.js';

function isPrefix(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

class Safety {
  private readonly leaders = new Map<number, NodeId>();
  /** index → term of every entry ever known committed. */
  private readonly committed = new Map<number, number>();

  check(n: Network): void {
    const ids = [...n.peers.keys()];
    for (const id of ids) {
      const s = n.node(id).status();
      if (s.role === 'leader') {
        const prev = this.leaders.get(s.term);
        if (prev !== undefined && prev !== id) throw new Error(`two leaders in term ${s.term}: ${prev} and ${id}`);
        this.leaders.set(s.term, id);
      }
      const st = n.peer(id).storage;
      for (let i = Math.max(st.firstIndex(), s.commit - 20); i <= Math.min(s.commit, st.lastIndex()); i++) {
        const t = st.term(i);
        const known = this.committed.get(i);
        if (known !== undefined && known !== t) throw new Error(`node ${id} has term ${t} at committed ${i}, expected ${known}`);
        this.committed.set(i, t);
      }
    }
    for (const a of ids)
      for (const b of ids) {
        if (a < b && !isPrefix(n.peer(a).applied, n.peer(b).applied)) {
          throw new Error(`applied sequences of ${a} and ${b} diverge`);
        }
      }
  }
}

function runScript(seed: number, steps: number): Network {
  const rnd = new SeededRandom(seed);
  const variants = [{}, { maxInflight: 2, maxEntriesPerMsg: 2 }, { preVote: false }, { checkQuorum: false }];
  const n = new Network([1, 2, 3], variants[seed % variants.length]);
  const safety = new Safety();
  let nextId = 4;
  let counter = 0;
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd.next() * xs.length)];
  for (let step = 0; step < steps; step++) {
    const r = rnd.next();
    const ids = [...n.peers.keys()];
    const leader = n.leader();
    try {
      if (r < 0.5) n.tick();
      else if (r < 0.7 && leader !== undefined) n.propose(leader, `p${counter++}`);
      else if (r < 0.75) n.isolate(pick(ids));
      else if (r < 0.8) n.heal();
      else if (r < 0.83) {
        const rate = rnd.next() * 0.3;
        n.drop = () => rnd.next() < rate;
      } else if (r < 0.86) n.restart(pick(ids));
      else if (r < 0.9) {
        const id = pick(ids);
        const s = n.node(id).status();
        if (s.applied > n.peer(id).storage.firstIndex()) {
          n.peer(id).storage.compact(s.applied, encodeState(n.peer(id).applied), s.conf);
        }
      } else if (r < 0.96 && leader !== undefined) {
        const conf = n.node(leader).status().conf;
        const choice = rnd.next();
        if (choice < 0.4 && ids.length < 7) {
          const id = nextId++;
          n.node(leader).proposeConfChange({ type: 'add_learner', node: id });
          n.join(id);
        } else if (choice < 0.7 && conf.learners.length > 0) {
          n.node(leader).proposeConfChange({ type: 'promote', node: pick(conf.learners) });
        } else if (conf.voters.length > 3) {
          n.node(leader).proposeConfChange({ type: 'remove', node: pick(conf.voters) });
        }
      } else n.tick(3);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
    safety.check(n);
  }
  // Faults stop: a leader must emerge and every member must converge.
  n.heal();
  n.tick(150);
  safety.check(n);
  return n;
}

describe('raft randomised scripts', () => {
  // RAFT_FUZZ_SEEDS / RAFT_FUZZ_STEPS widen the run locally; the default stays light for CI.
  const seeds = Number(process.env.RAFT_FUZZ_SEEDS ?? 24);
  const steps = Number(process.env.RAFT_FUZZ_STEPS ?? 300);
  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}: safe throughout, converges once healed`, () => {
      const n = runScript(seed, steps);
      const leader = n.leader();
      expect(leader).toBeDefined();
      const conf = n.node(leader!).status().conf;
      const members = [...conf.voters, ...conf.learners];
      const ref = n.peer(leader!).applied;
      for (const id of members) expect(n.peer(id).applied).toEqual(ref);
      const ldr = n.node(leader!).status();
      for (const id of conf.voters) expect(n.node(id).status().conf.voters.sort()).toEqual([...conf.voters].sort());
      expect(ldr.commit).toBeGreaterThan(0);
    });
  }
});
