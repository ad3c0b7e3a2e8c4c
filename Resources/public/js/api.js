// JSON calls to /api with the cookie the server set; a 401 sends the user to the login page.
import { backendError, t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let redirecting = false;
function toLogin() {
  if (redirecting) return;
  redirecting = true;
  location.href = '/auth/login?next=' + encodeURIComponent(location.pathname + location.search);
}

async function errorOf(response) {
  let message = '';
  try {
    const json = await response.json();
    message = json?.error || json?.message || '';
  } catch {
    /* not JSON */
  }
  if (response.status === 502 && !message) message = t('errors.backendDown');
  return new ApiError(response.status, backendError(message || `${response.status} ${response.statusText}`));
}

function init(method, body, signal, accept = 'application/json') {
  const options = { method, credentials: 'same-origin', headers: { Accept: accept }, signal };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  return options;
}

/** Sends the request; a network failure becomes an ApiError, a 401 goes to the login page. */
async function send(path, options) {
  let response;
  try {
    response = await fetch('/api' + path, options);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, t('errors.network'));
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, t('errors.sessionExpired'));
  }
  return response;
}

/** Calls `/api<path>` and returns the envelope's `data` (or the whole body when it has none). */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const response = await send(path, init(method, body, signal));
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  const json = await response.json().catch(() => null);
  if (json && json.success === false) throw new ApiError(response.status, backendError(json.error || ''));
  return json && 'data' in json ? json.data : json;
}

/** Starts a streaming request; returns the response (null for 204) or throws the JSON error. */
export async function openStream(path, { method = 'POST', body, signal } = {}) {
  const response = await send(path, init(method, body, signal, 'text/event-stream'));
  if (response.status === 204) return null;
  if (!response.ok) throw await errorOf(response);
  return response;
}
