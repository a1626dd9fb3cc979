// The token inspector: datacosmos-auth's ./web entry in a plain page (no framework, no
// build step). `make demo` serves this folder at / and the package at /pkg/; in your own
// app import "datacosmos-auth/web" (or "datacosmos-auth" through a bundler) instead.
const ENTRY = '/pkg/index.js';
const DEFAULT_API_URL = 'https://app.open-cosmos.com/api/data/v0/stac/collections';

const $ = (id) => document.getElementById(id);
const form = $('token-form');
const fields = {
  tokenUrl: $('token-url'),
  clientId: $('client-id'),
  clientSecret: $('client-secret'),
  audience: $('audience'),
  scope: $('scope'),
  authMethod: $('auth-method'),
  bodyEncoding: $('body-encoding'),
};

let lib; // the package module
let client; // one TokenClient per configuration: it caches the token
let clientKey = '';
let shown; // { info, receivedAt, lifetimeMs }
let ticker;

// ---- helpers ---------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function decodePart(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const value = JSON.parse(new TextDecoder().decode(bytes));
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
  return value;
}

/** A JWT's header and claims, or null for an opaque token. Not verified: display only. */
function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return { header: decodePart(parts[0]), claims: decodePart(parts[1]), parts };
  } catch {
    return null;
  }
}

const CLAIM_NAMES = {
  alg: 'signing algorithm', typ: 'type', kid: 'key id', cty: 'content type',
  iss: 'issuer', sub: 'subject', aud: 'audience', exp: 'expires', nbf: 'not before',
  iat: 'issued at', jti: 'token id', azp: 'authorized party', gty: 'grant type',
  scope: 'scope', permissions: 'permissions', client_id: 'client id',
};
const TIME_CLAIMS = new Set(['exp', 'nbf', 'iat', 'auth_time']);

function fillClaims(dl, object) {
  dl.replaceChildren();
  for (const [name, value] of Object.entries(object)) {
    const dt = el('dt', {}, el('code', {}, name));
    if (CLAIM_NAMES[name]) dt.append(el('span', { class: 'claim-name' }, CLAIM_NAMES[name]));
    const dd = el('dd', { 'data-claim': name });
    if (TIME_CLAIMS.has(name) && typeof value === 'number') {
      dd.append(el('span', { class: 'value' }, String(value)),
        el('span', { class: 'when' }, new Date(value * 1000).toLocaleString()));
    } else {
      dd.append(el('span', { class: 'value' }, typeof value === 'string' ? value : JSON.stringify(value)));
    }
    dl.append(dt, dd);
  }
}

function formatRemaining(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min ${sec} s`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${s % 60} s`;
}

// Shell single quotes: safe for any value.
const shQuote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;

function configFromForm() {
  const value = (name) => fields[name].value.trim();
  const config = {
    clientId: value('clientId'),
    clientSecret: fields.clientSecret.value,
    authMethod: value('authMethod'),
    bodyEncoding: value('bodyEncoding'),
  };
  if (value('tokenUrl')) config.tokenUrl = value('tokenUrl');
  if (value('audience')) config.audience = value('audience');
  if (value('scope')) config.scope = value('scope');
  return config;
}

function setStatus(node, text, tone = '') {
  node.textContent = text;
  node.dataset.tone = tone;
}

// ---- rendering -------------------------------------------------------------------

function showError(err) {
  const isOAuth = lib && err instanceof lib.OAuthError;
  const code = isOAuth ? err.code : (err?.name ?? 'error');
  $('error-code').textContent = code;
  $('error-status').textContent = isOAuth && err.status !== undefined ? `HTTP ${err.status}` : 'no HTTP response';
  $('error-description').textContent = (isOAuth && err.description) || '';
  $('error-description').hidden = !(isOAuth && err.description);
  $('error-message').textContent = err?.message ?? String(err);
  $('error-hint').textContent = hintFor(code);
  $('error').dataset.code = code;
  $('error').hidden = false;
  // A failed request replaces what was shown: no stale token next to the error.
  clearInterval(ticker);
  shown = undefined;
  $('result').hidden = true;
  $('forget').disabled = true;
}

