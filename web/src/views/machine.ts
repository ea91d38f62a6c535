// A state machine: its graph, its executions (filtered by status), and
// starting a new one.

import { type ExecutionStatus, describeStateMachine, listExecutions } from '../api';
import { getState, splitStateId } from '../asl/edit';
import { buildGraph } from '../asl/model';
import { detectFormat, parseDefinition } from '../asl/text';
import { formatDate, formatDuration, h, replace, statusBadge } from '../dom';
import { GraphView } from '../graph/view';
import { attempt } from './shell';
import { openStartDialog } from './start-dialog';

const STATUSES: ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
const REFRESH_MS = 3000;

export function machineView(root: HTMLElement, arn: string): () => void {
  const title = h('h1', null, '…');
  const meta = h('div', { class: 'meta' });
  const filter = h('select', { name: 'status-filter', 'aria-label': 'Status filter', onchange: () => void loadExecutions() },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s }, s.replace('_', ' ').toLowerCase())));
  const rows = h('tbody');
  let definition: unknown;
  // AWS lists no Express executions (ListExecutions answers
  // StateMachineTypeNotSupported): the page says so instead of polling.
  let express = false;
  const popover = h('div', { class: 'state-popover', hidden: true });
  // Clicking a state shows its definition.
  const graph = new GraphView({
    onSelect: (id) => {
      const state = id ? getState(definition, id) : undefined;
      popover.hidden = !state;
      if (state && id) {
        replace(popover,
          h('div', { class: 'panel-header' },
            h('h2', null, splitStateId(id)?.name ?? ''),
            h('button', { type: 'button', class: 'icon', title: 'Close', onclick: () => { popover.hidden = true; graph.select(undefined); } }, '×')),
          h('pre', null, JSON.stringify(state, null, 2)));
      }
    },
  });
  replace(root,
    h('div', { class: 'page' },
      h('div', { class: 'page-header' },
        h('div', null, h('a', { href: '#/', class: 'crumb' }, 'State machines'), title, meta),
        h('span', { class: 'spacer' }),
        h('a', { class: 'button', href: `#/designer/${encodeURIComponent(arn)}` }, 'Edit'),
        h('button', { type: 'button', class: 'primary', onclick: () => openStartDialog(arn) }, 'Start execution')),
      h('div', { class: 'machine-layout' },
        h('section', { class: 'card graph-card' }, graph.element, popover),
        h('section', { class: 'card' },
          h('div', { class: 'card-header' }, h('h2', null, 'Executions'), h('span', { class: 'spacer' }), filter),
          h('table', { class: 'table', 'aria-label': 'Executions' },
            h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Status'), h('th', null, 'Started'), h('th', null, 'Duration'))),
            rows)))));

  const described = attempt(async () => {
    const sm = await describeStateMachine(arn);
    express = sm.type === 'EXPRESS';
    title.textContent = sm.name;
    replace(meta, h('span', null, sm.type), h('span', { class: 'mono' }, sm.stateMachineArn), h('span', null, `created ${formatDate(sm.creationDate)}`));
    const parsed = parseDefinition(sm.definition, detectFormat(sm.definition));
    if (!parsed.ok) return;
    definition = parsed.value;
    graph.render(buildGraph(definition));
  });

  async function loadExecutions() {
    if (express) {
      filter.hidden = true;
      replace(rows, h('tr', null, h('td', { colspan: 4, class: 'empty' },
        'Express executions are not listed, as on AWS: a started one opens by its ARN.')));
      return;
    }
    const status = (filter.value || undefined) as ExecutionStatus | undefined;
    const executions = await attempt(() => listExecutions(arn, status));
    if (!executions) return;
    if (executions.length === 0) {
      replace(rows, h('tr', null, h('td', { colspan: 4, class: 'empty' }, status ? `No ${status.toLowerCase()} executions.` : 'No executions yet: start one.')));
      return;
    }
    replace(rows, executions.map((e) =>
      h('tr', null,
        h('td', null, h('a', { href: `#/executions/${encodeURIComponent(e.executionArn)}`, class: 'strong' }, e.name)),
        h('td', null, statusBadge(e.status)),
        h('td', null, formatDate(e.startDate)),
        h('td', null, e.stopDate ? formatDuration(e.stopDate - e.startDate) : '…'))));
  }
  void described.then(() => loadExecutions());
  const timer = setInterval(() => void loadExecutions(), REFRESH_MS);
  return () => clearInterval(timer);
}
