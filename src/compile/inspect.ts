/**
 * Summaries of serialized ONNX models (for tests, benchmarks and debugging).
 */

import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';

export interface ModelSummary {
  /** Node count per op type (`domain.Op` for ops outside the default domain, e.g. com.microsoft.nchwc.Conv). */
  ops: Record<string, number>;
  nodes: number;
  initializers: number;
  initializerBytes: number;
  /** One line per node: `Op(inputs) -> outputs`. */
  listing: string[];
}

export function summarizeModel(model: Uint8Array): ModelSummary {
  const graph = fromBinary(ModelProtoSchema, model).graph;
  if (!graph) throw new Error('summarizeModel: no graph');
  const ops: Record<string, number> = {};
  const listing: string[] = [];
  for (const n of graph.node) {
    const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    ops[op] = (ops[op] ?? 0) + 1;
    const attrs = n.attribute.map((a) => `${a.name}=${a.ints.length ? `[${a.ints.join(',')}]` : a.i}`).join(' ');
    listing.push(`${op}(${n.input.join(', ')})${attrs ? ` {${attrs}}` : ''} -> ${n.output.join(', ')}`);
  }
  const initializerBytes = graph.initializer.reduce((s, t) => s + t.rawData.length, 0);
  return { ops, nodes: graph.node.length, initializers: graph.initializer.length, initializerBytes, listing };
}
