/**
 * The masking room: secret values out of log text. Pure (no I/O, nothing of ours imported), so the
 * agent masks a step's output before a line leaves it and the orchestrator masks again on receipt
 * with the same rules.
 */
export { MASK, MIN_SECRET_CHARS, base64Forms, isMaskable, maskPatterns, urlForms } from './forms.js';
export { SecretMasker, StreamingMasker } from './secret-masker.js';
