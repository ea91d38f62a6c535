// The page frame: the top bar with navigation and settings, and
// notifications.

import { apiBase, roleArn, setApiBase, setRoleArn } from '../api';
import { h } from '../dom';

export function topBar(): HTMLElement {
  return h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: '#/' }, h('span', { class: 'logo' }, 'F'), 'Flowstate'),
    h('nav', null,
      h('a', { href: '#/', 'data-nav': 'machines' }, 'State machines'),
      h('a', { href: '#/designer', 'data-nav': 'designer' }, 'New state machine')),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'ghost', title: 'API endpoint and role', onclick: openSettings }, `API: ${new URL(apiBase()).host}`),
  );
}

function openSettings(): void {
  const api = h('input', { name: 'api', value: localStorage.getItem('flowstate.api') ?? '', placeholder: new URL('/', location.href).href });
  const role = h('input', { name: 'role', value: roleArn() });
  const dialog = h(
    'dialog',
    { class: 'dialog' },
    h('form', { method: 'dialog' },
      h('h2', null, 'Settings'),
      h('label', { class: 'form-row' }, h('span', null, 'API endpoint'), api),
      h('p', { class: 'hint' }, 'Any endpoint speaking the Step Functions API. Empty: this page’s own server.'),
      h('label', { class: 'form-row' }, h('span', null, 'Role ARN for new state machines'), role),
      h('div', { class: 'actions' },
        h('button', { value: 'cancel', class: 'ghost' }, 'Cancel'),
        h('button', { value: 'save', class: 'primary' }, 'Save'))),
  );
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') {
      setApiBase(api.value);
      setRoleArn(role.value);
      location.reload();
    }
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

export function notify(message: string, kind: 'info' | 'error' = 'info'): void {
  let area = document.querySelector('.toasts');
  if (!area) {
    area = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(area);
  }
  const toast = h('div', { class: `toast toast-${kind}` }, message);
  area.append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 3500);
}

/** Runs an action, reporting a failure as a notification. */
export async function attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (e) {
    const err = e as Error & { code?: string };
    notify(err.code ? `${err.code}: ${err.message}` : err.message, 'error');
    return undefined;
  }
}
