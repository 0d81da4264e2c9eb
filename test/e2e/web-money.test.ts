import { describe, expect, it } from 'vitest';
import { decimals, formatMoney, parseMoney } from '../../web/src/money.ts';

// The web app's money display: integer minor units, the currency's own decimals, never a float.
describe('web app money formatting', () => {
  it('formats minor units with each currency’s decimals', () => {
    expect(formatMoney(150000, 'USD')).toBe('$1,500.00');
    expect(formatMoney(5, 'USD')).toBe('$0.05');
    expect(formatMoney(300000, 'JPY')).toBe('¥300,000');
    expect(formatMoney(1500, 'BHD').replace(/\s/g, ' ')).toBe('BHD 1.500');
    expect(formatMoney(-1999, 'EUR')).toBe('-€19.99');
    // Beyond float precision: still exact.
    expect(formatMoney(900719925474099, 'USD')).toBe('$9,007,199,254,740.99');
    expect([decimals('USD'), decimals('JPY'), decimals('BHD')]).toEqual([2, 0, 3]);
  });

  it('parses what people type into minor units, refusing extra decimals', () => {
    expect(parseMoney('1,500.00', 'USD')).toBe(150000);
    expect(parseMoney('12.5', 'USD')).toBe(1250);
    expect(parseMoney('0.1', 'USD')).toBe(10);
    expect(parseMoney('300000', 'JPY')).toBe(300000);
    expect(parseMoney('1.5', 'JPY')).toBeNull();
    expect(parseMoney('1.234', 'BHD')).toBe(1234);
    expect(parseMoney('1.2345', 'BHD')).toBeNull();
    expect(parseMoney('-5', 'USD')).toBeNull();
    expect(parseMoney('abc', 'USD')).toBeNull();
  });
});
