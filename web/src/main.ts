// Entry point: the top bar and a hash router, so the page is one static
// file set that any server (or a static site) can serve from any path.

import './style.css';
import { h } from './dom';
import { designerView } from './views/designer';
import { executionView } from './views/execution';
import { machineView } from './views/machine';
import { machinesView } from './views/machines';
import { topBar } from './views/shell';

type View = (root: HTMLElement, arn: string) => (() => void) | void;

const ROUTES: [RegExp, View, string][] = [
  [/^#\/machines\/(.+)$/, machineView, 'machines'],
  [/^#\/executions\/(.+)$/, executionView, 'machines'],
  [/^#\/designer(?:\/(.+))?$/, (root, arn) => designerView(root, arn || undefined), 'designer'],
  [/^/, (root) => machinesView(root), 'machines'],
];

const main = h('main', { class: 'content' });
document.querySelector('#app')!.append(topBar(), main);
let cleanup: (() => void) | void;

function route(): void {
  cleanup?.();
  const hash = location.hash;
  for (const [pattern, view, nav] of ROUTES) {
    const m = pattern.exec(hash);
    if (!m) continue;
    for (const a of document.querySelectorAll<HTMLElement>('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav && !(nav === 'designer' && m[1]));
    cleanup = view(main, m[1] ? decodeURIComponent(m[1]) : '');
    return;
  }
}

window.addEventListener('hashchange', route);
route();
