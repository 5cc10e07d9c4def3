import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../../../src/auth-guard/index.js';

const none = trustedProxies([]);
const proxy = trustedProxies(['10.0.0.1', '10.0.0.2']);

describe('clientAddress', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', none)).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', proxy)).toBe('203.0.113.9');
  });

  it('takes the client a trusted proxy appended', () => {
    expect(clientAddress('10.0.0.1', '198.51.100.1', proxy)).toBe('198.51.100.1');
  });

  it('reads from the right, so a client cannot pick its address by sending its own header', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    expect(clientAddress('10.0.0.1', '1.2.3.4, 198.51.100.1', proxy)).toBe('198.51.100.1');
  });

  it('walks back through a chain of trusted proxies', () => {
    expect(clientAddress('10.0.0.1', ['1.2.3.4, 198.51.100.1', '10.0.0.2'], proxy)).toBe('198.51.100.1');
  });

  it('stops at the last trusted hop when the header holds something that is not an address', () => {
    expect(clientAddress('10.0.0.1', 'not-an-ip, 10.0.0.2', proxy)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.1', 'garbage', proxy)).toBe('10.0.0.1');
  });

  it('is the proxy itself when it sends no header', () => {
    expect(clientAddress('10.0.0.1', undefined, proxy)).toBe('10.0.0.1');
  });

  it('counts an IPv4 client on a dual-stack socket under its IPv4 address', () => {
    expect(clientAddress('::ffff:127.0.0.2', undefined, none)).toBe('127.0.0.2');
    expect(clientAddress('::ffff:10.0.0.1', '198.51.100.1', proxy)).toBe('198.51.100.1');
  });

  it("is 'unknown' when the transport cannot tell", () => {
    expect(clientAddress(undefined, '198.51.100.1', proxy)).toBe('unknown');
  });
});
