// Automatic layout: dagre, top to bottom, one scope at a time. A Parallel
// or Map state is laid out from the inside out: its branches (or processor)
// first, side by side, then the state becomes one big node of its parent's
// layout. ASL transitions never cross a scope, so no edge needs routing
// between levels, and each dagre run stays small even at hundreds of states.

import { Graph, layout as dagreLayout } from '@dagrejs/dagre';
import type { GraphEdge, GraphNode, GraphScope } from '../asl/model';

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlacedNode {
  node: GraphNode;
  box: Box;
  scopes: PlacedScope[];
}

export interface PlacedEdge {
  edge: GraphEdge;
  points: Point[];
  label?: Box;
}

export interface PlacedScope {
  scope: GraphScope;
  box: Box;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

const NODE_W = 184;
const NODE_H = 46;
const CHOICE_H = 56;
const TERMINAL_W = 76;
const TERMINAL_H = 28;
const PAD = 14;
const HEADER = 34;
const SCOPE_LABEL = 22;
const GAP = 20;
const CHAR_W = 6.4;

export function layoutGraph(scope: GraphScope): PlacedScope {
  return place(layoutScope(scope), 0, 0);
}

/** Lays out a scope with its top-left corner at (0, 0). */
function layoutScope(scope: GraphScope): PlacedScope {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 44, edgesep: 14, marginx: PAD, marginy: PAD });
  const inner = new Map<string, PlacedScope[]>();
  for (const node of scope.nodes) {
    const children = node.children.map(layoutScope);
    inner.set(node.id, children);
    const { w, h } = nodeSize(node, children);
    g.setNode(node.id, { width: w, height: h });
  }
  scope.edges.forEach((edge, i) => {
    const label = edge.label ? { width: edge.label.length * CHAR_W + 14, height: 18 } : { width: 0, height: 0 };
    g.setEdge(edge.from, edge.to, { ...label, labelpos: 'c', minlen: 1 }, String(i));
  });
  dagreLayout(g);

  const nodes: PlacedNode[] = scope.nodes.map((node) => {
    const n = g.node(node.id);
    const box = { x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height };
    const children = inner.get(node.id) ?? [];
    // Branches side by side under the container's header.
    let x = box.x + PAD;
    const scopes = children.map((child) => {
      const placed = place(child, x, box.y + HEADER);
      x += child.box.w + GAP;
      return placed;
    });
    return { node, box, scopes };
  });
  const edges: PlacedEdge[] = scope.edges.map((edge, i) => {
    const e = g.edge({ v: edge.from, w: edge.to, name: String(i) });
    const points = (e.points ?? []).map((p: Point) => ({ x: p.x, y: p.y }));
    const label = edge.label && e.x !== undefined ? { x: e.x - e.width / 2, y: e.y - e.height / 2, w: e.width, h: e.height } : undefined;
    return { edge, points, label };
  });
  const size = g.graph();
  const top = scope.label ? SCOPE_LABEL : 0;
  const shifted = shift({ scope, box: { x: 0, y: 0, w: 0, h: 0 }, nodes, edges }, 0, top);
  shifted.box = { x: 0, y: 0, w: Math.max(size.width ?? 0, 140), h: (size.height ?? 0) + top };
  return shifted;
}

function nodeSize(node: GraphNode, children: PlacedScope[]): { w: number; h: number } {
  if (children.length > 0) {
    const w = children.reduce((sum, c) => sum + c.box.w, 0) + GAP * (children.length - 1) + PAD * 2;
    const h = Math.max(...children.map((c) => c.box.h)) + HEADER + PAD;
    return { w: Math.max(w, NODE_W + PAD * 2), h };
  }
  if (node.kind === 'start' || node.kind === 'end') return { w: TERMINAL_W, h: TERMINAL_H };
  if (node.type === 'Choice') return { w: NODE_W + 16, h: CHOICE_H };
  return { w: NODE_W, h: NODE_H };
}

function place(scope: PlacedScope, x: number, y: number): PlacedScope {
  const placed = shift(scope, x, y);
  placed.box = { ...scope.box, x: scope.box.x + x, y: scope.box.y + y };
  return placed;
}

function shift(scope: PlacedScope, dx: number, dy: number): PlacedScope {
  const move = (b: Box): Box => ({ x: b.x + dx, y: b.y + dy, w: b.w, h: b.h });
  return {
    scope: scope.scope,
    box: scope.box,
    nodes: scope.nodes.map((n) => ({ node: n.node, box: move(n.box), scopes: n.scopes.map((s) => place(s, dx, dy)) })),
    edges: scope.edges.map((e) => ({
      edge: e.edge,
      points: e.points.map((p) => ({ x: p.x + dx, y: p.y + dy })),
      label: e.label && move(e.label),
    })),
  };
}

/** Every placed node, nested ones included. */
export function* placedNodes(scope: PlacedScope): Generator<PlacedNode> {
  for (const n of scope.nodes) {
    yield n;
    for (const s of n.scopes) yield* placedNodes(s);
  }
}
