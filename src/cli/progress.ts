/** Terminal rendering of progress: one bar per task with rate and ETA, on stderr. */
import cliProgress from 'cli-progress';
import type { ProgressSink, ProgressTask } from '../core/progress.js';

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const openAreas = new Set<cliProgress.MultiBar>();

/** Stop every bar (on errors: no timer may keep the process alive or print after the message). */
export function closeAllProgress(): void {
  for (const m of openAreas) m.stop();
  openAreas.clear();
}

/** Bars share one multi-bar area, so a long task (training) stays visible while sub-tasks run. */
export function terminalProgress(): ProgressSink {
  const stream = process.stderr;
  let multi: cliProgress.MultiBar | null = null;
  let open = 0;
  const area = () => {
    if (multi) return multi;
    const m = new cliProgress.MultiBar(
      {
        stream,
        format: '{label} {bar} {value}/{total} {unit} | {rate} | ETA {eta_h} {info}',
        barsize: 24,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        clearOnComplete: false,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    // one 'stop' listener per area (not per task: studies open many tasks)
    m.on('stop', () => openAreas.delete(m));
    multi = m;
    return m;
  };
  const register = () => {
    const m = area();
    openAreas.add(m);
    return m;
  };
  return {
    task(label: string, initialTotal: number, unit = ''): ProgressTask {
      let total = initialTotal;
      const start = Date.now();
      let startDone = -1;
      open++;
      const bar = register().create(initialTotal, 0, { label: label.padEnd(18), unit, info: '', rate: '', eta_h: '–' });
      return {
        update(done: number, info?: string, newTotal?: number) {
          if (newTotal !== undefined && newTotal !== total) {
            total = newTotal;
            bar.setTotal(total);
          }
          if (startDone < 0) startDone = done;
          const secs = (Date.now() - start) / 1000;
          const rate = secs > 0 ? (done - startDone) / secs : 0;
          const left = rate > 0 ? (total - done) / rate : Number.NaN;
          bar.update(done, {
            info: info ?? '',
            rate: rate > 0 ? `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)}/s` : '',
            eta_h: eta(left),
          });
        },
        end() {
          bar.stop();
          if (--open === 0 && multi) {
            multi.stop();
            multi = null;
          }
        },
      };
    },
    log(line: string) {
      if (multi) multi.log(`${line}\n`);
      else stream.write(`${line}\n`);
    },
    warn(line: string) {
      if (multi) multi.log(`warning: ${line}\n`);
      else stream.write(`warning: ${line}\n`);
    },
  };
}
