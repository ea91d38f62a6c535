// The designer's form for one state: its name, transition and the fields
// its type is usually edited by, plus every field as JSON for the rest.

import { describeRule } from '../asl/model';
import { type ChoiceRule, type StateDef, TERMINAL_TYPES, isObject } from '../asl/types';
import { h } from '../dom';

export interface StateFormHandlers {
  onChange: (state: StateDef) => void;
  onRename: (name: string) => void;
  onDelete: () => void;
  onClose: () => void;
}

type FieldKind = 'text' | 'number';

/** The fields worth a form control, by state type. */
const FIELDS: Record<string, [string, FieldKind][]> = {
  Task: [['Resource', 'text'], ['TimeoutSeconds', 'number'], ['HeartbeatSeconds', 'number']],
  Wait: [['Seconds', 'number'], ['Timestamp', 'text']],
  Fail: [['Error', 'text'], ['Cause', 'text']],
  Map: [['ItemsPath', 'text'], ['MaxConcurrency', 'number']],
  Pass: [],
  Choice: [],
  Parallel: [],
  Succeed: [],
};

export function stateForm(name: string, state: StateDef, siblings: string[], handlers: StateFormHandlers): HTMLElement {
  const update = (mutate: (s: StateDef) => void) => {
    const next = structuredClone(state);
    mutate(next);
    handlers.onChange(next);
  };
  const others = siblings.filter((n) => n !== name);
  const targetSelect = (value: string | undefined, allowEnd: boolean, onPick: (v: string | undefined) => void) =>
    h(
      'select',
      { onchange: (e: Event) => onPick((e.target as HTMLSelectElement).value || undefined) },
      allowEnd ? h('option', { value: '', selected: value === undefined }, '(End)') : h('option', { value: '' }, '(none)'),
      others.map((n) => h('option', { value: n, selected: n === value }, n)),
      value !== undefined && !others.includes(value) ? h('option', { value, selected: true }, `${value} (missing)`) : null,
    );

  const rows: HTMLElement[] = [
    row('Name', h('input', { name: 'state-name', value: name, onchange: (e: Event) => handlers.onRename((e.target as HTMLInputElement).value) })),
    row('Type', h('span', { class: 'type-chip' }, state.Type)),
    row('Comment', textInput(state.Comment as string | undefined, (v) => update((s) => setOrDelete(s, 'Comment', v)), 'Comment')),
  ];
  for (const [field, kind] of FIELDS[state.Type] ?? []) {
    rows.push(row(field, kind === 'number'
      ? h('input', {
          type: 'number',
          name: field,
          value: state[field] === undefined ? '' : String(state[field]),
          onchange: (e: Event) => {
            const raw = (e.target as HTMLInputElement).value;
            update((s) => setOrDelete(s, field, raw === '' ? undefined : Number(raw)));
          },
        })
      : textInput(state[field] as string | undefined, (v) => update((s) => setOrDelete(s, field, v)), field)));
  }
  if (state.Type === 'Choice') {
    const rules = Array.isArray(state.Choices) ? state.Choices : [];
    rows.push(h('div', { class: 'form-section' }, 'Rules'));
    rules.forEach((rule, i) => {
      const { Next: next, ...condition } = isObject(rule) ? rule : ({} as ChoiceRule);
      rows.push(
        h('div', { class: 'rule' },
          h('input', {
            class: 'mono',
            title: describeRule(condition as ChoiceRule),
            value: JSON.stringify(condition),
            onchange: (e: Event) => {
              const parsed = tryJson((e.target as HTMLInputElement).value);
              if (isObject(parsed)) update((s) => { s.Choices![i] = { ...parsed, Next: next }; });
              else (e.target as HTMLInputElement).classList.add('invalid');
            },
          }),
          h('span', { class: 'arrow-text' }, '→'),
          targetSelect(next, false, (v) => update((s) => { s.Choices![i].Next = v; })),
          h('button', { type: 'button', class: 'icon', title: 'Remove rule', onclick: () => update((s) => { s.Choices!.splice(i, 1); }) }, '×'),
        ),
      );
    });
    rows.push(row('Default', targetSelect(state.Default, false, (v) => update((s) => setOrDelete(s, 'Default', v)))));
  } else if (!TERMINAL_TYPES.has(state.Type)) {
    rows.push(row('Next', targetSelect(state.Next, true, (v) => update((s) => {
      if (v) {
        s.Next = v;
        delete s.End;
      } else {
        delete s.Next;
        s.End = true;
      }
    }))));
  }
  const raw = h('textarea', { class: 'mono raw', rows: 10, spellcheck: 'false', name: 'state-json' }, JSON.stringify(state, null, 2));
  const rawError = h('div', { class: 'form-error' });
  return h(
    'aside',
    { class: 'state-form', 'aria-label': `State ${name}` },
    h('header', null,
      h('h3', null, name),
      h('button', { type: 'button', class: 'icon', title: 'Close', onclick: handlers.onClose }, '×')),
    h('div', { class: 'form-body' },
      rows,
      h('details', null,
        h('summary', null, 'All fields (JSON)'),
        raw,
        rawError,
        h('button', {
          type: 'button',
          onclick: () => {
            const parsed = tryJson(raw.value);
            if (isObject(parsed) && typeof parsed.Type === 'string') handlers.onChange(parsed as StateDef);
            else rawError.textContent = 'Must be a JSON object with a Type';
          },
        }, 'Apply')),
      h('button', { type: 'button', class: 'danger', onclick: handlers.onDelete }, 'Delete state')),
  );
}

function row(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'form-row' }, h('span', null, label), control);
}

function textInput(value: string | undefined, onChange: (v: string | undefined) => void, name?: string): HTMLInputElement {
  return h('input', { name, value: value ?? '', onchange: (e: Event) => onChange((e.target as HTMLInputElement).value || undefined) });
}

function setOrDelete(s: StateDef, field: string, value: unknown): void {
  if (value === undefined) delete s[field];
  else s[field] = value;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
