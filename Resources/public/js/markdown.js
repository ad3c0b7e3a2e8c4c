// Markdown → sanitised HTML: GFM (marked), code cards with a copy button, LaTeX (KaTeX, loaded on first use),
// highlighting (highlight.js, loaded on first finished code block), raw HTML shown as text, DOMPurify last.
import { loadAsset } from './dom.js';
import { t } from './i18n.js';

const escapeMap = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHTML = (text) => String(text).replace(/[&<>"']/g, (c) => escapeMap[c]);

const aliases = { sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash', js: 'javascript', ts: 'typescript', py: 'python', yml: 'yaml' };
const plain = new Set(['', 'plaintext', 'text', 'txt', 'nohighlight']);

function language(info) {
  const name = (info || '').trim().split(/\s+/)[0].toLowerCase();
  return plain.has(name) ? '' : aliases[name] || name;
}

const blockMath = {
  name: 'blockMath',
  level: 'block',
  start(src) {
    const i = src.search(/\$\$|\\\[/);
    return i < 0 ? undefined : i;
  },
  tokenizer(src) {
    const m = /^\$\$([\s\S]+?)\$\$[^\S\n]*(?:\n|$)/.exec(src) || /^\\\[([\s\S]+?)\\\][^\S\n]*(?:\n|$)/.exec(src);
    if (m) return { type: 'blockMath', raw: m[0], text: m[1].trim() };
    return undefined;
  },
  renderer: (token) => `<div class="math math-block">${escapeHTML(token.text)}</div>\n`,
};

const inlineMath = {
  name: 'inlineMath',
  level: 'inline',
  start(src) {
    const i = src.search(/\$|\\\(/);
    return i < 0 ? undefined : i;
  },
  tokenizer(src) {
    const m = /^\$\$([^$]+?)\$\$/.exec(src) || /^\$(?![\s$])([^$\n]*?[^\s$\\])\$(?!\d)/.exec(src) || /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: 'inlineMath', raw: m[0], text: m[1] };
    return undefined;
  },
  renderer: (token) => `<span class="math">${escapeHTML(token.text)}</span>`,
};

let ready = false;
function setup() {
  if (ready) return;
  ready = true;
  window.marked.use({
    gfm: true,
    breaks: false,
    extensions: [blockMath, inlineMath],
    renderer: {
      code(code, info) {
        const lang = language(info);
        if (!lang && !code.includes('\n') && code.length <= 80) return `<p><code>${escapeHTML(code)}</code></p>\n`;
        return (
          `<div class="code-block"><div class="code-head"><span class="code-dots" aria-hidden="true"><i></i><i></i><i></i></span>` +
          `<span class="code-lang">${escapeHTML(lang)}</span>` +
          `<button type="button" class="code-copy">${escapeHTML(t('chat.copy'))}</button></div>` +
          `<pre><code${lang ? ` class="language-${escapeHTML(lang)}"` : ''}>${escapeHTML(code)}</code></pre></div>\n`
        );
      },
      html: (html) => escapeHTML(html),
    },
  });
  window.DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.getAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
}

/** Sanitised HTML for a Markdown text. */
export function renderMarkdown(text) {
  setup();
  const html = window.marked.parse(text || '');
  return window.DOMPurify.sanitize(html, { ADD_ATTR: ['target'], FORBID_TAGS: ['style', 'form', 'input'], USE_PROFILES: { html: true } });
}

// Formulas come from model output, so KaTeX gets them as untrusted input: no \href, \url, \includegraphics or
// \html* (`trust: false`), at most 1,000 macro expansions (a self-doubling \def stops there and shows an error),
// user sizes capped at 10 em, and non-LaTeX extensions accepted without console noise. Rendering is synchronous and
// cannot be interrupted, so a formula longer than `maxFormula` characters is not handed to KaTeX at all: it stays
// as its source, in a code element, which also bounds the work each formula can cost.
const katexOptions = { throwOnError: false, trust: false, strict: 'ignore', maxExpand: 1000, maxSize: 10 };
const maxFormula = 2000;

/** Renders formulas (≤ 2,000 characters each), and when `final`, highlights code (≤ 20,000 characters and 400 lines
 * per block). */
export async function enhance(container, final) {
  const formulas = container.querySelectorAll('.math:not([data-done])');
  if (formulas.length && (final || window.katex)) {
    try {
      await Promise.all([loadAsset('vendor/katex/katex.min.js'), loadAsset('vendor/katex/katex.min.css')]);
      for (const el of formulas) {
        const tex = el.textContent;
        el.dataset.done = '1';
        if (tex.length > maxFormula) {
          const code = document.createElement('code');
          code.className = 'math-source';
          code.textContent = tex;
          el.replaceChildren(code);
          continue;
        }
        window.katex.render(tex, el, { ...katexOptions, displayMode: el.classList.contains('math-block') });
      }
    } catch {
      /* formulas stay as text */
    }
  }
  if (!final) return;
  const blocks = [...container.querySelectorAll('pre code[class*="language-"]:not([data-done])')].filter((el) => {
    const text = el.textContent;
    return text.length <= 20000 && text.split('\n').length <= 400;
  });
  if (!blocks.length) return;
  try {
    await Promise.all([loadAsset('vendor/highlight/highlight.min.js'), loadAsset('vendor/highlight/atom-one-dark.css')]);
    for (const el of blocks) {
      el.dataset.done = '1';
      const lang = /language-([\w+-]+)/.exec(el.className)?.[1];
      if (lang && window.hljs.getLanguage(lang)) window.hljs.highlightBlock(el);
    }
  } catch {
    /* code stays plain */
  }
}
