// The conversation: newest messages first with older pages on scroll, live streaming with stop, re-attach after
// reload, errors in the turn with retry, regenerate with older versions to browse, edit and resend, copy, usage,
// image attachments, the large editor.
import { api, openStream } from './api.js';
import { copyText, download, formatDate, formatNumber, h, iconButton, icons, toast } from './dom.js';
import { openEditor } from './editor.js';
import { t } from './i18n.js';
import { enhance, renderMarkdown } from './markdown.js';
import { activeModel, refreshLabel } from './models.js';
import { readEvents } from './sse.js';
import { emit, on, store } from './store.js';

const $ = (id) => document.getElementById(id);
const scroller = $('messages');
const listEl = $('message-list');
const welcome = $('welcome');
const olderEl = $('older');
const composer = $('composer');
const input = $('input');
const sendButton = $('send-button');
const pill = $('usage-pill');
const exportButton = $('export-csv');
const previews = $('previews');
const fileInput = $('file-input');
const attachButton = $('attach-button');
const expandButton = $('expand-button');

const PAGE = 50;
const MAX_IMAGES = 4;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

let messages = [];
let hasMore = false;
let loadingOlder = false;
let view = 0;
/** The answer being received: {sessionId, controller, turn}. */
let live = null;
let attachments = [];
let pendingOptions = {};
/** The version picked on a turn (question id → answer id); a turn missing here shows its newest version. */
const chosen = new Map();
/** Token usage per answer id seen by this page (streams, the session's last round); stored answers carry their own. */
const usageById = new Map();

// ---------- rendering ----------

/**
 * The nodes for `list` (oldest first). Answers sharing a question (`parentId`) are versions of one turn, shown right
 * after the question. A turn whose question is not loaded (it is on an older page) goes first. `existing` maps
 * question ids to turns already on the page: they take the versions found in `list` and move next to their question.
 */
function layout(list, existing = new Map()) {
  const groups = new Map();
  for (const m of list) {
    if (m.role !== 'assistant' || !m.parentId) continue;
    if (!groups.has(m.parentId)) groups.set(m.parentId, []);
    groups.get(m.parentId).push(m);
  }
  const questions = new Set(list.filter((m) => m.role === 'user').map((m) => m.id));
  const head = [];
  const body = [];
  for (const m of list) {
    if (m.role === 'user') {
      body.push(userElement(m));
      const turn = existing.get(m.id);
      if (turn) {
        if (groups.has(m.id)) addVersions(turn, groups.get(m.id));
        body.push(turn.el);
      } else if (groups.has(m.id)) {
        body.push(versionedTurn(groups.get(m.id)).el);
      }
    } else if (!m.parentId) {
      body.push(makeTurn(m).el);
    } else if (!questions.has(m.parentId) && groups.get(m.parentId)[0] === m) {
      const turn = existing.get(m.parentId);
      if (turn) addVersions(turn, groups.get(m.parentId));
      else head.push(versionedTurn(groups.get(m.parentId)).el);
    }
  }
  return head.concat(body);
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
}

function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
}

function imagesGrid(images) {
  if (!images?.length) return null;
  return h('div', { class: 'msg-images' }, images.map((img) => h('img', { src: img.url || `data:${img.mime};base64,${img.data}`, alt: t('chat.image'), loading: 'lazy' })));
}

function userElement(m) {
  const text = h('div', { class: 'msg-text' }, m.content);
  const el = h('article', { class: 'msg msg-user', dataset: { id: m.id ?? '' }, 'aria-label': t('chat.you') },
    h('div', { class: 'msg-main' }, h('div', { class: 'msg-bubble' }, imagesGrid(m.images), text),
      h('div', { class: 'msg-actions' },
        h('time', { datetime: m.createdAt || '' }, m.createdAt ? formatDate(m.createdAt) : ''),
        iconButton('copy', t('chat.copyMessage'), () => copyMessage(m.content)),
        m.id ? iconButton('edit', t('chat.edit'), () => startEdit(el, m)) : null)),
    h('div', { class: 'avatar msg-avatar', 'aria-hidden': 'true' }, (store.user.username || 'U').slice(0, 1).toUpperCase()));
  return el;
}

