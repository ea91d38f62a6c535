// The home page: every state machine, newest first.

import { listStateMachines } from '../api';
import { formatDate, h, replace } from '../dom';
import { attempt } from './shell';

export function machinesView(root: HTMLElement): void {
  const body = h('tbody', null, h('tr', null, h('td', { colspan: 4, class: 'empty' }, 'Loading…')));
  replace(root,
    h('div', { class: 'page' },
      h('div', { class: 'page-header' },
        h('h1', null, 'State machines'),
        h('span', { class: 'spacer' }),
        h('a', { class: 'button primary', href: '#/designer' }, '+ New state machine')),
      h('table', { class: 'table', 'aria-label': 'State machines' },
        h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Type'), h('th', null, 'Created'), h('th', null, ''))),
        body)));
  void attempt(async () => {
    const machines = (await listStateMachines()).sort((a, b) => b.creationDate - a.creationDate);
    if (machines.length === 0) {
      replace(body, h('tr', null, h('td', { colspan: 4, class: 'empty' },
        'No state machines yet. ', h('a', { href: '#/designer' }, 'Design your first one'), '.')));
      return;
    }
    replace(body, machines.map((m) => {
      const arn = encodeURIComponent(m.stateMachineArn);
      return h('tr', null,
        h('td', null, h('a', { href: `#/machines/${arn}`, class: 'strong' }, m.name)),
        h('td', null, m.type),
        h('td', null, formatDate(m.creationDate)),
        h('td', { class: 'row-actions' }, h('a', { href: `#/designer/${arn}` }, 'Edit'), h('a', { href: `#/machines/${arn}` }, 'Executions')));
    }));
  });
}
