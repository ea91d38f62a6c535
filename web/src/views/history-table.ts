// The execution's event history as a table: filter by kind of event, by
// text, or to the selected state; click a row for its details.

import type { HistoryEvent } from '../api';
import { h, replace } from '../dom';
import type { Analysis } from '../history/analyze';

const GROUPS: Record<string, (type: string) => boolean> = {
  'All events': () => true,
  'State transitions': (t) => /State(Entered|Exited)$/.test(t),
  Tasks: (t) => /^(Task|LambdaFunction|Activity)/.test(t),
  'Map and Parallel': (t) => /^(Map|Parallel)/.test(t),
  Failures: (t) => /(Failed|TimedOut|Aborted)$/.test(t),
  Execution: (t) => t.startsWith('Execution'),
};

export class HistoryTable {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly search = h('input', { type: 'search', name: 'history-search', placeholder: 'Filter events…', 'aria-label': 'Filter events' });
  private readonly group = h('select', { name: 'history-group', 'aria-label': 'Event kind' }, Object.keys(GROUPS).map((g) => h('option', null, g)));
  private readonly onlySelected = h('input', { type: 'checkbox', name: 'only-selected' });
  private readonly count = h('span', { class: 'muted' });
  private events: HistoryEvent[] = [];
  private analysis?: Analysis;
  private selectedState?: string;
  private expanded = new Set<number>();

  constructor() {
    for (const el of [this.search, this.group, this.onlySelected]) el.addEventListener('input', () => this.render());
    this.element = h('section', { class: 'card history' },
      h('div', { class: 'card-header' },
        h('h2', null, 'Event history'), this.count,
        h('span', { class: 'spacer' }),
        h('label', { class: 'check' }, this.onlySelected, 'Selected state only'),
        this.group, this.search),
      h('div', { class: 'table-scroll' },
        h('table', { class: 'table compact', 'aria-label': 'Event history' },
          h('thead', null, h('tr', null, h('th', null, 'ID'), h('th', null, 'Type'), h('th', null, 'State'), h('th', null, 'Elapsed'), h('th', null, 'Details'))),
          this.body)));
  }

  update(events: HistoryEvent[], analysis: Analysis, selectedState?: string): void {
    this.events = events;
    this.analysis = analysis;
    this.selectedState = selectedState;
    this.render();
  }

  private render(): void {
    const group = GROUPS[this.group.value] ?? GROUPS['All events'];
    const text = this.search.value.trim().toLowerCase();
    const start = this.events[0]?.timestamp ?? 0;
    const rows: HTMLElement[] = [];
    let shown = 0;
    for (const e of this.events) {
      const state = this.analysis?.visitOfEvent.get(e.id)?.name ?? '';
      if (!group(e.type)) continue;
      if (this.onlySelected.checked && state !== this.selectedState) continue;
      const details = detailsOf(e);
      const summary = summarize(details);
      if (text && !`${e.type} ${state} ${JSON.stringify(details)}`.toLowerCase().includes(text)) continue;
      shown++;
      const open = this.expanded.has(e.id);
      rows.push(h('tr', {
        class: `event ${eventClass(e.type)}${open ? ' open' : ''}`,
        'data-type': e.type,
        onclick: () => {
          if (open) this.expanded.delete(e.id);
          else this.expanded.add(e.id);
          this.render();
        },
      },
        h('td', { class: 'num' }, e.id),
        h('td', null, h('span', { class: 'dot' }), e.type),
        h('td', null, state),
        h('td', { class: 'num' }, `${Math.round((e.timestamp - start) * 1000)} ms`),
        h('td', { class: 'summary' }, summary)));
      if (open) rows.push(h('tr', { class: 'event-details' }, h('td', { colspan: 5 }, h('pre', null, JSON.stringify(details, null, 2)))));
    }
    this.count.textContent = `${shown} of ${this.events.length}`;
    replace(this.body, rows.length ? rows : h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No events match.')));
  }
}

/** The event's details object, with JSON strings (input, output, parameters) parsed for reading. */
function detailsOf(e: HistoryEvent): Record<string, unknown> {
  const entry = Object.entries(e).find(([k]) => k.endsWith('EventDetails'));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((entry?.[1] as Record<string, unknown>) ?? {})) {
    if (k.endsWith('Details') && typeof v === 'object') continue;
    out[k] = typeof v === 'string' && /^[[{]/.test(v) ? tryParse(v) : v;
  }
  return out;
}

function summarize(details: Record<string, unknown>): string {
  const pick = details.error ?? details.output ?? details.input ?? details.resource ?? details.index;
  if (pick === undefined) return '';
  const text = typeof pick === 'string' ? pick : JSON.stringify(pick);
  return text.length > 90 ? `${text.slice(0, 89)}…` : text;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function eventClass(type: string): string {
  if (/(Failed|TimedOut|Aborted)$/.test(type)) return 'ev-failed';
  if (/Succeeded$/.test(type)) return 'ev-succeeded';
  if (/Entered$/.test(type)) return 'ev-entered';
  return 'ev-other';
}