function reasoningBlock(turn) {
  const details = h('details', { class: 'reasoning' });
  if (store.publicSettings.reasoning_default_expand) details.open = true;
  details.append(h('summary', {}, ''), h('div', { class: 'reasoning-text' }));
  return details;
}

/** What a turn shows of one stored answer. */
function answerFields(m) {
  return {
    id: m.id || null,
    content: m.content || '',
    reasoning: m.reasoning || '',
    duration: m.reasoningDurationSeconds ?? null,
    status: m.status || null,
    error: m.status === 'error' ? t('chat.answerFailed') : null,
    usage: m.usage || (m.id && usageById.get(m.id)) || null,
    createdAt: m.createdAt,
    userMessageId: m.parentId || null,
  };
}

/** An assistant turn: the DOM plus what has been received. `versions` are the stored answers to its question. */
function makeTurn(m = {}) {
  const turn = { ...answerFields(m), streaming: false, versions: m.id ? [m] : [], index: 0, el: null };
  turn.reasoningEl = reasoningBlock(turn);
  turn.contentEl = h('div', { class: 'msg-content markdown' });
  turn.noteEl = h('div', { class: 'msg-note' });
  turn.actionsEl = h('div', { class: 'msg-actions' });
  turn.versionsEl = versionSwitcher(turn);
  turn.el = h('article', { class: 'msg msg-assistant', dataset: { id: turn.id ?? '' }, 'aria-label': t('chat.assistant') },
    h('div', { class: 'avatar msg-avatar assistant-avatar', 'aria-hidden': 'true' }, 'A'),
    h('div', { class: 'msg-main' }, turn.reasoningEl, turn.contentEl, turn.noteEl,
      h('div', { class: 'msg-foot' }, turn.versionsEl, turn.actionsEl)));
  turn.el.turn = turn;
  paint(turn, true);
  return turn;
}

/** A turn over the versions of one answer (oldest first), showing the picked one or else the newest. */
function versionedTurn(versions) {
  const picked = versions.findIndex((v) => v.id === chosen.get(versions[0].parentId));
  const index = picked < 0 ? versions.length - 1 : picked;
  const turn = makeTurn(versions[index]);
  turn.versions = versions;
  turn.index = index;
  updateSwitcher(turn);
  return turn;
}

/** Adds versions that arrived with an older page; the turn keeps showing what it shows. */
function addVersions(turn, more) {
  if (turn.streaming) return;
  const shown = turn.versions[turn.index]?.id;
  const known = new Set(turn.versions.map((v) => v.id));
  turn.versions = turn.versions.concat(more.filter((v) => !known.has(v.id))).sort((a, b) => a.id - b.id);
  turn.index = Math.max(0, turn.versions.findIndex((v) => v.id === shown));
  updateSwitcher(turn);
}

/** The "‹ 2 / 3 ›" control of a turn; it stays in place (and keeps focus) while the versions change. */
function versionSwitcher(turn) {
  const arrow = (name, label, step) => {
    const button = h('button', { class: `icon-btn version-${name}`, type: 'button', title: label, 'aria-label': label, onclick: () => showVersion(turn, turn.index + step) });
    button.innerHTML = icons[name];
    return button;
  };
  const counter = h('span', { class: 'version-counter', 'aria-live': 'polite', 'aria-atomic': 'true' },
    h('span', { 'aria-hidden': 'true' }), h('span', { class: 'visually-hidden' }));
  return h('div', {
    class: 'versions', role: 'group', 'aria-label': t('chat.versions'), hidden: true,
    onkeydown: (event) => {
      const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
      if (!step) return;
      event.preventDefault();
      showVersion(turn, turn.index + step);
    },
  }, arrow('prev', t('chat.previousVersion'), -1), counter, arrow('next', t('chat.nextVersion'), 1));
}

function updateSwitcher(turn) {
  const total = turn.versions.length;
  const el = turn.versionsEl;
  el.hidden = total < 2 || turn.streaming;
  if (el.hidden) return;
  const [prev, counter, next] = el.children;
  counter.firstChild.textContent = `${turn.index + 1} / ${total}`;
  counter.lastChild.textContent = t('chat.versionOf', { n: turn.index + 1, total });
  prev.setAttribute('aria-disabled', String(turn.index === 0));
  next.setAttribute('aria-disabled', String(turn.index === total - 1));
}

