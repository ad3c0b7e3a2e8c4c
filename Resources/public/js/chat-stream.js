// Receiving answers: a new answer, a regenerated or retried one, or re-attaching to one still running after a
// reload; the send button doubling as stop. The streaming answer is repainted at most ~10 times a second.
import { api, openStream } from './api.js';
import { frameThrottle, toast } from './dom.js';
import { t } from './i18n.js';
import { readEvents } from './sse.js';
import { emit, store } from './store.js';
import { chat, chosen, els, nearBottom, pageTurns, scrollToBottom, usageById } from './chat-state.js';
import { makeTurn, paint } from './chat-turns.js';
import { refreshTitle, refreshUsage, reloadLatest, showUsage } from './chat-history.js';

/**
 * The least time between two paints of a streaming answer. Every paint parses and sanitises the whole answer's
 * Markdown, so painting on each event (or each frame) makes a long answer slow the tab down more with every token.
 */
const PAINT_INTERVAL = 100;

function setStreaming(value) {
  const { composer, sendButton } = els;
  store.streaming = value;
  composer.classList.toggle('is-streaming', value);
  sendButton.title = value ? t('chat.stop') : t('chat.send');
  sendButton.setAttribute('aria-label', sendButton.title);
  sendButton.disabled = false;
}

/** Stops reading the current stream without stopping the answer (it goes on and is saved). */
export function detach() {
  if (chat.live) {
    chat.live.controller.abort();
    chat.live.turn.schedulePaint?.cancel();
    chat.live = null;
  }
  setStreaming(false);
}

/** Takes one event into the turn's state; painting is left to the caller. */
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
}

/** A re-attached answer to a question that already has a turn (a regenerate) stands where that turn stood. */
function takePlace(turn) {
  const old = pageTurns().find((x) => x !== turn && x.userMessageId === turn.userMessageId);
  if (old) old.el.replaceWith(turn.el);
}

/** Streams an answer into a new turn, placed instead of `replace` or at the end of the list. */
export async function stream(path, body, { attach = false, replace = null, resend = null, tempUser = null, question = null } = {}) {
  const session = store.current;
  if (!session) return;
  const view = chat.view;
  const turn = makeTurn({ createdAt: new Date().toISOString(), parentId: question });
  turn.streaming = true;
  turn.resend = resend;
  turn.tempUser = tempUser;
  turn.attached = attach;
  // Reasoning and answer share this paint, so both are throttled alike; the end of the stream paints in full.
  turn.schedulePaint = frameThrottle(() => {
    const stick = nearBottom();
    paint(turn, false);
    if (stick) scrollToBottom();
  }, PAINT_INTERVAL);
  const controller = new AbortController();
  chat.live = { sessionId: session.id, controller, turn };
  // Writes count as running from the click, so a second send, regenerate or edit cannot race this one.
  if (!attach) setStreaming(true);
  let response;
  try {
    response = await openStream(path, attach ? { method: 'GET', signal: controller.signal } : { body, signal: controller.signal });
  } catch (error) {
    if (error.name === 'AbortError') return;
    if (chat.live?.turn === turn) chat.live = null;
    turn.streaming = false;
    turn.error = error.message;
    if (replace) replace.replaceWith(turn.el);
    else els.list.append(turn.el);
    paint(turn, true);
    setStreaming(false);
    scrollToBottom();
    return;
  }
  if (!response) {
    if (chat.live?.turn === turn) chat.live = null;
    return;
  }
  setStreaming(true);
  if (replace) replace.replaceWith(turn.el);
  else els.list.append(turn.el);
  paint(turn, false);
  scrollToBottom();
  try {
    await readEvents(response, (event) => {
      handle(turn, event);
      if (!controller.signal.aborted) turn.schedulePaint();
    }, controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    turn.error = turn.error || t('errors.streamBroken');
  }
  if (controller.signal.aborted) return;
  if (chat.live?.turn === turn) chat.live = null;
  setStreaming(false);
  turn.streaming = false;
  // The final state (complete, stopped or failed) is painted at once, in full, whatever the throttle had pending.
  turn.schedulePaint.cancel();
  paint(turn, true);
  if (view !== chat.view) return;
  const failedEarly = turn.error && !turn.started;
  if (!failedEarly) {
    if (turn.id && turn.usage) usageById.set(turn.id, turn.usage);
    await reloadLatest(view);
    if (turn.error && !turn.id) els.list.append(turn.el);
  }
  refreshUsage();
  emit('usage-changed');
  refreshTitle(session.id);
  // After a conversation's first answer the server may ask the model for a title (title_by_model): look again.
  if (!turn.error && els.list.querySelectorAll('.msg-user').length === 1) setTimeout(() => refreshTitle(session.id), 4000);
}

export async function stop() {
  const { live } = chat;
  if (!live) return;
  els.sendButton.disabled = true;
  try {
    await api('/chat/stop', { method: 'POST', body: { sessionId: live.sessionId } });
  } catch (error) {
    toast(error.message, 'error');
    els.sendButton.disabled = false;
  }
}

export function regenerate(turn) {
  if (store.streaming || !store.current) return;
  const messageId = turn.id || turn.userMessageId;
  // The new answer becomes the version shown, whichever version this was started from.
  if (turn.userMessageId) chosen.delete(turn.userMessageId);
  stream('/chat/regenerate', { sessionId: store.current.id, messageId }, { replace: turn.el, question: turn.userMessageId });
}

export function retry(turn) {
  if (store.streaming || !store.current) return;
  if (turn.resend && !turn.started) {
    stream('/chat/stream', turn.resend, { replace: turn.el, resend: turn.resend, tempUser: turn.tempUser });
  } else if (turn.id || turn.userMessageId) {
    if (turn.userMessageId) chosen.delete(turn.userMessageId);
    stream('/chat/regenerate', { sessionId: store.current.id, messageId: turn.userMessageId || turn.id }, { replace: turn.el, question: turn.userMessageId });
  }
}
