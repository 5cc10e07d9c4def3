/**
 * The shapes of the room's inputs, checked where they come in. A bad parameter is a programming
 * or configuration error, so it throws a TypeError that names the operation and the field; no
 * message quotes the value (some inputs are secret).
 */
import { z } from 'zod';
import { isNodeAddress } from './addresses.js';
import { MAX_SERIAL_HEX_DIGITS, normaliseSerial } from './certificate.js';
import { ID_PATTERN, ID_RULE, NODE_ROLES } from './identity.js';

export const clusterIdSchema = z.string().regex(ID_PATTERN, `a cluster id is ${ID_RULE}`);
export const nodeIdSchema = z.string().regex(ID_PATTERN, `a node id is ${ID_RULE}`);
export const roleSchema = z.enum(NODE_ROLES, { error: 'a role is coordinator or worker' });
export const instantSchema = z.date({ error: 'a valid Date' });
export const validDaysSchema = z.number().int().min(1, 'at least one day').max(36_500, 'at most a hundred years');
export const serialSchema = z
  .string()
  .regex(new RegExp(`^[0-9a-fA-F]{1,${MAX_SERIAL_HEX_DIGITS}}$`), `a serial is 1–${MAX_SERIAL_HEX_DIGITS} hex digits`)
  .refine((hex) => /[1-9a-fA-F]/.test(hex), 'a serial must not be zero')
  .transform(normaliseSerial);
export const addressesSchema = z.array(z.string().refine(isNodeAddress, 'an address is an IP address or a host name')).max(32);

export function checked<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new TypeError(`${operation}: ${field}${issue.message}`);
}
