// The designer: the graph and the definition text side by side, kept in
// sync both ways. Typing re-parses the text and redraws the graph; graph
// edits (palette, drag-to-connect, the state form) rewrite the text.
// Diagnostics from ValidateStateMachineDefinition mark both the line and
// the state.

import { type Diagnostic as ApiDiagnostic, createStateMachine, describeStateMachine, updateStateMachine, validateDefinition } from '../api';
import { addState, connect, deleteState, getState, renameState, replaceState, splitStateId, valueAt } from '../asl/edit';
import { type GraphScope, allStates, buildGraph, nodeForLocation } from '../asl/model';
import { type Format, detectFormat, formatDefinition, parseDefinition, rangeOfPointer } from '../asl/text';
import { type Machine, STATE_TYPES } from '../asl/types';
import { h, replace } from '../dom';
import { GraphView } from '../graph/view';
import { CodeEditor, type Diagnostic } from './code-editor';
import { attempt, notify } from './shell';
import { stateForm } from './state-form';

const STARTER = {
  Comment: 'A new state machine: edit the text, or add states from the palette and drag between them.',
  StartAt: 'Hello',
  States: {
    Hello: { Type: 'Pass', Result: { message: 'Hello from Flowstate' }, Next: 'Done' },
    Done: { Type: 'Succeed' },
  },
};

const PARSE_DELAY_MS = 250;
const VALIDATE_DELAY_MS = 400;