function hintFor(code) {
  switch (code) {
    case 'invalid_client':
    case 'access_denied':
    case 'unauthorized_client':
      return 'The server refused these credentials: check the client ID, the secret and the audience.';
    case 'invalid_scope':
      return 'The server does not grant this scope to this client.';
    case 'invalid_config':
      return 'The configuration was refused before any request was sent (see the message below).';
    case 'network_error':
      return 'No response: the token URL is unreachable, or its server does not allow cross-origin requests (CORS) from this page. Call it from a backend instead.';
    case 'timeout':
      return 'The token endpoint did not answer in time.';
    case 'invalid_response':
      return 'The server answered, but not with a token response.';
    case 'http_error':
      return 'The server answered with an HTTP error without an OAuth error code.';
    default:
      return '';
  }
}

function showToken(info, source) {
  const jwt = decodeJwt(info.accessToken);
  const receivedAt = Date.now();
  const lifetimeMs = jwt && typeof jwt.claims.exp === 'number' && typeof jwt.claims.iat === 'number'
    ? (jwt.claims.exp - jwt.claims.iat) * 1000
    : Math.max(info.expiresAt - receivedAt, 1);
  shown = { info, receivedAt, lifetimeMs };

  $('token-type').textContent = info.tokenType;
  $('token-scope').textContent = info.scope ?? '(none granted)';
  $('token-scope').classList.toggle('muted', !info.scope);
  const at = new Date(info.expiresAt);
  $('expires-at').dateTime = at.toISOString();
  $('expires-at').replaceChildren(
    el('span', {}, at.toLocaleTimeString()),
    el('span', { class: 'date' }, at.toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' })),
  );
  $('token-length').textContent = `${info.accessToken.length} characters`;
  $('token-text').textContent = info.accessToken;

  const view = $('token-view');
  view.replaceChildren();
  if (jwt) {
    const [h, p, s] = jwt.parts;
    view.append(el('span', { class: 'jwt-h' }, h), '.', el('span', { class: 'jwt-p' }, p), '.', el('span', { class: 'jwt-s' }, s));
    fillClaims($('jwt-header'), jwt.header);
    fillClaims($('jwt-claims'), jwt.claims);
  } else {
    view.textContent = info.accessToken;
    const opaque = () => el('p', { class: 'muted' }, 'An opaque token (not a JWT): nothing to decode.');
    $('jwt-header').replaceChildren(opaque());
    $('jwt-claims').replaceChildren(opaque());
  }
  setStatus($('source'), source.text, source.tone);
  renderSnippets();
  $('call-body').hidden = true;
  setStatus($('call-status'), '');
  $('result').hidden = false;
  tick();
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
}

function tick() {
  if (!shown) return;
  const remaining = shown.info.expiresAt - Date.now();
  const countdown = $('countdown');
  countdown.textContent = formatRemaining(remaining);
  countdown.dataset.seconds = String(Math.max(0, Math.floor(remaining / 1000)));
  countdown.classList.toggle('expired', remaining <= 0);
  countdown.classList.toggle('soon', remaining > 0 && remaining < 60_000);
  const share = Math.min(1, Math.max(0, remaining / shown.lifetimeMs));
  $('lifetime-bar').style.width = `${(share * 100).toFixed(2)}%`;
  $('lifetime-bar').classList.toggle('soon', remaining < 60_000);
  if (remaining <= 0) clearInterval(ticker);
}

function renderSnippets() {
  if (!shown) return;
  const token = shown.info.accessToken;
  const url = $('api-url').value.trim() || DEFAULT_API_URL;
  // The token is dimmed so that the command stands out; the text copied is the same.
  const dim = (text) => el('span', { class: 'snippet-token' }, text);
  $('curl-snippet').replaceChildren(
    'TOKEN=', dim(shQuote(token)), '\n',
    'curl -H "Authorization: Bearer $TOKEN" \\\n',
    `  ${shQuote(url)}`,
  );
  $('fetch-snippet').replaceChildren(
    'const token = ', dim(JSON.stringify(token)), ';\n',
    `const res = await fetch(${JSON.stringify(url)}, {\n`,
    '  headers: { Authorization: `Bearer ${token}` },\n',
    '});\n',
    'console.log(res.status, await res.json());',
  );
}

// ---- actions ---------------------------------------------------------------------

async function getToken(event) {
  event.preventDefault();
  $('error').hidden = true;
  const config = configFromForm();
  const missing = ['clientId', 'clientSecret'].filter((name) => !config[name]);
  for (const name of ['clientId', 'clientSecret']) {
    fields[name].setAttribute('aria-invalid', String(missing.includes(name)));
  }
  if (missing.length) {
    setStatus($('status'), 'Enter a client ID and a client secret.', 'bad');
    fields[missing[0]].focus();
    return;
  }
  const button = $('get-token');
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  setStatus($('status'), 'Requesting a token…', 'busy');
  const started = performance.now();
  try {
    const key = JSON.stringify(config);
    if (key !== clientKey || !client) {
      client?.free();
      client = undefined;
      clientKey = '';
      client = new lib.TokenClient(config); // throws invalid_config synchronously
      clientKey = key;
    }
    const previous = shown?.info.accessToken;
    const info = await client.getTokenInfo();
    const ms = Math.round(performance.now() - started);
    const cached = previous === info.accessToken;
    showToken(info, cached
      ? { text: `Served from the client's cache in ${ms} ms: no request sent`, tone: 'ok' }
      : { text: `Fetched from the token endpoint in ${ms} ms`, tone: 'ok' });
    setStatus($('status'), cached ? 'Same token, from the cache.' : 'Token received.', 'ok');
    $('forget').disabled = false;
  } catch (err) {
    setStatus($('status'), 'The request failed.', 'bad');
    showError(err);
    $('error').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  } finally {
    button.disabled = false;
    form.setAttribute('aria-busy', 'false');
  }
}

function forget() {
  client?.clear();
  setStatus($('status'), 'Cache cleared: the next “Get token” asks the server again.', '');
  $('forget').disabled = true;
}

async function callApi() {
  const url = $('api-url').value.trim() || DEFAULT_API_URL;
  const status = $('call-status');
  const body = $('call-body');
  setStatus(status, `GET ${url}…`, 'busy');
  body.hidden = true;
  try {
    const res = await client.fetch(url);
    const text = await res.text();
    let pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON */ }
    setStatus(status, `HTTP ${res.status} ${res.statusText}`.trim(), res.ok ? 'ok' : 'bad');
    body.textContent = pretty.length > 4000 ? `${pretty.slice(0, 4000)}\n…` : pretty;
    body.hidden = false;
  } catch (err) {
    const code = lib && err instanceof lib.OAuthError ? `${err.code}: ` : '';
    setStatus(status, `${code}${err.message} (a browser blocks responses without CORS headers)`, 'bad');
  }
}

