import { describe, expect, it } from 'vitest';
import { addState, connect, deleteState, renameState } from './edit';

const base = {
  StartAt: 'A',
  States: {
    A: { Type: 'Pass', Next: 'B' },
    B: { Type: 'Choice', Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'A' }], Default: 'C' },
    C: { Type: 'Succeed' },
  },
};

describe('definition edits', () => {
  it('inserts a new state after the selected one', () => {
    const { definition, id } = addState(base, 'Wait', '', '/States/A');
    expect(id).toBe('/States/Wait');
    expect(definition.States.A.Next).toBe('Wait');
    expect(definition.States.Wait).toMatchObject({ Type: 'Wait', Next: 'B' });
    expect(base.States.A.Next).toBe('B');
  });

  it('gives nested states names unique across scopes', () => {
    const once = addState(base, 'Parallel').definition;
    const twice = addState(once, 'Parallel').definition;
    const names = JSON.stringify(twice).match(/"Branch A( \d)?"/g);
    expect(new Set(names).size).toBe(2);
  });

  it('connects by Next, and a Choice by Default then rules', () => {
    const r = connect(base, '/States/C', '/States/A');
    expect(r).toEqual({ error: 'a Succeed state ends its workflow and has no transitions' });
    const noDefault = { ...base, States: { ...base.States, B: { Type: 'Choice', Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'A' }] } } };
    const d = connect(noDefault, '/States/B', '/States/C');
    expect('definition' in d && d.definition.States.B.Default).toBe('C');
    const n = connect(base, '/States/A', '/States/C');
    expect('definition' in n && n.definition.States.A.Next).toBe('C');
  });

  it('renames a state and every transition to it', () => {
    const r = renameState(base, '/States/A', 'Start');
    if ('error' in r) throw new Error(r.error);
    expect(r.definition.StartAt).toBe('Start');
    expect(Object.keys(r.definition.States)).toEqual(['Start', 'B', 'C']);
    expect(r.definition.States.B.Choices![0].Next).toBe('Start');
    expect(renameState(base, '/States/A', 'B')).toEqual({ error: "a state named 'B' already exists" });
  });

  it('deletes a state and reroutes what led to it', () => {
    const d = deleteState(base, '/States/B');
    expect(d.States.A).toEqual({ Type: 'Pass', End: true });
  });
});
