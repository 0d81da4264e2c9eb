import type { Tx } from '../db/client.ts';
import type { Clock } from '../domain/clock.ts';
import type { OrgRole } from '../domain/organizations.ts';
import type { PaymentProvider } from '../payments/provider.ts';

/** Who is calling: a user (by token or session), or the platform admin (optionally acting for a user). */
export type Principal = {
  platformId: string;
  /** The user acted as; null for the admin acting as itself. */
  userId: string | null;
  /** True when the credential is the platform admin token (with or without Acting-User). */
  viaAdmin: boolean;
  /** The credential: the token id (with the acting user for the admin), or `session:<user>`. */
  key: string;
  /** The user's organisations and their roles there (read with the credential, so always current). */
  orgs?: Record<string, string[]>;
  /** The organisation role the request's action needs (declared by its route; reads need `viewer`). */
  orgNeed?: OrgRole;
};

export const isPlatformAdmin = (p: Principal) => p.viaAdmin && p.userId === null;

export type Deps = {
  clock: Clock;
  provider: PaymentProvider;
  /** How long a request waits for the provider's answer after commit before answering 202 (default 8 s). */
  providerWaitMs?: number;
};

/** Everything a use case needs: the open transaction, the caller, the time and the ports. */
export type UseCaseCtx = {
  tx: Tx;
  principal: Principal;
  deps: Deps;
  now: Date;
  /**
   * Provider operations the command requested (payments/operations.ts): the caller makes them
   * after commit. Without it (a test calling a use case alone) the worker finishes them.
   */
  operations?: string[];
};