async function copy(button) {
  const text = $(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API unavailable: copy through a selection.
    const area = el('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  button.classList.add('done');
  setTimeout(() => { button.textContent = label; button.classList.remove('done'); }, 1500);
}

// ---- user login (authorization code + PKCE) ---------------------------------------
// UserLogin from the same entry. The redirect URI is this page itself: the server sends
// the browser back here with `code` and `state` in the query. The form's values (no
// secret: a public application has none) wait in sessionStorage across the redirect.
const LOGIN_SETTINGS = 'datacosmos-auth-www:login';
const loginFields = {
  clientId: $('login-client-id'),
  audience: $('login-audience'),
  authorizeUrl: $('login-authorize-url'),
  tokenUrl: $('login-token-url'),
  keep: $('login-keep'),
};
let userLogin; // the UserLogin of the settings in use
let userClient; // its TokenClient once logged in
let loginTicker;

const redirectUri = () => `${location.origin}${location.pathname}`;

function loginSettings() {
  const settings = { keep: loginFields.keep.checked };
  for (const name of ['clientId', 'audience', 'authorizeUrl', 'tokenUrl']) settings[name] = loginFields[name].value.trim();
  return settings;
}

function savedLoginSettings() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(LOGIN_SETTINGS));
    return saved && typeof saved === 'object' ? saved : undefined;
  } catch {
    return undefined;
  }
}

