/**
 * The secrets room: sealing values at rest (AES-256-GCM), the master key, and bearer tokens.
 * Later: PostgreSQL and Vault backends, log masking.
 */
export {
  IV_BYTES,
  KEY_BYTES,
  type MasterKey,
  open,
  seal,
  type SealedSecret,
  type SecretBinding,
  SecretOpenError,
  TAG_BYTES,
} from './sealing.js';
export {
  type LoadedSecretKey,
  loadOrCreateSecretKey,
  parseSecretKey,
  resolveSecretKey,
  SecretKeyFormatError,
} from './master-key.js';
export {
  ADMIN_TOKEN_PREFIX,
  AGENT_TOKEN_PREFIX,
  DISPLAY_PREFIX_LENGTH,
  displayPrefix,
  hashToken,
  type IssuedToken,
  issueAdminToken,
  issueAgentToken,
  looksLikeAdminToken,
  looksLikeAgentToken,
  tokenMatchesHash,
  tokensEqual,
} from './tokens.js';
export {
  createDatabaseSecretStore,
  type SecretKeys,
  type SecretStore,
  sourceSecretScope,
} from './secret-store.js';
