/**
 * Writes the playground's image data, `digits.js` (a classic script that sets
 * `globalThis.LOSSCAPE_DIGITS`), next to the built page: for each digit set (digits.ts) the
 * CLI's own `prepareData` of the set with the bundled trainSize/testSize, encoded by
 * `encodeDigits`. A set whose source is missing (Fashion-MNIST without Debian's package) is
 * left out with a note; the page offers only the sets the bundle holds.
 * Run by `npm run build:live`: `tsx src/live/bundle-digits.ts dist/live/app`.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveConfig } from '../run/config.js';
import { prepareData } from '../run/data.js';
import { LiveConfig, runConfigOf } from './config.js';
import { DIGIT_SETS, type DigitSet, encodeDigits } from './digits.js';

/** The bundle texts of the digit sets whose data is here (set → text), and notes on the missing ones. */
export async function digitBundles(): Promise<{ texts: Partial<Record<DigitSet, string>>; missing: string[] }> {
  const texts: Partial<Record<DigitSet, string>> = {};
  const missing: string[] = [];
  for (const set of DIGIT_SETS) {
    try {
      const cfg = resolveConfig(runConfigOf(LiveConfig.parse({ data: set }), 'live', 1));
      const data = await prepareData(cfg.data);
      texts[set] = await encodeDigits(set, { train: data.train, test: data.test });
    } catch (e) {
      missing.push(`${set}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { texts, missing };
}

export async function writeDigitsScript(outDir: string): Promise<string> {
  const { texts, missing } = await digitBundles();
  const file = join(outDir, 'digits.js');
  writeFileSync(file, `globalThis.LOSSCAPE_DIGITS = ${JSON.stringify(texts)};\n`);
  const kb = (statSync(file).size / 1024).toFixed(0);
  console.log(`live: ${file} (${kb} KiB: ${Object.keys(texts).join(', ') || 'no sets'})`);
  for (const m of missing) console.log(`live: left out ${m}`);
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await writeDigitsScript(process.argv[2] ?? 'dist/live/app');