function fillLoginForm(settings) {
  for (const name of ['clientId', 'audience', 'authorizeUrl', 'tokenUrl']) {
    if (typeof settings[name] === 'string') loginFields[name].value = settings[name];
  }
  loginFields.keep.checked = settings.keep === true;
}

/** The UserLogin of `settings` (throws invalid_config). The revocation URL is /oauth/revoke on the authorize URL's host (Auth0's). */
function makeUserLogin(settings) {
  const config = { clientId: settings.clientId, redirectUri: redirectUri() };
  if (settings.audience) config.audience = settings.audience;
  if (settings.tokenUrl) config.tokenUrl = settings.tokenUrl;
  if (settings.authorizeUrl) {
    config.authorizeUrl = settings.authorizeUrl;
    if (URL.canParse(settings.authorizeUrl)) config.revocationUrl = new URL('/oauth/revoke', settings.authorizeUrl).href;
  }
  if (settings.keep) config.storage = sessionStorage;
  return new lib.UserLogin(config);
}

function setLoginState(state) {
  $('login').dataset.state = state;
  $('login-form').setAttribute('aria-busy', String(state === 'busy'));
}

function showLoginError(err) {
  const isOAuth = err instanceof lib.OAuthError;
  $('login-error-code').textContent = isOAuth ? err.code : (err?.name ?? 'error');
  $('login-error-description').textContent = (isOAuth && err.description) || '';
  $('login-error-message').textContent = err?.message ?? String(err);
  $('login-error').hidden = false;
  setStatus($('login-status'), 'The login failed.', 'bad');
  setLoginState('error');
}

/** A token shown masked: its first 6 and last 4 characters (all dots when it is short). */
function mask(token) {
  return token.length < 20 ? '•'.repeat(token.length) : `${token.slice(0, 6)}${'•'.repeat(12)}${token.slice(-4)}`;
}

function showSession(info, how) {
  $('login-error').hidden = true;
  const jwt = decodeJwt(info.accessToken);
  // The user, where the access token is a JWT (Auth0's are); an opaque one says nothing.
  const sub = typeof jwt?.claims.sub === 'string' ? jwt.claims.sub : '';
  $('login-user').textContent = sub;
  $('login-user').parentElement.hidden = !sub;
  const at = new Date(info.expiresAt);
  $('login-expires-at').dateTime = at.toISOString();
  $('login-expires-at').textContent = at.toLocaleString();
  $('login-kept').textContent = userLogin && loginFields.keep.checked ? 'sessionStorage (this tab)' : 'this page only (memory)';
  $('login-token-masked').textContent = `${mask(info.accessToken)}  (${info.accessToken.length} characters)`;
  $('login-token-text').textContent = info.accessToken;
  $('login-session').hidden = false;
  $('login-session').dataset.expiresAt = String(info.expiresAt);
  $('login-badge').hidden = false;
  $('logout').disabled = false;
  setStatus($('login-status'), how, 'ok');
  const tickLogin = () => { $('login-expires-in').textContent = formatRemaining(info.expiresAt - Date.now()); };
  tickLogin();
  clearInterval(loginTicker);
  loginTicker = setInterval(tickLogin, 1000);
  setLoginState('in');
}

function hideSession() {
  clearInterval(loginTicker);
  $('login-session').hidden = true;
  $('login-badge').hidden = true;
  $('login-token-text').textContent = '';
  $('login-token-masked').textContent = '';
}

async function startLogin(event) {
  event.preventDefault();
  $('login-error').hidden = true;
  const settings = loginSettings();
  loginFields.clientId.setAttribute('aria-invalid', String(!settings.clientId));
  if (!settings.clientId) {
    setStatus($('login-status'), 'Enter the client ID of a public application.', 'bad');
    loginFields.clientId.focus();
    return;
  }
  setLoginState('busy');
  try {
    const next = makeUserLogin(settings); // invalid_config before leaving the page
    sessionStorage.setItem(LOGIN_SETTINGS, JSON.stringify(settings));
    setStatus($('login-status'), 'Redirecting to the login page…', 'busy');
    await next.redirect();
  } catch (err) {
    showLoginError(err);
  }
}