function showVersion(turn, index) {
  if (turn.streaming || index < 0 || index >= turn.versions.length || index === turn.index) return;
  const m = turn.versions[index];
  // Keep the switcher under the pointer: the page scrolls by as much as the answer above it grows or shrinks.
  const before = turn.versionsEl.getBoundingClientRect().top;
  Object.assign(turn, answerFields(m), { index });
  turn.el.dataset.id = m.id;
  if (index === turn.versions.length - 1) chosen.delete(m.parentId);
  else chosen.set(m.parentId, m.id);
  paint(turn, true);
  updateSwitcher(turn);
  scroller.scrollTop += turn.versionsEl.getBoundingClientRect().top - before;
}

function paint(turn, final) {
  const reasoningVisible = !!turn.reasoning || (turn.streaming && turn.duration === null && turn.reasoningStarted);
  turn.reasoningEl.hidden = !reasoningVisible;
  if (reasoningVisible) {
    turn.reasoningEl.querySelector('summary').textContent =
      turn.duration !== null && !turn.streamingReasoning ? t('chat.reasoningDone', { s: turn.duration }) : t('chat.reasoning');
    turn.reasoningEl.querySelector('.reasoning-text').textContent = turn.reasoning || t('chat.thinkingNow');
  }
  if (turn.streaming && !turn.content) {
    turn.contentEl.replaceChildren(h('span', { class: 'typing' }, h('i'), h('i'), h('i'), h('span', {}, t('chat.thinking_'))));
  } else {
    turn.contentEl.innerHTML = renderMarkdown(turn.content);
    if (turn.streaming) turn.contentEl.classList.add('streaming');
    else turn.contentEl.classList.remove('streaming');
    enhance(turn.contentEl, final);
  }
  turn.noteEl.replaceChildren();
  if (turn.status === 'stopped') turn.noteEl.append(h('span', { class: 'note' }, t('chat.stopped')));
  if (turn.error) {
    turn.noteEl.append(h('div', { class: 'turn-error', role: 'alert' }, h('span', {}, turn.error),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => retry(turn) }, t('common.retry'))));
  }
  turn.actionsEl.replaceChildren();
  if (!turn.streaming) {
    if (turn.createdAt) turn.actionsEl.append(h('time', { datetime: turn.createdAt }, formatDate(turn.createdAt)));
    if (turn.content) turn.actionsEl.append(iconButton('copy', t('chat.copyMessage'), () => copyMessage(turn.content)));
    if (turn.id || turn.userMessageId) turn.actionsEl.append(iconButton('retry', t('chat.regenerate'), () => regenerate(turn)));
    if (turn.usage?.completion_tokens !== undefined) {
      turn.actionsEl.append(h('span', { class: 'turn-usage', title: t('chat.turnUsage') },
        `↑${formatNumber(turn.usage.prompt_tokens)} ↓${formatNumber(turn.usage.completion_tokens)}`));
    }
  }
}

let frame = 0;
function schedulePaint(turn) {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const stick = nearBottom();
    paint(turn, false);
    if (stick) scrollToBottom();
  });
}

function renderAll() {
  listEl.replaceChildren(...layout(messages));
}

/** The answer generated last: the stored answer with the highest id. */
function newestAnswerId() {
  return messages.reduce((id, m) => (m.role === 'assistant' && m.id > id ? m.id : id), 0);
}

function setWelcome(on) {
  welcome.hidden = !on;
  exportButton.hidden = on;
  if (on) pill.hidden = true;
}

// ---------- loading ----------

export async function openSession(id, { push = true } = {}) {
  detach();
  const myView = ++view;
  if (push && location.pathname !== `/main/${id}`) history.pushState({ sessionId: id }, '', `/main/${id}`);
  setWelcome(false);
  messages = [];
  chosen.clear();
  usageById.clear();
  listEl.replaceChildren(...Array.from({ length: 4 }, () => h('div', { class: 'skeleton-msg' })));
  let session = store.sessionLookup(id);
  try {
    if (!session) session = await api(`/sessions/${id}`);
    const page = await api(`/chat/sessions/${id}/messages?limit=${PAGE}`);
    if (myView !== view) return;
    store.current = session;
    messages = page.messages || [];
    hasMore = !!page.hasMore;
  } catch (error) {
    if (myView !== view) return;
    toast(error.status === 404 ? t('chat.sessionMissing') : error.message, 'error');
    showWelcome();
    return;
  }
  olderEl.hidden = !hasMore;
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
  view++;
  store.current = null;
  messages = [];
  chosen.clear();
  usageById.clear();
  hasMore = false;
  olderEl.hidden = true;
  listEl.replaceChildren();
  setWelcome(true);
  pendingOptions = {};
  applyOptions();
  if (push && location.pathname !== '/main') history.pushState({}, '', '/main');
  document.title = t('app.title');
  emit('session-opened', null);
  refreshLabel();
  input.focus();
}

