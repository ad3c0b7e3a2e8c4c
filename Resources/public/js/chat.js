// The conversation view: opening a session (newest messages first, older pages on scroll, re-attaching to an answer
// still running) and the welcome screen of a new chat; wires its parts:
// chat-turns.js renders the messages, chat-stream.js receives answers, chat-history.js loads pages and usage,
// chat-composer.js writes and sends, chat-options.js holds the session options, chat-state.js what they share.
import { api } from './api.js';
import { copyText, h, toast } from './dom.js';
import { t } from './i18n.js';
import { refreshLabel } from './models.js';
import { emit, on, store } from './store.js';
import { chat, chosen, els, PAGE, scrollToBottom, usageById } from './chat-state.js';
import { initComposer } from './chat-composer.js';
import { exportCSV, loadOlder, refreshUsage, setHasMore, setWelcome } from './chat-history.js';
import { applyOptions, initOptions } from './chat-options.js';
import { detach, regenerate, retry, stream } from './chat-stream.js';
import { renderAll } from './chat-turns.js';

export async function openSession(id, { push = true } = {}) {
  detach();
  const view = ++chat.view;
  if (push && location.pathname !== `/main/${id}`) history.pushState({ sessionId: id }, '', `/main/${id}`);
  setWelcome(false);
  chat.messages = [];
  chosen.clear();
  usageById.clear();
  els.list.replaceChildren(...Array.from({ length: 4 }, () => h('div', { class: 'skeleton-msg' })));
  let session = store.sessionLookup(id);
  try {
    if (!session) session = await api(`/sessions/${id}`);
    const page = await api(`/chat/sessions/${id}/messages?limit=${PAGE}`);
    if (view !== chat.view) return;
    store.current = session;
    chat.messages = page.messages || [];
    setHasMore(!!page.hasMore);
  } catch (error) {
    if (view !== chat.view) return;
    toast(error.status === 404 ? t('chat.sessionMissing') : error.message, 'error');
    showWelcome();
    return;
  }
  renderAll();
  applyOptions();
  emit('session-opened', session);
  scrollToBottom();
  refreshUsage();
  document.title = `${session.title} · ${t('app.title')}`;
  // A reload during a generation re-attaches to the running answer.
  stream(`/chat/sessions/${id}/stream`, null, { attach: true });
}

export function showWelcome({ push = true } = {}) {
  detach();
  chat.view++;
  store.current = null;
  chat.messages = [];
  chosen.clear();
  usageById.clear();
  setHasMore(false);
  els.list.replaceChildren();
  setWelcome(true);
  applyOptions({ reset: true });
  if (push && location.pathname !== '/main') history.pushState({}, '', '/main');
  document.title = t('app.title');
  emit('session-opened', null);
  refreshLabel();
  els.input.focus();
}

export function initChat() {
  initComposer();
  initOptions();
  els.exportButton.addEventListener('click', exportCSV);
  els.list.addEventListener('click', async (event) => {
    const button = event.target.closest('.code-copy');
    if (!button) return;
    const code = button.closest('.code-block')?.querySelector('code')?.textContent || '';
    const ok = await copyText(code);
    button.textContent = ok ? t('chat.copied') : t('chat.copyFailed');
    setTimeout(() => (button.textContent = t('chat.copy')), 2000);
  });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadOlder();
  }, { root: els.scroller, rootMargin: '300px 0px 0px 0px' }).observe(els.older);
  on('retry-turn', retry);
  on('regenerate-turn', regenerate);
  on('open-session', (id) => openSession(id));
  on('show-welcome', () => showWelcome());
  on('new-chat', () => showWelcome());
  window.addEventListener('popstate', () => {
    const match = /^\/main\/(\d+)$/.exec(location.pathname);
    if (match) openSession(Number(match[1]), { push: false });
    else showWelcome({ push: false });
  });
}
