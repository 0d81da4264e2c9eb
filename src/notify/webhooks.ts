import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ResolvedAddress } from './address-rules.ts';

/**
 * Outgoing webhooks per Standard Webhooks (standardwebhooks.com): the body is
 * `{type, timestamp, data}`, the headers `webhook-id` (the message id, the same on every retry),
 * `webhook-timestamp` (this attempt, unix seconds) and `webhook-signature` (`v1,<base64>`, one
 * per live secret, space-separated). Any Standard Webhooks library verifies them.
 */

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export type WebhookBody = { type: string; timestamp: string; data: Record<string, unknown> };

export const webhookBody = (type: string, at: Date, data: Record<string, unknown>): WebhookBody => ({ type, timestamp: at.toISOString(), data });

/** `webhook-signature`: one `v1,<base64>` per secret (after a rotation, the old one signs too). */
export function signWebhook(secrets: string[], msgId: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' ');
}

export type SendResult = { statusCode: number };

const RESPONSE_LIMIT = 64 * 1024;

/**
 * POSTs a signed message to the URL over a connection to `address` only (checked by the caller;
 * TLS still verifies the URL's host name). Redirects are not followed: a 3xx is an answer like
 * any other, and not a success. Throws on network errors and when `signal` aborts.
 */
export function sendWebhook(
  url: URL,
  address: ResolvedAddress,
  msg: { id: string; body: string; secrets: string[] },
  signal: AbortSignal,
): Promise<SendResult> {
  // The signing time is the wall clock's, also under the test clock: receivers compare
  // webhook-timestamp with their own clock to refuse replays.
  const at = new Date();
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [address]);
    else cb(null, address.address, address.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      lookup: pinned,
      agent: false,
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Tranche-Webhooks/1',
        'webhook-id': msg.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signWebhook(msg.secrets, msg.id, at, msg.body),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let read = 0;
      // The answer's body is not used; read a little of it so the connection ends cleanly.
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > RESPONSE_LIMIT) res.destroy();
      });
      res.on('close', () => resolve({ statusCode: res.statusCode ?? 0 }));
      res.on('error', () => resolve({ statusCode: res.statusCode ?? 0 }));
    });
    req.end(msg.body);
  });
}