async function loadOlder() {
  if (!hasMore || loadingOlder || !store.current || !messages.length) return;
  loadingOlder = true;
  const myView = view;
  try {
    const page = await api(`/chat/sessions/${store.current.id}/messages?limit=${PAGE}&beforeId=${messages[0].id}`);
    if (myView !== view) return;
    const before = scroller.scrollHeight;
    const top = scroller.scrollTop;
    const older = page.messages || [];
    messages = older.concat(messages);
    hasMore = !!page.hasMore;
    // Versions of a turn can straddle the page boundary: the turns on the page take theirs from this page.
    const existing = new Map();
    for (const el of listEl.querySelectorAll('.msg-assistant')) {
      if (el.turn?.userMessageId) existing.set(el.turn.userMessageId, el.turn);
    }
    listEl.prepend(...layout(older, existing));
    scroller.scrollTop = top + (scroller.scrollHeight - before);
    olderEl.hidden = !hasMore;
  } catch (error) {
    toast(error.message, 'error');
  } finally {
    loadingOlder = false;
  }
}

/** After a turn: the newest page again, so ids, versions and statuses match the server. */
async function reloadLatest(myView) {
  const id = store.current?.id;
  if (!id) return;
  try {
    const page = await api(`/chat/sessions/${id}/messages?limit=${PAGE}`);
    // Redrawing would drop a turn started meanwhile (it reloads when it ends) or a message being edited.
    if (myView !== view || live || listEl.querySelector('.editing')) return;
    const stick = nearBottom();
    messages = page.messages || [];
    hasMore = !!page.hasMore;
    olderEl.hidden = !hasMore;
    renderAll();
    if (stick) scrollToBottom();
  } catch {
    /* the live rendering stays */
  }
}

