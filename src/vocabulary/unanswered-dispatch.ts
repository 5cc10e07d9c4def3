/**
 * What the agents room found about an agent whose dispatch went unanswered, as the runs room reads
 * it. `closed`: it was silent and is closed; `gone`: no node known holds its socket. Either way it
 * does not run the job, which may go to another agent. `acked`: it did acknowledge the job, or
 * answered about it by the time it was judged (its word was slow to reach the run), and keeps it.
 * `asked`: its socket is on another node, which alone sees whether it answered; that node was asked
 * to judge it, and its word reaches the run as the agent's own would (the ack, or the agent
 * registering again without the job). The run places the job again only on `closed` or `gone`.
 */
export type UnansweredDispatch = 'closed' | 'gone' | 'acked' | 'asked';
