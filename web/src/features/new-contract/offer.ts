import type { Contract } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import type { PresetName } from '../../app/words.ts';

/** What the New contract form collects; amounts already in minor units. */
export type Offer = {
  title: string;
  description: string;
  myRole: 'client' | 'contractor';
  otherEmail: string;
  type: 'fixed' | 'hourly';
  currency: string;
  preset: PresetName;
  hourlyRate: number | null;
  weeklyLimitHours: number | null;
  milestones: { title: string; amount: number; dueDate: string }[];
};

/** Sends the offer: the caller's own id on their side and the other party by email; the other party then accepts or declines it. */
export function sendOffer(meId: string, o: Offer): Promise<Contract> {
  const body = {
    title: o.title.trim(),
    ...(o.description.trim() && { description: o.description.trim() }),
    ...(o.myRole === 'client' ? { clientId: meId } : { contractorId: meId }),
    counterpartyEmail: o.otherEmail.trim(),
    type: o.type,
    currency: o.currency,
    policy: o.preset,
    ...(o.type === 'hourly' && o.hourlyRate !== null && { hourlyRate: o.hourlyRate }),
    ...(o.type === 'hourly' && o.weeklyLimitHours !== null && { weeklyLimitHours: o.weeklyLimitHours }),
    ...(o.type === 'fixed' && o.milestones.length > 0 && { milestones: o.milestones }),
  };
  return ok(tranche.POST('/v1/contracts', { body }));
}
