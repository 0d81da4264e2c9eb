import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may go: an http(s) URL whose host is, and resolves only to, public unicast
 * addresses. Everything else (loopback, private, link-local, CGNAT, multicast, reserved, and the
 * IPv6 forms that embed or reach IPv4 or a local network) could let an admin of one platform
 * reach inside the operator's network, so it is refused unless the operator allows it
 * (TRANCHE_WEBHOOK_ALLOW_PRIVATE=1, for development).
 *
 * Spellings are normalised by the WHATWG URL parser before anything is checked: it turns
 * `127.1`, `0x7f000001`, `2130706433` and `0177.0.0.1` into `127.0.0.1`, and `[::ffff:127.0.0.1]`
 * into `[::ffff:7f00:1]`. Classification is ipaddr.js's, read as an allow-list: only its
 * `unicast` range passes (for IPv6 also only inside 2000::/3, global unicast).
 */

export type Refusal = { reason: string };

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const IPV4_COMPATIBLE_V6 = ipaddr.parseCIDR('::/96');

/** The name of the range a literal address belongs to when webhooks must not go there; null for a public unicast address. */
export function refusedRange(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return 'not an address';
  }
  const range = ip.range();
  if (ip.kind() === 'ipv4') return range === 'unicast' ? null : range;
  const v6 = ip as ipaddr.IPv6;
  if (range !== 'unicast') return range;
  if (v6.match(IPV4_COMPATIBLE_V6)) return 'ipv4Compatible';
  return v6.match(GLOBAL_UNICAST_V6) ? null : 'reserved';
}

/**
 * Names that never lead to a public receiver, refused without asking DNS: the loopback name,
 * names for local networks, and the names reserved for documentation and testing (RFC 6761,
 * RFC 2606, RFC 8375, ICANN's .internal).
 */
const LOCAL_NAME = /(^|\.)(localhost|local|internal|home\.arpa|localdomain|test|example|invalid|example\.(com|net|org))$/;

/** A URL's host as an address, without IPv6 brackets; null when the host is a name. */
function literalAddress(url: URL): string | null {
  const host = url.hostname;
  if (host.startsWith('[')) return host.slice(1, -1);
  return ipaddr.IPv4.isValidFourPartDecimal(host) ? host : null;
}

/**
 * Checks a URL as it is registered, without the network: the scheme, and the host when it is an
 * address or a local name. Names are resolved and checked again at every delivery.
 */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): { url: URL } | Refusal {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: 'is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { reason: 'must be an http or https URL' };
  if (url.username || url.password) return { reason: 'must not contain credentials' };
  if (allowPrivate) return { url };
  const literal = literalAddress(url);
  if (literal !== null) {
    const range = refusedRange(literal);
    return range ? { reason: `points to a ${range} address (${literal})` } : { url };
  }
  const name = url.hostname.replace(/\.$/, '').toLowerCase();
  if (LOCAL_NAME.test(name) || !name.includes('.')) return { reason: `names a local or reserved host (${url.hostname})` };
  return { url };
}

export type ResolvedAddress = { address: string; family: 4 | 6 };
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

const RESOLVE_TIMEOUT_MS = 5_000;

export const systemLookup: Lookup = async (hostname) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`resolving ${hostname} timed out`)), RESOLVE_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([dnsLookup(hostname, { all: true, verbatim: true }), timeout]);
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } finally {
    clearTimeout(timer);
  }
};

/**
 * The address a delivery connects to: the URL's own address, or the name resolved now with every
 * resolved address checked (one bad address refuses the name: DNS answers can rotate). The caller
 * connects to exactly this address, so a second resolution cannot swap it (DNS rebinding).
 */
export async function deliveryAddress(url: URL, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<ResolvedAddress | Refusal> {
  const checked = checkWebhookUrl(url.href, allowPrivate);
  if ('reason' in checked) return checked;
  const literal = literalAddress(url);
  if (literal !== null) return { address: literal, family: literal.includes(':') ? 6 : 4 };
  const found = await lookup(url.hostname);
  if (found.length === 0) return { reason: `${url.hostname} has no address` };
  if (!allowPrivate) {
    for (const a of found) {
      const range = refusedRange(a.address);
      if (range) return { reason: `${url.hostname} resolves to a ${range} address (${a.address})` };
    }
  }
  return found[0]!;
}

/**
 * The check at registration: `checkWebhookUrl`, and a name must not resolve to a refused address
 * now. A name that does not resolve yet is accepted (DNS may follow); deliveries check again.
 */
export async function admitWebhookUrl(raw: string, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<{ url: URL } | Refusal> {
  const checked = checkWebhookUrl(raw, allowPrivate);
  if ('reason' in checked || allowPrivate || literalAddress(checked.url) !== null) return checked;
  const resolved = await deliveryAddress(checked.url, allowPrivate, lookup).catch(() => null);
  return resolved && 'reason' in resolved && !resolved.reason.endsWith('has no address') ? resolved : checked;
}
