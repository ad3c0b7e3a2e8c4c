// Sign-in pages: the same rules as the server, shown while typing, and a busy state while the form posts.
import { t } from './i18n.js';

const form = document.getElementById('login-form') || document.getElementById('register-form');
const submit = document.getElementById('submit');
const username = document.getElementById('username');
const password = document.getElementById('password');
const confirm = document.getElementById('confirm');
const clientError = document.getElementById('client-error');

const validUsername = (v) => /^[A-Za-z0-9_]{3,20}$/.test(v);
const validPassword = (v) => v.length >= 8 && v.length <= 256 && /[A-Za-z]/.test(v) && /[0-9]/.test(v);

function problem() {
  // The login button stays enabled: browsers hide autofilled passwords from scripts until the user interacts,
  // and the required fields are checked natively.
  if (!confirm) return '';
  if (!validUsername(username.value.trim())) return username.value ? t('auth.usernameRule') : ' ';
  if (!validPassword(password.value)) return password.value ? t('auth.passwordRule') : ' ';
  if (confirm.value && confirm.value !== password.value) return t('auth.mismatch');
  if (!confirm.value) return ' ';
  return '';
}

function update() {
  const text = problem();
  submit.disabled = !!text;
  if (clientError) {
    clientError.textContent = text.trim();
    clientError.hidden = !text.trim();
  }
}

if (form) {
  form.addEventListener('input', update);
  form.addEventListener('submit', (event) => {
    if (problem()) {
      event.preventDefault();
      return;
    }
    submit.disabled = true;
    submit.textContent = submit.dataset.busy;
  });
  // Going back to a page that was left while posting shows it live again.
  window.addEventListener('pageshow', () => {
    submit.textContent = confirm ? t('auth.register') : t('auth.login');
    update();
  });
  update();
}
