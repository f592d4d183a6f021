/**
 * Which nodes of a graph go to the setup, prefix and rest graphs of `GraphBuilder.toSplitModels`
 * (a pure function of the node list; the builder serializes the three graphs).
 *
 * Every node is one of: 'var' (reads an input named in `vary`, or a var node's output, or writes
 * a graph output), 'const' (reads initializers only), 'data' (initializers and inputs named in
 * `fixed` only) or 'inv' (the rest: invariant per call). The rest graph computes the var nodes
 * and the const nodes they need; the prefix the inv nodes (and const ones) its outputs, the
 * frontier, need; the setup the data nodes the other two read.
 */

import { neededBy, type PendingNode } from './passes/context.js';

export interface SplitGraph {
  /** Graph input names, in order. */
  inputs: string[];
  initializers: Set<string>;
  outputs: string[];
  /** Whether the static shape and dtype of a tensor are known (graph inputs need them). */
  known(name: string): boolean;
}

export interface SplitPlan {
  setupNodes: PendingNode[];
  setupInputs: string[];
  /** Setup outputs (data-only values the prefix or the rest reads), in first-read order. */
  fixedOut: string[];
  prefixNodes: PendingNode[];
  /** Graph inputs, then setup outputs, that the prefix reads. */
  prefixInputs: string[];
  /** Prefix outputs (invariant values the rest reads), in first-read order. */
  frontier: string[];
  restNodes: PendingNode[];
  /** Graph inputs, then setup outputs, that the rest reads (the frontier comes on top). */
  restInputs: string[];
}

type Kind = 'const' | 'data' | 'inv' | 'var';

/** The split of `nodes` (in topological order), or null when nothing is worth hoisting. */
export function planSplit(nodes: PendingNode[], g: SplitGraph, vary: readonly string[], fixed: readonly string[]): SplitPlan | null {
  const kinds = classify(nodes, g, vary, fixed);
  const of = (k: Kind) => nodes.filter((n) => kinds.get(n) === k);
  const constNodes = of('const');
  const dataNodes = of('data');
  const invNodes = of('inv');
  const restCore = of('var');
  const frontier = readBy(restCore, new Set(invNodes.flatMap((n) => n.outputs)));
  if (frontier.length === 0 || !frontier.every(g.known)) return null;
  const position = new Map(nodes.map((n, i) => [n, i]));
  const inOrder = (a: PendingNode[]) => a.sort((p, q) => position.get(p)! - position.get(q)!);
  const restNodes = [
    ...neededBy(
      constNodes,
      restCore.flatMap((n) => n.inputs),
    ),
    ...restCore,
  ];
  let prefixNodes = neededBy(inOrder([...constNodes, ...invNodes]), frontier);
  let fixedOut = readBy([...prefixNodes, ...restNodes], new Set(dataNodes.flatMap((n) => n.outputs)));
  let setupNodes = neededBy(inOrder([...constNodes, ...dataNodes]), fixedOut);
  if (!fixedOut.every(g.known)) {
    // shapes unknown: no setup graph, its nodes stay in the prefix
    prefixNodes = neededBy(inOrder([...constNodes, ...dataNodes, ...invNodes]), frontier);
    fixedOut = [];
    setupNodes = [];
  }
  const usedInputs = (ns: PendingNode[]) => {
    const uses = new Set(ns.flatMap((n) => n.inputs));
    return g.inputs.filter((i) => uses.has(i));
  };
  const fixedSet = new Set(fixedOut);
  return {
    setupNodes,
    setupInputs: usedInputs(setupNodes),
    fixedOut,
    prefixNodes,
    prefixInputs: [...usedInputs(prefixNodes), ...readBy(prefixNodes, fixedSet)],
    frontier,
    restNodes,
    restInputs: [...usedInputs(restNodes), ...readBy(restNodes, fixedSet)],
  };
}

function classify(nodes: PendingNode[], g: SplitGraph, vary: readonly string[], fixed: readonly string[]): Map<PendingNode, Kind> {
  const varying = new Set(vary);
  const constant = new Set<string>(g.initializers);
  constant.add('');
  const fixedValues = new Set(fixed.filter((f) => !varying.has(f)));
  const outputNames = new Set(g.outputs);
  const kinds = new Map<PendingNode, Kind>();
  for (const nd of nodes) {
    let k: Kind;
    if (nd.outputs.some((o) => outputNames.has(o)) || nd.inputs.some((x) => varying.has(x))) k = 'var';
    else if (nd.inputs.every((x) => constant.has(x))) k = 'const';
    else if (nd.inputs.every((x) => constant.has(x) || fixedValues.has(x))) k = 'data';
    else k = 'inv';
    kinds.set(nd, k);
    for (const o of nd.outputs) (k === 'var' ? varying : k === 'const' ? constant : k === 'data' ? fixedValues : null)?.add(o);
  }
  return kinds;
}

/** Outputs in `produced` that `readers` read, in first-read order. */
function readBy(readers: PendingNode[], produced: Set<string>): string[] {
  const out = new Set<string>();
  for (const nd of readers) for (const x of nd.inputs) if (produced.has(x)) out.add(x);
  return [...out];
}
