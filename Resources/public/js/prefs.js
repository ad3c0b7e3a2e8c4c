// Theme and language of the page, shared by the user menu (main.js) and the settings dialog (settings.js); a module
// of its own so neither has to import the other.
import { api } from './api.js';
import { toast } from './dom.js';
import { store } from './store.js';

/** Applies and remembers a theme: the page attribute, a cookie for pages before sign-in, the account setting. */
export async function setTheme(theme, save = true) {
  document.documentElement.dataset.theme = theme;
  document.cookie = `theme=${theme}; Max-Age=31536000; Path=/; SameSite=Lax`;
  for (const item of document.querySelectorAll('[data-theme-choice]')) {
    item.setAttribute('aria-checked', String(item.dataset.themeChoice === theme));
  }
  if (!save) return;
  try {
    store.personal = await api('/settings/personal', { method: 'PUT', body: { theme } });
  } catch (error) {
    toast(error.message, 'error');
  }
}

export async function setLanguage(language) {
  try {
    await api('/settings/personal', { method: 'PUT', body: { language } });
  } catch (error) {
    toast(error.message, 'error');
    return;
  }
  document.cookie = `lang=${language}; Max-Age=31536000; Path=/; SameSite=Lax`;
  location.reload();
}
