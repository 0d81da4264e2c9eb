import { useEffect, useId, useRef, useState } from 'react';
import { formatMoney } from '../../money.ts';
import type { MonthTotal } from './series.ts';

const H = 220;
const PAD = { top: 16, right: 8, bottom: 28, left: 8 };

/** Payments received per month as bars (plain SVG), with the same figures as a table for screen readers. */
export function EarningsChart({ data, currency }: { data: MonthTotal[]; currency: string }) {
  const titleId = useId();
  // Drawn at the width it is shown at (no stretched text): a phone gets fewer labels, not smaller ones.
  const box = useRef<HTMLDivElement>(null);
  const [W, setW] = useState(640);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => e && setW(Math.max(240, Math.round(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const every = W < 520 ? 2 : 1;
  const max = Math.max(1, ...data.map((d) => d.amount));
  const slot = (W - PAD.left - PAD.right) / data.length;
  const bar = Math.min(48, Math.max(4, slot * 0.62));
  const scale = (H - PAD.top - PAD.bottom) / max;
  return (
    <figure className="chart">
      <div ref={box}>
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} className="chart-svg">
          <title id={titleId}>{`Payments received per month in ${currency}, highest ${formatMoney(max, currency)}`}</title>
          <line x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} className="axis" />
          {data.map((d, i) => {
            const h = d.amount * scale;
            const x = PAD.left + i * slot + (slot - bar) / 2;
            return (
              <g key={d.month}>
                <rect x={x} y={H - PAD.bottom - h} width={bar} height={h} rx={3} className="bar">
                  <title>{`${d.label}: ${formatMoney(d.amount, currency)}`}</title>
                </rect>
                <text x={x + bar / 2} y={H - 8} textAnchor="middle" className="tick">
                  {(data.length - 1 - i) % every === 0 ? d.label : ''}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <details>
        <summary>Show the figures</summary>
        <table className="table">
          <caption className="sr-only">Payments received per month in {currency}</caption>
          <thead>
            <tr>
              <th scope="col">Month</th>
              <th scope="col" className="num">
                Received
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.month}>
                <td>{d.label}</td>
                <td className="num">{formatMoney(d.amount, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
