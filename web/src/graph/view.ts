// The graph of a state machine as SVG: one shape per state type, labelled
// edges (Choice rules, Default, Catch), Parallel branches and Map
// processors as nested groups. The same view serves the designer (drag from
// a state's handle to another state to connect them) and the inspector
// (states coloured by status).

import type { GraphNode, GraphScope } from '../asl/model';
import { TERMINAL_TYPES } from '../asl/types';
import { h, s } from '../dom';
import type { StateStatus } from '../history/analyze';
import { type Box, type PlacedEdge, type PlacedNode, type PlacedScope, type Point, layoutGraph, placedNodes } from './layout';
import { Viewport } from './viewport';

export interface GraphViewOptions {
  onSelect?: (id: string | undefined) => void;
  /** Enables drag-to-connect. */
  onConnect?: (fromId: string, toId: string) => void;
}

export interface NodeMark {
  status?: StateStatus;
  /** Visits, when more than one (loops, Map iterations). */
  count?: number;
  retries?: number;
}

const NAME_CHARS = 24;

export class GraphView {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly layer: SVGGElement;
  private readonly viewport: Viewport;
  private placed?: PlacedScope;
  private nodeElements = new Map<string, SVGGElement>();
  private selected?: string;
  private fitted = false;

  constructor(private readonly options: GraphViewOptions = {}) {
    this.layer = s('g', { class: 'viewport' });
    this.svg = s('svg', { class: 'graph', role: 'img', 'aria-label': 'State machine graph' }, defs(), this.layer);
    this.viewport = new Viewport(this.svg, this.layer);
    this.element = h('div', { class: 'graph-view' }, this.svg, this.viewport.controls);
    this.svg.addEventListener('click', (e) => {
      if ((e.target as Element).closest('[data-id]') === null) this.select(undefined, true);
    });
  }

  /** Draws a graph; the viewport fits the first graph and then stays where the user put it. */
  render(graph: GraphScope): void {
    this.placed = layoutGraph(graph);
    this.nodeElements.clear();
    this.layer.replaceChildren(this.drawScope(this.placed, true));
    this.viewport.setContent(this.placed.box);
    if (!this.fitted) {
      // The element may not be in the document yet: fit once it has a size.
      requestAnimationFrame(() => {
        if (this.svg.getBoundingClientRect().width > 0) {
          this.viewport.fit();
          this.fitted = true;
        }
      });
    }
    if (this.selected) this.select(this.selected);
  }

  fit(): void {
    this.viewport.fit();
  }

  select(id: string | undefined, notify = false): void {
    this.selected = id;
    for (const [nodeId, el] of this.nodeElements) el.classList.toggle('selected', nodeId === id);
    if (notify) this.options.onSelect?.(id);
  }

  /** Brings a state, or a scope (a Parallel branch, a Map processor), into view. */
  focus(id: string): void {
    if (!this.placed) return;
    for (const n of placedNodes(this.placed)) {
      if (n.node.id === id) return this.viewport.focus(n.box);
      const scope = n.scopes.find((sc) => sc.scope.id === id);
      if (scope) return this.viewport.focus(scope.box);
    }
  }

  /** Colours states by status; states not in `marks` are shown as not reached. */
  mark(marks: Map<string, NodeMark>): void {
    for (const [id, el] of this.nodeElements) {
      const m = marks.get(id);
      const kind = el.dataset.kind;
      if (kind !== 'state') continue;
      el.setAttribute('data-status', m?.status ?? 'notReached');
      el.querySelector('.counter')?.remove();
      const text = [m?.count && m.count > 1 ? `×${m.count}` : '', m?.retries ? `↻${m.retries}` : ''].filter(Boolean).join(' ');
      if (text) {
        const box = el.querySelector<SVGRectElement>('.hit')!;
        const w = Number(box.getAttribute('width'));
        el.append(
          s('g', { class: 'counter', transform: `translate(${w - 6} -8)` },
            s('rect', { x: -text.length * 6.5 - 8, y: 0, width: text.length * 6.5 + 10, height: 16, rx: 8 }),
            s('text', { x: -3, y: 12, 'text-anchor': 'end' }, text)),
        );
      }
    }
  }

