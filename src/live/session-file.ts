/**
 * A live session as one JSON document: the settings, the kept checkpoints (weights as base64
 * float32) and the training history. The page hands it to `losscape live` (POST /api/save) or
 * downloads it; `losscape live --save FILE --out DIR` turns it into a run folder.
 */
import { z } from 'zod';
import { LiveConfig } from './config.js';
import type { HistoryRow, LiveCheckpoint, LiveSession } from './session.js';

export const SESSION_FORMAT = 'losscape-live-session/1';

const Metrics = z.object({ train_loss: z.number(), train_acc: z.number(), test_loss: z.number().optional(), test_acc: z.number().optional() });

export const SessionDoc = z.object({
  format: z.literal(SESSION_FORMAT),
  name: z.string().regex(/^[\w.-]+$/),
  config: LiveConfig,
  /** Parameters of the model (a check on the decoded weights). */
  params: z.number().int().positive(),
  checkpoints: z.array(z.object({ step: z.number().int().min(0), epoch: z.number().min(0), metrics: Metrics, theta: z.string() })).min(1),
  history: z.array(Metrics.extend({ step: z.number().int().min(0), epoch: z.number().min(0) })),
});
export type SessionDoc = z.infer<typeof SessionDoc>;

export function encodeFloats(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function decodeFloats(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** The session document of the current state (the current weights are its last checkpoint). */
export async function sessionDoc(s: LiveSession, name: string): Promise<SessionDoc> {
  const cks: LiveCheckpoint[] = await s.checkpointsNow();
  return {
    format: SESSION_FORMAT,
    name,
    config: s.config,
    params: s.model.layout.size,
    checkpoints: cks.map((c) => ({ step: c.step, epoch: c.epoch, metrics: c.metrics, theta: encodeFloats(c.theta) })),
    history: s.history.map((r: HistoryRow) => ({ ...r })),
  };
}
