// The execution inspector: the graph coloured by each state's status,
// updated live while the execution runs; the selected state's input,
// output, error and cause; Map iterations and Parallel branches; stopping
// the execution; answering a task that waits for a callback; and the
// event history.

import {
  type Execution,
  type HistoryEvent,
  describeExecution,
  describeStateMachineForExecution,
  getExecutionHistory,
  sendTaskFailure,
  sendTaskSuccess,
  stopExecution,
} from '../api';
import { type GraphNode, type GraphScope, allStates, buildGraph } from '../asl/model';
import { detectFormat, parseDefinition } from '../asl/text';
import { formatDate, formatDuration, h, prettyJson, replace, statusBadge } from '../dom';
import { GraphView, type NodeMark } from '../graph/view';
import { type Analysis, type StateStatus, type Visit, analyze, combinedStatus, inIterations } from '../history/analyze';
import { HistoryTable } from './history-table';
import { attempt, notify } from './shell';
import { openStartDialog } from './start-dialog';

const POLL_MS = 1000;

const STATUS_LABEL: Record<StateStatus, string> = {
  notReached: 'Not reached',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  caught: 'Caught',
  retried: 'Retried',
};

export function executionView(root: HTMLElement, arn: string): () => void {
  let execution: Execution | undefined;
  let events: HistoryEvent[] = [];
  let analysis: Analysis | undefined;
  let graph: GraphScope | undefined;
  let nodesByName = new Map<string, GraphNode>();
  let selected: string | undefined;
  /** The Map iteration shown, per Map state name. */
  const chosen = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const title = h('h1', null, '…');
  const meta = h('div', { class: 'meta' });
  const actions = h('div', { class: 'actions' });
  const panel = h('aside', { class: 'card side-panel', 'aria-label': 'Details' });
  const table = new HistoryTable();
  const view = new GraphView({
    onSelect: (id) => {
      selected = id;
      renderPanel();
      table.update(events, analysis!, selectedName());
    },
  });
  const legend = h('div', { class: 'legend' },
    (Object.keys(STATUS_LABEL) as StateStatus[]).map((s) => h('span', { class: `legend-item`, 'data-status': s }, h('i'), STATUS_LABEL[s])));
  const crumb = h('a', { class: 'crumb', href: '#/' }, 'State machines');

  replace(root,
    h('div', { class: 'page' },
      h('div', { class: 'page-header' }, h('div', null, crumb, title, meta), h('span', { class: 'spacer' }), actions),
      h('div', { class: 'execution-layout' },
        h('section', { class: 'card graph-card' }, view.element, legend),
        panel),
      table.element));

  void start();

  async function start() {
    const sm = await attempt(() => describeStateMachineForExecution(arn));
    if (sm) {
      crumb.textContent = sm.name;
      crumb.setAttribute('href', `#/machines/${encodeURIComponent(sm.stateMachineArn)}`);
      const parsed = parseDefinition(sm.definition, detectFormat(sm.definition));
      graph = buildGraph(parsed.ok ? parsed.value : {});
      nodesByName = new Map([...allStates(graph)].map((n) => [n.name, n]));
      view.render(graph);
    }
    await refresh();
  }

  async function refresh() {
    const [desc, history] = await Promise.all([
      attempt(() => describeExecution(arn)),
      attempt(() => getExecutionHistory(arn)),
    ]);
    if (closed) return;
    if (desc) execution = desc;
    if (history) events = history;
    if (!execution) return;
    analysis = analyze(events, execution.status, arn);
    renderHeader();
    markGraph();
    renderPanel();
    table.update(events, analysis, selectedName());
    if (execution.status === 'RUNNING') timer = setTimeout(() => void refresh(), POLL_MS);
  }

  function selectedName(): string | undefined {
    return selected ? [...nodesByName.values()].find((n) => n.id === selected)?.name : undefined;
  }

  function visitsOf(name: string): Visit[] {
    return (analysis?.visits ?? []).filter((v) => v.name === name && inIterations(v, chosen));
  }

  function renderHeader() {
    const e = execution!;
    title.replaceChildren(e.name ?? arn.split(':').pop() ?? '', ' ', statusBadge(e.status));
    const end = e.stopDate ?? Date.now() / 1000;
    replace(meta,
      h('span', null, `started ${formatDate(e.startDate)}`),
      h('span', null, `${e.stopDate ? 'took' : 'running for'} ${formatDuration(end - e.startDate)}`),
      h('span', null, `${events.length} events`));
    replace(actions,
      e.status === 'RUNNING'
        ? h('button', {
            type: 'button',
            class: 'danger',
            onclick: async () => {
              if (!confirm('Stop this execution?')) return;
              if (await attempt(() => stopExecution(arn, 'Stopped', 'Stopped from the Flowstate inspector'))) {
                notify('Execution stopped');
                clearTimeout(timer);
                void refresh();
              }
            },
          }, 'Stop execution')
        : null,
      h('button', { type: 'button', onclick: () => openStartDialog(e.stateMachineArn, prettyJson(e.input) || '{}') }, 'New execution with this input'));
  }

  function markGraph() {
    const marks = new Map<string, NodeMark>();
    for (const [name, node] of nodesByName) {
      const visits = visitsOf(name);
      if (visits.length === 0) continue;
      marks.set(node.id, {
        status: combinedStatus(visits),
        count: visits.length,
        retries: visits.reduce((n, v) => n + Math.max(0, v.attempts - 1), 0),
      });
    }
    view.mark(marks);
  }

  function renderPanel() {
    const node = selected ? [...nodesByName.values()].find((n) => n.id === selected) : undefined;
    if (!node || !execution) {
      replace(panel, overview());
      return;
    }
    const visits = visitsOf(node.name);
    const status = combinedStatus(visits);
    replace(panel,
      h('div', { class: 'panel-header' },
        h('div', null, h('h2', null, node.name), h('span', { class: 'muted' }, node.type)),
        h('span', { class: 'state-status', 'data-status': status }, STATUS_LABEL[status])),
      node.type === 'Map' ? iterationPicker(node.name) : null,
      node.type === 'Parallel' ? branchList(node) : null,
      visits.length === 0 ? h('p', { class: 'muted' }, 'This state was not reached.') : null,
      visits.length > 1 ? h('p', { class: 'muted' }, `${visits.length} visits; the latest is shown.`) : null,
      visits.length > 0 ? visitDetails(visits[visits.length - 1]) : null,
      h('details', null, h('summary', null, 'Definition'), h('pre', null, JSON.stringify(node.def, null, 2))));
  }

  function overview(): HTMLElement[] {
    const e = execution;
    if (!e) return [h('p', { class: 'muted' }, 'Loading…')];
    return [
      h('div', { class: 'panel-header' }, h('h2', null, 'Execution'), statusBadge(e.status)),
      h('p', { class: 'muted' }, 'Click a state to see its input, output and errors.'),
      e.error ? field('Error', e.error, 'error') : null,
      e.cause ? field('Cause', prettyJson(e.cause), 'error') : null,
      field('Input', prettyJson(e.input)),
      e.output !== undefined ? field('Output', prettyJson(e.output)) : null,
    ].filter((x): x is HTMLElement => x !== null);
  }

  function visitDetails(v: Visit): HTMLElement {
    return h('div', { class: 'visit' },
      v.iteration.length ? h('p', { class: 'muted' }, `In ${v.iteration.map((p) => `${p.map} iteration ${p.index}`).join(' › ')}`) : null,
      v.attempts > 1 ? h('p', null, `${v.attempts} attempts (${v.attempts - 1} retried)`) : null,
      v.waitingForCallback ? callbackForm(v) : null,
      v.error !== undefined ? field('Error', v.error, 'error') : null,
      v.cause !== undefined ? field('Cause', prettyJson(v.cause), 'error') : null,
      field('Input', prettyJson(v.input)),
      v.output !== undefined ? field('Output', prettyJson(v.output)) : null,
    );
  }

  function iterationPicker(map: string): HTMLElement {
    const iterations = (analysis?.iterations ?? []).filter((i) => i.map === map).sort((a, b) => a.index - b.index);
    const current = chosen.get(map);
    const pick = (index: number | undefined) => () => {
      if (index === undefined) chosen.delete(map);
      else chosen.set(map, index);
      markGraph();
      renderPanel();
    };
    return h('div', { class: 'iterations' },
      h('div', { class: 'label' }, `Iterations (${iterations.length})`),
      h('div', { class: 'chips' },
        h('button', { type: 'button', class: `chip${current === undefined ? ' active' : ''}`, onclick: pick(undefined) }, 'All'),
        iterations.map((i) =>
          h('button', {
            type: 'button',
            class: `chip${current === i.index ? ' active' : ''}`,
            'data-status': i.status,
            title: `Iteration ${i.index}: ${i.status}`,
            onclick: pick(i.index),
          }, String(i.index)))),
      iterations.length ? h('p', { class: 'hint' }, 'Pick an iteration to colour the item processor by it alone.') : null);
  }

  function branchList(node: GraphNode): HTMLElement {
    return h('div', { class: 'iterations' },
      h('div', { class: 'label' }, 'Branches'),
      h('div', { class: 'chips' },
        node.children.map((branch) => {
          const states = branch.nodes.filter((n) => n.kind === 'state');
          const status = combinedStatus(states.flatMap((n) => visitsOf(n.name)));
          return h('button', { type: 'button', class: 'chip', 'data-status': status, onclick: () => view.focus(branch.id) }, branch.label);
        })));
  }

  function callbackForm(v: Visit): HTMLElement {
    const token = h('input', { name: 'task-token', class: 'mono', value: v.taskToken ?? '', placeholder: 'task token' });
    const output = h('textarea', { name: 'task-output', class: 'mono', rows: 4 }, '{}');
    const error = h('input', { name: 'task-error', placeholder: 'Error name' });
    const cause = h('input', { name: 'task-cause', placeholder: 'Cause' });
    const after = async (ok: unknown) => {
      if (!ok) return;
      notify('Sent');
      clearTimeout(timer);
      await refresh();
    };
    return h('div', { class: 'callback' },
      h('h3', null, 'Waiting for a callback'),
      h('label', { class: 'form-row' }, h('span', null, 'Task token'), token),
      h('label', { class: 'form-row' }, h('span', null, 'Output (JSON)'), output),
      h('button', { type: 'button', class: 'primary', onclick: async () => after(await attempt(() => sendTaskSuccess(token.value, output.value))) }, 'Send task success'),
      h('div', { class: 'row' }, error, cause),
      h('button', { type: 'button', class: 'danger', onclick: async () => after(await attempt(() => sendTaskFailure(token.value, error.value, cause.value))) }, 'Send task failure'));
  }

  return () => {
    closed = true;
    clearTimeout(timer);
  };
}

function field(label: string, value: string | undefined, kind = ''): HTMLElement {
  return h('div', { class: `field ${kind}` }, h('div', { class: 'label' }, label), h('pre', null, value ?? ''));
}
