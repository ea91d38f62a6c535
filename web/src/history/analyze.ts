// Reads an execution history into what the inspector shows: each visit of
// a state (entered → exited) with its input, output, error, retries and
// status, Map iterations, and the task token a waiting task can be resumed
// with.
//
// previousEventId links the events of one frame (the root, a Parallel
// branch, a Map iteration); a Map iteration's first event points at its
// MapIterationStarted. That is how an event is placed in its iteration.

import type { ExecutionStatus, HistoryEvent } from '../api';

export type StateStatus = 'notReached' | 'running' | 'succeeded' | 'failed' | 'caught' | 'retried';

/** The Map iterations an event sits in, outermost first: `M[2]/Inner[0]`. */
export type IterationPath = { map: string; index: number }[];

export interface Visit {
  name: string;
  type: string;
  iteration: IterationPath;
  entered: HistoryEvent;
  exited?: HistoryEvent;
  input?: string;
  output?: string;
  error?: string;
  cause?: string;
  /** Task attempts (1 + retries). */
  attempts: number;
  /** The last task outcome or Map/Parallel result was a failure. */
  failed: boolean;
  /** The resource of a `.waitForTaskToken` task that has not answered yet. */
  waitingForCallback: boolean;
  taskToken?: string;
  status: StateStatus;
  events: HistoryEvent[];
}

export interface Iteration {
  map: string;
  index: number;
  status: 'running' | 'succeeded' | 'failed' | 'aborted';
}

export interface Analysis {
  visits: Visit[];
  iterations: Iteration[];
  /** Which visit each event belongs to, by event id. */
  visitOfEvent: Map<number, Visit>;
}

function details(e: HistoryEvent): Record<string, unknown> {
  for (const [k, v] of Object.entries(e)) if (k.endsWith('EventDetails') && v && typeof v === 'object') return v as Record<string, unknown>;
  return {};
}

const enteredType = /^(\w+)StateEntered$/;
const exitedType = /^(\w+)StateExited$/;
/** Events that belong to the nearest open visit of the given state type. */
const OWNER_TYPE: [RegExp, string][] = [
  [/^(Task|LambdaFunction|Activity)(Scheduled|Started|Submitted|Succeeded|Failed|TimedOut|StartFailed|ScheduleFailed)$/, 'Task'],
  [/^ParallelState(Started|Succeeded|Failed|Aborted)$/, 'Parallel'],
  [/^MapState(Started|Succeeded|Failed|Aborted)$/, 'Map'],
  [/^MapRun(Started|Succeeded|Failed|Aborted)$/, 'Map'],
];
const FAILURE = /(Failed|TimedOut|StartFailed|ScheduleFailed)$/;

const key = (path: IterationPath, name: string) => `${path.map((p) => `${p.map}[${p.index}]`).join('/')}|${name}`;

