// Small DOM helpers: element builder, toasts, dialogs, dates, clipboard, lazy scripts.
import { lang, t } from './i18n.js';

/** `h('button', {class: 'btn', onclick}, 'text', child)`; `null`/`false` children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts') || document.body.appendChild(h('div', { class: 'toasts', id: 'toasts', role: 'status' }));
  const item = h('div', { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add('toast-out'), 2600);
  setTimeout(() => item.remove(), 3000);
}

/** A modal built on `<dialog>`; resolves with the value of the button that closed it, or '' on Escape. */
function modal(title, body, buttons) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'modal', 'aria-label': title });
    const form = h('form', { method: 'dialog' }, h('h2', { class: 'modal-title' }, title), body,
      h('div', { class: 'modal-actions' }, buttons.map((b) => h('button', { class: `btn ${b.class || ''}`, value: b.value, type: 'submit' }, b.label))));
    dialog.append(form);
    document.body.append(dialog);
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue);
      dialog.remove();
    });
    dialog.showModal();
    (form.querySelector('input,textarea') || form.querySelector('.btn-primary, .btn-danger'))?.focus();
  });
}

export async function confirmDialog(title, message, { confirmLabel = t('common.confirm'), danger = false } = {}) {
  const value = await modal(title, h('p', { class: 'modal-text' }, message), [
    { label: t('common.cancel'), value: 'cancel', class: 'btn-ghost' },
    { label: confirmLabel, value: 'ok', class: danger ? 'btn-danger' : 'btn-primary' },
  ]);
  return value === 'ok';
}

export async function promptDialog(title, { value = '', label = '', type = 'text', maxLength = 200 } = {}) {
  const input = h('input', { class: 'input', type, value, maxlength: maxLength, 'aria-label': label || title });
  const value2 = await modal(title, h('label', { class: 'field' }, label ? h('span', { class: 'field-label' }, label) : null, input), [
    { label: t('common.cancel'), value: 'cancel', class: 'btn-ghost' },
    { label: t('common.ok'), value: 'ok', class: 'btn-primary' },
  ]);
  return value2 === 'ok' ? input.value : null;
}

const locale = lang === 'en' ? 'en-US' : 'zh-CN';

/** < 24 h → time; < 7 days → month and day; else the full date. */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const age = Date.now() - date.getTime();
  if (age < 86400000) return date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  if (age < 7 * 86400000) return date.toLocaleDateString(locale, { month: 'short', day: 'numeric' });
  return date.toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString(locale);
}

export function formatNumber(n) {
  return new Intl.NumberFormat(locale).format(n || 0);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { class: 'visually-hidden' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

export const assetBase = document.getElementById('main-script')?.dataset.asset || '/static';

const loading = new Map();
/** Loads a vendored script or stylesheet once (same origin, allowed by the CSP). */
export function loadAsset(path) {
  if (!loading.has(path)) {
    loading.set(path, new Promise((resolve, reject) => {
      const url = `${assetBase}/${path}`;
      const el = path.endsWith('.css') ? h('link', { rel: 'stylesheet', href: url }) : h('script', { src: url });
      el.addEventListener('load', resolve);
      el.addEventListener('error', () => reject(new Error(`cannot load ${path}`)));
      document.head.append(el);
    }));
  }
  return loading.get(path);
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * `fn` on an animation frame, at most once per `interval` ms however often the returned function is called — and less
 * often when `fn` is slow (a gap of 4× its last run), so it never takes more than a fifth of the main thread.
 * `.cancel()` drops a pending call.
 */
export function frameThrottle(fn, interval) {
  let timer = 0;
  let frame = 0;
  let last = -Infinity;
  let cost = 0;
  const run = () => {
    frame = 0;
    const start = performance.now();
    fn();
    last = performance.now();
    cost = last - start;
  };
  const schedule = () => {
    if (timer || frame) return;
    const wait = last + Math.max(interval, 4 * cost) - performance.now();
    if (wait <= 0) {
      frame = requestAnimationFrame(run);
      return;
    }
    timer = setTimeout(() => {
      timer = 0;
      frame = requestAnimationFrame(run);
    }, wait);
  };
  schedule.cancel = () => {
    clearTimeout(timer);
    cancelAnimationFrame(frame);
    timer = 0;
    frame = 0;
  };
  return schedule;
}

export const icons = {
  copy: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V5a2 2 0 0 1 2-2h8"/></svg>',
  check: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 12l5 5 9-10"/></svg>',
  retry: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7"/></svg>',
  edit: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20h4L19 9l-4-4L4 16z"/></svg>',
  trash: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/></svg>',
  x: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
  expand: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M14 4h6v6M10 20H4v-6M20 4l-7 7M4 20l7-7"/></svg>',
  prev: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 6l-6 6 6 6"/></svg>',
  next: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 6l6 6-6 6"/></svg>',
};

/** A button whose content is one of `icons`, labelled for screen readers. */
export function iconButton(name, label, onclick, cls = '') {
  const button = h('button', { class: `icon-btn ${cls}`, type: 'button', title: label, 'aria-label': label, onclick });
  button.innerHTML = icons[name];
  return button;
}
