// Formatting for people: money, dates, percentages.

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export const money = (n) => (n === null || n === undefined ? '—' : usd.format(n));
export const number = (n) => (n === null || n === undefined ? '—' : num.format(n));
export const percent = (f, digits = 1) => (f === null || f === undefined ? '—' : `${(f * 100).toFixed(digits)}%`);
export const signedMoney = (n) => (n > 0 ? `+${usd.format(n)}` : usd.format(n));

export function date(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

export function dateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
}

export const label = (enumValue) => String(enumValue).toLowerCase().replace(/_/g, ' ');