async function refreshUsage() {
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
      const turn = [...listEl.querySelectorAll('.msg-assistant')].map((el) => el.turn).find((x) => x?.id === newest && !x.streaming);
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
function showUsage(current, total) {
  if (total !== undefined) sessionTotal = total;
  if (!current || !current.context_limit) return;
  pill.hidden = false;
  pill.textContent = t('chat.context', {
    used: formatNumber(current.prompt_tokens), limit: formatNumber(current.context_limit),
    remaining: formatNumber(current.context_remaining ?? Math.max(0, current.context_limit - current.prompt_tokens)),
  }) + (sessionTotal ? ` · ${t('chat.sessionTotal', { total: formatNumber(sessionTotal) })}` : '');
}

// ---------- streaming ----------

function setStreaming(value) {
  store.streaming = value;
  composer.classList.toggle('is-streaming', value);
  sendButton.title = value ? t('chat.stop') : t('chat.send');
  sendButton.setAttribute('aria-label', sendButton.title);
  sendButton.disabled = false;
}

/** Stops reading the current stream without stopping the answer (it goes on and is saved). */
function detach() {
  if (live) {
    live.controller.abort();
    live = null;
  }
  setStreaming(false);
}

function handle(turn, event) {
  switch (event.type) {
    case 'start':
      turn.userMessageId = event.messageId;
      turn.started = true;
      if (turn.tempUser) turn.tempUser.dataset.id = event.messageId;
      if (turn.attached) takePlace(turn);
      break;
    case 'reasoning':
      if (event.done) {
        turn.duration = event.duration ?? null;
        turn.streamingReasoning = false;
      } else if (event.content) {
        turn.reasoning += event.content;
        turn.reasoningStarted = true;
        turn.streamingReasoning = true;
      }
      break;
    case 'content':
      turn.content += event.content || '';
      if (turn.streamingReasoning) turn.streamingReasoning = false;
      break;
    case 'usage': {
      // The figures come as `{type: 'usage', usage: {...}}`; the first carries the prompt only, the last the round.
      const figures = event.usage || event;
      if (figures.completion_tokens !== undefined) turn.usage = figures;
      showUsage(figures);
      break;
    }
    case 'stop':
      turn.status = 'stopped';
      break;
    case 'error':
      turn.error = event.error || t('chat.answerFailed');
      break;
    case 'complete':
      turn.id = event.assistantMessageId;
      break;
    default:
      break;
  }
  schedulePaint(turn);
}

/** A re-attached answer to a question that already has a turn (a regenerate) stands where that turn stood. */
function takePlace(turn) {
  const old = [...listEl.querySelectorAll('.msg-assistant')].find((el) => el !== turn.el && el.turn?.userMessageId === turn.userMessageId);
  if (old) old.replaceWith(turn.el);
}

async function stream(path, body, { attach = false, replace = null, resend = null, tempUser = null, question = null } = {}) {
  const session = store.current;
  if (!session) return;
  const myView = view;
  const turn = makeTurn({ createdAt: new Date().toISOString(), parentId: question });
  turn.streaming = true;
  turn.resend = resend;
  turn.tempUser = tempUser;
  turn.attached = attach;
  const controller = new AbortController();
  live = { sessionId: session.id, controller, turn };
  // Writes count as running from the click, so a second send, regenerate or edit cannot race this one.
  if (!attach) setStreaming(true);
  let response;
  try {
    response = await openStream(path, attach ? { method: 'GET', signal: controller.signal } : { body, signal: controller.signal });
  } catch (error) {
    if (error.name === 'AbortError') return;
    if (live?.turn === turn) live = null;
    turn.streaming = false;
    turn.error = error.message;
    if (replace) replace.replaceWith(turn.el);
    else listEl.append(turn.el);
    paint(turn, true);
    setStreaming(false);
    scrollToBottom();
    return;
  }
  if (!response) {
    if (live?.turn === turn) live = null;
    return;
  }
  setStreaming(true);
  if (replace) replace.replaceWith(turn.el);
  else listEl.append(turn.el);
  paint(turn, false);
  scrollToBottom();
  try {
    await readEvents(response, (event) => handle(turn, event), controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    turn.error = turn.error || t('errors.streamBroken');
  }
  if (controller.signal.aborted) return;
  if (live?.turn === turn) live = null;
  setStreaming(false);
  turn.streaming = false;
  if (frame) {
    cancelAnimationFrame(frame);
    frame = 0;
  }
  paint(turn, true);
  if (myView !== view) return;
  const failedEarly = turn.error && !turn.started;
  if (!failedEarly) {
    if (turn.id && turn.usage) usageById.set(turn.id, turn.usage);
    await reloadLatest(myView);
    if (turn.error && !turn.id) listEl.append(turn.el);
  }
  refreshUsage();
  emit('usage-changed');
  refreshTitle(session.id);
  // After a conversation's first answer the server may ask the model for a title (title_by_model): look again.
  if (!turn.error && listEl.querySelectorAll('.msg-user').length === 1) setTimeout(() => refreshTitle(session.id), 4000);
}

async function refreshTitle(id) {
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

async function stop() {
  if (!live) return;
  sendButton.disabled = true;
  try {
    await api('/chat/stop', { method: 'POST', body: { sessionId: live.sessionId } });
  } catch (error) {
    toast(error.message, 'error');
    sendButton.disabled = false;
  }
}

function regenerate(turn) {
  if (store.streaming || !store.current) return;
  const messageId = turn.id || turn.userMessageId;
  // The new answer becomes the version shown, whichever version this was started from.
  if (turn.userMessageId) chosen.delete(turn.userMessageId);
  stream('/chat/regenerate', { sessionId: store.current.id, messageId }, { replace: turn.el, question: turn.userMessageId });
}

function retry(turn) {
  if (store.streaming || !store.current) return;
  if (turn.resend && !turn.started) {
    stream('/chat/stream', turn.resend, { replace: turn.el, resend: turn.resend, tempUser: turn.tempUser });
  } else if (turn.id || turn.userMessageId) {
    if (turn.userMessageId) chosen.delete(turn.userMessageId);
    stream('/chat/regenerate', { sessionId: store.current.id, messageId: turn.userMessageId || turn.id }, { replace: turn.el, question: turn.userMessageId });
  }
}

function startEdit(el, m) {
  if (store.streaming) return;
  const area = h('textarea', { class: 'input edit-area', rows: 4, 'aria-label': t('chat.edit') });
  area.value = m.content;
  const bubble = el.querySelector('.msg-bubble');
  const original = bubble.cloneNode(true);
  const cancel = () => editor.replaceWith(original);
  const save = () => {
    const content = area.value.trim();
    if (!content) return;
    while (el.nextElementSibling) el.nextElementSibling.remove();
    m.content = content;
    original.querySelector('.msg-text').textContent = content;
    editor.replaceWith(original);
    stream('/chat/edit', { sessionId: store.current.id, messageId: m.id, content });
  };
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      save();
    }
    if (event.key === 'Escape') cancel();
  });
  const expand = () => openEditor(area, { title: t('chat.editorEditTitle'), sendLabel: t('chat.saveAndSend'), onSend: () => (store.streaming ? t('chat.busy') : save()), fallbackFocus: input });
  const editor = h('div', { class: 'msg-bubble editing' }, area, h('div', { class: 'edit-actions' },
    iconButton('expand', t('chat.expand'), expand, 'edit-expand'),
    h('button', { class: 'btn btn-ghost btn-sm', type: 'button', onclick: cancel }, t('common.cancel')),
    h('button', { class: 'btn btn-primary btn-sm', type: 'button', onclick: save }, t('chat.saveAndSend'))));
  bubble.replaceWith(editor);
  area.focus();
}

