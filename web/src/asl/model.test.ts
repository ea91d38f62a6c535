import { describe, expect, it } from 'vitest';
import { buildGraph, describeRule, nodeForLocation } from './model';

const definition = {
  StartAt: 'Check',
  States: {
    Check: {
      Type: 'Choice',
      Choices: [{ Variable: '$.n', NumericGreaterThan: 3, Next: 'Fan' }],
      Default: 'Nope',
    },
    Fan: {
      Type: 'Parallel',
      Branches: [{ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Nope' }],
      Next: 'Each',
    },
    Each: { Type: 'Map', ItemProcessor: { StartAt: 'B', States: { B: { Type: 'Task', Resource: 'x', End: true } } }, End: true },
    Nope: { Type: 'Fail', Error: 'E' },
  },
};

describe('buildGraph', () => {
  const g = buildGraph(definition);

  it('labels Choice rules and distinguishes Default and Catch edges', () => {
    const kinds = g.edges.map((e) => [e.from.split('/').pop(), e.kind, e.label]);
    expect(kinds).toContainEqual(['Check', 'choice', '$.n > 3']);
    expect(kinds).toContainEqual(['Check', 'default', 'Default']);
    expect(kinds).toContainEqual(['Fan', 'catch', 'Catch States.ALL']);
  });

  it('nests Parallel branches and Map processors as scopes', () => {
    const fan = g.nodes.find((n) => n.name === 'Fan')!;
    expect(fan.children.map((c) => c.id)).toEqual(['/States/Fan/Branches/0']);
    const each = g.nodes.find((n) => n.name === 'Each')!;
    expect(each.children[0].nodes.map((n) => n.id)).toContain('/States/Each/ItemProcessor/States/B');
  });

  it('draws a transition to a missing state to a placeholder', () => {
    const broken = buildGraph({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } });
    expect(broken.nodes.find((n) => n.kind === 'missing')?.name).toBe('Nowhere');
  });

  it('finds the deepest state of a diagnostic location', () => {
    expect(nodeForLocation(g, '/States/Each/ItemProcessor/States/B/Resource')?.name).toBe('B');
    expect(nodeForLocation(g, '/States/Fan/Next')?.name).toBe('Fan');
    expect(nodeForLocation(g, '/StartAt')).toBeUndefined();
  });
});

describe('describeRule', () => {
  it('reads compound and JSONata rules', () => {
    expect(describeRule({ And: [{ Variable: '$.a', StringEquals: 'x' }, { Not: { Variable: '$.b', IsPresent: true } }] })).toBe(
      '$.a == "x" && !$.b IsPresent true',
    );
    expect(describeRule({ Condition: '{% $states.input.n > 1 %}' })).toBe('$states.input.n > 1');
  });
});
