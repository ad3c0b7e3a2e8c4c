// The session list: newest first, infinite scroll, search by title, rename, delete with confirmation.
import { api } from './api.js';
import { confirmDialog, debounce, formatDate, formatNumber, h, iconButton, promptDialog, toast } from './dom.js';
import { t } from './i18n.js';
import { emit, on, store } from './store.js';

const list = document.getElementById('session-list');
const searchInput = document.getElementById('session-search');
const app = document.getElementById('app');

let sessions = [];
let page = 1;
let totalPages = 1;
let loading = false;
let query = '';
let totals = new Map();
const sentinel = h('div', { class: 'list-sentinel', 'aria-hidden': 'true' });

const titleOf = (s) => (s.title && !['New Chat', '新的对话', '新对话'].includes(s.title) ? s.title : t('sidebar.untitled'));

function row(session) {
  const active = store.current?.id === session.id;
  const total = totals.get(session.id);
  const link = h('a', { class: 'session-link', href: `/main/${session.id}`, title: titleOf(session), 'aria-current': active ? 'page' : null,
    onclick: (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      emit('open-session', session.id);
    } },
  h('span', { class: 'session-title' }, titleOf(session)),
  h('span', { class: 'session-meta' }, formatDate(session.createdAt), total ? ` · ${t('sidebar.total')} ${formatNumber(total)}` : ''));
  return h('div', { class: 'session-row' + (active ? ' active' : ''), dataset: { id: session.id } }, link,
    h('div', { class: 'session-actions' },
      iconButton('edit', t('sidebar.rename'), () => rename(session)),
      iconButton('trash', t('sidebar.delete'), () => remove(session))));
}

function render() {
  list.replaceChildren();
  if (!sessions.length && !loading) list.append(h('div', { class: 'empty' }, query ? t('sidebar.noMatch') : t('sidebar.empty')));
  for (const session of sessions) list.append(row(session));
  list.append(sentinel);
}

async function load(reset) {
  if (loading) return;
  if (!reset && page >= totalPages) return;
  loading = true;
  const next = reset ? 1 : page + 1;
  if (reset && !sessions.length) list.replaceChildren(...Array.from({ length: 6 }, () => h('div', { class: 'skeleton-row' })));
  try {
    const params = new URLSearchParams({ page: String(next), limit: String(store.pageSize) });
    if (query) params.set('search', query);
    const data = await api(`/sessions?${params}`);
    sessions = reset ? data.sessions : sessions.concat(data.sessions.filter((s) => !sessions.some((x) => x.id === s.id)));
    page = next;
    totalPages = data.pagination?.totalPages || 1;
  } catch (error) {
    toast(error.message, 'error');
  } finally {
    loading = false;
  }
  render();
}

async function loadTotals() {
  try {
    const items = await api('/chat/sessions/usage');
    totals = new Map((items || []).map((item) => [item.sessionId, item.totals?.total_tokens || 0]));
    render();
  } catch {
    /* totals are optional */
  }
}

async function rename(session) {
  const title = await promptDialog(t('sidebar.rename'), { value: session.title, label: t('sidebar.titleLabel') });
  if (title === null || !title.trim()) return;
  try {
    const updated = await api(`/sessions/${session.id}`, { method: 'PUT', body: { title: title.trim() } });
    Object.assign(session, updated);
    if (store.current?.id === session.id) Object.assign(store.current, updated);
    render();
  } catch (error) {
    toast(error.message, 'error');
  }
}

async function remove(session) {
  if (!(await confirmDialog(t('sidebar.deleteTitle'), t('sidebar.deleteConfirm'), { danger: true, confirmLabel: t('common.delete') }))) return;
  try {
    await api(`/sessions/${session.id}`, { method: 'DELETE' });
    sessions = sessions.filter((s) => s.id !== session.id);
    render();
    if (store.current?.id === session.id) emit('show-welcome');
  } catch (error) {
    toast(error.message, 'error');
  }
}

/** Puts a session at the top (new chat) or refreshes its row. */
export function upsertSession(session) {
  const index = sessions.findIndex((s) => s.id === session.id);
  if (index >= 0) sessions[index] = { ...sessions[index], ...session };
  else sessions.unshift(session);
  render();
}

export function findSession(id) {
  return sessions.find((s) => s.id === id) || null;
}

export function closeDrawer() {
  app.classList.remove('drawer-open');
  document.getElementById('drawer-backdrop').hidden = true;
  document.getElementById('open-sidebar').setAttribute('aria-expanded', 'false');
}

function openDrawer() {
  app.classList.add('drawer-open');
  document.getElementById('drawer-backdrop').hidden = false;
  document.getElementById('open-sidebar').setAttribute('aria-expanded', 'true');
  list.querySelector('.session-link')?.focus();
}

export function initSidebar() {
  sessions = store.firstSessions.sessions || [];
  totalPages = store.firstSessions.pagination?.totalPages || 1;
  render();
  loadTotals();
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) load(false);
  }, { root: list, rootMargin: '200px' }).observe(sentinel);
  searchInput.addEventListener('input', debounce(() => {
    query = searchInput.value.trim();
    load(true);
  }, 250));
  const desktop = window.matchMedia('(min-width: 1024px)');
  if (localStorage.getItem('aichat:sidebar') === 'collapsed') app.classList.add('sidebar-collapsed');
  document.getElementById('collapse-sidebar').addEventListener('click', () => {
    if (!desktop.matches) return closeDrawer();
    app.classList.add('sidebar-collapsed');
    localStorage.setItem('aichat:sidebar', 'collapsed');
    document.getElementById('open-sidebar').focus();
  });
  document.getElementById('open-sidebar').addEventListener('click', () => {
    if (desktop.matches) {
      app.classList.remove('sidebar-collapsed');
      localStorage.removeItem('aichat:sidebar');
    } else if (app.classList.contains('drawer-open')) closeDrawer();
    else openDrawer();
  });
  document.getElementById('drawer-backdrop').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && app.classList.contains('drawer-open')) closeDrawer();
  });
  on('session-opened', () => {
    render();
    closeDrawer();
  });
  on('session-updated', (session) => upsertSession(session));
  on('usage-changed', loadTotals);
}
