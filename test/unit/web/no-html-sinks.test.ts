import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const web = join(import.meta.dirname, '../../../web');
const sources = readdirSync(join(web, 'src'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(join(web, 'src', f), 'utf8') }));

describe('the web view puts strings on the page as text only', () => {
  it('has sources to check', () => {
    expect(sources.map((s) => s.file)).toEqual(expect.arrayContaining(['app.ts', 'ansi.ts', 'run-page.ts', 'elements.ts']));
  });

  it('never uses an HTML sink (innerHTML, outerHTML, insertAdjacentHTML, document.write, eval)', () => {
    const sinks = /\b(innerHTML|outerHTML|insertAdjacentHTML|createContextualFragment|DOMParser|srcdoc)\b|document\.write|\beval\s*\(|new\s+Function\s*\(/;
    for (const { file, text } of sources) expect(text, file).not.toMatch(sinks);
  });

  it('never sets an inline style or handler (the CSP forbids them): classes and SVG attributes instead', () => {
    for (const { file, text } of sources) {
      expect(text, file).not.toMatch(/\.style\b|setAttribute\(\s*['"]style['"]|['"]style['"]\s*:|cssText/);
      expect(text, file).not.toMatch(/setAttribute\(\s*['"]on[a-z]+['"]|\bon[a-z]+\s*=\s*['"`]/);
    }
  });

  it('keeps the token and the CSRF value out of page storage and URLs', () => {
    for (const { file, text } of sources) expect(text, file).not.toMatch(/localStorage|sessionStorage|document\.cookie|indexedDB/);
    const signIn = sources.find((s) => s.file === 'sign-in.ts')!.text;
    expect(signIn).not.toMatch(/location|history|\?token=/);
  });

  it('loads nothing from elsewhere: relative URLs only, no CDN', () => {
    for (const { file, text } of sources) expect(text, file).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe('index.html', () => {
  const html = readFileSync(join(web, 'static/index.html'), 'utf8');

  it('has no inline script, inline style or handler attribute', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts).toHaveLength(1);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/type="module"/);
      expect(attributes).toMatch(/src="assets\/app\.js"/);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('refers to its assets relative to the page, so any base path works', () => {
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls).toEqual(expect.arrayContaining(['assets/app.js', 'assets/style.css', 'assets/favicon.svg']));
    for (const url of urls) expect(url).toMatch(/^assets\/[a-z0-9][a-z0-9._-]*$/);
  });

  it('preloads only modules that exist', () => {
    const preloaded = [...html.matchAll(/rel="modulepreload" href="assets\/([a-z0-9-]+)\.js"/g)].map((m) => `${m[1]}.ts`);
    expect(preloaded.length).toBeGreaterThan(0);
    for (const file of preloaded) expect(sources.map((s) => s.file)).toContain(file);
  });
});

describe('style.css', () => {
  const css = readFileSync(join(web, 'static/style.css'), 'utf8');

  it('has a class for each of the 16 ANSI colours, foreground and background, and the attributes', () => {
    for (let n = 0; n < 16; n++) {
      expect(css).toContain(`.ansi-fg-${n} {`);
      expect(css).toContain(`.ansi-bg-${n} {`);
    }
    for (const a of ['bold', 'dim', 'italic', 'underline']) expect(css).toContain(`.ansi-${a} {`);
  });

  it('imports nothing from elsewhere', () => {
    expect(css).not.toMatch(/@import|url\(\s*['"]?https?:/);
  });
});