async function copyMessage(text) {
  toast((await copyText(text)) ? t('chat.copied') : t('chat.copyFailed'), 'info');
}

// ---------- sending ----------

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function send() {
  const text = input.value;
  if (store.streaming) return;
  if (!text.trim() && !attachments.length) return;
  if (!store.current) {
    const model = activeModel();
    if (!model) {
      toast(store.modelsLoaded ? t('models.noneHint') : t('models.loading'), 'error');
      return;
    }
    try {
      const session = await api('/sessions', { method: 'POST', body: { connectionId: model.connectionId, rawId: model.rawId, ...pendingOptions } });
      store.current = session;
      messages = [];
      view++;
      history.pushState({ sessionId: session.id }, '', `/main/${session.id}`);
      setWelcome(false);
      listEl.replaceChildren();
      emit('session-updated', session);
      emit('session-opened', session);
    } catch (error) {
      toast(error.message, 'error');
      return;
    }
  }
  const images = attachments.map((a) => ({ mime: a.mime, data: a.data }));
  const shown = attachments.map((a) => ({ url: a.url }));
  input.value = '';
  attachments = [];
  renderPreviews();
  autoGrow();
  const body = { sessionId: store.current.id, content: text, clientMessageId: randomId() };
  if (images.length) body.images = images;
  const tempUser = userElement({ content: text, images: shown, createdAt: new Date().toISOString() });
  listEl.append(tempUser);
  scrollToBottom();
  stream('/chat/stream', body, { resend: body, tempUser });
}

// ---------- composer ----------

function autoGrow() {
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 200) + 'px';
}

function renderPreviews() {
  previews.hidden = !attachments.length;
  previews.replaceChildren(...attachments.map((a, i) => h('div', { class: 'preview' }, h('img', { src: a.url, alt: a.name }),
    iconButton('x', t('chat.removeImage'), () => {
      attachments.splice(i, 1);
      renderPreviews();
    }, 'preview-remove'))));
}

async function addFiles(files) {
  for (const file of files) {
    if (!IMAGE_TYPES.includes(file.type)) {
      toast(t('chat.imageType'), 'error');
      continue;
    }
    if (attachments.length >= MAX_IMAGES) {
      toast(t('chat.imageCount', { n: MAX_IMAGES }), 'error');
      break;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      toast(t('chat.imageSize'), 'error');
      continue;
    }
    const url = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
    attachments.push({ url, mime: file.type, data: String(url).split(',')[1], name: file.name });
  }
  renderPreviews();
}

function visionAllowed() {
  return activeModel()?.capabilities?.vision !== false;
}

// ---------- reasoning options ----------

