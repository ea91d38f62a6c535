import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../api';
import { analyze, findToken } from './analyze';

let id = 0;
function ev(type: string, previousEventId: number, details?: Record<string, unknown>): HistoryEvent {
  id++;
  const key = `${type[0].toLowerCase()}${type.slice(1)}EventDetails`;
  return { id, previousEventId, type, timestamp: 1000 + id / 1000, ...(details ? { [key]: details } : {}) };
}

describe('analyze', () => {
  it('places Map iteration events in their iteration and finds failed, caught and retried states', () => {
    id = 0;
    const h = [
      ev('ExecutionStarted', 0), // 1
      ev('MapStateEntered', 1, { name: 'M', input: '[1,2]' }), // 2
      ev('MapStateStarted', 2), // 3
      ev('MapIterationStarted', 3, { name: 'M', index: 0 }), // 4
      ev('MapIterationStarted', 4, { name: 'M', index: 1 }), // 5
      ev('TaskStateEntered', 4, { name: 'T', input: '1' }), // 6
      ev('TaskScheduled', 6, { resource: 'r' }), // 7
      ev('TaskFailed', 7, { error: 'Boom', cause: 'flaky' }), // 8
      ev('TaskScheduled', 8, { resource: 'r' }), // 9
      ev('TaskSucceeded', 9, { output: '1' }), // 10
      ev('TaskStateExited', 10, { name: 'T', output: '1' }), // 11
      ev('MapIterationSucceeded', 11, { name: 'M', index: 0 }), // 12
      ev('TaskStateEntered', 5, { name: 'T', input: '2' }), // 13
      ev('TaskScheduled', 13, { resource: 'r' }), // 14
      ev('TaskFailed', 14, { error: 'Boom', cause: 'bad' }), // 15
      ev('MapIterationFailed', 15, { name: 'M', index: 1 }), // 16
      ev('MapStateFailed', 16), // 17
      ev('MapStateExited', 17, { name: 'M', output: '{}' }), // 18
      ev('PassStateEntered', 18, { name: 'Recover', input: '{}' }), // 19
    ];
    const a = analyze(h, 'RUNNING');
    const t = a.visits.filter((v) => v.name === 'T');
    expect(t.map((v) => [v.iteration, v.status])).toEqual([
      [[{ map: 'M', index: 0 }], 'retried'],
      [[{ map: 'M', index: 1 }], 'failed'],
    ]);
    expect(t[1].error).toBe('Boom');
    expect(a.visits.find((v) => v.name === 'M')?.status).toBe('caught');
    expect(a.visits.find((v) => v.name === 'Recover')?.status).toBe('running');
    expect(a.iterations.map((i) => i.status)).toEqual(['succeeded', 'failed']);
    expect(a.visitOfEvent.get(17)?.name).toBe('M');
  });

  it('finds a Flowstate task token naming the execution', () => {
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:sm:e1';
    const token = `${btoa(JSON.stringify([arn, 0, 3])).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.c2ln`;
    expect(findToken(JSON.stringify({ Payload: { id: 1, cb: token } }), arn)).toBe(token);
    expect(findToken(JSON.stringify({ TaskToken: 'x'.repeat(30) }), arn)).toBe('x'.repeat(30));
  });
});
