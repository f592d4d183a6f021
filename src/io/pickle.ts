/**
 * A reader for the Python pickles that hold data batches (protocols 2–4): dicts, lists, tuples,
 * numbers, strings and bytes, and NumPy arrays (numpy.core.multiarray._reconstruct + its BUILD
 * state). Python 2 `str` and Python 3 `bytes` (also as _codecs.encode(…, 'latin1')) both come out
 * as Uint8Array; dict keys come out as strings. Nothing is executed: any other global is refused
 * with one clear line. (No maintained npm package could be installed here; this covers the
 * opcodes such files use.)
 */
import { decodeElements, type ElemType, type NdArray } from './ndarray.js';

export type PickleValue = null | boolean | number | string | Uint8Array | PickleValue[] | PickleDict | NdArray | PyGlobal | PyDtype;
export type PickleDict = Map<string, PickleValue>;

interface PyGlobal {
  kind: 'global';
  name: string;
}
interface PyDtype {
  kind: 'dtype';
  descr: string;
  littleEndian: boolean;
}
interface PyTuple extends Array<PickleValue> {
  tuple?: true;
}

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

const DTYPES: Record<string, ElemType> = {
  u1: 'uint8',
  i1: 'int8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  b1: 'bool',
};

const ALLOWED = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  'copy_reg._reconstructor',
  'copyreg._reconstructor',
  '__builtin__.object',
  'builtins.object',
]);

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

function keyOf(v: PickleValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1(v);
  if (typeof v === 'number') return String(v);
  throw new Error('unsupported dict key');
}

/** Call a whitelisted global (REDUCE / NEWOBJ). */
function call(fn: PickleValue, args: PickleValue[], label: string): PickleValue {
  const name = (fn as PyGlobal)?.kind === 'global' ? (fn as PyGlobal).name : '?';
  if (name.endsWith('._reconstruct') || name === 'numpy.ndarray') return { shape: [], dtype: 'uint8', data: new Uint8Array(0) };
  if (name === 'numpy.dtype') return { kind: 'dtype', descr: String(args[0]).replace(/^[<>|=]/, ''), littleEndian: true };
  if (name === '_codecs.encode') {
    const s = String(args[0]);
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  throw new Error(`${label}: the pickle calls ${name}, which a data reader does not run`);
}

/** BUILD: set an object's state (NumPy arrays and dtypes). */
function build(obj: PickleValue, state: PickleValue, label: string): void {
  if ((obj as PyDtype)?.kind === 'dtype') {
    const order = (state as PickleValue[])[1];
    (obj as PyDtype).littleEndian = order !== '>';
    return;
  }
  if (obj && typeof obj === 'object' && 'shape' in obj && 'data' in obj) {
    const [, shape, dtype, fortran, raw] = state as [number, number[], PyDtype, boolean, Uint8Array | string];
    const elem = DTYPES[dtype.descr];
    if (!elem) throw new Error(`${label}: NumPy dtype "${dtype.descr}" is not supported`);
    if (fortran) throw new Error(`${label}: Fortran-ordered arrays are not supported`);
    const bytes = typeof raw === 'string' ? Uint8Array.from(raw, (c) => c.charCodeAt(0)) : raw;
    const n = shape.reduce((a, b) => a * b, 1);
    const arr = obj as NdArray;
    arr.shape = [...shape];
    arr.dtype = elem;
    arr.data = elem === 'uint8' ? bytes.slice(0, n) : decodeElements(bytes, elem, n, dtype.littleEndian);
    return;
  }
  throw new Error(`${label}: cannot set the state of this object`);
}

/** Little-endian reads from a byte buffer at a moving position. */
class Cursor {
  p = 0;
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get done(): boolean {
    return this.p >= this.bytes.length;
  }
  private advance(n: number): number {
    const at = this.p;
    this.p += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.advance(1)]!;
  }
  u16(): number {
    return this.dv.getUint16(this.advance(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.advance(4), true);
  }
  i32(): number {
    return this.dv.getInt32(this.advance(4), true);
  }
  u64(): number {
    return Number(this.dv.getBigUint64(this.advance(8), true));
  }
  /** Python floats are stored big-endian. */
  f64(): number {
    return this.dv.getFloat64(this.advance(8), false);
  }
  take(n: number): Uint8Array {
    const at = this.advance(n);
    return this.bytes.subarray(at, at + n);
  }
  line(): string {
    const e = this.bytes.indexOf(10, this.p);
    const s = latin1(this.bytes.subarray(this.p, e));
    this.p = e + 1;
    return s;
  }
}
/** Parse a pickle; throws one line naming `label` on anything it does not understand. */
export function readPickle(bytes: Uint8Array, label: string): PickleValue {
  const cur = new Cursor(bytes);
  const stack: Slot[] = [];
  const memo = new Map<number, PickleValue>();
  const pop = () => stack.pop() as PickleValue;
  const popMark = (): PickleValue[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) throw new Error(`${label}: corrupt pickle (no mark)`);
    const items = stack.splice(k) as PickleValue[];
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1] as PickleValue;
  const utf8 = new TextDecoder();
  const tuple = (items: PickleValue[]): PickleValue => Object.assign(items, { tuple: true }) as PyTuple;
  while (!cur.done) {
    const op = cur.u8();
    switch (op) {
      case 0x80: // PROTO
        cur.u8();
        break;
      case 0x95: // FRAME
        cur.u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        stack.push(tuple(stack.splice(stack.length - n) as PickleValue[]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d: PickleDict = new Map();
        for (let i = 0; i < items.length; i += 2) d.set(keyOf(items[i]!), items[i + 1]!);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        (top() as PickleDict).set(keyOf(k), v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top() as PickleDict;
        for (let i = 0; i < items.length; i += 2) d.set(keyOf(items[i]!), items[i + 1]!);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        (top() as PickleValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        (top() as PickleValue[]).push(...items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(cur.u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(cur.u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memo.get(cur.u8())!);
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memo.get(cur.u32())!);
        break;
      case 0x4a: // BININT
        stack.push(cur.i32());
        break;
      case 0x4b: // BININT1
        stack.push(cur.u8());
        break;
      case 0x4d: // BININT2
        stack.push(cur.u16());
        break;
      case 0x8a: {
        // LONG1
        const b = cur.take(cur.u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(cur.f64());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        stack.push(op === 0x88);
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(cur.take(cur.u8()).slice());
        break;
      case 0x54: // BINSTRING
        stack.push(cur.take(cur.u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(cur.take(cur.u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(cur.take(cur.u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(cur.take(cur.u64()).slice());
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(cur.take(cur.u8())));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(cur.take(cur.u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(cur.take(cur.u64())));
        break;
      case 0x63: {
        // GLOBAL
        const name = `${cur.line()}.${cur.line()}`;
        if (!ALLOWED.has(name)) throw new Error(`${label}: the pickle refers to ${name}, which a data reader does not load`);
        stack.push({ kind: 'global', name });
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const n = pop();
        const name = `${String(pop())}.${String(n)}`;
        if (!ALLOWED.has(name)) throw new Error(`${label}: the pickle refers to ${name}, which a data reader does not load`);
        stack.push({ kind: 'global', name });
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ
        const args = pop() as PickleValue[];
        stack.push(call(pop(), args, label));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state, label);
        break;
      }
      default:
        throw new Error(`${label}: unsupported pickle opcode 0x${op.toString(16)} at byte ${cur.p - 1}`);
    }
  }
  throw new Error(`${label}: truncated pickle (no STOP)`);
}
