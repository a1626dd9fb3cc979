// A user agent without a browser for tests/servers/oidc-login.mjs: follows an
// authorization request with plain fetch (redirects by hand, a cookie jar), fills the
// login page's form and stops at the redirect to the client's redirect URI.
// Chromium tests click the same form instead.

/** A minimal cookie jar: name, value and path per cookie, for one server. */
class CookieJar {
  cookies = new Map();

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, v = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = v || '/';
        if (key.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const samePage = (a, b) => a.origin === b.origin && a.pathname === b.pathname;

/**
 * Completes the login of an authorization request to tests/servers/oidc-login.mjs.
 * @param {string | URL} authorizeUrl the full authorization request URL (client_id,
 *   redirect_uri, code_challenge, state, ...).
 * @param {{ username?: string, cancel?: boolean, follow?: boolean, redirectUri?: string,
 *   maxHops?: number }} [opts]
 *   username: typed into the form (default 'test-user'); cancel: press "Cancel" instead of
 *   "Log in" (the callback then carries error=access_denied); follow: also GET the callback
 *   URL (for a CLI's loopback listener) and return its answer; redirectUri: where to stop
 *   (default: the request's redirect_uri parameter, compared by origin and path).
 * @returns {Promise<{ callbackUrl: string, query: Record<string, string>,
 *   response?: { status: number, body: string } }>} the callback URL the server redirected
 *   to, its query as an object (code, state, iss; or error, error_description, state), and
 *   with follow: true the callback's status and body text.
 * @throws Error when the server answers anything but a redirect or the login page
 *   (e.g. a 400 error page for an unregistered redirect URI), with its status and text.
 */
export async function completeLogin(authorizeUrl, opts = {}) {
  const { username = 'test-user', cancel = false, follow = false, maxHops = 20 } = opts;
  let url = new URL(authorizeUrl);
  const redirectUri = new URL(opts.redirectUri ?? url.searchParams.get('redirect_uri'));
  const jar = new CookieJar();
  let request = { method: 'GET' };
  for (let hop = 0; hop < maxHops; hop += 1) {
    const cookie = jar.header(url);
    const response = await fetch(url, {
      ...request,
      redirect: 'manual',
      headers: { ...request.headers, ...(cookie ? { cookie } : {}) },
    });
    jar.store(response);
    if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
      await response.arrayBuffer();
      url = new URL(response.headers.get('location'), url);
      request = { method: 'GET' };
      if (samePage(url, redirectUri)) return callback(url, follow);
      continue;
    }
    const text = await response.text();
    const form = /<form method="post" action="([^"]+)"/.exec(text);
    if (response.status !== 200 || !form) {
      throw new Error(`login agent: ${response.status} at ${url.pathname}: ${text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    }
    url = new URL(form[1].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))), url);
    request = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(cancel ? { action: 'cancel' } : { username, action: 'login' }).toString(),
    };
  }
  throw new Error(`login agent: more than ${maxHops} requests without reaching ${redirectUri.href}`);
}

async function callback(url, follow) {
  const result = { callbackUrl: url.href, query: Object.fromEntries(url.searchParams) };
  if (follow) {
    const response = await fetch(url);
    result.response = { status: response.status, body: await response.text() };
  }
  return result;
}
