// The conversation: newest messages first with older pages on scroll, live streaming with stop, re-attach after
// reload, errors in the turn with retry, regenerate, edit and resend, copy, usage, image attachments.
import { api, openStream } from './api.js';
import { copyText, download, formatDate, formatNumber, h, iconButton, toast } from './dom.js';
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

// ---------- rendering ----------

/** Regenerated answers are versions of one turn: show the newest version only. */
function visible(list) {
  const latest = new Map();
  for (const m of list) if (m.role === 'assistant' && m.parentId) latest.set(m.parentId, m.id);
  return list.filter((m) => m.role !== 'assistant' || !m.parentId || latest.get(m.parentId) === m.id);
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

/** An assistant turn: the DOM plus what has been received. */
function makeTurn(m = {}) {
  const turn = {
    id: m.id || null,
    content: m.content || '',
    reasoning: m.reasoning || '',
    duration: m.reasoningDurationSeconds ?? null,
    status: m.status || null,
    error: m.status === 'error' ? t('chat.answerFailed') : null,
    usage: null,
    streaming: false,
    createdAt: m.createdAt,
    userMessageId: m.parentId || null,
    el: null,
  };
  turn.reasoningEl = reasoningBlock(turn);
  turn.contentEl = h('div', { class: 'msg-content markdown' });
  turn.noteEl = h('div', { class: 'msg-note' });
  turn.actionsEl = h('div', { class: 'msg-actions' });
  turn.el = h('article', { class: 'msg msg-assistant', dataset: { id: turn.id ?? '' }, 'aria-label': t('chat.assistant') },
    h('div', { class: 'avatar msg-avatar assistant-avatar', 'aria-hidden': 'true' }, 'A'),
    h('div', { class: 'msg-main' }, turn.reasoningEl, turn.contentEl, turn.noteEl, turn.actionsEl));
  turn.el.turn = turn;
  paint(turn, true);
  return turn;
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
  const nodes = [];
  for (const m of visible(messages)) nodes.push(m.role === 'user' ? userElement(m) : makeTurn(m).el);
  listEl.replaceChildren(...nodes);
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
    const nodes = visible(older).map((m) => (m.role === 'user' ? userElement(m) : makeTurn(m).el));
    listEl.prepend(...nodes);
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
    if (myView !== view) return;
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
    const last = usage.last_round;
    const turns = [...listEl.querySelectorAll('.msg-assistant')];
    const lastTurn = turns[turns.length - 1]?.turn;
    if (last && lastTurn && !lastTurn.usage) {
      lastTurn.usage = last;
      paint(lastTurn, true);
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
    case 'usage':
      turn.usage = event;
      showUsage(event);
      break;
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

async function stream(path, body, { attach = false, replace = null, resend = null, tempUser = null } = {}) {
  const session = store.current;
  if (!session) return;
  const myView = view;
  const turn = makeTurn({ createdAt: new Date().toISOString() });
  turn.streaming = true;
  turn.resend = resend;
  turn.tempUser = tempUser;
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
    const usage = turn.usage;
    await reloadLatest(myView);
    const turns = [...listEl.querySelectorAll('.msg-assistant')];
    const last = turns[turns.length - 1]?.turn;
    if (last && usage) {
      last.usage = usage;
      paint(last, true);
    }
    if (turn.error && !turn.id) listEl.append(turn.el);
  }
  refreshUsage();
  emit('usage-changed');
  refreshTitle(session.id);
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
  stream('/chat/regenerate', { sessionId: store.current.id, messageId }, { replace: turn.el });
}

function retry(turn) {
  if (store.streaming || !store.current) return;
  if (turn.resend && !turn.started) {
    stream('/chat/stream', turn.resend, { replace: turn.el, resend: turn.resend, tempUser: turn.tempUser });
  } else if (turn.id || turn.userMessageId) {
    stream('/chat/regenerate', { sessionId: store.current.id, messageId: turn.userMessageId || turn.id }, { replace: turn.el });
  }
}

function startEdit(el, m) {
  if (store.streaming) return;
  const area = h('textarea', { class: 'input edit-area', rows: 4, 'aria-label': t('chat.edit') });
  area.value = m.content;
  const bubble = el.querySelector('.msg-bubble');
  const original = bubble.cloneNode(true);
  const cancel = () => bubble.replaceWith(original);
  const save = () => {
    const content = area.value.trim();
    if (!content) return;
    while (el.nextElementSibling) el.nextElementSibling.remove();
    m.content = content;
    original.querySelector('.msg-text').textContent = content;
    bubble.replaceWith(original);
    stream('/chat/edit', { sessionId: store.current.id, messageId: m.id, content });
  };
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      save();
    }
    if (event.key === 'Escape') cancel();
  });
  const editor = h('div', { class: 'msg-bubble editing' }, area, h('div', { class: 'edit-actions' },
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
