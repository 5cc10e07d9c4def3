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
  resolveOldSecretKey,
  resolveSecretKey,
  SecretKeyFormatError,
  SecretKeyRotationError,
} from './master-key.js';
export { LiveSecretKeys, openersOf, sameKey } from './live-keys.js';
export { judgeKeyDrop, judgeKeyOffer, KeyHandoverRefusedError, type KeyOffer, type OfferJudgement } from './key-handover.js';
export { describeKeyVersion, keyVersionOf, LEGACY_KEY_VERSION } from './key-version.js';
export {
  bindingOf,
  missingKeyProblems,
  ROTATION_BATCH_SIZE,
  rotateMasterKey,
  type RotationOptions,
  type RotationReport,
  type TableRotation,
} from './key-rotation.js';
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
  backendNameProblem,
  bindingReaches,
  INTERNAL_SCOPE_ROOT,
  isExactPattern,
  patternMatches,
  RESERVED_SECRET_PREFIX,
  type AvailableScope,
  type ResolutionBinding,
  resolveSecretScopes,
  type ScopeResolution,
  type ScopeResolutionInput,
  scopeDepth,
  scopePatternProblem,
  scopeProblem,
  SECRET_LIMITS,
  secretNameProblem,
  type SecretSource,
} from './scope-resolution.js';
export {
  type BindingSource,
  createSecretResolver,
  DATABASE_BACKEND,
  databaseSecretBackend,
  type EnvironmentNames,
  type ScopeListing,
  type SecretBackend,
  SecretResolutionError,
  type SecretResolutionDetails,
  type SecretResolver,
  type SecretResolverDeps,
} from './secret-resolver.js';
export {
  createDatabaseSecretStore,
  type SecretKeys,
  type SecretStore,
  sourceSecretScope,
} from './secret-store.js';
export {
  type VaultAuth,
  vaultBackend,
  type VaultBackendOptions,
  type VaultConfig,
  vaultConfigProblems,
  VaultError,
  type VaultHealthCheck,
  type VaultHealthReport,
  type VaultSecretBackend,
  type VaultTokenCache,
  vaultTokenCache,
  VAULT_TIMEOUT_MS,
} from './vault-backend.js';
export {
  backendConfigBinding,
  type BackendTestReport,
  createSecretBackends,
  type NewVaultBackend,
  SecretBackendInputError,
  type SecretBackends,
  type SecretBackendsDeps,
  type SecretBackendView,
} from './secret-backends.js';