const optReasoning = $('opt-reasoning');
const optEffort = $('opt-effort');
const optSystem = $('opt-system');

function applyOptions() {
  const s = store.current;
  const p = store.publicSettings;
  optReasoning.checked = (s ? s.reasoningEnabled : pendingOptions.reasoningEnabled) ?? p.reasoning_enabled ?? true;
  optEffort.value = (s ? s.reasoningEffort : pendingOptions.reasoningEffort) ?? p.openai_reasoning_effort ?? '';
  optSystem.value = (s ? s.systemPrompt : pendingOptions.systemPrompt) ?? '';
}

async function saveOption(change) {
  if (!store.current) {
    Object.assign(pendingOptions, change);
    return;
  }
  try {
    const updated = await api(`/sessions/${store.current.id}`, { method: 'PUT', body: change });
    Object.assign(store.current, updated);
    toast(t('common.saved'));
  } catch (error) {
    toast(error.message, 'error');
    applyOptions();
  }
}

function exportCSV() {
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

export function initChat() {
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    if (store.streaming) stop();
    else send();
  });
  input.addEventListener('input', autoGrow);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (!store.streaming) send();
    }
  });
  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files || [])].filter((f) => f.type.startsWith('image/'));
    if (files.length && visionAllowed()) {
      event.preventDefault();
      addFiles(files);
    }
  });
  composer.addEventListener('dragover', (event) => {
    if ([...(event.dataTransfer?.types || [])].includes('Files')) {
      event.preventDefault();
      composer.classList.add('dragging');
    }
  });
  composer.addEventListener('dragleave', () => composer.classList.remove('dragging'));
  composer.addEventListener('drop', (event) => {
    composer.classList.remove('dragging');
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    if (visionAllowed()) addFiles([...event.dataTransfer.files]);
    else toast(t('chat.noVision'), 'error');
  });
  attachButton.addEventListener('click', () => fileInput.click());
  expandButton.addEventListener('click', () => openEditor(input, {
    title: t('chat.editorTitle'),
    onSend: () => {
      if (store.streaming) return t('chat.busy');
      send();
      return null;
    },
  }));
  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files]);
    fileInput.value = '';
  });
  on('model-changed', () => {
    attachButton.disabled = !visionAllowed();
    attachButton.title = visionAllowed() ? t('chat.attach') : t('chat.noVision');
  });
  listEl.addEventListener('click', async (event) => {
    const button = event.target.closest('.code-copy');
    if (!button) return;
    const code = button.closest('.code-block')?.querySelector('code')?.textContent || '';
    const ok = await copyText(code);
    button.textContent = ok ? t('chat.copied') : t('chat.copyFailed');
    setTimeout(() => (button.textContent = t('chat.copy')), 2000);
  });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadOlder();
  }, { root: scroller, rootMargin: '300px 0px 0px 0px' }).observe(olderEl);

  const optionsButton = $('options-button');
  const optionsPopover = $('options-popover');
  optionsButton.addEventListener('click', () => {
    optionsPopover.hidden = !optionsPopover.hidden;
    optionsButton.setAttribute('aria-expanded', String(!optionsPopover.hidden));
  });
  document.addEventListener('click', (event) => {
    if (!optionsPopover.hidden && !optionsPopover.contains(event.target) && !optionsButton.contains(event.target)) {
      optionsPopover.hidden = true;
      optionsButton.setAttribute('aria-expanded', 'false');
    }
  });
  optionsPopover.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      optionsPopover.hidden = true;
      optionsButton.focus();
    }
  });
  optReasoning.addEventListener('change', () => saveOption({ reasoningEnabled: optReasoning.checked }));
  optEffort.addEventListener('change', () => saveOption({ reasoningEffort: optEffort.value || null }));
  $('opt-system-save').addEventListener('click', () => saveOption({ systemPrompt: optSystem.value.trim() || null }));
  exportButton.addEventListener('click', exportCSV);
  on('open-session', (id) => openSession(id));
  on('show-welcome', () => showWelcome());
  on('new-chat', () => showWelcome());
  window.addEventListener('popstate', () => {
    const match = /^\/main\/(\d+)$/.exec(location.pathname);
    if (match) openSession(Number(match[1]), { push: false });
    else showWelcome({ push: false });
  });
}
