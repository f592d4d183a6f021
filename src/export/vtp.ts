/**
 * VTK XML PolyData (.vtp, ASCII) for ParaView, like the reference code's
 * h5_to_vtp: points (x, y, z = transformed height), point data "zvalue" and the
 * raw channels (train_loss, train_acc, …) plus "valid", cell data "averaged
 * zvalue", polys as quads (or triangles). 1-D surfaces become one polyline.
 * A .pvd collection strings frames into a ParaView time series.
 */
import { type HeightOptions, heightsOf, quadsToTriangles, type SurfaceFrame, validQuads } from './frames.js';

export interface VtpOptions extends HeightOptions {
  triangles?: boolean;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Math.fround(v)) : 'NaN';
}

function dataArray(name: string, type: string, comps: number, values: ArrayLike<number>, perLine: number, format: (v: number) => string = fmt): string {
  const lines: string[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  for (let i = 0; i < values.length; i += perLine) {
    lines.push(`          ${Array.from({ length: Math.min(perLine, values.length - i) }, (_, k) => format(values[i + k]!)).join(' ')}`);
  }
  const range = values.length && min <= max ? ` RangeMin="${fmt(min)}" RangeMax="${fmt(max)}"` : '';
  return (
    `        <DataArray type="${type}" Name="${name}" NumberOfComponents="${comps}" format="ascii"${range}>\n` +
    (lines.length ? `${lines.join('\n')}\n` : '') +
    `        </DataArray>\n`
  );
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

export function surfaceToVtp(f: SurfaceFrame, opts: VtpOptions = {}): string {
  const { h, valid, channel } = heightsOf(f, opts);
  const nx = f.xs.length;
  const ny = f.ys.length;
  const n = nx * ny;
  const pts = new Float64Array(3 * n);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const k = i * nx + j;
      pts[3 * k] = f.xs[j]!;
      pts[3 * k + 1] = f.ys[i]!;
      pts[3 * k + 2] = h[k]!;
    }
  }
  const int = (v: number) => String(v);
  let cells: Uint32Array;
  let cellSize: number;
  let lines = '';
  let polys = '';
  let nLines = 0;
  let nPolys = 0;
  let cellAvg: Float64Array;
  if (ny === 1) {
    // 1-D: one polyline through the valid points
    const ids: number[] = [];
    for (let k = 0; k < n; k++) if (valid[k]) ids.push(k);
    cells = Uint32Array.from(ids);
    cellSize = ids.length;
    nLines = ids.length > 1 ? 1 : 0;
    cellAvg = new Float64Array(nLines ? [ids.reduce((s, k) => s + h[k]!, 0) / ids.length] : []);
    lines = dataArray('connectivity', 'Int64', 1, nLines ? cells : [], 6, int) + dataArray('offsets', 'Int64', 1, nLines ? [cells.length] : [], 6, int);
  } else {
    const quads = validQuads(f, valid);
    cells = opts.triangles ? quadsToTriangles(quads) : quads;
    cellSize = opts.triangles ? 3 : 4;
    nPolys = cells.length / cellSize;
    cellAvg = new Float64Array(nPolys);
    for (let c = 0; c < nPolys; c++) {
      let s = 0;
      for (let k = 0; k < cellSize; k++) s += h[cells[c * cellSize + k]!]!;
      cellAvg[c] = s / cellSize;
    }
    polys =
      dataArray('connectivity', 'Int64', 1, cells, 6, int) +
      dataArray(
        'offsets',
        'Int64',
        1,
        Array.from({ length: nPolys }, (_, c) => (c + 1) * cellSize),
        6,
        int,
      );
  }
  const empty = dataArray('connectivity', 'Int64', 1, [], 6, int) + dataArray('offsets', 'Int64', 1, [], 6, int);
  const pointData =
    dataArray('zvalue', 'Float32', 1, h, 6) +
    Object.entries(f.values)
      .map(([name, v]) =>
        dataArray(
          name,
          'Float32',
          1,
          Float64Array.from(v, (x, i) => (f.done[i] ? x : Number.NaN)),
          6,
        ),
      )
      .join('') +
    dataArray('valid', 'UInt8', 1, valid, 12, int);
  const note =
    `losscape surface ${escapeXml(f.label)}: height = ${escapeXml(channel)}` +
    `${opts.clip !== undefined ? `, clipped at ${opts.clip}` : ''}${opts.log ? ', then ln(z + 0.1)' : ''}` +
    `; point (x, y) = θ + x·δ + y·η`;
  return (
    `<?xml version="1.0"?>\n` +
    `<!-- ${note} -->\n` +
    `<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n` +
    `  <PolyData>\n` +
    `    <Piece NumberOfPoints="${n}" NumberOfVerts="0" NumberOfLines="${nLines}" NumberOfStrips="0" NumberOfPolys="${nPolys}">\n` +
    `      <PointData Scalars="zvalue">\n${pointData}      </PointData>\n` +
    `      <CellData Scalars="averaged zvalue">\n${dataArray('averaged zvalue', 'Float32', 1, cellAvg, 6)}      </CellData>\n` +
    `      <Points>\n${dataArray('Points', 'Float32', 3, pts, 6)}      </Points>\n` +
    `      <Verts>\n${empty}      </Verts>\n` +
    `      <Lines>\n${lines || empty}      </Lines>\n` +
    `      <Strips>\n${empty}      </Strips>\n` +
    `      <Polys>\n${polys || empty}      </Polys>\n` +
    `    </Piece>\n` +
    `  </PolyData>\n` +
    `</VTKFile>\n`
  );
}

/** A ParaView collection (.pvd): one dataset per frame, timestep = checkpoint index. */
export function framesToPvd(files: { file: string; timestep: number }[]): string {
  return (
    `<?xml version="1.0"?>\n<VTKFile type="Collection" version="1.0" byte_order="LittleEndian">\n  <Collection>\n` +
    files.map((f) => `    <DataSet timestep="${f.timestep}" group="" part="0" file="${escapeXml(f.file)}"/>\n`).join('') +
    `  </Collection>\n</VTKFile>\n`
  );
}
