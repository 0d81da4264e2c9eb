/** Display helpers shared by the pages. */
export const statusLabel = (s: string) => s.replace(/_/g, ' ');

export function formatDate(isoDate: string): string {
  // A calendar date (YYYY-MM-DD) is shown as that date, in no time zone.
  const [y, m, d] = isoDate.split('-').map(Number);
  if (!y || !m || !d) return isoDate;
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatTime(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
}
