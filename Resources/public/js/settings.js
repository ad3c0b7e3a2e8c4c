// The settings dialog: personal pages for everyone, system pages for administrators (§9.7). The open page is
// mirrored in the URL (?settings=1&main=…&sub=…) so it survives a reload.
import { api } from './api.js';
import { confirmDialog, download, formatDateTime, h, promptDialog, toast } from './dom.js';
import { t } from './i18n.js';
import { setLanguage, setTheme } from './prefs.js';
import { isAdmin, store } from './store.js';

const tree = [
  { key: 'personal', pages: ['connections', 'preferences', 'security', 'about'] },
  { key: 'system', admin: true, pages: ['general', 'reasoning', 'network', 'connections', 'models', 'users'] },
];

let dialog = null;

export function openSettings({ main, sub } = {}) {
  const groups = tree.filter((g) => !g.admin || isAdmin());
  let group = groups.find((g) => g.key === main) || groups.find((g) => g.key === localStorage.getItem('settings:lastMain')) || groups[0];
  let page = group.pages.includes(sub) ? sub : group.pages.includes(localStorage.getItem('settings:lastSub')) ? localStorage.getItem('settings:lastSub') : group.pages[0];
  dialog?.remove();
  const pane = h('section', { class: 'settings-pane', tabindex: '-1' });
  const nav = h('nav', { class: 'settings-nav', 'aria-label': t('settings.title') });
  const show = (g, p) => {
    group = g;
    page = p;
    localStorage.setItem('settings:lastMain', g.key);
    localStorage.setItem('settings:lastSub', p);
    const url = new URL(location.href);
    url.searchParams.set('settings', '1');
    url.searchParams.set('main', g.key);
    url.searchParams.set('sub', p);
    history.replaceState(history.state, '', url);
    for (const link of nav.querySelectorAll('button[data-page]')) {
      link.setAttribute('aria-current', link.dataset.page === `${g.key}.${p}` ? 'page' : 'false');
    }
    pane.replaceChildren(h('h2', { class: 'pane-title' }, t(`settings.${g.key}.${p}`)));
    const body = h('div', { class: 'pane-body' });
    pane.append(body);
    pages[`${g.key}.${p}`](body);
  };
  for (const g of groups) {
    const items = g.pages.map((p) => h('li', {}, h('button', { type: 'button', class: 'nav-item', dataset: { page: `${g.key}.${p}` }, onclick: () => show(g, p) }, t(`settings.${g.key}.${p}`))));
    nav.append(h('details', { open: true, class: 'nav-group' }, h('summary', {}, t(`settings.${g.key}.title`)), h('ul', {}, items)));
  }
  dialog = h('dialog', { class: 'settings-dialog', 'aria-label': t('settings.title') },
    h('div', { class: 'settings-head' }, h('h1', {}, t('settings.title')),
      h('button', { class: 'icon-btn', type: 'button', 'aria-label': t('common.close'), title: t('common.close'), onclick: () => dialog.close() }, '✕')),
    h('div', { class: 'settings-body' }, nav, pane));
  dialog.addEventListener('close', () => {
    const url = new URL(location.href);
    for (const key of ['settings', 'main', 'sub']) url.searchParams.delete(key);
    history.replaceState(history.state, '', url);
    dialog.remove();
    dialog = null;
  });
  document.body.append(dialog);
  dialog.showModal();
  show(group, page);
}

// ---------- helpers ----------