export function designerView(root: HTMLElement, arn?: string): () => void {
  let definition: unknown = STARTER;
  let format: Format = 'json';
  let graph: GraphScope = buildGraph(definition);
  let selected: string | undefined;
  let validation = 0;
  let parseTimer: ReturnType<typeof setTimeout> | undefined;
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  let savedArn = arn;

  const title = h('h1', null, arn ? 'Edit state machine' : 'New state machine');
  const nameInput = h('input', { class: 'name-input', name: 'name', placeholder: 'state machine name', required: true, 'aria-label': 'Name' });
  const typeSelect = h('select', { name: 'type', 'aria-label': 'Type' }, h('option', null, 'STANDARD'), h('option', null, 'EXPRESS'));
  const formatButtons = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Format' });
  const status = h('span', { class: 'validation-status', 'data-testid': 'validation-status' });
  const saveButton = h('button', { type: 'button', class: 'primary', onclick: () => void save() }, 'Save');
  const runLink = h('a', { class: 'button', hidden: true }, 'Executions →');
  const diagList = h('ul', { class: 'diagnostics', 'aria-label': 'Diagnostics' });
  const formHost = h('div', { class: 'form-host' });
  const codeHost = h('div', { class: 'code-host' });
  const view = new GraphView({
    onSelect: (id) => {
      selected = id;
      renderForm();
    },
    onConnect: (from, to) => {
      const result = connect(definition, from, to);
      if ('error' in result) notify(result.error, 'error');
      else apply(result.definition);
    },
  });
  const editor = new CodeEditor(codeHost, formatDefinition(definition, format), format, (text) => {
    clearTimeout(parseTimer);
    parseTimer = setTimeout(() => fromText(text), PARSE_DELAY_MS);
  });

  const palette = h('nav', { class: 'palette', 'aria-label': 'Add a state' },
    h('div', { class: 'palette-title' }, 'Add state'),
    STATE_TYPES.map((type) => {
      const button = h('button', {
        type: 'button',
        class: `palette-item type-${type.toLowerCase()}`,
        draggable: 'true',
        'data-type': type,
        title: `Add a ${type} state (after the selected state), or drop it on a state`,
        onclick: () => add(type, selected),
      }, h('span', { class: 'swatch' }), type);
      button.addEventListener('dragstart', (e) => e.dataTransfer?.setData('text/x-state-type', type));
      return button;
    }));
  view.element.addEventListener('dragover', (e) => e.preventDefault());
  view.element.addEventListener('drop', (e) => {
    e.preventDefault();
    const type = e.dataTransfer?.getData('text/x-state-type');
    const target = document.elementFromPoint(e.clientX, e.clientY)?.closest<SVGGElement>('[data-kind="state"]');
    if (type) add(type, target?.dataset.id);
  });

  replace(root,
    h('div', { class: 'designer' },
      h('div', { class: 'toolbar' },
        title,
        nameInput, arn ? null : typeSelect, formatButtons, status, h('span', { class: 'spacer' }), runLink, saveButton),
      h('div', { class: 'designer-body' },
        palette,
        h('div', { class: 'canvas' }, view.element, formHost),
        h('div', { class: 'code-pane' }, codeHost, diagList))));

  renderFormatButtons();
  redraw();
  scheduleValidation();
  if (arn) void load(arn);

  async function load(stateMachineArn: string) {
    const sm = await attempt(() => describeStateMachine(stateMachineArn));
    if (!sm) return;
    nameInput.value = sm.name;
    nameInput.disabled = true;
    showRunLink(sm.stateMachineArn);
    format = detectFormat(sm.definition);
    const parsed = parseDefinition(sm.definition, format);
    definition = parsed.ok ? parsed.value : definition;
    editor.setText(sm.definition, format);
    renderFormatButtons();
    redraw();
    view.fit();
    scheduleValidation();
  }

  function showRunLink(stateMachineArn: string) {
    runLink.hidden = false;
    runLink.setAttribute('href', `#/machines/${encodeURIComponent(stateMachineArn)}`);
  }

  function renderFormatButtons() {
    replace(formatButtons, (['json', 'yaml'] as Format[]).map((f) =>
      h('button', {
        type: 'button',
        class: f === format ? 'active' : '',
        'aria-pressed': String(f === format),
        onclick: () => {
          if (f === format) return;
          format = f;
          editor.setText(formatDefinition(definition, format), format);
          renderFormatButtons();
          scheduleValidation();
        },
      }, f.toUpperCase())));
  }

  function fromText(text: string) {
    const parsed = parseDefinition(text, format);
    if (!parsed.ok) {
      const line = editor.lineOf(parsed.offset);
      editor.setDiagnostics([{ from: parsed.offset, to: parsed.offset, severity: 'error', message: parsed.message }]);
      view.element.classList.add('stale');
      setStatus('error', `Line ${line}: ${parsed.message}`);
      replace(diagList, h('li', { class: 'diag-error' }, h('span', { class: 'sev' }, 'SYNTAX'), ` line ${line}: ${parsed.message}`));
      return;
    }
    const before = [...allStates(graph)].length;
    definition = parsed.value;
    redraw();
    // A paste or a big rewrite: show the whole new graph.
    if (Math.abs([...allStates(graph)].length - before) > 2) view.fit();
    scheduleValidation();
  }

  /** Takes a definition edited through the graph: rewrites the text and redraws. */
  function apply(next: Machine) {
    definition = next;
    editor.setText(formatDefinition(definition, format), format);
    redraw();
    scheduleValidation();
  }

  function add(type: string, afterId?: string) {
    const scope = afterId ? (splitStateId(afterId)?.scope ?? '') : '';
    const result = addState(definition, type, scope, afterId);
    selected = result.id;
    apply(result.definition);
    view.select(selected);
    view.focus(selected);
  }

  function redraw() {
    graph = buildGraph(definition);
    view.element.classList.remove('stale');
    view.render(graph);
    if (selected && !getState(definition, selected)) selected = undefined;
    view.select(selected);
    renderForm();
  }

  function renderForm() {
    const state = selected ? getState(definition, selected) : undefined;
    if (!selected || !state) {
      formHost.replaceChildren();
      return;
    }
    const id = selected;
    const parts = splitStateId(id)!;
    const scope = valueAt(definition, parts.scope) as Machine | undefined;
    formHost.replaceChildren(
      stateForm(parts.name, state, Object.keys(scope?.States ?? {}), {
        onChange: (s) => apply(replaceState(definition, id, s)),
        onRename: (name) => {
          const result = renameState(definition, id, name);
          if ('error' in result) {
            notify(result.error, 'error');
            renderForm();
            return;
          }
          selected = result.id;
          apply(result.definition);
        },
        onDelete: () => {
          selected = undefined;
          apply(deleteState(definition, id));
        },
        onClose: () => {
          selected = undefined;
          view.select(undefined);
          renderForm();
        },
      }),
    );
  }

  function scheduleValidation() {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(() => void validate(), VALIDATE_DELAY_MS);
  }

  async function validate() {
    const seq = ++validation;
    setStatus('pending', 'Validating…');
    let diagnostics: ApiDiagnostic[];
    try {
      diagnostics = await validateDefinition(JSON.stringify(definition));
    } catch (e) {
      if (seq === validation) setStatus('error', `Cannot validate: ${(e as Error).message}`);
      return;
    }
    if (seq !== validation) return;
    showDiagnostics(diagnostics);
  }

  function showDiagnostics(diagnostics: ApiDiagnostic[]) {
    const text = editor.text;
    const byNode = new Map<string, string[]>();
    const lint: Diagnostic[] = [];
    const items = diagnostics.map((d) => {
      const range = rangeOfPointer(text, d.location ?? '');
      const severity = d.severity === 'ERROR' ? 'error' : 'warning';
      lint.push({ ...range, severity, message: d.message, source: d.code });
      const node = d.location !== undefined ? nodeForLocation(graph, d.location) : undefined;
      if (node) byNode.set(node.id, [...(byNode.get(node.id) ?? []), d.message]);
      const line = editor.lineOf(range.from);
      return h('li', {
        class: `diag-${severity}`,
        'data-state': node?.name,
        'data-line': line,
        onclick: () => {
          editor.reveal(range.from);
          if (node) {
            selected = node.id;
            view.select(node.id);
            view.focus(node.id);
            renderForm();
          }
        },
      }, h('span', { class: 'sev' }, d.severity), ' ', h('span', { class: 'where' }, `line ${line}${node ? ` · ${node.name}` : ''}`), ' ', d.message);
    });
    editor.setDiagnostics(lint);
    view.setDiagnostics(byNode);
    replace(diagList, items);
    const errors = diagnostics.filter((d) => d.severity === 'ERROR').length;
    const warnings = diagnostics.length - errors;
    if (errors) setStatus('error', `${errors} error${errors > 1 ? 's' : ''}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}`);
    else if (warnings) setStatus('warning', `Valid, ${warnings} warning${warnings > 1 ? 's' : ''}`);
    else setStatus('ok', 'Valid');
  }

  function setStatus(kind: string, text: string) {
    status.className = `validation-status ${kind}`;
    status.textContent = text;
  }

  async function save() {
    const json = JSON.stringify(definition, null, 2);
    if (savedArn) {
      if (await attempt(() => updateStateMachine(savedArn!, json))) notify('Saved');
      return;
    }
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.focus();
      notify('Give the state machine a name first', 'error');
      return;
    }
    const created = await attempt(() => createStateMachine(name, json, typeSelect.value as 'STANDARD' | 'EXPRESS'));
    if (!created) return;
    savedArn = created.stateMachineArn;
    title.textContent = 'Edit state machine';
    nameInput.disabled = true;
    typeSelect.disabled = true;
    showRunLink(savedArn);
    history.replaceState(null, '', `#/designer/${encodeURIComponent(savedArn)}`);
    notify(`Created ${name}`);
  }

  return () => {
    clearTimeout(parseTimer);
    clearTimeout(validateTimer);
    editor.view.destroy();
  };
}