export function analyze(events: HistoryEvent[], executionStatus: ExecutionStatus, executionArn = ''): Analysis {
  const byId = new Map(events.map((e) => [e.id, e]));
  const iterationOfEvent = new Map<number, IterationPath>();
  const visitOfEvent = new Map<number, Visit>();
  const open = new Map<string, Visit>();
  const visits: Visit[] = [];
  const iterations = new Map<string, Iteration>();

  for (const e of [...events].sort((a, b) => a.id - b.id)) {
    const prev = byId.get(e.previousEventId);
    const outer = prev ? (iterationOfEvent.get(prev.id) ?? []) : [];
    let path = outer;
    if (prev?.type === 'MapIterationStarted' && e.type !== 'MapIterationStarted') {
      const d = details(prev);
      path = [...outer, { map: String(d.name), index: Number(d.index) }];
    } else if (prev && /^MapIteration(Succeeded|Failed|Aborted)$/.test(prev.type)) {
      // The event after an iteration ends is back in the Map's own frame.
      path = outer.slice(0, -1);
    }
    iterationOfEvent.set(e.id, path);
    const d = details(e);

    const entered = enteredType.exec(e.type);
    if (entered) {
      const visit: Visit = {
        name: String(d.name),
        type: entered[1],
        iteration: path,
        entered: e,
        input: d.input as string | undefined,
        attempts: 0,
        failed: false,
        waitingForCallback: false,
        status: 'running',
        events: [e],
      };
      visits.push(visit);
      open.set(key(path, visit.name), visit);
      visitOfEvent.set(e.id, visit);
      if (visit.type === 'Fail') visit.failed = true;
      continue;
    }
    const exited = exitedType.exec(e.type);
    if (exited) {
      const visit = open.get(key(path, String(d.name)));
      if (visit) {
        visit.exited = e;
        visit.output = d.output as string | undefined;
        visit.events.push(e);
        visitOfEvent.set(e.id, visit);
        open.delete(key(path, visit.name));
      }
      continue;
    }
    if (e.type.startsWith('MapIteration')) {
      const index = Number(d.index);
      const map = String(d.name);
      // A MapIterationStarted sits in the Map's own frame; the others end
      // the iteration and already carry its path.
      const mapPath = e.type === 'MapIterationStarted' ? path : path.slice(0, -1);
      const id = `${key(mapPath, map)}#${index}`;
      const status = e.type.endsWith('Started')
        ? 'running'
        : e.type.endsWith('Succeeded')
          ? 'succeeded'
          : e.type.endsWith('Failed')
            ? 'failed'
            : 'aborted';
      iterations.set(id, { map, index, status });
      const visit = open.get(key(mapPath, map));
      if (visit) attach(visit, e, visitOfEvent);
      if (status === 'failed') failOpenVisitBefore(e);
      continue;
    }
    const owner = OWNER_TYPE.find(([re]) => re.test(e.type))?.[1];
    if (owner) {
      const visit = findOwner(e, owner);
      if (!visit) continue;
      attach(visit, e, visitOfEvent);
      if (/(Task|LambdaFunction|Activity)Scheduled$/.test(e.type)) {
        visit.attempts++;
        visit.failed = false;
        const resource = String(d.resource ?? '');
        visit.waitingForCallback = resource.endsWith('.waitForTaskToken');
        if (visit.waitingForCallback) visit.taskToken = findToken(d.parameters, executionArn);
      }
      if (/Succeeded$/.test(e.type)) {
        visit.failed = false;
        visit.waitingForCallback = false;
      }
      if (FAILURE.test(e.type)) {
        visit.failed = true;
        visit.waitingForCallback = false;
        if (d.error !== undefined || d.cause !== undefined) {
          visit.error = d.error as string | undefined;
          visit.cause = d.cause as string | undefined;
        }
      }
      continue;
    }
    if (/^(Execution(Failed|TimedOut|Aborted)|EvaluationFailed)$/.test(e.type)) {
      failOpenVisitBefore(e);
    }
  }

  // The visit an event belongs to: walk its frame back to the nearest open
  // visit of the right state type.
  function findOwner(e: HistoryEvent, type: string): Visit | undefined {
    for (let p = byId.get(e.previousEventId); p; p = byId.get(p.previousEventId)) {
      const v = visitOfEvent.get(p.id);
      if (v && v.type === type && !v.exited) return v;
    }
    return undefined;
  }

  // A failure that ends a frame (Fail state, an error no Catch handled)
  // follows the last event of the state that failed.
  function failOpenVisitBefore(e: HistoryEvent): void {
    const d = details(e);
    for (let p = byId.get(e.previousEventId); p; p = byId.get(p.previousEventId)) {
      const v = visitOfEvent.get(p.id);
      if (!v) continue;
      if (!v.exited) {
        v.failed = true;
        v.error ??= (d.error as string | undefined) ?? (e.type === 'ExecutionAborted' ? 'Aborted' : undefined);
        v.cause ??= d.cause as string | undefined;
        attach(v, e, visitOfEvent);
      }
      return;
    }
  }

  const running = executionStatus === 'RUNNING';
  for (const v of visits) v.status = statusOf(v, running);
  return { visits, iterations: [...iterations.values()], visitOfEvent };
}

function attach(visit: Visit, e: HistoryEvent, visitOfEvent: Map<number, Visit>): void {
  if (!visit.events.includes(e)) visit.events.push(e);
  if (!visitOfEvent.has(e.id)) visitOfEvent.set(e.id, visit);
}

function statusOf(v: Visit, executionRunning: boolean): StateStatus {
  if (v.exited) {
    if (v.failed) return 'caught';
    return v.attempts > 1 ? 'retried' : 'succeeded';
  }
  if (v.failed || !executionRunning) return 'failed';
  return 'running';
}

/**
 * The task token in a waiting task's parameters. Flowstate's tokens are
 * `base64url(["<execution arn>", frame, seq]).signature`, so one naming this
 * execution is recognised for sure; otherwise a string under a key
 * containing "token" is the best guess (AWS tokens are opaque).
 */
export function findToken(parameters: unknown, executionArn: string): string | undefined {
  let value: unknown = parameters;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  let guess: string | undefined;
  const visit = (v: unknown, k: string): string | undefined => {
    if (typeof v === 'string') {
      if (isFlowstateToken(v, executionArn)) return v;
      if (/token/i.test(k) && v.length > 20) guess ??= v;
    } else if (Array.isArray(v)) {
      for (const item of v) {
        const found = visit(item, k);
        if (found) return found;
      }
    } else if (v && typeof v === 'object') {
      for (const [kk, vv] of Object.entries(v)) {
        const found = visit(vv, kk);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(value, '') ?? guess;
}

function isFlowstateToken(text: string, executionArn: string): boolean {
  const m = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(text);
  if (!m) return false;
  try {
    const json = atob(m[1].replace(/-/g, '+').replace(/_/g, '/'));
    const parts = JSON.parse(json);
    return Array.isArray(parts) && typeof parts[0] === 'string' && (!executionArn || parts[0] === executionArn);
  } catch {
    return false;
  }
}

const PRIORITY: StateStatus[] = ['failed', 'running', 'caught', 'retried', 'succeeded', 'notReached'];

/** One status for a state visited several times (loops, Map iterations): the most telling one. */
export function combinedStatus(visits: Visit[]): StateStatus {
  let best: StateStatus = 'notReached';
  for (const v of visits) if (PRIORITY.indexOf(v.status) < PRIORITY.indexOf(best)) best = v.status;
  return best;
}

/** Whether a visit lies in the iterations chosen (`map name → index`); unchosen Maps match any index. */
export function inIterations(visit: Visit, chosen: Map<string, number>): boolean {
  return visit.iteration.every((p) => !chosen.has(p.map) || chosen.get(p.map) === p.index);
}
