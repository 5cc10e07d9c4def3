import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HookTarget {
  /** The orchestrator's base URL, e.g. `http://127.0.0.1:4000` (a base path, if any, included). */
  url: string;
  orgId: string;
  sourceId: string;
  secret: string;
}

/** Marks hooks we wrote, so a re-install may replace them but never someone else's hook. */
export const HOOK_MARKER = '# kici post-receive hook';

/** Single-quotes a value for bash; the only character needing care inside single quotes is `'`. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function webhookUrl(target: Pick<HookTarget, 'url' | 'orgId' | 'sourceId'>): string {
  const base = target.url.replace(/\/+$/, '');
  return `${base}/webhook/${encodeURIComponent(target.orgId)}/git/${encodeURIComponent(target.sourceId)}`;
}

// Builds the JSON body and its signature in one node call. The secret reaches node through the
// environment, never argv, so it does not show up in the process list.
const SIGN_SCRIPT = [
  'const c=require("node:crypto");const e=process.env;',
  'const body=JSON.stringify({ref:e.HOOK_REF,before:e.HOOK_BEFORE,after:e.HOOK_AFTER,repository:{name:e.HOOK_REPO_NAME,url:e.HOOK_REPO_URL}});',
  'process.stdout.write("sha256="+c.createHmac("sha256",e.HOOK_SECRET).update(body).digest("hex")+"\\n"+body+"\\n");',
].join('');

const POST_SCRIPT = [
  'const e=process.env;',
  'fetch(e.HOOK_URL,{method:"POST",body:e.HOOK_BODY,signal:AbortSignal.timeout(30000),',
  'headers:{"content-type":"application/json","x-delivery-id":e.HOOK_ID,"x-signature-256":e.HOOK_SIG}})',
  '.then(r=>process.stdout.write(String(r.status)),()=>process.stdout.write("000"));',
].join('');

/**
 * A bash `post-receive` hook that posts one signed delivery per updated ref. It embeds the source
 * secret, so the file must stay private (installHook writes it 0700). It never fails the push:
 * post-receive runs after the refs moved, and the orchestrator can be told again later.
 */
export function postReceiveHookScript(target: HookTarget): string {
  return `#!/usr/bin/env bash
${HOOK_MARKER} (written by kici-admin source install-hook; contains the source secret, keep it 0700).
# Posts one signed delivery per updated ref to kici. It never rejects a push.
set -u
kici_endpoint=${shellQuote(webhookUrl(target))}
kici_source_id=${shellQuote(target.sourceId)}
kici_secret=${shellQuote(target.secret)}
kici_repo_dir=$(pwd -P)
kici_repo_name=$(basename "$kici_repo_dir" .git)

kici_post() {
  if command -v curl >/dev/null 2>&1; then
    curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -X POST \\
      -H 'Content-Type: application/json' -H "X-Delivery-Id: $1" -H "X-Signature-256: $2" \\
      --data-binary "$3" "$kici_endpoint" || true
  else
    HOOK_URL="$kici_endpoint" HOOK_ID="$1" HOOK_SIG="$2" HOOK_BODY="$3" node -e ${shellQuote(POST_SCRIPT)}
  fi
}

while read -r old new ref; do
  [ -n "\${ref:-}" ] || continue
  signed=$(HOOK_SECRET="$kici_secret" HOOK_REF="$ref" HOOK_BEFORE="$old" HOOK_AFTER="$new" \\
    HOOK_REPO_NAME="$kici_repo_name" HOOK_REPO_URL="file://$kici_repo_dir" node -e ${shellQuote(SIGN_SCRIPT)}) || {
    echo "kici: could not sign the delivery for $ref (is node installed?)" >&2
    continue
  }
  signature=$(printf '%s\\n' "$signed" | sed -n 1p)
  body=$(printf '%s\\n' "$signed" | sed -n 2p)
  code=$(kici_post "$kici_source_id:$ref:$new" "$signature" "$body")
  case "\${code:-000}" in
    2*) echo "kici: delivered $ref ($code)" ;;
    *) echo "kici: delivery of $ref failed (HTTP $code)" >&2 ;;
  esac
done
exit 0
`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `<repo>/.git/hooks` for a working clone, `<repo>/hooks` for a bare repository. */
async function hooksDir(repoPath: string): Promise<string> {
  if (await isDirectory(join(repoPath, '.git'))) return join(repoPath, '.git', 'hooks');
  if ((await isDirectory(join(repoPath, 'objects'))) && (await isDirectory(join(repoPath, 'refs')))) {
    return join(repoPath, 'hooks');
  }
  throw new Error(`${repoPath} is not a git repository`);
}

async function existingHook(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Writes the hook as `post-receive`, mode 0700, via a temporary file and a rename so a push never
 * runs a half-written hook. Refuses to replace a hook kici did not write unless `force` is set.
 * Returns the hook's path.
 */
export async function installHook(repoPath: string, script: string, options: { force?: boolean } = {}): Promise<string> {
  const dir = await hooksDir(repoPath);
  await mkdir(dir, { recursive: true });
  const target = join(dir, 'post-receive');
  const current = await existingHook(target);
  if (current !== null && !current.includes(HOOK_MARKER) && !options.force) {
    throw new Error(`${target} already exists and was not written by kici; pass force to replace it`);
  }
  const temporary = `${target}.kici-${process.pid}.tmp`;
  await writeFile(temporary, script, { mode: 0o700 });
  await chmod(temporary, 0o700);
  await rename(temporary, target);
  return target;
}