  /** Shows diagnostics on their states: a red outline and a badge whose tooltip lists the messages. */
  setDiagnostics(byNode: Map<string, string[]>): void {
    for (const [id, el] of this.nodeElements) {
      el.querySelector('.diag')?.remove();
      const messages = byNode.get(id);
      el.classList.toggle('has-error', Boolean(messages));
      if (!messages) continue;
      const w = Number(el.querySelector('.hit')?.getAttribute('width'));
      el.append(
        s('g', { class: 'diag', transform: `translate(${w} 0)` },
          s('title', null, messages.join('\n')),
          s('circle', { r: 9 }),
          s('text', { y: 4, 'text-anchor': 'middle' }, messages.length > 1 ? String(messages.length) : '!')),
      );
    }
  }

  private drawScope(scope: PlacedScope, root: boolean): SVGGElement {
    const g = s('g', { class: 'scope' });
    if (!root) {
      g.append(
        s('rect', { class: 'scope-box', x: scope.box.x, y: scope.box.y, width: scope.box.w, height: scope.box.h, rx: 6 }),
        s('text', { class: 'scope-label', x: scope.box.x + 8, y: scope.box.y + 15 }, scope.scope.label),
      );
    }
    // Containers first, so edges are drawn over their boxes.
    const containers = scope.nodes.filter((n) => n.scopes.length > 0);
    const plain = scope.nodes.filter((n) => n.scopes.length === 0);
    for (const n of containers) g.append(this.drawNode(n));
    for (const e of scope.edges) g.append(drawEdge(e));
    for (const n of plain) g.append(this.drawNode(n));
    return g;
  }

  private drawNode(placed: PlacedNode): SVGGElement {
    const { node, box } = placed;
    const g = s('g', {
      class: `node type-${node.type.toLowerCase()}`,
      'data-id': node.id,
      'data-kind': node.kind,
      'data-name': node.name,
      transform: `translate(${box.x} ${box.y})`,
    });
    this.nodeElements.set(node.id, g);
    if (placed.scopes.length > 0) {
      drawContainer(g, node, box);
      const inner = s('g', { transform: `translate(${-box.x} ${-box.y})` });
      for (const sc of placed.scopes) inner.append(this.drawScope(sc, false));
      g.append(inner);
    } else {
      drawShape(g, node, box);
    }
    g.addEventListener('click', (e) => {
      if ((e.target as Element).closest('[data-id]') !== g) return;
      e.stopPropagation();
      if (node.kind === 'state') this.select(node.id, true);
    });
    if (this.options.onConnect && (node.kind === 'start' || (node.kind === 'state' && !TERMINAL_TYPES.has(node.type)))) {
      this.addHandle(g, node, box);
    }
    return g;
  }

