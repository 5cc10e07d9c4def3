import { FLUSH_FLAG, SPOOL_SHELL } from './hook-spool.js';

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
 * post-receive runs after the refs moved. What it cannot deliver waits in the spool (see
 * hook-spool.ts): each push first writes its refs there, then sends the whole spool oldest first,
 * so one code path sends both new and kept deliveries in the order they were pushed. With
 * `--flush` (what `kici-admin source redeliver` runs) it sends the spool only and exits 1 when
 * something is still kept; the secret never has to leave this file for that.
 */
export function postReceiveHookScript(target: HookTarget): string {
  return `#!/usr/bin/env bash
${HOOK_MARKER} (written by kici-admin source install-hook; contains the source secret, keep it 0700).
# Posts one signed delivery per updated ref to kici. It never rejects a push.
set -u
kici_endpoint=${shellQuote(webhookUrl(target))}
kici_source_id=${shellQuote(target.sourceId)}
kici_secret=${shellQuote(target.secret)}
# git runs post-receive in the git directory; kici-admin source redeliver does the same.
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

# Signs and posts one delivery (id ref before after), printing the HTTP status: 000 when nothing
# answered, "unsigned" when node could not sign. Signing at send time keeps the secret and the
# signature out of the spool.
kici_send() {
  local signed
  signed=$(HOOK_SECRET="$kici_secret" HOOK_REF="$2" HOOK_BEFORE="$3" HOOK_AFTER="$4" \\
    HOOK_REPO_NAME="$kici_repo_name" HOOK_REPO_URL="file://$kici_repo_dir" node -e ${shellQuote(SIGN_SCRIPT)}) || {
    echo unsigned
    return
  }
  kici_post "$1" "$(printf '%s\\n' "$signed" | sed -n 1p)" "$(printf '%s\\n' "$signed" | sed -n 2p)"
}

${SPOOL_SHELL}
if [ "\${1:-}" = ${FLUSH_FLAG} ]; then
  kici_flush
  kici_kept || exit 1
  echo "kici: nothing left to send in $kici_spool"
  exit 0
fi

while read -r old new ref; do
  [ -n "\${ref:-}" ] || continue
  kici_enqueue "$kici_source_id:$ref:$new" "$ref" "$old" "$new" && continue
  # Without a spool there is one try and no later.
  code=$(kici_send "$kici_source_id:$ref:$new" "$ref" "$old" "$new")
  case $code in
    2??) echo "kici: delivered $ref ($code)" ;;
    *) echo "kici: could not keep $ref in $kici_spool, and its delivery got HTTP $code" >&2 ;;
  esac
done
kici_flush
kici_kept ||
  echo "kici: the next push sends them first, or run: kici-admin source redeliver $kici_source_id --repo $kici_repo_dir" >&2
exit 0
`;
}
