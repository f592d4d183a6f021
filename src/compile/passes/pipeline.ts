/**
 * The graph passes GraphBuilder runs on its nodes when it serializes, in order. Each pass maps
 * the node list to a rewritten one; `applies` says to which graphs:
 * - 'every graph': `toModel`, and `toSplitModels` before it splits;
 * - 'nchwc': the same, when the builder's `nchwcBlock` is set;
 * - 'hoisting': only `toSplitModels` (the setup / prefix / rest split; `ctx.vary` names the
 *   inputs that change per call), after the others.
 * A new pass is a function in its family file (conv.ts, elementwise.ts, movement.ts, pool.ts) and
 * a line here.
 */

import { neededBy, type PassContext, type PendingNode, topoSort } from './context.js';
import { fuseSiblingConvs, hoistedPatchConvs, mergeSummedConvTransposes, nchwcConvs, nchwcSums } from './conv.js';
import { foldInvariantFactors, poolBeforeRelu } from './elementwise.js';
import { movementRoundTrips, reversalsAsProducts, reversedKernelConvs } from './movement.js';
import { windowGathers, windowMaxPools, windowSums } from './pool.js';

interface Pass {
  name: string;
  applies: 'every graph' | 'nchwc' | 'hoisting';
  run: (ctx: PassContext, nodes: PendingNode[]) => PendingNode[];
}

const PASSES: readonly Pass[] = [
  { name: 'window maxima as MaxPool', applies: 'every graph', run: windowMaxPools },
  { name: 'window sums by phase', applies: 'every graph', run: windowSums },
  { name: 'window slices by phase', applies: 'every graph', run: windowGathers },
  { name: 'reversed kernels read directly', applies: 'every graph', run: reversedKernelConvs },
  { name: 'movement round trips dropped', applies: 'every graph', run: movementRoundTrips },
  { name: 'reversals as permutation products', applies: 'every graph', run: reversalsAsProducts },
  { name: 'dead nodes dropped', applies: 'every graph', run: (ctx, nodes) => neededBy(nodes, ctx.outputs) },
  { name: 'sibling convs fused', applies: 'every graph', run: fuseSiblingConvs },
  { name: 'summed ConvTransposes merged', applies: 'every graph', run: mergeSummedConvTransposes },
  { name: 'max pooling before ReLU', applies: 'every graph', run: poolBeforeRelu },
  { name: 'NCHWc convs', applies: 'nchwc', run: nchwcConvs },
  { name: 'NCHWc sums', applies: 'nchwc', run: nchwcSums },
  { name: 'topological order', applies: 'every graph', run: (ctx, nodes) => topoSort(nodes, ctx.available()) },
  { name: 'invariant factors folded', applies: 'hoisting', run: foldInvariantFactors },
  { name: 'patch convs hoisted', applies: 'hoisting', run: hoistedPatchConvs },
];

/** `nodes` through every pass that applies (`hoisting`: the graph is being split). */
export function runPasses(ctx: PassContext, nodes: PendingNode[], hoisting: boolean): PendingNode[] {
  const applies = (p: Pass) => p.applies === 'every graph' || (p.applies === 'nchwc' && ctx.nchwcBlock > 0) || (p.applies === 'hoisting' && hoisting);
  return PASSES.filter(applies).reduce((acc, p) => p.run(ctx, acc), nodes);
}
