// Writing and sending: the composer (auto-growing input, image attachments by picker, paste or drop, the large
// editor, Enter to send, the send button stopping a running answer), a new chat created on its first message, and
// editing a sent message to send it again.
import { api } from './api.js';
import { h, iconButton, toast } from './dom.js';
import { openEditor } from './editor.js';
import { t } from './i18n.js';
import { activeModel } from './models.js';
import { emit, on, store } from './store.js';
import { chat, els, scrollToBottom } from './chat-state.js';
import { pendingOptions } from './chat-options.js';
import { setWelcome } from './chat-history.js';
import { stop, stream } from './chat-stream.js';
import { userElement } from './chat-turns.js';

const previews = document.getElementById('previews');
const fileInput = document.getElementById('file-input');
const attachButton = document.getElementById('attach-button');

const MAX_IMAGES = 4;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

let attachments = [];

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function send() {
  const { input, list } = els;
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
      const session = await api('/sessions', { method: 'POST', body: { connectionId: model.connectionId, rawId: model.rawId, ...pendingOptions() } });
      store.current = session;
      chat.messages = [];
      chat.view++;
      history.pushState({ sessionId: session.id }, '', `/main/${session.id}`);
      setWelcome(false);
      list.replaceChildren();
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
  list.append(tempUser);
  scrollToBottom();
  stream('/chat/stream', body, { resend: body, tempUser });
}

/** Turns a sent message into an editor; saving drops what followed it and sends the new text in its place. */
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
  const expand = () => openEditor(area, { title: t('chat.editorEditTitle'), sendLabel: t('chat.saveAndSend'), onSend: () => (store.streaming ? t('chat.busy') : save()), fallbackFocus: els.input });
  const editor = h('div', { class: 'msg-bubble editing' }, area, h('div', { class: 'edit-actions' },
    iconButton('expand', t('chat.expand'), expand, 'edit-expand'),
    h('button', { class: 'btn btn-ghost btn-sm', type: 'button', onclick: cancel }, t('common.cancel')),
    h('button', { class: 'btn btn-primary btn-sm', type: 'button', onclick: save }, t('chat.saveAndSend'))));
  bubble.replaceWith(editor);
  area.focus();
}

function autoGrow() {
  const { input } = els;
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

export function initComposer() {
  const { composer, input } = els;
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
  document.getElementById('expand-button').addEventListener('click', () => openEditor(input, {
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
  on('edit-message', ({ el, message }) => startEdit(el, message));
}