async function logout() {
  $('logout').disabled = true;
  try {
    await userLogin?.logout();
  } finally {
    userClient = undefined;
    hideSession();
    setStatus($('login-status'), 'Logged out: the session is gone from this page and the refresh token was revoked.', '');
    setLoginState('out');
  }
}

/** On load: completes a login when the server sent the browser back here, else restores a kept session. */
async function resumeLogin() {
  const saved = savedLoginSettings();
  if (saved) fillLoginForm(saved);
  const query = new URLSearchParams(location.search);
  const isCallback = query.has('state') && (query.has('code') || query.has('error'));
  try {
    if (isCallback) {
      const callbackUrl = location.href;
      // The code is single use: it leaves the address bar (and history) at once.
      history.replaceState(null, '', redirectUri());
      setLoginState('busy');
      setStatus($('login-status'), 'Completing the login…', 'busy');
      $('login').scrollIntoView({ block: 'start' });
      if (!saved?.clientId) throw new lib.OAuthError('state_mismatch', 'this login was not started from this tab');
      userLogin = makeUserLogin(saved);
      userClient = await userLogin.handleCallback(callbackUrl);
      showSession(await userClient.getTokenInfo(), 'Logged in.');
    } else if (saved?.clientId && saved.keep) {
      userLogin = makeUserLogin(saved);
      userClient = await userLogin.restore();
      if (userClient) showSession(await userClient.getTokenInfo(), 'Session restored from sessionStorage.');
      else setLoginState('out');
    } else {
      setLoginState('out');
    }
  } catch (err) {
    showLoginError(err);
  }
}

// ---- start -----------------------------------------------------------------------

form.addEventListener('submit', getToken);
$('forget').addEventListener('click', forget);
$('call-api').addEventListener('click', callApi);
$('api-url').addEventListener('input', renderSnippets);
$('login-form').addEventListener('submit', startLogin);
$('logout').addEventListener('click', logout);
$('login-redirect-uri').textContent = redirectUri();
for (const button of document.querySelectorAll('button.copy')) button.addEventListener('click', () => copy(button));
$('toggle-secret').addEventListener('click', (event) => {
  const shownNow = fields.clientSecret.type === 'text';
  fields.clientSecret.type = shownNow ? 'password' : 'text';
  event.currentTarget.textContent = shownNow ? 'Show' : 'Hide';
  event.currentTarget.setAttribute('aria-label', `${shownNow ? 'Show' : 'Hide'} the client secret`);
});

// `make demo` serves /demo-config.json for its embedded token server; elsewhere it is absent.
async function prefill() {
  try {
    const res = await fetch('/demo-config.json', { cache: 'no-store' });
    if (!res.ok) return;
    const demo = await res.json();
    for (const name of ['tokenUrl', 'clientId', 'clientSecret', 'audience', 'scope']) {
      if (typeof demo[name] === 'string') fields[name].value = demo[name];
    }
    if (typeof demo.resourceUrl === 'string') $('api-url').value = demo.resourceUrl;
    $('prefilled').hidden = typeof demo.clientId !== 'string';
  } catch {
    // No demo server: empty fields.
  }
}

async function load() {
  $('api-url').value = DEFAULT_API_URL;
  const prefilled = prefill();
  try {
    lib = await import(ENTRY);
  } catch (err) {
    setStatus($('status'), `Could not load ${ENTRY}: ${err.message}. Run \`make demo\` (it builds the package).`, 'bad');
    return;
  }
  await prefilled;
  $('get-token').disabled = false;
  $('login-start').disabled = false;
  setStatus($('status'), 'Ready.', '');
  await resumeLogin();
  document.documentElement.dataset.ready = 'true';
}

load();
