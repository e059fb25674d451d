import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/api';

// The admin console (public/admin/) is static assets; its behaviour is tested in a real browser
// (npm run test:browser). Here: what must hold of the files themselves, whatever the browser.
const FILES = ['index.html', 'app.js', 'api.js', 'admin.css'];
const asset = async (file: string) => {
  const res = await env.ASSETS.fetch(`http://assets.local/admin/${file}`);
  expect(res.status, file).toBe(200);
  return res.text();
};

describe('admin console assets', () => {
  it('are served as static assets, not by the Worker', async () => {
    expect((await call('/admin/app.js')).status).toBe(404);
    expect(await asset('index.html')).toContain('<script type="module" src="/admin/app.js"></script>');
  });

  it('load nothing from another origin and carry no inline script or style', async () => {
    for (const file of FILES) {
      const text = await asset(file);
      expect(text, file).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
      expect(text, file).not.toMatch(/@import|url\(\s*["']?(?:https?:)?\/\//i);
      expect(text, file).not.toMatch(/import\s*\(?\s*["'](?:https?:)?\/\//);
    }
    const html = await asset('index.html');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('keep tokens out of browser storage and out of HTML sinks', async () => {
    for (const file of ['app.js', 'api.js']) {
      const code = (await asset(file)).replace(/^\s*\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/localStorage|sessionStorage|indexedDB|document\.cookie/);
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    }
    // Cookies ride only on the console-session routes (the HttpOnly refresh cookie's own path,
    // with the CSRF header); every other API call omits them.
    const api = await asset('api.js');
    expect(api).toContain("const credentials = viaConsole ? 'same-origin' : 'omit';");
    expect(api).toContain("if (viaConsole) headers['X-Console-Request'] = '1';");
    expect(api).not.toMatch(/credentials:\s*'include'/);
  });
});
