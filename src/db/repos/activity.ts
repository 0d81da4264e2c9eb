import { iso, isoReq } from './rows.ts';

export type ActivityRow = { id: string; contract_id: string; milestone_id: string | null; actor_id: string | null; actor_role: string; kind: string; data: Record<string, unknown>; created_at: Date | string };
export type NotificationRow = { id: string; contract_id: string | null; kind: string; title: string; body: string; data: Record<string, unknown>; read_at: Date | string | null; created_at: Date | string };

export const toActivity = (a: ActivityRow) => ({
  id: a.id,
  contractId: a.contract_id,
  milestoneId: a.milestone_id,
  actorId: a.actor_id,
  actorRole: a.actor_role,
  kind: a.kind,
  data: a.data,
  createdAt: isoReq(a.created_at),
});

export const toNotification = (n: NotificationRow) => ({
  id: n.id,
  contractId: n.contract_id,
  kind: n.kind,
  title: n.title,
  body: n.body,
  data: n.data,
  readAt: iso(n.read_at),
  createdAt: isoReq(n.created_at),
});
