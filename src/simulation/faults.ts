/**
 * A seed's fault episodes played on the world: partitions and one-way cuts on the network, crashes
 * (the node's process dies, its agents lose their connection) with a restart when the episode
 * ends, and at the heal time every link restored, drops off and every node up. Overlapping
 * episodes stack: a link cut twice stays cut until both heal; a node already down stays down until
 * the first restart.
 */
import type { SimLoop } from './loop.js';
import type { SimNetwork } from './network.js';
import { describeEpisode, type ClusterScenario, type Episode } from './scenario.js';
import type { SimAgent } from './sim-agent.js';
import type { SimNode } from './sim-node.js';

export interface FaultWorld {
  loop: SimLoop;
  net: SimNetwork;
  nodes: ReadonlyMap<string, SimNode>;
  agents: readonly SimAgent[];
  trace(line: string): void;
}

export function scheduleFaults(w: FaultWorld, scenario: ClusterScenario): void {
  for (const e of scenario.episodes) w.loop.at(e.at, () => play(w, e, Math.min(e.at + e.durationMs, scenario.healAt)));
  w.loop.at(scenario.healAt, () => {
    w.trace('heal: every link restored, drops off, every node up');
    w.net.healAll();
    w.net.params = { ...w.net.params, drop: 0 };
    for (const node of w.nodes.values()) node.start();
  });
}

function play(w: FaultWorld, e: Episode, end: number): void {
  w.trace(`fault: ${describeEpisode(e)}`);
  const { loop, net } = w;
  const others = [...w.nodes.keys()].filter((n) => n !== e.node);
  switch (e.kind) {
    case 'crash': {
      const node = w.nodes.get(e.node)!;
      node.crash();
      for (const a of w.agents) if (a.o.node === e.node) a.nodeDied();
      loop.at(end, () => node.start());
      return;
    }
    case 'isolate':
      for (const other of others) net.cutBoth(e.node, other);
      loop.at(end, () => {
        for (const other of others) net.healBoth(e.node, other);
      });
      return;
    case 'one-way':
      net.cut(e.node, e.other!);
      loop.at(end, () => net.heal(e.node, e.other!));
      return;
    case 'pair':
      net.cutBoth(e.node, e.other!);
      loop.at(end, () => net.healBoth(e.node, e.other!));
      return;
  }
}
