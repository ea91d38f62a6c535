// The "start execution" form: an optional name and the input as JSON.

import { startExecution } from '../api';
import { h } from '../dom';
import { attempt } from './shell';

export function openStartDialog(stateMachineArn: string, initialInput = '{}'): void {
  const name = h('input', { name: 'execution-name', placeholder: 'generated when empty', maxlength: 80 });
  const input = h('textarea', { name: 'execution-input', class: 'mono', rows: 12, spellcheck: 'false' }, initialInput);
  const error = h('div', { class: 'form-error', role: 'alert' });
  const start = h('button', { type: 'submit', class: 'primary' }, 'Start execution');
  const dialog = h(
    'dialog',
    { class: 'dialog wide' },
    h('form', {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          JSON.parse(input.value);
        } catch (err) {
          error.textContent = `The input is not valid JSON: ${(err as Error).message}`;
          return;
        }
        start.disabled = true;
        const started = await attempt(() => startExecution(stateMachineArn, input.value, name.value.trim()));
        start.disabled = false;
        if (!started) return;
        dialog.close();
        location.hash = `#/executions/${encodeURIComponent(started.executionArn)}`;
      },
    },
      h('h2', null, 'Start execution'),
      h('label', { class: 'form-row' }, h('span', null, 'Name'), name),
      h('label', { class: 'form-row' }, h('span', null, 'Input (JSON)'), input),
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'ghost', onclick: () => dialog.close() }, 'Cancel'),
        start)),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}
