/** A strict little XML reader for tests: elements, attributes, text; throws on any well-formedness error. */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

export function parseXml(src: string): XmlNode {
  let i = 0;
  const fail = (msg: string): never => {
    const line = src.slice(0, i).split('\n').length;
    throw new Error(`XML error at line ${line}: ${msg}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated <?');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        if (src.slice(i + 4, e).includes('--')) fail('"--" inside a comment');
        i = e + 3;
      } else return;
    }
  };
  const name = () => {
    const m = /^[A-Za-z_][\w.-]*/.exec(src.slice(i, i + 200));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const element = (): XmlNode => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const n: XmlNode = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      while (/\s/.test(src[i]!)) i++;
      if (src.startsWith('/>', i)) {
        i += 2;
        return n;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const a = name();
      if (a in n.attrs) fail(`duplicate attribute ${a}`);
      while (/\s/.test(src[i]!)) i++;
      if (src[i] !== '=') fail('expected =');
      i++;
      while (/\s/.test(src[i]!)) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") fail('expected a quoted value');
      const e = src.indexOf(q!, i + 1);
      const v = src.slice(i + 1, e);
      if (v.includes('<') || /&(?!(lt|gt|amp|quot|apos);)/.test(v)) fail(`bad character in attribute ${a}`);
      n.attrs[a] = v;
      i = e + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${n.name}>`);
      const text = src.slice(i, lt);
      if (/&(?!(lt|gt|amp|quot|apos);)/.test(text)) fail('bare &');
      n.text += text;
      i = lt;
      if (src.startsWith('<!--', i)) {
        i = src.indexOf('-->', i) + 3;
      } else if (src.startsWith('</', i)) {
        i += 2;
        const close = name();
        if (close !== n.name) fail(`</${close}> closes <${n.name}>`);
        while (/\s/.test(src[i]!)) i++;
        if (src[i] !== '>') fail('expected >');
        i++;
        return n;
      } else n.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

export function find(n: XmlNode, path: string[]): XmlNode[] {
  if (path.length === 0) return [n];
  return n.children.filter((c) => c.name === path[0]).flatMap((c) => find(c, path.slice(1)));
}

export function numbers(n: XmlNode): number[] {
  const t = n.text.trim();
  return t ? t.split(/\s+/).map((s) => (s === 'NaN' ? Number.NaN : Number(s))) : [];
}
