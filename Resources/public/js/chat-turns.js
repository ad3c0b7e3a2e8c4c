// Rendering of the conversation: the user messages and the assistant turns, each turn with its versions (regenerated
// answers to one question), reasoning, note, error and actions. The actions go out on the bus (`edit-message`,
// `retry-turn`, `regenerate-turn`) so that this module does not depend on the streaming that serves them.
import { copyText, formatDate, formatNumber, h, iconButton, icons, toast } from './dom.js';
import { t } from './i18n.js';
import { enhance, renderMarkdown } from './markdown.js';
import { emit, store } from './store.js';
import { chat, chosen, els, usageById } from './chat-state.js';

/**
 * The nodes for `list` (oldest first). Answers sharing a question (`parentId`) are versions of one turn, shown right
 * after the question. A turn whose question is not loaded (it is on an older page) goes first. `existing` maps
 * question ids to turns already on the page: they take the versions found in `list` and move next to their question.
 */
export function layout(list, existing = new Map()) {
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

/** Redraws the whole loaded history. */
export function renderAll() {
  els.list.replaceChildren(...layout(chat.messages));
}

function imagesGrid(images) {
  if (!images?.length) return null;
  return h('div', { class: 'msg-images' }, images.map((img) => h('img', { src: img.url || `data:${img.mime};base64,${img.data}`, alt: t('chat.image'), loading: 'lazy' })));
}

export function userElement(m) {
  const text = h('div', { class: 'msg-text' }, m.content);
  const el = h('article', { class: 'msg msg-user', dataset: { id: m.id ?? '' }, 'aria-label': t('chat.you') },
    h('div', { class: 'msg-main' }, h('div', { class: 'msg-bubble' }, imagesGrid(m.images), text),
      h('div', { class: 'msg-actions' },
        h('time', { datetime: m.createdAt || '' }, m.createdAt ? formatDate(m.createdAt) : ''),
        iconButton('copy', t('chat.copyMessage'), () => copyMessage(m.content)),
        m.id ? iconButton('edit', t('chat.edit'), () => emit('edit-message', { el, message: m })) : null)),
    h('div', { class: 'avatar msg-avatar', 'aria-hidden': 'true' }, (store.user.username || 'U').slice(0, 1).toUpperCase()));
  return el;
}

function reasoningBlock() {
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
export function makeTurn(m = {}) {
  const turn = { ...answerFields(m), streaming: false, versions: m.id ? [m] : [], index: 0, el: null };
  turn.reasoningEl = reasoningBlock();
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

export function updateSwitcher(turn) {
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
  els.scroller.scrollTop += turn.versionsEl.getBoundingClientRect().top - before;
}

/**
 * Shows the turn's state. `final` paints (finished or stored answers) always redraw the Markdown and highlight code;
 * streaming paints skip what has not changed since the last paint, so neither a long reasoning text nor the answer
 * is rebuilt for an event that did not touch it.
 */
export function paint(turn, final) {
  const reasoningVisible = !!turn.reasoning || (turn.streaming && turn.duration === null && turn.reasoningStarted);
  turn.reasoningEl.hidden = !reasoningVisible;
  if (reasoningVisible) {
    turn.reasoningEl.querySelector('summary').textContent =
      turn.duration !== null && !turn.streamingReasoning ? t('chat.reasoningDone', { s: turn.duration }) : t('chat.reasoning');
    const reasoning = turn.reasoning || t('chat.thinkingNow');
    if (turn.shownReasoning !== reasoning) {
      turn.reasoningEl.querySelector('.reasoning-text').textContent = reasoning;
      turn.shownReasoning = reasoning;
    }
  }
  if (turn.streaming && !turn.content) {
    turn.contentEl.replaceChildren(h('span', { class: 'typing' }, h('i'), h('i'), h('i'), h('span', {}, t('chat.thinking_'))));
    turn.shownContent = null;
  } else if (final || turn.shownContent !== turn.content) {
    turn.contentEl.innerHTML = renderMarkdown(turn.content);
    turn.shownContent = turn.content;
    if (turn.streaming) turn.contentEl.classList.add('streaming');
    else turn.contentEl.classList.remove('streaming');
    enhance(turn.contentEl, final);
  }
  turn.noteEl.replaceChildren();
  if (turn.status === 'stopped') turn.noteEl.append(h('span', { class: 'note' }, t('chat.stopped')));
  if (turn.status === 'interrupted') turn.noteEl.append(h('span', { class: 'note' }, t('chat.interrupted')));
  if (turn.error) {
    turn.noteEl.append(h('div', { class: 'turn-error', role: 'alert' }, h('span', {}, turn.error),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => emit('retry-turn', turn) }, t('common.retry'))));
  }
  turn.actionsEl.replaceChildren();
  if (!turn.streaming) {
    if (turn.createdAt) turn.actionsEl.append(h('time', { datetime: turn.createdAt }, formatDate(turn.createdAt)));
    if (turn.content) turn.actionsEl.append(iconButton('copy', t('chat.copyMessage'), () => copyMessage(turn.content)));
    if (turn.id || turn.userMessageId) turn.actionsEl.append(iconButton('retry', t('chat.regenerate'), () => emit('regenerate-turn', turn)));
    if (turn.usage?.completion_tokens !== undefined) {
      turn.actionsEl.append(h('span', { class: 'turn-usage', title: t('chat.turnUsage') },
        `↑${formatNumber(turn.usage.prompt_tokens)} ↓${formatNumber(turn.usage.completion_tokens)}`));
    }
  }
}

async function copyMessage(text) {
  toast((await copyText(text)) ? t('chat.copied') : t('chat.copyFailed'), 'info');
}
