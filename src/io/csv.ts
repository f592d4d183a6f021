import { LosscapeError } from '../core/errors.js';
/**
 * Numeric CSV tables: delimiter detected (comma, semicolon, tab), optional
 * header row (detected: a first row with a non-numeric cell), double-quoted
 * fields, '#' comment lines and blank lines skipped.
 */
export interface CsvTable {
  header: string[] | null;
  rows: number;
  cols: number;
  /** Row-major values. */
  values: Float64Array;
}

function splitLine(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === delim) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function isNumber(s: string): boolean {
  return s !== '' && Number.isFinite(Number(s));
}

export function parseCsv(text: string, label: string, hasHeader?: boolean): CsvTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (lines.length === 0) throw new LosscapeError('input', `${label}: empty CSV file`);
  const first = lines[0]!;
  const delim = [',', ';', '\t'].map((d) => [d, first.split(d).length] as const).sort((a, b) => b[1] - a[1])[0]![0];
  const firstCells = splitLine(first, delim);
  const header = hasHeader ?? !firstCells.every(isNumber);
  const body = header ? lines.slice(1) : lines;
  const cols = firstCells.length;
  if (body.length === 0) throw new LosscapeError('input', `${label}: the CSV file has a header but no rows`);
  const values = new Float64Array(body.length * cols);
  body.forEach((line, r) => {
    const cells = splitLine(line, delim);
    if (cells.length !== cols) {
      throw new LosscapeError('input', `${label}: line ${r + (header ? 2 : 1)} has ${cells.length} columns, expected ${cols}`);
    }
    cells.forEach((c, j) => {
      const v = Number(c);
      if (c === '' || !Number.isFinite(v)) throw new LosscapeError('input', `${label}: line ${r + (header ? 2 : 1)}, column ${j + 1}: "${c}" is not a number`);
      values[r * cols + j] = v;
    });
  });
  return { header: header ? firstCells : null, rows: body.length, cols, values };
}
