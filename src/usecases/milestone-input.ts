import { AppError, type FieldError } from '../domain/errors.ts';

/** A due date must be a real calendar date, today or later (in UTC, by the product's clock). */
export function checkDueDate(dueDate: string, now: Date, field = 'dueDate'): FieldError | null {
  const d = new Date(`${dueDate}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== dueDate) return { field, message: 'is not a calendar date (YYYY-MM-DD)' };
  if (dueDate < now.toISOString().slice(0, 10)) return { field, message: 'is in the past' };
  return null;
}

export function assertDueDates(items: { dueDate?: string; field: string }[], now: Date): void {
  const errors = items.flatMap((i) => (i.dueDate === undefined ? [] : [checkDueDate(i.dueDate, now, i.field)].filter((e): e is FieldError => e !== null)));
  if (errors.length) throw new AppError('validation_failed', 'a due date is not valid', {}, errors);
}
