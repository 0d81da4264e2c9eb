import { describe, expect, it } from 'vitest';
import { admitWebhookUrl, checkWebhookUrl, deliveryAddress, refusedRange, type Lookup } from '../../src/notify/address-rules.ts';

// Pure rules: nothing here touches the network (names are "resolved" by a fake lookup).
const refused = (url: string) => {
  const r = checkWebhookUrl(url, false);
  return 'reason' in r ? r.reason : null;
};
const noDns: Lookup = async () => {
  throw new Error('this test must not resolve names');
};

describe('webhook address rules', () => {
  it.each([
    // loopback, in every spelling the WHATWG URL parser folds into 127.0.0.1
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://127.0.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://127.0.0.1./', 'loopback'],
    ['http://127.255.255.254:8080/x', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
    // IPv4 inside IPv6
    ['http://[::ffff:127.0.0.1]/', 'ipv4Mapped'],
    ['http://[::ffff:7f00:1]/', 'ipv4Mapped'],
    ['http://[::ffff:169.254.169.254]/', 'ipv4Mapped'],
    ['http://[::ffff:8.8.8.8]/', 'ipv4Mapped'],
    ['http://[::127.0.0.1]/', 'ipv4Compatible'],
    ['http://[::7f00:1]/', 'ipv4Compatible'],
    ['http://[64:ff9b::7f00:1]/', 'rfc6052'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'rfc6052'],
    ['http://[64:ff9b:1::1]/', 'rfc6052'],
    ['http://[2002:7f00:1::1]/', '6to4'],
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'teredo'],
    ['http://[::ffff:0:7f00:1]/', 'rfc6145'],
    // private, link-local, CGNAT, the cloud metadata address
    ['http://10.0.0.1/', 'private'],
    ['http://10.255.255.53/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://0xc0a80101/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://2852039166/', 'linkLocal'],
    ['http://0251.0376.0251.0376/', 'linkLocal'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://100.127.255.254/', 'carrierGradeNat'],
    ['http://[fe80::1]/', 'linkLocal'],
    ['http://[fc00::1]/', 'uniqueLocal'],
    ['http://[fd12:3456:789a::1]/', 'uniqueLocal'],
    ['http://[fec0::1]/', 'deprecatedSiteLocal'],
    // multicast, unspecified, broadcast, reserved
    ['http://224.0.0.1/', 'multicast'],
    ['http://239.255.255.250/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://0.1.2.3/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://240.0.0.1/', 'reserved'],
    ['http://192.0.2.1/', 'reserved'],
    ['http://198.18.0.1/', 'reserved'],
    ['http://192.0.0.8/', 'reserved'],
    ['http://[2001:db8::1]/', 'reserved'],
    ['http://[100::1]/', 'discard'],
  ])('refuses %s (%s)', (url, range) => {
    expect(refused(url)).toContain(range);
  });

  it.each(['http://localhost/', 'http://LOCALHOST:3000/', 'http://localhost./', 'http://api.localhost/', 'http://printer.local/', 'http://db.internal/', 'http://nas.home.arpa/',
    'https://hooks.example.com/t', 'https://marketplace.example/hooks', 'http://x.test/', 'http://x.invalid/', 'http://intranet/'])('refuses the local or reserved name in %s', (url) => {
    expect(refused(url)).toMatch(/local or reserved host/);
  });

  it.each(['ftp://hooks.tranche.dev/', 'file:///etc/passwd', 'gopher://8.8.8.8/', 'javascript:alert(1)', 'not a url', 'https://user:pass@hooks.tranche.dev/'])('refuses %s', (url) => {
    expect(refused(url)).not.toBeNull();
  });

  it.each(['https://8.8.8.8/', 'http://93.184.215.14:8443/hooks', 'https://[2606:4700:4700::1111]/', 'https://hooks.tranche.dev/in', 'https://HOOKS.Tranche.dev./in'])('accepts %s', (url) => {
    expect(refused(url)).toBeNull();
  });

  it('classifies bare addresses as an allow-list of public unicast', () => {
    expect(refusedRange('8.8.8.8')).toBeNull();
    expect(refusedRange('2a00:1450:4001:80b::200e')).toBeNull();
    expect(refusedRange('127.0.0.1')).toBe('loopback');
    expect(refusedRange('::ffff:10.0.0.1')).toBe('ipv4Mapped');
    expect(refusedRange('4000::1')).toBe('reserved'); // outside 2000::/3
    expect(refusedRange('nonsense')).toBe('not an address');
  });

  it('lets the operator allow every address for development', () => {
    for (const url of ['http://127.1/', 'http://[::1]:8080/', 'http://localhost/', 'http://169.254.169.254/']) expect(checkWebhookUrl(url, true)).toHaveProperty('url');
    expect(checkWebhookUrl('ftp://127.0.0.1/', true)).toHaveProperty('reason');
  });

  it('checks every address a name resolves to, and connects to the checked one', async () => {
    const dns = (answers: Record<string, string[]>): Lookup => async (host) => (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const lookup = dns({ 'ok.tranche.dev': ['8.8.8.8', '2606:4700:4700::1111'], 'mixed.tranche.dev': ['8.8.8.8', '10.0.0.5'], 'rebind.tranche.dev': ['::ffff:127.0.0.1'] });
    expect(await deliveryAddress(new URL('https://ok.tranche.dev/x'), false, lookup)).toEqual({ address: '8.8.8.8', family: 4 });
    expect(await deliveryAddress(new URL('https://mixed.tranche.dev/x'), false, lookup)).toEqual({ reason: expect.stringContaining('private address (10.0.0.5)') });
    expect(await deliveryAddress(new URL('https://rebind.tranche.dev/x'), false, lookup)).toEqual({ reason: expect.stringContaining('ipv4Mapped') });
    expect(await deliveryAddress(new URL('https://gone.tranche.dev/x'), false, lookup)).toEqual({ reason: expect.stringContaining('no address') });
    // Literal addresses are never resolved.
    expect(await deliveryAddress(new URL('http://8.8.4.4/'), false, noDns)).toEqual({ address: '8.8.4.4', family: 4 });
    expect(await deliveryAddress(new URL('http://127.1/'), false, noDns)).toEqual({ reason: expect.stringContaining('loopback') });
    // Registration refuses a name that resolves inside now, and accepts one that does not resolve yet.
    expect(await admitWebhookUrl('https://mixed.tranche.dev/x', false, lookup)).toHaveProperty('reason');
    expect(await admitWebhookUrl('https://gone.tranche.dev/x', false, lookup)).toHaveProperty('url');
    expect(await admitWebhookUrl('https://ok.tranche.dev/x', false, lookup)).toHaveProperty('url');
    expect(await admitWebhookUrl('http://0x7f000001:9/', false, noDns)).toHaveProperty('reason');
  });
});
