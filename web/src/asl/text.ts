// Definition text in JSON or YAML: parsing with a useful error position,
// writing back in the same format, and finding where a JSON pointer sits in
// the text (for diagnostics on the right line). The `yaml` package parses
// both formats (JSON is YAML 1.2 flow syntax) and keeps source ranges.

import { isMap, isScalar, isSeq, parseDocument, stringify, type Node as YamlNode } from 'yaml';
import { parsePointer } from './types';

export type Format = 'json' | 'yaml';

export type ParseResult = { ok: true; value: unknown } | { ok: false; message: string; offset: number };

export function detectFormat(text: string): Format {
  const first = text.trimStart()[0];
  return first === '{' || first === undefined ? 'json' : 'yaml';
}

export function parseDefinition(text: string, format: Format): ParseResult {
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (e) {
      const message = (e as Error).message;
      const at = /position (\d+)/.exec(message);
      return { ok: false, message, offset: at ? Number(at[1]) : 0 };
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    return { ok: false, message: err.message.split('\n')[0], offset: err.pos[0] };
  }
  return { ok: true, value: doc.toJS() };
}

export function formatDefinition(value: unknown, format: Format): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}

/**
 * The text range of the member a JSON pointer names: the key of the deepest
 * member that exists (a pointer may name a member that is missing, such as
 * a required `Next`), or the start of the document.
 */
export function rangeOfPointer(text: string, pointer: string): { from: number; to: number } {
  const doc = parseDocument(text, { keepSourceTokens: false });
  let node: unknown = doc.contents;
  let range: [number, number] | undefined = rangeOf(node);
  for (const segment of parsePointer(pointer)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      range = rangeOf(pair.key) ?? range;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      range = rangeOf(item) ?? range;
      node = item;
    } else {
      break;
    }
  }
  if (!range) return { from: 0, to: 0 };
  // Underline to the end of the line, not through a whole nested object.
  const lineEnd = text.indexOf('\n', range[0]);
  return { from: range[0], to: Math.max(range[0], lineEnd === -1 ? text.length : lineEnd) };
}

function rangeOf(node: unknown): [number, number] | undefined {
  const r = (node as YamlNode | undefined)?.range;
  return r ? [r[0], r[1]] : undefined;
}