  private addHandle(g: SVGGElement, node: GraphNode, box: Box): void {
    const handle = s('circle', { class: 'handle', cx: box.w / 2, cy: box.h, r: 6 }, s('title', null, 'Drag to another state to connect'));
    g.append(handle);
    handle.addEventListener('pointerdown', (e) => {
      e.stopPropagation();
      e.preventDefault();
      const from = { x: box.x + box.w / 2, y: box.y + box.h };
      const line = s('path', { class: 'connecting', 'marker-end': 'url(#arrow-next)' });
      this.layer.append(line);
      this.svg.classList.add('connecting-mode');
      const move = (m: PointerEvent) => {
        const p = this.viewport.toContent(m.clientX, m.clientY);
        line.setAttribute('d', `M${from.x},${from.y} L${p.x},${p.y}`);
      };
      const up = (u: PointerEvent) => {
        window.removeEventListener('pointermove', move);
        window.removeEventListener('pointerup', up);
        line.remove();
        this.svg.classList.remove('connecting-mode');
        const target = document.elementFromPoint(u.clientX, u.clientY)?.closest<SVGGElement>('[data-kind="state"]');
        const to = target?.dataset.id;
        if (to && to !== node.id) this.options.onConnect?.(node.id, to);
      };
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', up);
    });
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function drawShape(g: SVGGElement, node: GraphNode, box: Box): void {
  const { w, h } = box;
  // Every part is a direct child of the node's group, so that CSS can
  // colour a node by status without reaching into nested nodes.
  const parts: SVGElement[] = [];
  switch (node.kind === 'state' ? node.type : node.kind) {
    case 'start':
    case 'end':
      g.append(
        s('rect', { class: 'shape hit', width: w, height: h, rx: h / 2 }),
        s('text', { class: 'terminal-label', x: w / 2, y: h / 2 + 4, 'text-anchor': 'middle' }, node.name),
      );
      return;
    case 'Choice':
      parts.push(s('polygon', { class: 'shape', points: `0,${h / 2} 16,0 ${w - 16},0 ${w},${h / 2} ${w - 16},${h} 16,${h}` }));
      break;
    case 'Wait':
      parts.push(s('polygon', { class: 'shape', points: `10,0 ${w},0 ${w - 10},${h} 0,${h}` }));
      break;
    case 'Pass':
      parts.push(s('rect', { class: 'shape', width: w, height: h, rx: h / 2 }));
      break;
    case 'Fail': {
      const c = 10;
      parts.push(s('polygon', { class: 'shape', points: `${c},0 ${w - c},0 ${w},${c} ${w},${h - c} ${w - c},${h} ${c},${h} 0,${h - c} 0,${c}` }));
      break;
    }
    case 'Succeed':
      parts.push(
        s('rect', { class: 'shape', width: w, height: h, rx: 8 }),
        s('rect', { class: 'inner-ring', x: 3, y: 3, width: w - 6, height: h - 6, rx: 6 }),
      );
      break;
    case 'Task':
      parts.push(s('rect', { class: 'shape', width: w, height: h, rx: 6 }), s('rect', { class: 'stripe', width: 5, height: h, rx: 2 }));
      break;
    default:
      // Unknown types and transitions to missing states.
      parts.push(s('rect', { class: 'shape', width: w, height: h, rx: 4 }));
  }
  g.append(
    s('rect', { class: 'hit', width: w, height: h, fill: 'transparent' }),
    ...parts,
    s('text', { class: 'node-name', x: w / 2, y: h / 2 - 2, 'text-anchor': 'middle' }, truncate(node.name, NAME_CHARS)),
    s('text', { class: 'node-type', x: w / 2, y: h / 2 + 13, 'text-anchor': 'middle' }, node.kind === 'missing' ? 'does not exist' : node.type),
    s('title', null, `${node.name} (${node.type})`),
  );
}

function drawContainer(g: SVGGElement, node: GraphNode, box: Box): void {
  const { w, h } = box;
  if (node.type === 'Map') {
    // Stacked cards: a Map runs its processor once per item.
    g.append(s('rect', { class: 'stack', x: 6, y: 6, width: w, height: h, rx: 8 }));
  }
  g.append(
    s('rect', { class: 'hit shape container', width: w, height: h, rx: 8 }),
    s('rect', { class: 'container-header', width: w, height: 28, rx: 8 }),
    s('text', { class: 'node-name', x: 12, y: 19 }, truncate(node.name, Math.floor(w / 8))),
    s('text', { class: 'node-type', x: w - 10, y: 19, 'text-anchor': 'end' }, node.type),
    s('title', null, `${node.name} (${node.type})`),
  );
}

function drawEdge(placed: PlacedEdge): SVGGElement {
  const { edge, points, label } = placed;
  const g = s('g', { class: `edge edge-${edge.kind}`, 'data-from': edge.from, 'data-to': edge.to });
  g.append(s('path', { d: curve(points), 'marker-end': `url(#arrow-${edge.kind})` }));
  if (edge.label && label) {
    g.append(
      s('g', { class: 'edge-label' },
        s('rect', { x: label.x, y: label.y, width: label.w, height: label.h, rx: 9 }),
        s('text', { x: label.x + label.w / 2, y: label.y + 13, 'text-anchor': 'middle' }, edge.label),
        edge.title ? s('title', null, edge.title) : null),
    );
  }
  return g;
}

/** A smooth path through dagre's points (a quadratic B-spline). */
function curve(points: Point[]): string {
  if (points.length === 0) return '';
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return `${d} L${points[1].x},${points[1].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const next = points[i + 1];
    const end = i === points.length - 2 ? next : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    d += ` Q${p.x},${p.y} ${end.x},${end.y}`;
  }
  return d;
}

function defs(): SVGDefsElement {
  const marker = (kind: string) =>
    s('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow arrow-${kind}` }));
  return s('defs', null, ...['next', 'choice', 'default', 'catch'].map(marker));
}
