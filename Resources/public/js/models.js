// The model selector: models of every usable connection, grouped by connection, searchable.
import { api } from './api.js';
import { h, toast } from './dom.js';
import { t } from './i18n.js';
import { emit, on, store } from './store.js';

const button = document.getElementById('model-button');
const label = document.getElementById('model-label');
const popover = document.getElementById('model-popover');
const search = document.getElementById('model-search');
const list = document.getElementById('model-list');
const rememberKey = 'aichat:model';

const same = (m, sel) => sel && m.connectionId === sel.connectionId && m.rawId === sel.rawId;

/** The model of the open session, else the remembered or first one. */
export function activeModel() {
  const session = store.current;
  if (session) {
    return store.models.find((m) => same(m, { connectionId: session.connectionId, rawId: session.modelRawId })) || null;
  }
  return store.models.find((m) => same(m, store.selected)) || store.models[0] || null;
}

export function refreshLabel() {
  const session = store.current;
  const model = activeModel();
  label.textContent = model ? model.name || model.id : session?.modelRawId || (store.modelsLoaded && !store.models.length ? t('models.none') : t('models.choose'));
  emit('model-changed', model);
}

export async function loadModels() {
  try {
    store.models = (await api('/catalog/models')) || [];
  } catch (error) {
    store.models = [];
    toast(error.message, 'error');
  }
  store.modelsLoaded = true;
  try {
    const saved = JSON.parse(localStorage.getItem(rememberKey) || 'null');
    if (saved && store.models.some((m) => same(m, saved))) store.selected = saved;
  } catch {
    /* ignore */
  }
  if (!store.selected && store.models[0]) store.selected = { connectionId: store.models[0].connectionId, rawId: store.models[0].rawId };
  refreshLabel();
  render();
}

function groupLabel(model) {
  const provider = t(`providers.${model.provider}`) === `providers.${model.provider}` ? model.provider : t(`providers.${model.provider}`);
  return `${provider} · #${model.connectionId}${model.personal ? ' · ' + t('models.personal') : ''}`;
}

function render() {
  const query = search.value.trim().toLowerCase();
  const active = activeModel();
  const groups = new Map();
  for (const model of store.models) {
    if (query && !`${model.name} ${model.id}`.toLowerCase().includes(query)) continue;
    const key = model.connectionId;
    if (!groups.has(key)) groups.set(key, { label: groupLabel(model), items: [] });
    groups.get(key).items.push(model);
  }
  list.replaceChildren();
  if (!store.modelsLoaded) {
    list.append(h('div', { class: 'skeleton-row' }), h('div', { class: 'skeleton-row' }));
    return;
  }
  if (!groups.size) {
    list.append(h('div', { class: 'empty' }, t('models.none')));
    return;
  }
  for (const group of groups.values()) {
    list.append(h('div', { class: 'model-group', role: 'presentation' }, group.label));
    for (const model of group.items) {
      const selected = active && same(model, active);
      list.append(h('button', {
        class: 'model-item' + (selected ? ' selected' : ''), type: 'button', role: 'option', 'aria-selected': selected ? 'true' : 'false',
        onclick: () => choose(model),
      }, h('span', { class: 'model-name' }, model.name || model.rawId), h('span', { class: 'model-id' }, model.id),
      model.capabilities?.vision ? h('span', { class: 'badge' }, t('models.vision')) : null));
    }
  }
}

async function choose(model) {
  close();
  const choice = { connectionId: model.connectionId, rawId: model.rawId };
  store.selected = choice;
  localStorage.setItem(rememberKey, JSON.stringify(choice));
  const session = store.current;
  if (session) {
    try {
      const updated = await api(`/sessions/${session.id}/model`, { method: 'PUT', body: choice });
      Object.assign(session, updated);
      emit('session-updated', session);
    } catch (error) {
      toast(error.message, 'error');
    }
  }
  refreshLabel();
}

function open() {
  popover.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  render();
  search.focus();
}

function close() {
  popover.hidden = true;
  button.setAttribute('aria-expanded', 'false');
}

export function initModelPicker() {
  button.addEventListener('click', () => (popover.hidden ? open() : close()));
  search.addEventListener('input', render);
  popover.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      close();
      button.focus();
    }
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const items = [...list.querySelectorAll('.model-item')];
      const index = items.indexOf(document.activeElement);
      const next = items[(index + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length];
      next?.focus();
      event.preventDefault();
    }
  });
  document.addEventListener('click', (event) => {
    if (!popover.hidden && !document.getElementById('model-picker').contains(event.target)) close();
  });
  on('session-opened', refreshLabel);
}
