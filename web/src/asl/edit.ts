// Edits the designer makes to a definition: add, connect, rename, delete,
// replace a state. Each takes a definition and returns a new one (the input
// is never mutated), so the editor text can be regenerated from the result.
// States are addressed by the graph's node ids (JSON pointers).

import { type Machine, type StateDef, TERMINAL_TYPES, escapePointer, isObject, mapProcessor, parsePointer } from './types';

interface Located {
  root: Machine;
  scope: Machine;
  name: string;
  state: StateDef;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The value a pointer names inside `root`, or undefined. */
export function valueAt(root: unknown, pointer: string): unknown {
  let node: unknown = root;
  for (const seg of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[Number(seg)];
    else if (isObject(node)) node = node[seg];
    else return undefined;
  }
  return node;
}

/** Splits a state id into its scope pointer and name. */
export function splitStateId(id: string): { scope: string; name: string } | undefined {
  const i = id.lastIndexOf('/States/');
  if (i < 0 || id.includes('#')) return undefined;
  return { scope: id.slice(0, i), name: parsePointer(id.slice(i + '/States'.length))[0] };
}

function locate(definition: unknown, id: string): Located | undefined {
  const parts = splitStateId(id);
  if (!parts) return undefined;
  const root = clone(definition) as Machine;
  const scope = valueAt(root, parts.scope) as Machine | undefined;
  const state = scope && isObject(scope.States) ? scope.States[parts.name] : undefined;
  return scope && isObject(state) ? { root, scope, name: parts.name, state } : undefined;
}

/** Every state name in the definition, nested scopes included (names are unique across them). */
function allNames(machine: Machine, into = new Set<string>()): Set<string> {
  for (const [name, state] of Object.entries(isObject(machine.States) ? machine.States : {})) {
    into.add(name);
    if (!isObject(state)) continue;
    for (const b of Array.isArray(state.Branches) ? state.Branches : []) if (isObject(b)) allNames(b, into);
    const p = mapProcessor(state);
    if (p) allNames(p, into);
  }
  return into;
}

function uniqueName(base: string, taken: Set<string>): string {
  let n = 1;
  while (taken.has(`${base}${n === 1 ? '' : ` ${n}`}`)) n++;
  const name = `${base}${n === 1 ? '' : ` ${n}`}`;
  taken.add(name);
  return name;
}

function template(type: string, taken: Set<string>): StateDef {
  const inner = (base: string): Machine => {
    const name = uniqueName(base, taken);
    return { StartAt: name, States: { [name]: { Type: 'Pass', End: true } } };
  };
  switch (type) {
    case 'Task':
      return { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:my-function', End: true };
    case 'Choice':
      return { Type: 'Choice', Choices: [] };
    case 'Wait':
      return { Type: 'Wait', Seconds: 5, End: true };
    case 'Parallel':
      return { Type: 'Parallel', Branches: [inner('Branch A'), inner('Branch B')], End: true };
    case 'Map':
      return {
        Type: 'Map',
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...inner('Process item') },
        End: true,
      };
    case 'Fail':
      return { Type: 'Fail', Error: 'Failed', Cause: 'Describe what went wrong' };
    case 'Succeed':
      return { Type: 'Succeed' };
    default:
      return { Type: type, End: true };
  }
}

/**
 * Adds a state of `type` to the scope at `scopePointer`. When `afterId`
 * names a state of that scope, the new state is inserted after it: it takes
 * over the old transition, and the old state now leads to it.
 */
export function addState(
  definition: unknown,
  type: string,
  scopePointer = '',
  afterId?: string,
): { definition: Machine; id: string } {
  const root = clone(isObject(definition) ? definition : { StartAt: '', States: {} }) as Machine;
  const scope = (valueAt(root, scopePointer) ?? root) as Machine;
  if (!isObject(scope.States)) scope.States = {};
  const name = uniqueName(type === 'Task' ? 'Task' : type, allNames(root));
  const state = template(type, allNames(root, new Set([name])));
  const after = afterId ? splitStateId(afterId) : undefined;
  const prev = after && after.scope === scopePointer ? scope.States[after.name] : undefined;
  if (prev && !TERMINAL_TYPES.has(prev.Type) && prev.Type !== 'Choice') {
    if (!TERMINAL_TYPES.has(type) && type !== 'Choice') {
      delete state.End;
      if (prev.Next !== undefined) state.Next = prev.Next;
      else state.End = true;
      prev.Next = name;
      delete prev.End;
    } else if (prev.End) {
      prev.Next = name;
      delete prev.End;
    }
  }
  scope.States[name] = state;
  if (!scope.StartAt || !Object.hasOwn(scope.States, scope.StartAt)) scope.StartAt = name;
  return { definition: root, id: `${scopePointer}/States/${escapePointer(name)}` };
}

/** A Choice rule that always matches, in the machine's query language, to be edited afterwards. */
function placeholderRule(root: Machine, state: StateDef, next: string) {
  const jsonata = (state.QueryLanguage ?? root.QueryLanguage) === 'JSONata';
  return jsonata ? { Condition: '{% true %}', Next: next } : { Variable: '$.value', BooleanEquals: true, Next: next };
}

export type ConnectResult = { definition: Machine } | { error: string };

/**
 * Makes `fromId` lead to `toId` (both in one scope). A Choice gets a new
 * rule (its first), then its Default, then more rules; a scope's start node
 * sets StartAt.
 */
export function connect(definition: unknown, fromId: string, toId: string): ConnectResult {
  const to = splitStateId(toId);
  if (!to) return { error: 'connect to a state' };
  if (fromId.endsWith('#start')) {
    const scopePointer = fromId.slice(0, -'#start'.length);
    if (scopePointer !== to.scope) return { error: 'a transition cannot leave its Parallel branch or Map processor' };
    const root = clone(definition) as Machine;
    (valueAt(root, scopePointer) as Machine).StartAt = to.name;
    return { definition: root };
  }
  const from = locate(definition, fromId);
  if (!from) return { error: 'connect from a state' };
  if (splitStateId(fromId)?.scope !== to.scope) {
    return { error: 'a transition cannot leave its Parallel branch or Map processor' };
  }
  const { root, state } = from;
  if (TERMINAL_TYPES.has(state.Type)) return { error: `a ${state.Type} state ends its workflow and has no transitions` };
  if (state.Type === 'Choice') {
    const rules = Array.isArray(state.Choices) ? state.Choices : (state.Choices = []);
    if (rules.length > 0 && state.Default === undefined) state.Default = to.name;
    else rules.push(placeholderRule(root, state, to.name));
  } else {
    state.Next = to.name;
    delete state.End;
  }
  return { definition: root };
}

/** Renames a state and every transition to it in its scope. */
export function renameState(definition: unknown, id: string, newName: string): { definition: Machine; id: string } | { error: string } {
  const found = locate(definition, id);
  if (!found) return { error: 'no such state' };
  const { root, scope, name } = found;
  if (!newName.trim()) return { error: 'a state name must not be empty' };
  if (newName !== name && allNames(root).has(newName)) return { error: `a state named '${newName}' already exists` };
  scope.States = Object.fromEntries(Object.entries(scope.States).map(([k, v]) => [k === name ? newName : k, v]));
  if (scope.StartAt === name) scope.StartAt = newName;
  for (const state of Object.values(scope.States)) {
    if (!isObject(state)) continue;
    if (state.Next === name) state.Next = newName;
    if (state.Default === name) state.Default = newName;
    for (const r of [...(Array.isArray(state.Choices) ? state.Choices : []), ...(Array.isArray(state.Catch) ? state.Catch : [])]) {
      if (isObject(r) && r.Next === name) r.Next = newName;
    }
  }
  const scopePointer = splitStateId(id)?.scope ?? '';
  return { definition: root, id: `${scopePointer}/States/${escapePointer(newName)}` };
}

/**
 * Deletes a state. Transitions to it follow on to where it led (or end),
 * Choice rules, Defaults and Catchers that named it are removed.
 */
export function deleteState(definition: unknown, id: string): Machine {
  const found = locate(definition, id);
  if (!found) return clone(definition) as Machine;
  const { root, scope, name, state: gone } = found;
  delete scope.States[name];
  const follow = typeof gone.Next === 'string' ? gone.Next : undefined;
  if (scope.StartAt === name) scope.StartAt = follow ?? Object.keys(scope.States)[0] ?? '';
  for (const state of Object.values(scope.States)) {
    if (!isObject(state)) continue;
    if (state.Next === name) {
      if (follow) state.Next = follow;
      else {
        delete state.Next;
        state.End = true;
      }
    }
    if (state.Default === name) delete state.Default;
    if (Array.isArray(state.Choices)) state.Choices = state.Choices.filter((r) => !isObject(r) || r.Next !== name);
    if (Array.isArray(state.Catch)) {
      state.Catch = state.Catch.filter((c) => !isObject(c) || c.Next !== name);
      if (state.Catch.length === 0) delete state.Catch;
    }
  }
  return root;
}

/** Replaces a state's definition, keeping its place in the States object. */
export function replaceState(definition: unknown, id: string, state: StateDef): Machine {
  const found = locate(definition, id);
  if (!found) return clone(definition) as Machine;
  found.scope.States[found.name] = state;
  return found.root;
}

export function getState(definition: unknown, id: string): StateDef | undefined {
  return locate(definition, id)?.state;
}
