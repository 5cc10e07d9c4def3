import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { UiReply } from './http.js';

/**
 * The page's files, served from folders of the package (never from a URL the browser names):
 * `dist/web/` first (the compiled app and what the web build copies there), then `web/static/`
 * (index.html, style.css, favicon.svg). A name is a file name, or one folder and a file name, of
 * lower-case letters, digits, `.`, `_` and `-`; `..` is refused before any path is built, and the
 * resolved path must still lie inside its root, so no spelling of a name reaches another file.
 */
const FILE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const FOLDER_NAME = /^[a-z0-9-]+$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The package's own folders of the web view: the first ancestor of this file that holds package.json. */
export function packageAssetRoots(from = fileURLToPath(import.meta.url)): string[] {
  let dir = path.dirname(from);
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return [];
    dir = up;
  }
  return [path.join(dir, 'dist', 'web'), path.join(dir, 'web', 'static')];
}

/** `folder` is the one optional folder level; null when the name is not one an asset can have. */
export function assetPath(name: string, folder?: string): string | null {
  if (!FILE_NAME.test(name) || name.includes('..')) return null;
  if (folder !== undefined && (!FOLDER_NAME.test(folder) || folder.includes('..'))) return null;
  return folder === undefined ? name : `${folder}/${name}`;
}

export class Assets {
  constructor(private readonly roots: readonly string[]) {}

  /**
   * The file as an answer (the first root that has it wins), or a 404. Names carry no content hash,
   * so the browser asks again every time (`no-cache`) with the validator it has: an unchanged file
   * is a bodiless 304.
   */
  async serve(relative: string | null, res: ServerResponse, ifNoneMatch?: string): Promise<UiReply | undefined> {
    const found = relative === null ? undefined : await this.find(relative);
    if (!found) return { status: 404, headers: { 'cache-control': 'no-store' }, text: 'not found\n' };
    const etag = `W/"${found.size.toString(36)}-${Math.trunc(found.mtimeMs).toString(36)}"`;
    const headers = { etag, 'cache-control': 'no-cache' };
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
      res.writeHead(304, headers);
      res.end();
      return undefined;
    }
    const body = await readFile(found.file);
    res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[path.extname(found.file)] ?? 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
    return undefined;
  }

  private async find(relative: string): Promise<{ file: string; size: number; mtimeMs: number } | undefined> {
    for (const root of this.roots) {
      const base = path.resolve(root);
      const file = path.resolve(base, relative);
      if (!file.startsWith(base + path.sep)) continue;
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) return { file, size: info.size, mtimeMs: info.mtimeMs };
    }
    return undefined;
  }
}
