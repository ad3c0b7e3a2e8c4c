// State shared by the parts of the chat page, and a tiny event bus between them.
const initial = JSON.parse(document.getElementById('initial-state')?.textContent || '{}');

export const store = {
  user: initial.user || {},
  personal: initial.personal || {},
  publicSettings: initial.publicSettings || {},
  firstSessions: initial.sessions || { sessions: [] },
  initialSessionId: initial.sessionId || null,
  pageSize: initial.pageSize || 30,
  /** The open session (API shape) or null on the welcome screen. */
  current: null,
  models: [],
  modelsLoaded: false,
  /** The model for the next new chat: {connectionId, rawId}. */
  selected: null,
  streaming: false,
};

export const isAdmin = () => store.user.role === 'ADMIN';

const bus = new EventTarget();
export const emit = (name, detail) => bus.dispatchEvent(new CustomEvent(name, { detail }));
export const on = (name, fn) => bus.addEventListener(name, (event) => fn(event.detail));
