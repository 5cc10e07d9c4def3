import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The post-receive hook's spool: pushes it could not deliver wait inside the repository's git
 * directory, one file per delivery, until the next push or `kici-admin source redeliver` sends
 * them. The format lives here twice, as the bash the hook runs and as the reader kici-admin uses.
 *
 * Each file is named `<12-digit sequence>-<pid>.delivery`, so names sort oldest first (the pid
 * keeps two pushes at once from taking the same name), and holds `id=`, `ref=`, `before=` and
 * `after=` lines. Never the secret or a signature: the hook signs when it sends.
 */
export const SPOOL_DIR = 'kici-spool';

/** The hook's argument that sends the spool and reads no refs from stdin. */
export const FLUSH_FLAG = '--flush';

/** Hooks carrying this line know FLUSH_FLAG; older kici hooks would wait for refs on stdin instead. */
export const SPOOL_MARKER = '# kici hook spool v1';

export interface SpooledDelivery {
  /** The file's name inside the spool directory. */
  file: string;
  /** The delivery id it was first sent with, kept so the orchestrator's dedup knows a repeat. */
  id: string;
  ref: string;
  before: string;
  after: string;
}

/**
 * Bash for the hook: kici_enqueue, kici_flush and kici_kept. It expects kici_repo_dir (the git
 * directory) and kici_send (signs and posts one delivery, printing the HTTP status) to exist.
 */
export const SPOOL_SHELL = `${SPOOL_MARKER}: undelivered pushes wait in ${SPOOL_DIR}/, one file each.
kici_spool="$kici_repo_dir/${SPOOL_DIR}"
# Spool names sort oldest first only in byte order, whatever the pushing user's locale.
LC_COLLATE=C
shopt -s nullglob

# Writes one delivery (id ref before after) to a dot-file, then renames it into place, so a flush
# never reads half a file. umask 077 makes the directory 0700 and the file 0600.
kici_enqueue() {
  local file name last=0
  for file in "$kici_spool"/*.delivery; do name=\${file##*/}; last=\${name%%-*}; done
  case $last in '' | *[!0-9]*) last=0 ;; esac
  name=$(printf '%012d-%s.delivery' $((10#$last + 1)) "$$")
  (umask 077 && mkdir -p "$kici_spool" &&
    printf 'id=%s\\nref=%s\\nbefore=%s\\nafter=%s\\n' "$1" "$2" "$3" "$4" >"$kici_spool/.$name.tmp" &&
    mv -f "$kici_spool/.$name.tmp" "$kici_spool/$name")
}

# Sets d_id, d_ref, d_before and d_after from one spool file; fails if it is gone or incomplete.
kici_read() {
  local line
  d_id='' d_ref='' d_before='' d_after=''
  [ -f "$1" ] || return 1
  while IFS= read -r line; do
    case $line in
      id=*) d_id=\${line#id=} ;;
      ref=*) d_ref=\${line#ref=} ;;
      before=*) d_before=\${line#before=} ;;
      after=*) d_after=\${line#after=} ;;
    esac
  done <"$1" 2>/dev/null || return 1
  [ -n "$d_id" ] && [ -n "$d_ref" ] && [ -n "$d_after" ]
}

# Sends the spool oldest first, each delivery under the id it was first sent with. It stops at
# the first answer that sending again could change (none at all, 408, 429, 5xx), so a down
# orchestrator costs one timeout, not one per file, and what is left keeps its order. Every other
# answer is final and removes the file: 2xx is delivered (a 200 duplicate too); anything else
# (404 unknown or disabled source, 401 wrong secret, 400…) would come back the same every time,
# as it would have had kici been up at the push, and must not block the spool forever.
kici_flush() {
  local file code
  for file in "$kici_spool"/*.delivery; do
    if ! kici_read "$file"; then
      # A concurrent flush may have sent it already; anything else unreadable is set aside.
      [ -f "$file" ] && mv -f "$file" "$file.unreadable" && echo "kici: set aside $file.unreadable: not a delivery" >&2
      continue
    fi
    code=$(kici_send "$d_id" "$d_ref" "$d_before" "$d_after")
    case $code in
      2??) rm -f "$file"; echo "kici: delivered $d_ref ($code)" ;;
      unsigned) echo "kici: could not sign the delivery for $d_ref (is node installed?)" >&2; return 1 ;;
      000 | 408 | 429 | 5??) echo "kici: delivery of $d_ref failed (HTTP $code)" >&2; return 1 ;;
      *) rm -f "$file"; echo "kici: delivery of $d_ref refused (HTTP $code); not kept, sending it again would get the same answer" >&2 ;;
    esac
  done
}

# Lists what is still kept, oldest first; fails when something is.
kici_kept() {
  local file count=0
  for file in "$kici_spool"/*.delivery; do count=$((count + 1)); done
  [ "$count" -gt 0 ] || return 0
  echo "kici: $count undelivered push(es) kept for later in $kici_spool, oldest first:" >&2
  for file in "$kici_spool"/*.delivery; do
    kici_read "$file" && echo "kici:   $d_ref \${d_before:0:7}..\${d_after:0:7}" >&2
  done
  return 1
}
`;

/** What the spool holds now, oldest first (byte order of the names, as the hook sends them). */
export async function spooledDeliveries(gitDir: string): Promise<SpooledDelivery[]> {
  const dir = join(gitDir, SPOOL_DIR);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.delivery') && !n.startsWith('.'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const spooled: SpooledDelivery[] = [];
  for (const file of names) {
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch {
      continue; // sent and removed by a flush running at the same time
    }
    const field = (key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
    spooled.push({ file, id: field('id'), ref: field('ref'), before: field('before'), after: field('after') });
  }
  return spooled;
}
