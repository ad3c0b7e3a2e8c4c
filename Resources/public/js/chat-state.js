// What the parts of the conversation view share: its elements, the loaded messages and the answer being received.
const $ = (id) => document.getElementById(id);

export const els = {
  scroller: $('messages'),
  list: $('message-list'),
  welcome: $('welcome'),
  older: $('older'),
  composer: $('composer'),
  input: $('input'),
  sendButton: $('send-button'),
  pill: $('usage-pill'),
  exportButton: $('export-csv'),
};

/** Messages per page of a session's history. */
export const PAGE = 50;

export const chat = {
  /** The loaded messages of the open session, oldest first (API shape). */
  messages: [],
  hasMore: false,
  /** Bumped whenever the view changes (another session, the welcome screen): late answers for an old view are dropped. */
  view: 0,
  /** The answer being received: {sessionId, controller, turn}. */
  live: null,
};

/** The version picked on a turn (question id → answer id); a turn missing here shows its newest version. */
export const chosen = new Map();
/** Token usage per answer id seen by this page (streams, the session's last round); stored answers carry their own. */
export const usageById = new Map();

export function nearBottom() {
  const { scroller } = els;
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
}

export function scrollToBottom() {
  els.scroller.scrollTop = els.scroller.scrollHeight;
}

/** The turns on the page (the `turn` objects behind the assistant messages). */
export function pageTurns() {
  return [...els.list.querySelectorAll('.msg-assistant')].map((el) => el.turn).filter(Boolean);
}
