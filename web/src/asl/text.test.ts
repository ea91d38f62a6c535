import { describe, expect, it } from 'vitest';
import { parseDefinition, rangeOfPointer } from './text';

describe('definition text', () => {
  const json = '{\n  "StartAt": "A",\n  "States": {\n    "A": {\n      "Type": "Pass",\n      "Next": "Gone"\n    }\n  }\n}\n';
  const yaml = 'StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Gone\n';

  it('locates a pointer on its line in JSON and YAML', () => {
    const line = (text: string, offset: number) => text.slice(0, offset).split('\n').length;
    expect(line(json, rangeOfPointer(json, '/States/A/Next').from)).toBe(6);
    expect(line(yaml, rangeOfPointer(yaml, '/States/A/Next').from)).toBe(5);
    // A missing member falls back to its parent.
    expect(line(json, rangeOfPointer(json, '/States/A/Resource').from)).toBe(4);
  });

  it('reports where a parse fails', () => {
    const r = parseDefinition('{"StartAt": }', 'json');
    expect(r.ok).toBe(false);
    expect(parseDefinition(yaml, 'yaml')).toEqual({ ok: true, value: { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Gone' } } } });
  });
});
