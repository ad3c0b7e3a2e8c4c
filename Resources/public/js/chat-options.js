// The session options popover of the composer: reasoning on/off, effort, system prompt. Before the first message
// there is no session yet: the choices wait in `pendingOptions` and go with its creation.
import { api } from './api.js';
import { toast } from './dom.js';
import { t } from './i18n.js';
import { store } from './store.js';

const $ = (id) => document.getElementById(id);
const optReasoning = $('opt-reasoning');
const optEffort = $('opt-effort');
const optSystem = $('opt-system');

let pending = {};

/** The options chosen for the chat not yet created. */
export const pendingOptions = () => pending;

/** Shows the open session's options, or on the welcome screen forgets the pending ones and shows the defaults. */
export function applyOptions({ reset = false } = {}) {
  if (reset) pending = {};
  const s = store.current;
  const p = store.publicSettings;
  optReasoning.checked = (s ? s.reasoningEnabled : pending.reasoningEnabled) ?? p.reasoning_enabled ?? true;
  optEffort.value = (s ? s.reasoningEffort : pending.reasoningEffort) ?? p.openai_reasoning_effort ?? '';
  optSystem.value = (s ? s.systemPrompt : pending.systemPrompt) ?? '';
}

async function saveOption(change) {
  if (!store.current) {
    Object.assign(pending, change);
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

export function initOptions() {
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
}
