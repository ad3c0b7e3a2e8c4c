// Entry of the chat page: wires the sidebar, model picker, chat view, user menu and settings dialog.
import { initChat, openSession, showWelcome } from './chat.js';
import { t } from './i18n.js';
import { initModelPicker, loadModels } from './models.js';
import { setLanguage, setTheme } from './prefs.js';
import { findSession, initSidebar } from './sidebar.js';
import { emit, store } from './store.js';

store.sessionLookup = findSession;

async function openSettings(params) {
  const { openSettings: open } = await import('./settings.js');
  open(params);
}

function initUserMenu() {
  const button = document.getElementById('user-button');
  const menu = document.getElementById('user-menu');
  const close = () => {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  button.addEventListener('click', () => {
    menu.hidden = !menu.hidden;
    button.setAttribute('aria-expanded', String(!menu.hidden));
    if (!menu.hidden) menu.querySelector('button')?.focus();
  });
  document.addEventListener('click', (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !button.contains(event.target)) close();
  });
  menu.addEventListener('keydown', (event) => {
    const items = [...menu.querySelectorAll('button')];
    const index = items.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      close();
      button.focus();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(index + (event.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length].focus();
    }
  });
  menu.addEventListener('click', (event) => {
    const item = event.target.closest('button');
    if (!item) return;
    if (item.dataset.themeChoice) setTheme(item.dataset.themeChoice);
    if (item.dataset.action === 'settings') openSettings({});
    if (item.dataset.action === 'language') setLanguage(item.getAttribute('lang'));
    if (item.type !== 'submit') close();
  });
}

function start() {
  initSidebar();
  initModelPicker();
  initChat();
  initUserMenu();
  setTheme(document.documentElement.dataset.theme || 'system', false);
  document.getElementById('new-chat').addEventListener('click', () => emit('new-chat'));
  loadModels();
  if (store.initialSessionId) openSession(store.initialSessionId, { push: false });
  else showWelcome({ push: false });
  const params = new URLSearchParams(location.search);
  if (params.get('settings') === '1') openSettings({ main: params.get('main'), sub: params.get('sub') });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {});
  document.documentElement.classList.add('ready');
  if (!store.modelsLoaded) document.getElementById('model-label').textContent = t('models.loading');
}

start();
