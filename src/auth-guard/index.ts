/**
 * Guarding the doors that take credentials (the admin API's bearer token, the agent socket's
 * auth.request): who is knocking (the client address, with trusted proxies honoured) and how many
 * failed attempts an address may make before it is refused. Pure parts only: the server room
 * answers (429, close 4003), counts and logs.
 */
export { FailedAuthLimit, type AuthVerdict, type FailedAuthLimitOptions } from './failed-auth-limit.js';
export { clientAddress, normaliseAddress, trustedProxies } from './client-address.js';
