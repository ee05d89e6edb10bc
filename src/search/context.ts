/** What a proposer is shown of a node: the ProposalContext (docs/design.md, step 2). */
import { printLoopNest } from "../ir/print.ts";
import { legalMoves } from "../schedule/enumerate.ts";
import type { ProposerAccounting } from "./accounting.ts";
import type { ProposalContext, ScoreView } from "./proposer.ts";
import type { TuningSession } from "./session.ts";
import type { TreeNode } from "./tree.ts";

export function proposalContext(
  session: TuningSession,
  accounting: ProposerAccounting,
  node: TreeNode,
  purpose: ProposalContext["purpose"],
  rejected?: ProposalContext["rejected"],
): ProposalContext {
  const view = (n: TreeNode): ScoreView => ({
    ms: n.bestKnownMs,
    measured: n.measuredMs !== undefined,
    score: session.score(n.bestKnownMs),
  });
  let text: string | undefined;
  return {
    purpose,
    schedule: node.schedule,
    get programText() {
      text ??= printLoopNest(node.schedule.lower());
      return text;
    },
    traceText: node.schedule.text(),
    node: view(node),
    parent: node.parent && view(node.parent),
    grandparent: node.parent?.parent && view(node.parent.parent),
    legalMoves: () =>
      session.recentLegalMoves.of(node, () => legalMoves(node.schedule, session.moveOptions())),
    predictMs: (sch) => session.predictMs(sch),
    models: accounting.all().map((m) => m.view()),
    children: node.children.map((c) => ({ trace: c.schedule.text(), ...view(c) })),
    ancestorModels: [...node.ancestors(), node]
      .map((n) => n.proposedBy)
      .filter((m): m is string => m !== undefined),
    threads: session.options.threads ?? 1,
    target: session.target,
    budget: {
      trialsUsed: session.trials.length,
      trials: session.options.budget.trials,
      proposerCalls: accounting.calls,
    },
    ...(rejected ? { rejected } : {}),
  };
}
