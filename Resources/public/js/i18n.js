// Strings of the page's language, embedded by the server from Resources/i18n/<lang>.json.
const table = JSON.parse(document.getElementById('i18n')?.textContent || '{}');

export const lang = document.documentElement.lang || 'zh-CN';

/** The string at a dotted key; `{name}` placeholders are replaced from `vars`. */
export function t(key, vars) {
  let value = table;
  for (const part of key.split('.')) value = value?.[part];
  if (typeof value !== 'string') return key;
  return vars ? value.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : value;
}

/** A backend error text in this language when it is a known one. */
export function backendError(message) {
  return table.backendErrors?.[message] ?? message;
}
