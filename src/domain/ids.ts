import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

export const ID_PREFIXES = {
  platform: 'plt',
  user: 'usr',
  token: 'tok',
  session: 'ses',
  contract: 'ctr',
  milestone: 'ms',
  payment: 'pay',
  funding: 'fnd',
  entry: 'je',
  activity: 'act',
  notification: 'ntf',
  job: 'job',
  changeRequest: 'cr',
  dispute: 'dsp',
  file: 'file',
  webhook: 'whe',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Time-ordered ids (ULID) so that id order is creation order: cursors page by id. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-z]{26}$`);
}
