// Zoom and pan for an SVG: wheel zooms around the pointer, dragging the
// background pans, and buttons zoom, fit and reset.

import { h } from '../dom';
import type { Box } from './layout';

const MIN = 0.1;
const MAX = 3;
/** Below this, fitting a big graph would make its text unreadable: keep this scale and show the top. */
const READABLE = 0.7;

export class Viewport {
  private k = 1;
  private tx = 0;
  private ty = 0;
  private content: Box = { x: 0, y: 0, w: 0, h: 0 };
  readonly controls: HTMLElement;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly layer: SVGGElement,
  ) {
    svg.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    svg.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    const button = (label: string, title: string, action: () => void) =>
      h('button', { type: 'button', title, 'aria-label': title, onclick: action }, label);
    this.controls = h(
      'div',
      { class: 'zoom-controls' },
      button('+', 'Zoom in', () => this.zoomBy(1.25)),
      button('−', 'Zoom out', () => this.zoomBy(0.8)),
      button('Fit', 'Fit the graph', () => this.fit(true)),
      button('1:1', 'Actual size', () => this.reset()),
    );
  }

  setContent(box: Box): void {
    this.content = box;
  }

  /** Fits the content; unless `all`, a big graph keeps a readable scale and shows its top. */
  fit(all = false): void {
    const { width, height } = this.svg.getBoundingClientRect();
    if (!width || !height || !this.content.w) return;
    const margin = 24;
    let k = Math.min((width - margin * 2) / this.content.w, (height - margin * 2) / this.content.h, 1);
    if (!all) k = Math.max(k, READABLE);
    this.k = Math.max(MIN, k);
    const w = this.content.w * this.k;
    const h = this.content.h * this.k;
    this.tx = w < width ? (width - w) / 2 - this.content.x * this.k : margin - this.content.x * this.k;
    this.ty = h < height ? (height - h) / 2 - this.content.y * this.k : margin - this.content.y * this.k;
    this.apply();
  }

  reset(): void {
    this.k = 1;
    this.fitTopCenter();
  }

  /** Centres a box of the content in view, zooming in to a readable scale if needed. */
  focus(box: Box): void {
    const { width, height } = this.svg.getBoundingClientRect();
    this.k = Math.max(this.k, 0.8);
    if (box.w * this.k > width || box.h * this.k > height) this.k = Math.max(MIN, Math.min(width / box.w, height / box.h) * 0.9);
    this.tx = width / 2 - (box.x + box.w / 2) * this.k;
    this.ty = height / 2 - (box.y + box.h / 2) * this.k;
    this.apply();
  }

  /** Converts client coordinates to content coordinates. */
  toContent(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.svg.getBoundingClientRect();
    return { x: (clientX - r.left - this.tx) / this.k, y: (clientY - r.top - this.ty) / this.k };
  }

  private fitTopCenter(): void {
    const { width } = this.svg.getBoundingClientRect();
    this.tx = (width - this.content.w * this.k) / 2 - this.content.x * this.k;
    this.ty = 24 - this.content.y * this.k;
    this.apply();
  }

  private zoomBy(factor: number, cx?: number, cy?: number): void {
    const r = this.svg.getBoundingClientRect();
    const px = cx ?? r.width / 2;
    const py = cy ?? r.height / 2;
    const k = Math.min(MAX, Math.max(MIN, this.k * factor));
    this.tx = px - ((px - this.tx) * k) / this.k;
    this.ty = py - ((py - this.ty) * k) / this.k;
    this.k = k;
    this.apply();
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.svg.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey || Math.abs(e.deltaY) >= Math.abs(e.deltaX)) {
      // Trackpad pinches arrive as ctrl+wheel with small deltas.
      this.zoomBy(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
    } else {
      this.tx -= e.deltaX;
      this.apply();
    }
  }

  private onPointerDown(e: PointerEvent): void {
    const target = e.target as Element;
    // Nodes and handles own their own pointer gestures.
    if (e.button !== 0 || target.closest('[data-id], .handle')) return;
    const start = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty };
    this.svg.setPointerCapture(e.pointerId);
    this.svg.classList.add('panning');
    const move = (m: PointerEvent) => {
      this.tx = start.tx + m.clientX - start.x;
      this.ty = start.ty + m.clientY - start.y;
      this.apply();
    };
    const up = () => {
      this.svg.classList.remove('panning');
      this.svg.removeEventListener('pointermove', move);
      this.svg.removeEventListener('pointerup', up);
    };
    this.svg.addEventListener('pointermove', move);
    this.svg.addEventListener('pointerup', up);
  }

  private apply(): void {
    this.layer.setAttribute('transform', `translate(${this.tx} ${this.ty}) scale(${this.k})`);
  }
}
