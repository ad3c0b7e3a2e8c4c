// The open session's history and figures: older pages on scroll, the newest page again after a turn, the context
// and token usage pill with its CSV export, the title the server may give the conversation.
import { api } from './api.js';
import { download, formatNumber, toast } from './dom.js';
import { t } from './i18n.js';
import { emit, store } from './store.js';
import { chat, els, nearBottom, PAGE, pageTurns, scrollToBottom, usageById } from './chat-state.js';
import { layout, paint, renderAll } from './chat-turns.js';

let loadingOlder = false;

export function setWelcome(on) {
  els.welcome.hidden = !on;
  els.exportButton.hidden = on;
  if (on) els.pill.hidden = true;
}

/** Shows whether there are older pages to load (the sentinel at the top of the list). */
export function setHasMore(value) {
  chat.hasMore = value;
  els.older.hidden = !value;
}

/** The answer generated last: the stored answer with the highest id. */
function newestAnswerId() {
  return chat.messages.reduce((id, m) => (m.role === 'assistant' && m.id > id ? m.id : id), 0);
}

export async function loadOlder() {
  const { messages, view } = chat;
  if (!chat.hasMore || loadingOlder || !store.current || !messages.length) return;
  loadingOlder = true;
  try {
    const page = await api(`/chat/sessions/${store.current.id}/messages?limit=${PAGE}&beforeId=${messages[0].id}`);
    if (view !== chat.view) return;
    const { scroller } = els;
    const before = scroller.scrollHeight;
    const top = scroller.scrollTop;
    const older = page.messages || [];
    chat.messages = older.concat(chat.messages);
    // Versions of a turn can straddle the page boundary: the turns on the page take theirs from this page.
    const existing = new Map();
    for (const turn of pageTurns()) {
      if (turn.userMessageId) existing.set(turn.userMessageId, turn);
    }
    els.list.prepend(...layout(older, existing));
    scroller.scrollTop = top + (scroller.scrollHeight - before);
    setHasMore(!!page.hasMore);
  } catch (error) {
    toast(error.message, 'error');
  } finally {
    loadingOlder = false;
  }
}

/** After a turn: the newest page again, so ids, versions and statuses match the server. */
export async function reloadLatest(view) {
  const id = store.current?.id;
  if (!id) return;
  try {
    const page = await api(`/chat/sessions/${id}/messages?limit=${PAGE}`);
    // Redrawing would drop a turn started meanwhile (it reloads when it ends) or a message being edited.
    if (view !== chat.view || chat.live || els.list.querySelector('.editing')) return;
    const stick = nearBottom();
    chat.messages = page.messages || [];
    setHasMore(!!page.hasMore);
    renderAll();
    if (stick) scrollToBottom();
  } catch {
    /* the live rendering stays */
  }
}

export async function refreshUsage() {
  const id = store.current?.id;
  if (!id) return;
  try {
    const usage = await api(`/chat/usage?sessionId=${id}`);
    if (store.current?.id !== id) return;
    showUsage(usage.current, usage.totals?.total_tokens);
    // The last round belongs to the answer generated last, wherever its turn is and whichever version it shows.
    const last = usage.last_round;
    const newest = newestAnswerId();
    if (last && newest && !usageById.has(newest)) {
      usageById.set(newest, last);
      const turn = pageTurns().find((x) => x.id === newest && !x.streaming);
      if (turn) {
        turn.usage = last;
        paint(turn, true);
      }
    }
  } catch {
    /* optional */
  }
}

let sessionTotal = 0;
export function showUsage(current, total) {
  if (total !== undefined) sessionTotal = total;
  if (!current || !current.context_limit) return;
  els.pill.hidden = false;
  els.pill.textContent = t('chat.context', {
    used: formatNumber(current.prompt_tokens), limit: formatNumber(current.context_limit),
    remaining: formatNumber(current.context_remaining ?? Math.max(0, current.context_limit - current.prompt_tokens)),
  }) + (sessionTotal ? ` · ${t('chat.sessionTotal', { total: formatNumber(sessionTotal) })}` : '');
}

export async function refreshTitle(id) {
  try {
    const data = await api('/sessions?page=1&limit=10');
    const fresh = data.sessions.find((s) => s.id === id);
    if (fresh) {
      if (store.current?.id === id) Object.assign(store.current, fresh);
      emit('session-updated', fresh);
      if (store.current?.id === id) document.title = `${fresh.title} · ${t('app.title')}`;
    }
  } catch {
    /* optional */
  }
}

/** The open session's token usage of the last 30 days, by day, as a CSV download. */
export function exportCSV() {
  const id = store.current?.id;
  if (!id) return;
  const to = new Date();
  const from = new Date(Date.now() - 30 * 86400000);
  const day = (d) => d.toISOString().slice(0, 10);
  api(`/chat/usage/daily?sessionId=${id}&from=${day(from)}&to=${day(to)}`).then((data) => {
    const lines = ['date,prompt_tokens,completion_tokens,total_tokens'].concat(
      (data.rows || []).map((r) => `${r.date},${r.prompt_tokens},${r.completion_tokens},${r.total_tokens}`));
    download(`usage_${id}_${day(from)}_${day(to)}.csv`, lines.join('\n') + '\n', 'text/csv');
  }).catch(() => toast(t('chat.exportFailed'), 'error'));
}
