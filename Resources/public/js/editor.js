// The large editor: a modal dialog around a big textarea, opened from the composer and from edit-and-resend. What is
// typed is copied into the small field at once, so closing the dialog (Esc, the close buttons) keeps the text.
import { h, iconButton } from './dom.js';
import { t } from './i18n.js';

const sendKey = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent) ? '⌘' : 'Ctrl';
let count = 0;

/**
 * Opens the editor on `source` (a textarea). Enter and Shift+Enter add lines; Ctrl/Cmd+Enter or the send button call
 * `onSend(text)`, which may return a message to show instead of closing. Focus goes back to `source`, or to
 * `fallbackFocus` when sending removed `source` from the page.
 */
export function openEditor(source, { title, sendLabel = t('chat.send'), onSend, fallbackFocus = null }) {
  const id = `editor-${++count}`;
  const area = h('textarea', {
    class: 'input editor-area', id: `${id}-text`, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-hint`,
    maxlength: source.maxLength > 0 ? source.maxLength : null, placeholder: source.placeholder || null,
  });
  area.value = source.value;
  const dialog = h('dialog', { class: 'editor-dialog', 'aria-labelledby': `${id}-title` });
  // Toasts sit under the modal's top layer, so a refusal is shown in the dialog itself.
  const note = h('p', { class: 'editor-note', role: 'alert', hidden: true });
  const send = () => {
    if (!area.value.trim()) {
      area.focus();
      return;
    }
    const refusal = onSend(area.value);
    if (typeof refusal === 'string') {
      note.textContent = refusal;
      note.hidden = false;
      return;
    }
    dialog.close('send');
  };
  dialog.append(
    h('div', { class: 'editor-head' }, h('h2', { id: `${id}-title` }, title),
      iconButton('x', t('common.close'), () => dialog.close())),
    area,
    note,
    h('div', { class: 'editor-foot' },
      h('p', { class: 'editor-hint', id: `${id}-hint` }, t('chat.editorHint', { key: sendKey })),
      h('div', { class: 'editor-actions' },
        h('button', { class: 'btn btn-ghost', type: 'button', onclick: () => dialog.close() }, t('common.close')),
        h('button', { class: 'btn btn-primary editor-send', type: 'button', onclick: send }, sendLabel))));

  area.addEventListener('input', () => {
    note.hidden = true;
    source.value = area.value;
    source.dispatchEvent(new Event('input', { bubbles: true }));
  });
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  });
  // The modal already makes the page inert; this keeps Tab from leaving the dialog for the browser's own controls.
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const stops = [...dialog.querySelectorAll('button, textarea')].filter((el) => !el.disabled);
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  dialog.addEventListener('close', () => {
    const sent = dialog.returnValue === 'send';
    dialog.remove();
    if (source.isConnected) {
      source.focus();
      if (!sent) source.setSelectionRange(area.selectionStart, area.selectionEnd);
    } else {
      fallbackFocus?.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  area.focus();
  area.setSelectionRange(source.selectionStart ?? area.value.length, source.selectionEnd ?? area.value.length);
  return dialog;
}