const field = (label, control, hint) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'field-hint' }, hint) : null);
const input = (attrs) => h('input', { class: 'input', ...attrs });
const select = (options, value, attrs = {}) => h('select', { class: 'input', ...attrs }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
const toggle = (label, checked, attrs = {}) => {
  const box = h('input', { type: 'checkbox', class: 'switch', checked, ...attrs });
  return [h('label', { class: 'switch-row' }, h('span', {}, label), box), box];
};
const loadingState = (body) => body.replaceChildren(h('div', { class: 'skeleton-row' }), h('div', { class: 'skeleton-row' }), h('div', { class: 'skeleton-row' }));
function failed(body, retry) {
  body.replaceChildren(h('div', { class: 'empty' }, h('p', {}, t('settings.loadFailed')), h('button', { class: 'btn', type: 'button', onclick: () => retry(body) }, t('common.retry'))));
}
async function attempt(fn, okMessage = t('common.saved')) {
  try {
    const result = await fn();
    if (okMessage) toast(okMessage);
    return result ?? true;
  } catch (error) {
    toast(error.message, 'error');
    return null;
  }
}

async function systemSettings(body, render) {
  loadingState(body);
  try {
    const settings = await api('/settings/system');
    render(settings);
  } catch {
    failed(body, (b) => systemSettings(b, render));
  }
}

// ---------- connections (personal and system) ----------

const providers = ['openai', 'azure_openai', 'ollama', 'anthropic', 'google'];
const authTypes = ['bearer', 'none', 'session', 'system_oauth', 'microsoft_entra_id'];
const capabilities = ['vision', 'file_upload', 'web_search', 'image_generation', 'code_interpreter'];

function connectionsPage(system) {
  const base = system ? '/connections' : '/connections/user';
  return async function render(body) {
    let editing = null;
    const list = h('div', { class: 'conn-list' });
    const form = h('form', { class: 'form conn-form' });
    const f = {
      provider: select(providers.map((p) => [p, t(`providers.${p}`)]), 'openai', { name: 'provider' }),
      authType: select(authTypes.map((a) => [a, t(`auth_types.${a}`)]), 'bearer', { name: 'authType' }),
      baseUrl: input({ name: 'baseUrl', placeholder: 'https://api.openai.com/v1', required: true, type: 'url' }),
      apiKey: input({ name: 'apiKey', type: 'password', autocomplete: 'off' }),
      azureApiVersion: input({ name: 'azureApiVersion', placeholder: '2024-02-15-preview' }),
      prefixId: input({ name: 'prefixId', maxlength: 64 }),
      connectionType: select([['external', 'external'], ['local', 'local']], 'external', { name: 'connectionType' }),
      tags: input({ name: 'tags' }),
      modelIds: input({ name: 'modelIds' }),
      headers: h('textarea', { class: 'input', name: 'headers', rows: 2, placeholder: 'X-Header: value' }),
    };
    const [enableRow, enable] = toggle(t('conn.enabled'), true);
    const caps = capabilities.map((c) => {
      const box = h('input', { type: 'checkbox', value: c });
      return [h('label', { class: 'check' }, box, t(`caps.${c}`)), box];
    });
    const keyField = field(t('conn.apiKey'), f.apiKey);
    const versionField = field(t('conn.apiVersion'), f.azureApiVersion);
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, t('conn.add'));
    const cancel = h('button', { class: 'btn btn-ghost', type: 'button', hidden: true, onclick: () => reset() }, t('conn.cancelEdit'));
    const verify = h('button', { class: 'btn', type: 'button', onclick: () => doVerify() }, t('conn.verify'));
    const sync = () => {
      keyField.hidden = f.authType.value !== 'bearer';
      versionField.hidden = f.provider.value !== 'azure_openai';
    };
    f.authType.addEventListener('change', sync);
    f.provider.addEventListener('change', sync);
    form.append(
      h('div', { class: 'grid2' }, field(t('conn.provider'), f.provider), field(t('conn.auth'), f.authType)),
      field(t('conn.baseUrl'), f.baseUrl), keyField, versionField,
      h('div', { class: 'grid2' }, field(t('conn.prefix'), f.prefixId), field(t('conn.type'), f.connectionType)),
      field(t('conn.tags'), f.tags),
      system ? h('div', { class: 'checks' }, caps.map(([label]) => label)) : null,
      field(t('conn.modelIds'), f.modelIds),
      field(t('conn.headers'), f.headers, t('conn.headersHint')),
      enableRow,
      h('div', { class: 'form-actions' }, submit, verify, cancel));
    sync();

    const split = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
    function payload() {
      const tags = split(f.tags.value).filter((x) => !capabilities.includes(x));
      if (system) for (const [, box] of caps) if (box.checked) tags.push(box.value);
      const headers = {};
      for (const line of f.headers.value.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      const data = {
        provider: f.provider.value, authType: f.authType.value, baseUrl: f.baseUrl.value.trim(), azureApiVersion: f.azureApiVersion.value.trim() || null,
        prefixId: f.prefixId.value.trim() || null, connectionType: f.connectionType.value, tags, modelIds: split(f.modelIds.value), headers, enable: enable.checked,
      };
      if (f.apiKey.value || !editing) data.apiKey = f.apiKey.value;
      return data;
    }
    function reset() {
      editing = null;
      form.reset();
      enable.checked = true;
      f.apiKey.placeholder = '';
      submit.textContent = t('conn.add');
      cancel.hidden = true;
      sync();
    }
    function edit(c) {
      editing = c;
      f.provider.value = c.provider;
      f.authType.value = c.authType;
      f.baseUrl.value = c.baseUrl;
      f.apiKey.value = '';
      f.apiKey.placeholder = c.hasApiKey ? t('conn.keyKept', { hint: c.apiKeyHint || '••••' }) : '';
      f.azureApiVersion.value = c.azureApiVersion || '';
      f.prefixId.value = c.prefixId || '';
      f.connectionType.value = c.connectionType;
      const names = (c.tags || []).map((x) => x.name);
      f.tags.value = names.filter((x) => !capabilities.includes(x)).join(', ');
      for (const [, box] of caps) box.checked = names.includes(box.value);
      f.modelIds.value = (c.modelIds || []).join(', ');
      f.headers.value = Object.entries(c.headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
      enable.checked = c.enable;
      submit.textContent = t('common.save');
      cancel.hidden = false;
      sync();
      f.baseUrl.focus();
    }
    async function doVerify() {
      const data = payload();
      if (editing) data.connectionId = editing.id;
      verify.disabled = true;
      await attempt(() => api('/connections/verify', { method: 'POST', body: data }), t('conn.verified'));
      verify.disabled = false;
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      const ok = await attempt(() => (editing ? api(`${base}/${editing.id}`, { method: 'PUT', body: payload() }) : api(base, { method: 'POST', body: payload() })));
      submit.disabled = false;
      if (ok) {
        reset();
        load();
      }
    });
    async function load() {
      loadingState(list);
      let items;
      try {
        items = await api(base);
      } catch {
        failed(list, load);
        return;
      }
      list.replaceChildren();
      if (!items.length) list.append(h('div', { class: 'empty' }, t('conn.empty')));
      for (const c of items) {
        const [switchRow, box] = toggle(t('conn.enabled'), c.enable);
        box.addEventListener('change', async () => {
          if (!(await attempt(() => api(`${base}/${c.id}`, { method: 'PUT', body: { enable: box.checked } })))) box.checked = !box.checked;
        });
        list.append(h('div', { class: 'conn-row' },
          h('div', { class: 'conn-info' }, h('strong', {}, `[${c.provider}] ${c.baseUrl}`),
            h('span', { class: 'muted' }, `auth=${c.authType} prefix=${c.prefixId || '-'} type=${c.connectionType}${c.hasApiKey ? ` key=${c.apiKeyHint || '••••'}` : ''}`)),
          switchRow,
          h('button', { class: 'btn btn-sm', type: 'button', onclick: () => edit(c) }, t('common.edit')),
          h('button', { class: 'btn btn-sm btn-danger', type: 'button', onclick: async () => {
            if (!(await confirmDialog(t('conn.deleteTitle'), t('conn.deleteConfirm', { url: c.baseUrl }), { danger: true, confirmLabel: t('common.delete') }))) return;
            if (await attempt(() => api(`${base}/${c.id}`, { method: 'DELETE' }), t('common.deleted'))) load();
          } }, t('common.delete'))));
      }
    }
    body.append(form, h('div', { class: 'section-head' }, h('h3', {}, t('conn.list')), h('button', { class: 'btn btn-sm', type: 'button', onclick: () => load() }, t('common.refresh'))), list);
    load();
  };
}

// ---------- pages ----------

const pages = {
  'personal.connections': connectionsPage(false),
  'system.connections': connectionsPage(true),

  'personal.preferences'(body) {
    const theme = select([['system', t('theme.system')], ['light', t('theme.light')], ['dark', t('theme.dark')]], store.personal.theme || 'system');
    const language = select([['zh-CN', '简体中文'], ['en', 'English']], store.personal.language || 'zh-CN');
    const limit = input({ type: 'number', min: 1000, max: 32000, step: 1000, value: store.personal.context_token_limit ?? 4000 });
    theme.addEventListener('change', () => setTheme(theme.value));
    language.addEventListener('change', () => setLanguage(language.value));
    const save = h('button', { class: 'btn btn-primary', type: 'button', onclick: async () => {
      const value = Number(limit.value);
      if (!Number.isInteger(value) || value < 1000 || value > 32000) return toast(t('prefs.limitRange'), 'error');
      const result = await attempt(() => api('/settings/personal', { method: 'PUT', body: { context_token_limit: value } }));
      if (result) store.personal = result;
    } }, t('common.save'));
    const resetLimit = h('button', { class: 'btn btn-ghost', type: 'button', onclick: async () => {
      const result = await attempt(() => api('/settings/personal', { method: 'PUT', body: { context_token_limit: null } }));
      if (result) {
        store.personal = result;
        limit.value = result.context_token_limit;
      }
    } }, t('prefs.useDefault'));
    body.append(field(t('prefs.theme'), theme), field(t('prefs.language'), language),
      field(t('prefs.contextLimit'), limit, t('prefs.contextHint')), h('div', { class: 'form-actions' }, save, resetLimit));
  },

  'personal.security'(body) {
    const current = input({ type: 'password', autocomplete: 'current-password', required: true });
    const next = input({ type: 'password', autocomplete: 'new-password', required: true });
    const again = input({ type: 'password', autocomplete: 'new-password', required: true });
    const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const button = h('button', { class: 'btn btn-primary', type: 'submit' }, t('common.save'));
    const form = h('form', { class: 'form narrow' }, error, field(t('security.current'), current), field(t('security.new'), next, t('auth.passwordRule')),
      field(t('security.confirm'), again), h('div', { class: 'form-actions' }, button));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const show = (text) => {
        error.textContent = text;
        error.hidden = !text;
      };
      if (!current.value) return show(t('security.currentRequired'));
      if (!(next.value.length >= 8 && /[A-Za-z]/.test(next.value) && /\d/.test(next.value))) return show(t('auth.passwordRule'));
      if (next.value !== again.value) return show(t('auth.mismatch'));
      if (next.value === current.value) return show(t('security.same'));
      show('');
      button.disabled = true;
      button.textContent = t('common.saving');
      try {
        await api('/auth/password', { method: 'PUT', body: { currentPassword: current.value, newPassword: next.value } });
        toast(t('security.updated'));
        form.reset();
      } catch (e) {
        show(e.message);
      } finally {
        button.disabled = false;
        button.textContent = t('common.save');
      }
    });
    body.append(form);
  },

  'personal.about'(body) {
    const version = store.publicSettings.version || '';
    const libs = [['marked', 'vendor/marked/copyright'], ['DOMPurify', 'vendor/dompurify/copyright'], ['KaTeX', 'vendor/katex/copyright'], ['highlight.js', 'vendor/highlight/copyright']];
    body.append(h('dl', { class: 'about' },
      h('dt', {}, t('about.version')), h('dd', {}, version),
      h('dt', {}, t('about.stack')), h('dd', {}, 'Swift · Hummingbird · SQLite / PostgreSQL'),
      h('dt', {}, t('about.licences')), h('dd', {}, libs.map(([name, path]) => h('a', { href: `/static/${path}`, target: '_blank', rel: 'noopener', class: 'lib' }, name)))),
    h('p', { class: 'muted' }, t('about.text')));
  },

  'system.general'(body) {
    systemSettings(body, (s) => {
      const [row, box] = toggle(t('general.registration'), !!s.registration_enabled);
      box.addEventListener('change', async () => {
        if (!(await attempt(() => api('/settings/system', { method: 'PUT', body: { registration_enabled: box.checked } })))) box.checked = !box.checked;
      });
      const [titleRow, titleBox] = toggle(t('general.titleByModel'), !!s.title_by_model);
      titleBox.addEventListener('change', async () => {
        if (!(await attempt(() => api('/settings/system', { method: 'PUT', body: { title_by_model: titleBox.checked } })))) titleBox.checked = !titleBox.checked;
      });
      const brand = input({ maxlength: 40, value: s.brand_text || '' });
      const save = h('button', { class: 'btn btn-primary', type: 'button', disabled: true, onclick: async () => {
        if (await attempt(() => api('/settings/system', { method: 'PUT', body: { brand_text: brand.value.trim() || null } }))) {
          s.brand_text = brand.value.trim();
          save.disabled = true;
        }
      } }, t('common.save'));
      brand.addEventListener('input', () => (save.disabled = brand.value.trim() === (s.brand_text || '')));
      body.replaceChildren(row, titleRow, field(t('general.brand'), brand, t('general.brandHint')), h('div', { class: 'form-actions' }, save));
    });
  },

  'system.reasoning'(body) {
    systemSettings(body, (s) => {
      const [r1, enabled] = toggle(t('reasoning.enabled'), !!s.reasoning_enabled);
      const [r2, expand] = toggle(t('reasoning.expand'), !!s.reasoning_default_expand);
      const [r3, save] = toggle(t('reasoning.save'), !!s.reasoning_save_to_db);
      const mode = select([['default', t('reasoning.modeDefault')], ['custom', t('reasoning.modeCustom')], ['off', t('reasoning.modeOff')]], s.reasoning_tags_mode || 'default');
      const tagsValue = Array.isArray(s.reasoning_custom_tags) ? JSON.stringify(s.reasoning_custom_tags) : s.reasoning_custom_tags || '';
      const tags = input({ value: tagsValue, placeholder: '["<think>","</think>"]' });
      const chunk = input({ type: 'number', min: 1, max: 100, value: s.stream_delta_chunk_size ?? 1 });
      const effort = select([['', t('chat.effortUnset')], ['low', 'low'], ['medium', 'medium'], ['high', 'high']], s.openai_reasoning_effort || '');
      const [r4, think] = toggle(t('reasoning.ollamaThink'), !!s.ollama_think);
      const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
      const button = h('button', { class: 'btn btn-primary', type: 'button', onclick: async () => {
        const changes = { reasoning_enabled: enabled.checked, reasoning_default_expand: expand.checked, reasoning_save_to_db: save.checked,
          reasoning_tags_mode: mode.value, stream_delta_chunk_size: Number(chunk.value), openai_reasoning_effort: effort.value || null, ollama_think: think.checked };
        if (mode.value === 'custom') {
          let parsed;
          try {
            parsed = JSON.parse(tags.value);
          } catch {
            parsed = null;
          }
          if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((x) => typeof x === 'string' && x)) {
            error.textContent = t('reasoning.tagsInvalid');
            error.hidden = false;
            return;
          }
          changes.reasoning_custom_tags = JSON.stringify(parsed);
        }
        error.hidden = true;
        await attempt(() => api('/settings/system', { method: 'PUT', body: changes }));
      } }, t('common.save'));
      body.replaceChildren(error, r1, r2, r3, field(t('reasoning.mode'), mode), field(t('reasoning.tags'), tags), field(t('reasoning.chunk'), chunk),
        field('OpenAI reasoning_effort', effort), r4, h('div', { class: 'form-actions' }, button));
    });
  },

  'system.network'(body) {
    systemSettings(body, (s) => {
      const specs = [
        ['sse_heartbeat_interval_ms', 1000, 600000, 15000], ['provider_max_idle_ms', 0, 3600000, 60000], ['provider_timeout_ms', 10000, 3600000, 300000],
      ];
      const fields = [];
      const save = h('button', { class: 'btn btn-primary', type: 'button', disabled: true }, t('common.saveChanges'));
      const [u1, usage] = toggle(t('network.usageEmit'), !!s.usage_emit);
      const [u2, providerOnly] = toggle(t('network.usageProviderOnly'), !!s.usage_provider_only);
      const nets = input({ value: s.personal_connections_allowed_networks || '', placeholder: '192.168.1.0/24, fd00::/8' });
      const context = input({ type: 'number', min: 256, max: 10000000, value: s.max_context_tokens ?? 4000 });
      const check = () => {
        providerOnly.disabled = !usage.checked;
        const valid = fields.every(([, el, min, max]) => el.value !== '' && Number(el.value) >= min && Number(el.value) <= max) && Number(context.value) >= 256;
        const changed = fields.some(([key, el]) => Number(el.value) !== s[key]) || usage.checked !== !!s.usage_emit || providerOnly.checked !== !!s.usage_provider_only ||
          nets.value.trim() !== (s.personal_connections_allowed_networks || '') || Number(context.value) !== s.max_context_tokens;
        save.disabled = !(valid && changed);
      };
      const rows = specs.map(([key, min, max, reset]) => {
        const el = input({ type: 'number', min, max, value: s[key] ?? reset });
        const hint = h('span', { class: 'field-hint' });
        const sync = () => {
          hint.textContent = t('network.seconds', { n: Math.round(Number(el.value) / 1000) });
          check();
        };
        el.addEventListener('input', sync);
        fields.push([key, el, min, max]);
        const row = h('div', { class: 'field' }, h('span', { class: 'field-label' }, t(`network.${key}`)),
          h('div', { class: 'inline' }, el, h('button', { class: 'btn btn-ghost btn-sm', type: 'button', onclick: () => { el.value = reset; sync(); } }, t('network.reset'))), hint);
        queueMicrotask(sync);
        return row;
      });
      for (const el of [usage, providerOnly]) el.addEventListener('change', check);
      for (const el of [context, nets]) el.addEventListener('input', check);
      save.addEventListener('click', async () => {
        const changes = Object.fromEntries(fields.map(([key, el]) => [key, Number(el.value)]));
        Object.assign(changes, { usage_emit: usage.checked, usage_provider_only: providerOnly.checked, personal_connections_allowed_networks: nets.value.trim(), max_context_tokens: Number(context.value) });
        const result = await attempt(() => api('/settings/system', { method: 'PUT', body: changes }));
        if (result) {
          Object.assign(s, result);
          check();
        }
      });
      body.replaceChildren(...rows, field(t('network.maxContext'), context), u1, u2,
        field(t('network.allowedNetworks'), nets, t('network.allowedNetworksHint')), h('div', { class: 'form-actions' }, save));
      check();
    });
  },

  async 'system.models'(body) {
    const search = input({ type: 'search', placeholder: t('modelsAdmin.search') });
    const [onlyRow, only] = toggle(t('modelsAdmin.onlyOverridden'), false);
    const table = h('div', { class: 'table-wrap' });
    const fileInput = h('input', { type: 'file', accept: 'application/json', hidden: true });
    let models = [];
    const draw = () => {
      const q = search.value.trim().toLowerCase();
      const rows = models.filter((m) => (!only.checked || m.overridden) && (!q || `${m.id} ${m.rawId} ${m.name} ${m.provider}`.toLowerCase().includes(q)));
      table.replaceChildren(h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('modelsAdmin.model')), capabilities.map((c) => h('th', {}, t(`caps.${c}`))), h('th', {}, t('modelsAdmin.manual')), h('th', {}, ''))),
        h('tbody', {}, rows.length ? rows.map((m) => h('tr', {},
          h('td', {}, h('div', {}, m.name), h('div', { class: 'muted small' }, `${m.id} · #${m.connectionId}`)),
          capabilities.map((c) => h('td', {}, h('input', { type: 'checkbox', class: 'switch', checked: !!m.capabilities?.[c], 'aria-label': `${m.name} ${t(`caps.${c}`)}`,
            onchange: async (event) => {
              const caps = { ...m.capabilities, [c]: event.target.checked };
              if (await attempt(() => api('/catalog/models/tags', { method: 'PUT', body: { connectionId: m.connectionId, rawId: m.rawId, capabilities: caps } }))) load();
              else event.target.checked = !event.target.checked;
            } }))),
          h('td', {}, m.overridden ? t('common.yes') : t('common.no')),
          h('td', {}, m.overridden ? h('button', { class: 'btn btn-sm', type: 'button', onclick: async () => {
            if (await attempt(() => api('/catalog/models/tags', { method: 'DELETE', body: { items: [{ connectionId: m.connectionId, rawId: m.rawId }] } }))) load();
          } }, t('modelsAdmin.reset')) : null))) : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, t('models.none'))))));
    };
    async function load() {
      loadingState(table);
      try {
        models = (await api('/catalog/models')) || [];
        draw();
      } catch {
        failed(table, load);
      }
    }
    search.addEventListener('input', draw);
    only.addEventListener('change', draw);
    fileInput.addEventListener('change', async () => {
      const file = fileInput.files[0];
      fileInput.value = '';
      if (!file) return;
      let json;
      try {
        json = JSON.parse(await file.text());
      } catch {
        return toast(t('modelsAdmin.badFile'), 'error');
      }
      const items = (json.items || json.overrides || []).map((x) => ({ connectionId: x.connectionId, rawId: x.rawId, tags: x.tags?.map((tag) => tag.name ?? tag), capabilities: x.capabilities }));
      if (await attempt(() => api('/catalog/models/overrides', { method: 'POST', body: { items } }), t('modelsAdmin.imported'))) load();
    });
    const actions = h('div', { class: 'toolbar' }, search, onlyRow,
      h('button', { class: 'btn btn-sm', type: 'button', onclick: async () => { await attempt(() => api('/catalog/models/refresh', { method: 'POST' }), null); load(); } }, t('common.refresh')),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: async () => {
        const items = await attempt(() => api('/catalog/models/overrides'), null);
        if (items) download('model-capabilities-overrides.json', JSON.stringify({ items }, null, 2), 'application/json');
      } }, t('modelsAdmin.export')),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => fileInput.click() }, t('modelsAdmin.import')),
      h('button', { class: 'btn btn-sm btn-danger', type: 'button', onclick: async () => {
        if (!(await confirmDialog(t('modelsAdmin.clearTitle'), t('modelsAdmin.clearConfirm'), { danger: true }))) return;
        if (await attempt(() => api('/catalog/models/tags', { method: 'DELETE', body: { all: true } }))) load();
      } }, t('modelsAdmin.clear')), fileInput);
    body.append(actions, table);
    load();
  },

  'system.users'(body) {
    let page = 1;
    let limit = 10;
    const search = input({ type: 'search', placeholder: t('users.search') });
    const table = h('div', { class: 'table-wrap' });
    const footer = h('div', { class: 'pager' });
    const create = h('form', { class: 'form inline-form' });
    const newName = input({ placeholder: t('auth.username'), required: true, minlength: 3, maxlength: 20, pattern: '[A-Za-z0-9_]{3,20}' });
    const newPass = input({ type: 'password', placeholder: t('auth.password'), required: true, minlength: 8, autocomplete: 'new-password' });
    const newRole = select([['USER', t('users.user')], ['ADMIN', t('users.admin')]], 'USER');
    create.append(newName, newPass, newRole, h('button', { class: 'btn btn-primary btn-sm', type: 'submit' }, t('users.create')));
    create.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (await attempt(() => api('/users', { method: 'POST', body: { username: newName.value.trim(), password: newPass.value, role: newRole.value } }), t('users.createdOk'))) {
        create.reset();
        load();
      }
    });
    async function load() {
      loadingState(table);
      let data;
      try {
        const params = new URLSearchParams({ page: String(page), limit: String(limit) });
        if (search.value.trim()) params.set('search', search.value.trim());
        data = await api(`/users?${params}`);
      } catch {
        failed(table, load);
        return;
      }
      const me = store.user.id;
      table.replaceChildren(h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['users.username', 'users.role', 'users.sessions', 'users.connections', 'users.created', 'users.actions'].map((k) => h('th', {}, t(k))))),
        h('tbody', {}, data.users.length ? data.users.map((u) => h('tr', {},
          h('td', {}, u.username), h('td', {}, h('span', { class: `badge ${u.role === 'ADMIN' ? 'badge-primary' : ''}` }, u.role === 'ADMIN' ? t('users.admin') : t('users.user'))),
          h('td', {}, u._count?.chatSessions ?? 0), h('td', {}, u._count?.connections ?? 0), h('td', {}, formatDateTime(u.createdAt)),
          h('td', { class: 'actions' },
            h('button', { class: 'btn btn-sm', type: 'button', disabled: u.id === me, onclick: async () => {
              const role = u.role === 'ADMIN' ? 'USER' : 'ADMIN';
              if (!(await confirmDialog(t('users.roleTitle'), t(role === 'ADMIN' ? 'users.makeAdminConfirm' : 'users.makeUserConfirm', { name: u.username })))) return;
              if (await attempt(() => api(`/users/${u.id}/role`, { method: 'PUT', body: { role } }))) load();
            } }, u.role === 'ADMIN' ? t('users.makeUser') : t('users.makeAdmin')),
            h('button', { class: 'btn btn-sm', type: 'button', onclick: async () => {
              const password = await promptDialog(t('users.resetPassword'), { type: 'password', label: t('auth.passwordRule') });
              if (password) await attempt(() => api(`/users/${u.id}/password`, { method: 'PUT', body: { newPassword: password } }));
            } }, t('users.resetPassword')),
            h('button', { class: 'btn btn-sm btn-danger', type: 'button', disabled: u.id === me, onclick: async () => {
              if (!(await confirmDialog(t('users.deleteTitle'), t('users.deleteConfirm', { name: u.username }), { danger: true, confirmLabel: t('common.delete') }))) return;
              if (await attempt(() => api(`/users/${u.id}`, { method: 'DELETE' }), t('common.deleted'))) load();
            } }, t('common.delete'))))) : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, t('users.none'))))));
      const pages = data.pagination?.totalPages || 1;
      const size = select([['10', '10'], ['20', '20'], ['50', '50']], String(limit), { 'aria-label': t('users.pageSize') });
      size.addEventListener('change', () => {
        limit = Number(size.value);
        page = 1;
        load();
      });
      footer.replaceChildren(h('span', {}, t('users.page', { p: page, n: pages })),
        h('button', { class: 'btn btn-sm', type: 'button', disabled: page <= 1, onclick: () => { page--; load(); } }, t('users.prev')),
        h('button', { class: 'btn btn-sm', type: 'button', disabled: page >= pages, onclick: () => { page++; load(); } }, t('users.next')), size);
    }
    const toolbar = h('form', { class: 'toolbar', onsubmit: (event) => { event.preventDefault(); page = 1; load(); } }, search,
      h('button', { class: 'btn btn-sm', type: 'submit' }, t('users.searchButton')),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => { search.value = ''; page = 1; load(); } }, t('users.clear')),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => load() }, t('common.refresh')));
    body.append(h('h3', {}, t('users.createTitle')), create, toolbar, table, footer);
    load();
  },
};
