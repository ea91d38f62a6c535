// The graph of a definition: one scope per machine (the root, each Parallel
// branch, each Map processor), nodes for states plus a start and an end per
// scope, and labelled edges. Node ids are JSON pointers to the state, so a
// validation diagnostic's location finds its node by prefix, and names may
// repeat in an invalid definition without clashing.

import { type ChoiceRule, type Machine, type StateDef, escapePointer, isObject, mapProcessor } from './types';

export type EdgeKind = 'next' | 'choice' | 'default' | 'catch';

export interface GraphNode {
  id: string;
  kind: 'state' | 'start' | 'end' | 'missing';
  name: string;
  type: string;
  def?: StateDef;
  /** Parallel branches or the Map processor. */
  children: GraphScope[];
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
  /** The full label when `label` is shortened. */
  title?: string;
}

export interface GraphScope {
  /** Pointer to the machine object ('' for the root). */
  id: string;
  label: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const LABEL_MAX = 36;

export function buildGraph(machine: unknown): GraphScope {
  return buildScope(isObject(machine) ? (machine as Machine) : { StartAt: '', States: {} }, '', '');
}

function buildScope(machine: Machine, pointer: string, label: string): GraphScope {
  const states = isObject(machine.States) ? machine.States : {};
  const scope: GraphScope = { id: pointer, label, nodes: [], edges: [] };
  const idOf = (name: string) => `${pointer}/States/${escapePointer(name)}`;
  const start: GraphNode = { id: `${pointer}#start`, kind: 'start', name: 'Start', type: 'Start', children: [] };
  const end: GraphNode = { id: `${pointer}#end`, kind: 'end', name: 'End', type: 'End', children: [] };
  scope.nodes.push(start);
  const missing = new Map<string, GraphNode>();
  // A transition to a name that does not exist still gets drawn, to a
  // placeholder, so the mistake is visible where it is.
  const target = (name: unknown): string => {
    const n = String(name);
    if (Object.hasOwn(states, n)) return idOf(n);
    let node = missing.get(n);
    if (!node) {
      node = { id: `${pointer}#missing/${escapePointer(n)}`, kind: 'missing', name: n, type: 'Missing', children: [] };
      missing.set(n, node);
    }
    return node.id;
  };
  if (typeof machine.StartAt === 'string' && machine.StartAt) {
    scope.edges.push({ from: start.id, to: target(machine.StartAt), kind: 'next' });
  }
  let reachesEnd = false;
  for (const [name, raw] of Object.entries(states)) {
    const def = (isObject(raw) ? raw : { Type: '?' }) as StateDef;
    const id = idOf(name);
    const node: GraphNode = { id, kind: 'state', name, type: String(def.Type ?? '?'), def, children: [] };
    scope.nodes.push(node);
    if (node.type === 'Parallel' && Array.isArray(def.Branches)) {
      node.children = def.Branches.map((b, i) => buildScope(b, `${id}/Branches/${i}`, `Branch ${i + 1}`));
    } else if (node.type === 'Map') {
      const processor = mapProcessor(def);
      const key = def.ItemProcessor ? 'ItemProcessor' : 'Iterator';
      if (processor) node.children = [buildScope(processor, `${id}/${key}`, 'Item processor')];
    }
    if (node.type === 'Choice') {
      (Array.isArray(def.Choices) ? def.Choices : []).forEach((rule, i) => {
        if (!isObject(rule) || rule.Next === undefined) return;
        const full = describeRule(rule);
        scope.edges.push({ from: id, to: target(rule.Next), kind: 'choice', ...shorten(full || `Rule ${i + 1}`) });
      });
      if (def.Default !== undefined) scope.edges.push({ from: id, to: target(def.Default), kind: 'default', label: 'Default' });
    } else if (def.Next !== undefined) {
      scope.edges.push({ from: id, to: target(def.Next), kind: 'next' });
    }
    if (def.End === true || node.type === 'Succeed' || node.type === 'Fail') {
      scope.edges.push({ from: id, to: end.id, kind: 'next' });
      reachesEnd = true;
    }
    for (const c of Array.isArray(def.Catch) ? def.Catch : []) {
      if (!isObject(c) || c.Next === undefined) continue;
      const errors = Array.isArray(c.ErrorEquals) ? c.ErrorEquals.join(', ') : '';
      scope.edges.push({ from: id, to: target(c.Next), kind: 'catch', ...shorten(`Catch ${errors}`) });
    }
  }
  scope.nodes.push(...missing.values());
  if (reachesEnd) scope.nodes.push(end);
  return scope;
}

function shorten(text: string): { label: string; title?: string } {
  return text.length <= LABEL_MAX ? { label: text } : { label: `${text.slice(0, LABEL_MAX - 1)}…`, title: text };
}

const COMPARATORS: Record<string, string> = {
  Equals: '==',
  LessThan: '<',
  GreaterThan: '>',
  LessThanEquals: '<=',
  GreaterThanEquals: '>=',
};

/** A one-line reading of a Choice rule: `$.n > 3 && $.ok == true`. */
export function describeRule(rule: ChoiceRule): string {
  if (typeof rule.Condition === 'string') return rule.Condition.replace(/^\s*\{%\s*|\s*%\}\s*$/g, '');
  if (Array.isArray(rule.And)) return rule.And.map((r) => wrap(describeRule(r))).join(' && ');
  if (Array.isArray(rule.Or)) return rule.Or.map((r) => wrap(describeRule(r))).join(' || ');
  if (isObject(rule.Not)) return `!${wrap(describeRule(rule.Not))}`;
  const op = Object.keys(rule).find((k) => k !== 'Variable' && k !== 'Next' && k !== 'Comment' && k !== 'Assign' && k !== 'Output');
  if (!op) return String(rule.Variable ?? '');
  const value = JSON.stringify(rule[op]);
  const base = op.replace(/Path$/, '');
  for (const [suffix, symbol] of Object.entries(COMPARATORS)) {
    if (base.endsWith(suffix) && base !== suffix) return `${rule.Variable} ${symbol} ${value}`;
  }
  return `${rule.Variable} ${op} ${value}`;
}

function wrap(text: string): string {
  return /\s(&&|\|\|)\s/.test(text) ? `(${text})` : text;
}

/** Every state node of a scope and its nested scopes. */
export function* allStates(scope: GraphScope): Generator<GraphNode> {
  for (const node of scope.nodes) {
    if (node.kind !== 'state') continue;
    yield node;
    for (const child of node.children) yield* allStates(child);
  }
}

/** The node whose pointer is the longest prefix of `location` (a diagnostic's JSON pointer). */
export function nodeForLocation(scope: GraphScope, location: string): GraphNode | undefined {
  let best: GraphNode | undefined;
  for (const node of allStates(scope)) {
    if ((location === node.id || location.startsWith(`${node.id}/`)) && (!best || node.id.length > best.id.length)) {
      best = node;
    }
  }
  return best;
}
