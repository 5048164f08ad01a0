import { Unauthorized, token } from './api.ts';
import { pruneCharts } from './charts.ts';
import { h } from './dom.ts';
import { audiencePage } from './pages/audience.ts';
import { audiencesPage } from './pages/audiences.ts';
import { membersPage } from './pages/members.ts';
import { overlapPage } from './pages/overlap.ts';
import { profilePage } from './pages/profile.ts';
import { syncPage } from './pages/sync.ts';

/** How often live pages (audiences, one audience, sync) fetch again. */
const REFRESH_MS = 5_000;

const main = document.getElementById('main')!;
const logout = document.getElementById('logout')!;
let generation = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

/** The page shell loads without the token; the data needs it. */
function loginForm(message?: string): void {
  pruneCharts();
  document.title = 'Sign in · Handoff';
  logout.hidden = true;
  const input = h('input', {
    name: 'token',
    type: 'password',
    placeholder: 'admin token',
    autocomplete: 'off',
  });
  main.replaceChildren(
    h(
      'form',
      {
        class: 'login',
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value.trim() === '') return;
          token.set(input.value.trim());
          void render();
        },
      },
      h('h1', {}, 'Sign in'),
      h(
        'p',
        { class: 'muted' },
        'Paste the admin token (HANDOFF_ADMIN_TOKEN; `handoff serve` says where a generated one is kept). It stays in this tab only.',
      ),
      message ? h('p', { class: 'error', id: 'login-error' }, message) : null,
      input,
      h('button', {}, 'Sign in'),
    ),
  );
  input.focus();
}

/** The page title names the view: `Audiences`, `cart_0_4h`, `Profile email:…`, `Sync`. */
function viewName(parts: string[]): string {
  if (parts[0] === 'audiences' && parts[1] !== undefined && parts[2] === 'profiles')
    return `${parts[1]} profiles`;
  if (parts[0] === 'audiences' && parts[1] !== undefined) return parts[1];
  if (parts[0] === 'overlap') return 'Overlap';
  if (parts[0] === 'profiles' && parts[1] !== undefined) return `Profile ${parts[1]}`;
  if (parts[0] === 'sync') return 'Sync';
  return 'Audiences';
}

async function render(): Promise<void> {
  clearTimeout(timer);
  const mine = ++generation;
  if (token.get() === null) return loginForm();
  logout.hidden = false;
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const page = document.createElement('div');
  let live = true;
  document.title = `${viewName(parts)} · Handoff`;
  try {
    if (parts[0] === 'audiences' && parts[1] !== undefined && parts[2] === 'profiles') {
      live = false;
      await membersPage(page, parts[1], query);
    } else if (parts[0] === 'audiences' && parts[1] !== undefined) await audiencePage(page, parts[1], query);
    else if (parts[0] === 'overlap') await overlapPage(page);
    else if (parts[0] === 'profiles' && parts[1] !== undefined) {
      live = false;
      await profilePage(page, parts[1]);
    } else if (parts[0] === 'sync') await syncPage(page, () => void render());
    else await audiencesPage(page, query);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof Unauthorized) {
      token.clear();
      return loginForm(error.message);
    }
    page.replaceChildren(h('p', { class: 'error', id: 'page-error' }, (error as Error).message));
    live = false;
  }
  if (mine !== generation) return;
  // Charts are drawn into `page` before it is shown; the old page's charts go with it.
  main.replaceChildren(page);
  pruneCharts(page);
  document.body.dataset.ready = String(mine);
  if (live) timer = setTimeout(() => void render(), REFRESH_MS);
}

document.getElementById('lookup')!.addEventListener('submit', (e) => {
  e.preventDefault();
  const ref = (new FormData(e.target as HTMLFormElement).get('ref') as string).trim();
  if (ref !== '') location.hash = `#/profiles/${encodeURIComponent(ref)}`;
});
logout.addEventListener('click', () => {
  token.clear();
  void render();
});
window.addEventListener('hashchange', () => void render());
void render();
